-- Where team $1's next next_member step starts, locked until the step's transaction ends.
SELECT next_index FROM team_rotations WHERE team_id = $1 FOR UPDATE
