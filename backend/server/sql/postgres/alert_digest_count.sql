-- How many alerts of account $1 are in the digest of channel $2, first seen in [$3, $4).
SELECT count(*) FROM alerts
WHERE account_id = $1 AND slack_delivery = 'digest'
  AND team_id IN (SELECT id FROM teams WHERE account_id = $1 AND slack_channel = $2)
  AND first_seen_ms >= $3 AND first_seen_ms < $4
