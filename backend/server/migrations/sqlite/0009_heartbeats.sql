-- Heartbeats (dead-man's switches): a job pings /heartbeat/{token}; when no ping arrives within
-- interval_minutes + grace_minutes (policy minutes) of the last one, or of clock_from_ms before the first, the
-- sweeper opens an alert in the team, and the next ping closes it.
--   ping_token         the token's hash ('sha256:<hex>'), what a ping looks it up by; ping_token_sealed is the
--                      token sealed (see src/secrets), opened to show the ping URL.
--   clock_from_ms      when the clock (re)started: creation, or resuming a paused heartbeat.
--   last_beat_ms       the latest ping; the one column a ping writes.
--   missed_at_ms       set (with missed_alert_id) by the sweeper when it opens the missed-alert, cleared by the
--                      next ping: at most one missed-alert per miss, whatever the replicas.
-- Alerts of a heartbeat carry its id as their endpoint_id.
CREATE TABLE heartbeats (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    team_id TEXT NOT NULL REFERENCES teams (id),
    escalation_policy_id TEXT REFERENCES escalation_policies (id),
    name TEXT NOT NULL,
    interval_minutes INTEGER NOT NULL,
    grace_minutes INTEGER NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    ping_token TEXT NOT NULL UNIQUE,
    ping_token_sealed TEXT NOT NULL,
    clock_from_ms INTEGER NOT NULL,
    last_beat_ms INTEGER,
    missed_at_ms INTEGER,
    missed_alert_id TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (team_id, name)
);
CREATE INDEX heartbeats_account ON heartbeats (account_id, id);
CREATE INDEX heartbeats_policy ON heartbeats (escalation_policy_id);
-- The sweeper reads only the heartbeats that can still miss (running, not missed already).
CREATE INDEX heartbeats_watched ON heartbeats (id) WHERE paused = 0 AND missed_at_ms IS NULL;
