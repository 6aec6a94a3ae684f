-- Slack: each alert's version and history, and every message Klaxon posted.
--   version         bumped by every change people should see (grouped events, actions, escalation steps);
--                   a Slack message rendered at an older version is out of date.
--   problem         why the latest escalation step reached nobody (null once a step reaches someone).
--   slack_delivery  where the alert is shown: null = its channel message is still to be posted, 'posted',
--                   'digest' (in its channel's digest during a storm).
ALTER TABLE alerts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN problem TEXT;
ALTER TABLE alerts ADD COLUMN slack_delivery TEXT;

-- What happened to an alert, one line per change worth telling in its Slack thread (acknowledged, closed,
-- passed, paged, not reached); `line` is JSON. Lines are told in id order.
CREATE TABLE alert_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX alert_log_alert ON alert_log (alert_id, id);

-- Every Slack message Klaxon posted. Klaxon never reads channel history: this table is how it finds its
-- messages again. `ref` names what the message is for, unique per account and kind:
--   channel    the alert's message in its team's channel (ref = alert id)
--   dm         an escalation step's direct message (ref = the step's delivery key)
--   mention    an @here / @channel step's post (ref = the step's delivery key)
--   reply      a history line in the alert's thread (ref = the alert_log id)
--   digest     a digest during a storm (ref = channel@hour): a channel's, or a person's (a DM channel)
-- rendered_version is the alert version a channel or DM message last showed; updated_at_ms is its last
-- post or update (Slack wants a message updated at most every few seconds).
CREATE TABLE slack_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    alert_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('channel', 'dm', 'mention', 'reply', 'digest')),
    ref TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    rendered_version BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (account_id, kind, ref)
);
CREATE INDEX slack_messages_alert ON slack_messages (alert_id);
-- A digest and the pages it holds share a channel and ts.
CREATE INDEX slack_messages_at ON slack_messages (account_id, channel, ts);

-- A channel's digest lists the alerts diverted to it.
CREATE INDEX alerts_digest ON alerts (account_id, team_id, id) WHERE slack_delivery = 'digest';
