//! The Slack app manifest in `docs/slack/` asks for exactly the scopes the OAuth install requests, and
//! points Slack at every endpoint Klaxon serves for it.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use serde_json::Value;

#[test]
fn the_manifest_matches_what_klaxon_requests_and_serves() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/slack/app-manifest.yml");
    let manifest: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut scopes: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        klaxon::http::oauth::BOT_SCOPES,
        "docs/slack/app-manifest.yml and BOT_SCOPES differ"
    );
    let url = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    assert!(url(&manifest["settings"]["interactivity"]["request_url"]).ends_with("/slack/interactions"));
    assert!(url(&manifest["settings"]["event_subscriptions"]["request_url"]).ends_with("/slack/events"));
    let events = &manifest["settings"]["event_subscriptions"]["bot_events"];
    for e in ["app_mention", "app_uninstalled", "tokens_revoked"] {
        assert!(
            events.as_array().unwrap().iter().any(|v| v == e),
            "the manifest subscribes to {e}"
        );
    }
    assert!(url(&manifest["oauth_config"]["redirect_urls"][0]).ends_with("/slack/oauth/callback"));
    let command = &manifest["features"]["slash_commands"][0];
    assert_eq!(command["command"], "/klaxon");
    assert!(url(&command["url"]).ends_with("/slack/commands"));
}
