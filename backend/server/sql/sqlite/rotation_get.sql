-- Where team ?1's next next_member step starts (the transaction already holds SQLite's write lock).
SELECT next_index FROM team_rotations WHERE team_id = ?1
