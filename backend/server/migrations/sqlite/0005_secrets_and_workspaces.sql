-- Secrets at rest (see src/secrets): each account's data keys, wrapped by the key provider. A stored secret
-- is sealed with one of its account's data keys; key_ref names the provider that wrapped the key
-- ('local:<fingerprint>' or 'kms:<key id>'), so a rotation knows what is left to move.
CREATE TABLE secret_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    key_ref TEXT NOT NULL,
    wrapped TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX secret_keys_account ON secret_keys (account_id, created_at_ms);
CREATE INDEX secret_keys_ref ON secret_keys (key_ref);
-- The key provider new data keys are wrapped by ('key_ref'): a replica started with another key is refused
-- before it seals anything its peers could not open.
CREATE TABLE secret_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Endpoints keep their ingest token sealed; the token column keeps only its hash ('sha256:<hex>'), what
-- ingest looks a token up by. Rows written before this migration hold the token itself there, without a
-- sealed copy: Klaxon seals them at start-up.
ALTER TABLE endpoints ADD COLUMN ingest_token_sealed TEXT;

-- Slack workspaces installed through OAuth, one account each; the bot token is sealed. An uninstalled
-- workspace (or one whose tokens were revoked) stays, inactive, with its account and everything in it; a
-- reinstall makes it active again.
CREATE TABLE slack_installs (
    team_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts (id),
    team_name TEXT NOT NULL,
    bot_user_id TEXT,
    bot_token TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    inactive_reason TEXT,
    installed_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- The state of each OAuth install begun: it works once, until it expires. (Events API deliveries are made
-- idempotent by the job queue: one job per event_id.)
CREATE TABLE slack_oauth_states (
    state TEXT PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
);


-- "@klaxon open alerts" lists a workspace's alerts that are not closed, newest first.
CREATE INDEX alerts_not_closed ON alerts (first_seen_ms) WHERE status <> 'closed';
