-- Where Slack shows alert ?1: ?2 ('posted' or 'digest').
UPDATE alerts SET slack_delivery = ?2 WHERE id = ?1
