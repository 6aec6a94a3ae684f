//! Reading what Slack sends besides button presses: Events API deliveries (`POST /slack/events`, JSON) and
//! the `/klaxon` slash command (`POST /slack/commands`, a form), and the verbs people use in both.
//!
//! Events Klaxon acts on: `url_verification` (answered with its challenge), `app_uninstalled` and
//! `tokens_revoked` (the workspace becomes inactive), and `app_mention` (`@klaxon open alerts`,
//! `@klaxon help`, answered in the thread). Others are answered and ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One delivery to the Events API URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Slack checks the URL when it is saved: answer with `challenge`.
    UrlVerification {
        /// What to answer.
        challenge: String,
    },
    /// An event.
    Event(Event),
    /// Anything else (`app_rate_limited`, unknown kinds): nothing to do.
    Other,
}

/// An event Klaxon acts on, as recorded in its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Slack's id of this event; the same on every retry of its delivery.
    pub event_id: String,
    /// The workspace.
    pub team_id: String,
    /// When it happened, Unix milliseconds (the last of the second Slack gives).
    pub event_ms: i64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The workspace uninstalled the app.
    AppUninstalled,
    /// The workspace revoked tokens, the bot's among them.
    TokensRevoked,
    /// Someone mentioned Klaxon in a channel.
    AppMention {
        /// Where.
        channel: String,
        /// Who.
        user: String,
        /// What they said, mentions removed.
        text: String,
        /// The thread to answer in (the mention's own message when it is not in a thread).
        thread_ts: String,
    },
}

/// Why a body is not a delivery Slack could have sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct Malformed(String);

/// Reads an Events API body.
pub fn parse(body: &[u8]) -> Result<Delivery, Malformed> {
    let v: Value = serde_json::from_slice(body).map_err(|e| Malformed(format!("not JSON: {e}")))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    match v.get("type").and_then(Value::as_str) {
        Some("url_verification") => Ok(Delivery::UrlVerification {
            challenge: text(&v, "challenge").ok_or_else(|| Malformed("no challenge".into()))?,
        }),
        Some("event_callback") => {
            let event = v.get("event").ok_or_else(|| Malformed("no event".into()))?;
            let event_id = text(&v, "event_id").ok_or_else(|| Malformed("no event_id".into()))?;
            let team_id = text(&v, "team_id")
                .or_else(|| {
                    v.pointer("/authorizations/0/team_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .ok_or_else(|| Malformed("no team_id".into()))?;
            // Slack gives whole seconds: the event counts as happening at the end of its second, so an install
            // earlier in that second is still undone by it.
            let event_ms = v
                .get("event_time")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .saturating_mul(1000)
                .saturating_add(999);
            let kind = match event.get("type").and_then(Value::as_str) {
                Some("app_uninstalled") => EventKind::AppUninstalled,
                // Only the bot's tokens matter: a revoked user token changes nothing for Klaxon.
                Some("tokens_revoked") => {
                    let bots = event
                        .pointer("/tokens/bot")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    if bots == 0 {
                        return Ok(Delivery::Other);
                    }
                    EventKind::TokensRevoked
                }
                Some("app_mention") => {
                    let field = |key: &str| {
                        text(event, key).ok_or_else(|| Malformed(format!("app_mention without {key}")))
                    };
                    let ts = field("ts")?;
                    EventKind::AppMention {
                        channel: field("channel")?,
                        user: text(event, "user").unwrap_or_default(),
                        text: without_mentions(&text(event, "text").unwrap_or_default()),
                        thread_ts: text(event, "thread_ts").unwrap_or(ts),
                    }
                }
                _ => return Ok(Delivery::Other),
            };
            Ok(Delivery::Event(Event {
                event_id,
                team_id,
                event_ms,
                kind,
            }))
        }
        Some(_) => Ok(Delivery::Other),
        None => Err(Malformed("no type".into())),
    }
}

/// A slash command.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Command {
    /// The workspace.
    pub team_id: String,
    /// The command as typed (`/klaxon`).
    pub command: String,
    /// What follows it.
    #[serde(default)]
    pub text: String,
    /// Who.
    #[serde(default)]
    pub user_id: String,
    /// Where.
    #[serde(default)]
    pub channel_id: String,
}

/// Reads a slash command's form body.
pub fn parse_command(body: &[u8]) -> Result<Command, Malformed> {
    serde_urlencoded::from_bytes(body).map_err(|e| Malformed(format!("not a slash command: {e}")))
}

/// What someone asks Klaxon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// The workspace's alerts that are not closed.
    OpenAlerts,
    /// What Klaxon understands.
    Help,
    /// Something else (what was said).
    Unknown(String),
}

/// Reads the verb in `text` (mentions already removed): `open alerts` (or `open`, `alerts`), `help` (or
/// nothing).
pub fn verb(text: &str) -> Verb {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["help"] => Verb::Help,
        ["open", "alerts" | "alert"] | ["open"] | ["alerts"] | ["list"] | ["status"] => Verb::OpenAlerts,
        _ => Verb::Unknown(text.trim().to_owned()),
    }
}

/// `text` without user mentions (`<@U123>`), trimmed.
fn without_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_and_verbs_understood() {
        let v = parse(br#"{"token":"x","challenge":"3eZb","type":"url_verification"}"#);
        assert_eq!(
            v,
            Ok(Delivery::UrlVerification {
                challenge: "3eZb".into()
            })
        );
        let mention = br#"{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A1","type":"event_callback",
            "event":{"type":"app_mention","user":"U061F7AUR","text":"<@U0LAN0Z89> open  alerts",
            "ts":"1515449522.000016","channel":"C123ABC456","event_ts":"1515449522000016"},
            "event_id":"Ev123ABC456","event_time":123456789}"#;
        let Ok(Delivery::Event(e)) = parse(mention) else {
            panic!("not an event");
        };
        assert_eq!(
            (e.event_id.as_str(), e.team_id.as_str(), e.event_ms),
            ("Ev123ABC456", "T123ABC456", 123_456_789_999)
        );
        let EventKind::AppMention { text, thread_ts, .. } = &e.kind else {
            panic!("not a mention");
        };
        assert_eq!(
            (text.as_str(), thread_ts.as_str()),
            ("open alerts", "1515449522.000016")
        );
        assert_eq!(verb(text), Verb::OpenAlerts);
        let user_tokens_only = br#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event_time":1,
            "event":{"type":"tokens_revoked","tokens":{"oauth":["U1"],"bot":[]}}}"#;
        assert_eq!(parse(user_tokens_only), Ok(Delivery::Other));
        let bot = br#"{"type":"event_callback","team_id":"T1","event_id":"Ev2","event_time":1,
            "event":{"type":"tokens_revoked","tokens":{"bot":["U2"]}}}"#;
        assert!(matches!(
            parse(bot),
            Ok(Delivery::Event(Event {
                kind: EventKind::TokensRevoked,
                ..
            }))
        ));
        assert!(parse(b"{}").is_err() && parse(b"nope").is_err());
        assert_eq!(verb(""), Verb::Help);
        assert_eq!(verb("HELP!"), Verb::Help);
        assert_eq!(verb("dance"), Verb::Unknown("dance".into()));
        let c = parse_command(
            b"team_id=T1&command=%2Fklaxon&text=open+alerts&user_id=U1&channel_id=C1&response_url=x",
        );
        assert_eq!(c.map(|c| verb(&c.text)), Ok(Verb::OpenAlerts));
    }
}
