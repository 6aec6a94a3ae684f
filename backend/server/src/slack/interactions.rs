//! Reading a button press (`block_actions`) from the form body Slack posts to the interactivity URL: a
//! `payload` field holding JSON. Only Klaxon's own buttons (`klaxon.ack`, `klaxon.close`, `klaxon.pass`,
//! whose `value` is the alert id) are presses; anything else Slack sends there is answered and ignored.

use serde::{Deserialize, Serialize};

use crate::alerts::Action;

/// A press of one of Klaxon's buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Press {
    /// The workspace (`team.id`).
    pub team_id: String,
    /// Who pressed.
    pub user_id: String,
    /// `ack`, `close` or `pass`; or `snooze:<choice>` for a snooze choice (see `slack::snooze`).
    pub action: String,
    /// The alert (the button's value).
    pub alert_id: String,
    /// Where to answer the presser privately, valid for 30 minutes.
    pub response_url: Option<String>,
    /// The channel of the message pressed.
    pub channel_id: Option<String>,
    /// When Slack says the press happened (`action_ts`).
    pub action_ts: Option<String>,
}

impl Press {
    /// The action pressed.
    pub fn action(&self) -> Option<Action> {
        match self.action.as_str() {
            "ack" => Some(Action::Ack),
            "close" => Some(Action::Close),
            "pass" => Some(Action::Pass),
            _ => None,
        }
    }
}

/// The `action_id` of each button.
pub const ACTION_IDS: [(&str, Action); 3] = [
    ("klaxon.ack", Action::Ack),
    ("klaxon.close", Action::Close),
    ("klaxon.pass", Action::Pass),
];

/// Why a body is not a press Slack could have sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed interaction: {0}")]
pub struct MalformedInteraction(String);

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    team: Option<Id>,
    #[serde(default)]
    user: Option<Id>,
    #[serde(default)]
    actions: Vec<RawAction>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    container: Option<Container>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Deserialize)]
struct RawAction {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    action_ts: Option<String>,
    /// The option chosen in a menu (the snooze choices).
    #[serde(default)]
    selected_option: Option<SelectedOption>,
}

#[derive(Deserialize)]
struct SelectedOption {
    value: String,
}

/// The press in a form body, `None` when the body is an interaction but not a press of Klaxon's buttons.
pub fn parse(body: &[u8]) -> Result<Option<Press>, MalformedInteraction> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| MalformedInteraction("no payload field".into()))?;
    let p: Payload = serde_json::from_str(&payload).map_err(|e| MalformedInteraction(e.to_string()))?;
    if p.kind != "block_actions" {
        return Ok(None);
    }
    let snoozed = p.actions.iter().find(|a| a.action_id == super::snooze::ACTION_ID);
    let (action, alert_id, raw) = if let Some(raw) = snoozed {
        // A snooze choice: the option's value says which, and of which alert.
        let (action, alert_id) = raw
            .selected_option
            .as_ref()
            .and_then(|o| super::snooze::parse_option(&o.value))
            .ok_or_else(|| MalformedInteraction("the snooze choice names no alert".into()))?;
        (action, Some(alert_id), raw)
    } else {
        let Some((action, raw)) = p.actions.iter().find_map(|a| {
            ACTION_IDS
                .iter()
                .find(|(id, _)| *id == a.action_id)
                .map(|(_, action)| (*action, a))
        }) else {
            return Ok(None);
        };
        (action.as_str().to_owned(), raw.value.clone(), raw)
    };
    let alert_id = alert_id
        .filter(|v| !v.is_empty() && v.len() <= 100)
        .ok_or_else(|| MalformedInteraction("the button has no alert id".into()))?;
    let team_id = p
        .team
        .map(|t| t.id)
        .ok_or_else(|| MalformedInteraction("no team".into()))?;
    let user_id = p
        .user
        .map(|u| u.id)
        .ok_or_else(|| MalformedInteraction("no user".into()))?;
    Ok(Some(Press {
        team_id,
        user_id,
        action,
        alert_id,
        response_url: p.response_url,
        channel_id: p.channel.map(|c| c.id).or(p.container.and_then(|c| c.channel_id)),
        action_ts: raw.action_ts.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(payload: &serde_json::Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    /// A real payload (bolt-python's test fixture) with a button of someone else's app: not a press.
    #[test]
    fn other_apps_buttons_are_not_presses() {
        let body = include_str!("../../tests/fixtures/slack/slack-block_actions.bolt-python.form-body.txt");
        assert_eq!(parse(body.trim().as_bytes()), Ok(None));
    }

    #[test]
    fn klaxon_buttons_are_presses() {
        let mut p: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/slack/slack-block_actions.bolt-python.payload.json"
        ))
        .unwrap_or_default();
        p["actions"][0]["action_id"] = "klaxon.close".into();
        p["actions"][0]["value"] = "alert_123".into();
        let press = parse(&form(&p)).ok().flatten();
        let press = press.unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(press.action(), Some(Action::Close));
        assert_eq!(
            (
                press.team_id.as_str(),
                press.user_id.as_str(),
                press.alert_id.as_str()
            ),
            ("T111", "W111", "alert_123")
        );
        assert_eq!(press.channel_id.as_deref(), Some("C111"));
        assert!(press.response_url.is_some());
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(parse(b"nothing=1").is_err());
        assert!(parse(b"payload=%7Bnot").is_err());
        let p = serde_json::json!({"type": "block_actions", "actions": [{"action_id": "klaxon.ack"}]});
        assert!(parse(&form(&p)).is_err(), "a press without an alert id");
        let p = serde_json::json!({"type": "view_submission"});
        assert_eq!(parse(&form(&p)), Ok(None));
    }
}
