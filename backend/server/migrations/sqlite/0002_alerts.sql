-- Alerts and notifications, and the per-team rotation of next_member steps.
-- Times are Unix milliseconds; JSON documents are TEXT; booleans are 0/1.
--   policy      the escalation policy as it was when the alert opened (JSON), so editing a policy does not
--               change alerts already in flight.
--   esc_round,  where the alert stands in its policy: the step that fires next. A step index equal to the
--   esc_step    number of steps means the chain has ended.
--   notified    members already sent a DM for this alert (JSON list), so random_member never repeats one.
--   delivering  the notification of the current step while it is being delivered (JSON); set before
--               sending and cleared with the move to the next step, so a retry after a crash can ask the
--               notifier whether the send happened instead of sending twice.
-- No foreign keys to endpoints or teams: alerts outlive the endpoint that received them.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    endpoint_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    group_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'notification')),
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    severity TEXT NOT NULL,
    source TEXT NOT NULL,
    fields TEXT NOT NULL,
    details TEXT NOT NULL,
    event_count BIGINT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at_ms BIGINT,
    closed_by TEXT,
    closed_at_ms BIGINT,
    auto_closed BIGINT NOT NULL DEFAULT 0,
    esc_round BIGINT NOT NULL DEFAULT 0,
    esc_step BIGINT NOT NULL DEFAULT 0,
    next_escalation_at_ms BIGINT,
    notified TEXT NOT NULL DEFAULT '[]',
    delivering TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
-- Listing an account's alerts, all or by status, in id (= creation) order.
CREATE INDEX alerts_account ON alerts (account_id, id);
CREATE INDEX alerts_account_status ON alerts (account_id, status, id);
-- Grouping and resolving look up the newest alert of one endpoint and group key.
CREATE INDEX alerts_group ON alerts (endpoint_id, group_key, kind, first_seen_ms);

-- The index of the member the next next_member step of a team starts from (round-robin across alerts).
CREATE TABLE team_rotations (
    team_id TEXT PRIMARY KEY,
    next_index BIGINT NOT NULL
);
