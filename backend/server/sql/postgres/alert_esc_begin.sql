-- Records the notification about to be delivered for alert $1, and the members notified so far.
UPDATE alerts SET delivering = $2, notified = $3 WHERE id = $1
