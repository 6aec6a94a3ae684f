-- Where team $1's next next_member step starts.
INSERT INTO team_rotations (team_id, next_index) VALUES ($1, $2)
ON CONFLICT (team_id) DO UPDATE SET next_index = excluded.next_index
