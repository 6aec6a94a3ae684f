-- Accounts, their API tokens, and the objects the management API manages.
-- Times are Unix milliseconds; JSON documents are TEXT; booleans are 0/1.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    slack_channel TEXT NOT NULL,
    members TEXT NOT NULL,
    description TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE escalation_policies (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    team_id TEXT NOT NULL REFERENCES teams (id),
    name TEXT NOT NULL,
    steps TEXT NOT NULL,
    repeat_count BIGINT NOT NULL,
    skip_inactive BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (team_id, name)
);
CREATE INDEX escalation_policies_account ON escalation_policies (account_id, id);

CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    team_id TEXT NOT NULL REFERENCES teams (id),
    escalation_policy_id TEXT REFERENCES escalation_policies (id),
    name TEXT NOT NULL,
    allowed_topic_arns TEXT NOT NULL,
    alert_grouping_minutes BIGINT NOT NULL,
    notification_grouping_minutes BIGINT NOT NULL,
    ingest_token TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (team_id, name)
);
CREATE INDEX endpoints_account ON endpoints (account_id, id);
CREATE INDEX endpoints_policy ON endpoints (escalation_policy_id);
