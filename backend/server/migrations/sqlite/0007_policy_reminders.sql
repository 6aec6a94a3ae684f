-- An acknowledged alert that stays open reminds its acknowledger every this many policy minutes (NULL: never).
ALTER TABLE escalation_policies ADD COLUMN remind_after_minutes INTEGER;
