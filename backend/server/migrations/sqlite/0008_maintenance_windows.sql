-- Maintenance windows and the alerts they hold.
-- Times are Unix milliseconds; JSON documents are TEXT.
--   maintenance_windows  a window covers one team (team_id) or a list of endpoints (endpoint_ids, a JSON
--                        list, [] with a team); it is one-off (starts_at_ms, ends_at_ms) or recurring (cron,
--                        duration_minutes, time_zone), never both (the API checks it; the CHECK says it too).
--   maintenance_holds    an alert that opened during a window: posted without paging anyone and without an
--                        escalation timer until until_ms (the end of the occurrence that held it), when the
--                        `maintenance.release` job starts its escalation from the first step. released_at_ms
--                        is set once, by that job (or a delete of the window), which is what makes the
--                        release happen at most once per alert. No foreign keys: a hold outlives its window
--                        (deleting a window releases its holds).
CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    team_id TEXT REFERENCES teams (id),
    endpoint_ids TEXT NOT NULL,
    starts_at_ms BIGINT,
    ends_at_ms BIGINT,
    cron TEXT,
    duration_minutes BIGINT,
    time_zone TEXT,
    description TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CHECK ((starts_at_ms IS NULL AND ends_at_ms IS NULL) <> (cron IS NULL))
);
CREATE INDEX maintenance_windows_account ON maintenance_windows (account_id, id);
CREATE INDEX maintenance_windows_team ON maintenance_windows (team_id);

CREATE TABLE maintenance_holds (
    alert_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    window_id TEXT NOT NULL,
    held_at_ms BIGINT NOT NULL,
    until_ms BIGINT NOT NULL,
    released_at_ms BIGINT
);
-- Updating or deleting a window finds the holds it still has.
CREATE INDEX maintenance_holds_window ON maintenance_holds (window_id, released_at_ms);
