-- How many alerts alert_open_in_workspace would list without its limit.
SELECT count(*) FROM alerts
WHERE kind = 'alert' AND status <> 'closed'
  AND (($1::text IS NOT NULL AND account_id = $1::text)
    OR ($1::text IS NULL AND account_id NOT IN (SELECT account_id FROM slack_installs)))
