-- Snooze and reminders (see src/alerts/snooze.rs and src/alerts/remind.rs).
--   snoozed_until_ms  while an open alert is snoozed, when the snooze ends: its pending escalation step does
--                     not fire before then, and fires at once when the snooze ends (null: not snoozed).
--   snoozed_by        who snoozed it (a Slack user id), when known.
--   reminded_period   the last reminder period told (an acknowledged alert reminds its acknowledger every
--                     remind_after_minutes of its policy): each period's reminder is told once.
ALTER TABLE alerts ADD COLUMN snoozed_until_ms BIGINT;
ALTER TABLE alerts ADD COLUMN snoozed_by TEXT;
ALTER TABLE alerts ADD COLUMN reminded_period BIGINT NOT NULL DEFAULT 0;
