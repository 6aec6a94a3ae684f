//! The OAuth v2 install of Klaxon in a Slack workspace: `GET /slack/install` sends the browser to Slack's
//! consent page; Slack sends it back to `GET /slack/oauth/callback`, which exchanges the code for the
//! workspace's bot token (`oauth.v2.access`), checks it (`auth.test`), and records the install: a new
//! account for a workspace seen for the first time, or the new token on the existing account (a reinstall
//! keeps the account and everything in it, and brings its Slack messages up to date).
//!
//! The `state` that goes around is `<nonce>.<expiry>.<HMAC>`: signed with a key derived from the app's
//! client secret (so it cannot be forged or altered), valid for ten minutes, usable once (its nonce is
//! recorded and deleted on use), and bound to the browser that began the install by a cookie holding the
//! nonce. Every outcome is a plain HTML page that says what happened and what to do next; nothing is
//! changed unless the install succeeds.

use std::fmt::Write as _;

use aws_lc_rs::hmac;
use axum::{
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::{
    alerts::{self, SyncJob},
    slack::{OAuthApp, Slack, SlackError, installs},
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(install))
        .routes(routes!(callback))
}

/// The bot scopes Klaxon asks for (the app manifest in `docs/slack/` lists the same; a test keeps them
/// equal).
pub const BOT_SCOPES: &[&str] = &[
    "app_mentions:read",
    "channels:join",
    "channels:read",
    "chat:write",
    "commands",
    "dnd:read",
    "groups:read",
    "im:write",
    "users:read",
];

/// A Slack workspace (or organisation) id, as `GET /slack/install?team=` takes it; the OpenAPI document
/// states the same pattern (a test keeps them equal).
pub const TEAM_ID_PATTERN: &str = "^[TE][A-Z0-9]{1,31}$";

/// How long an install begun may take.
const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// The cookie binding an install to the browser that began it.
const COOKIE: &str = "klaxon_oauth_state";

/// Start installing Klaxon in a Slack workspace: redirects to Slack's consent page. Open it in a browser.
#[utoipa::path(get, path = "/slack/install", tag = "slack", operation_id = "slack_install",
    params(("team" = Option<String>, Query, description = "A Slack workspace id (`T…`) to pre-select on \
        Slack's page.")),
    responses(
        (status = 302, description = "To Slack's consent page, with a signed `state` that works once within \
            ten minutes, and a cookie binding it to this browser.",
            headers(("Location" = String, description = "Slack's authorize URL."))),
        (status = 400, content_type = "text/html", body = String, description = "The query is not valid."),
        (status = 404, content_type = "text/html", body = String, description = "Installs are not enabled \
            on this Klaxon (no KLAXON_SLACK_CLIENT_ID)."),
        (status = 503, content_type = "text/html", body = String, description = "The install could not be \
            begun (the database); try again."),
    ))]
pub(super) async fn install(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some((slack, app)) = oauth_of(&state) else {
        return not_enabled();
    };
    let team = match serde_urlencoded::from_str::<InstallQuery>(query.as_deref().unwrap_or("")) {
        Ok(q) => q.team,
        Err(e) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Not a valid install link",
                &esc(&e.to_string()),
            );
        }
    };
    if let Some(team) = &team
        && !regex_lite::Regex::new(TEAM_ID_PATTERN).is_ok_and(|re| re.is_match(team))
    {
        return page(
            StatusCode::BAD_REQUEST,
            "Not a valid install link",
            "<code>team</code> must be a Slack workspace id such as <code>T0123ABCD</code>.",
        );
    }
    let now = crate::store::now_ms();
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let expires = now + STATE_TTL_MS;
    if let Err(e) = installs::begin(&state.store, &nonce, expires, now).await {
        tracing::error!(error = %e, "Could not record an install begun.");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The install could not begin",
            "Klaxon could not reach its database. Try again in a moment.",
        );
    }
    let signed = format!("{nonce}.{expires}.{}", sign(app, &nonce, expires));
    let Some(mut url) = authorize_url(slack) else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The install could not begin",
            "Slack's address is not valid.",
        );
    };
    url.query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair("scope", &BOT_SCOPES.join(","))
        .append_pair("redirect_uri", &redirect_uri(&state))
        .append_pair("state", &signed);
    if let Some(team) = &team {
        url.query_pairs_mut().append_pair("team", team);
    }
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{COOKIE}={nonce}; Max-Age=600; Path=/slack/oauth; HttpOnly; SameSite=Lax{secure}");
    let mut resp = StatusCode::FOUND.into_response();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        headers.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallQuery {
    team: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Where Slack sends the browser back after the consent page (the app's OAuth Redirect URL). Records the
/// install and shows the account's first API token, once.
#[utoipa::path(get, path = "/slack/oauth/callback", tag = "slack", operation_id = "slack_oauth_callback",
    params(
        ("code" = Option<String>, Query, description = "The code to exchange for the workspace's bot token."),
        ("state" = Option<String>, Query, description = "The state `GET /slack/install` made."),
        ("error" = Option<String>, Query, description = "Why Slack did not install Klaxon (e.g. \
            `access_denied` when the person cancelled)."),
    ),
    responses(
        (status = 200, content_type = "text/html", body = String, description = "Installed: the account, its \
            first API token (shown once, on a first install), and how to use it with the Terraform provider."),
        (status = 400, content_type = "text/html", body = String, description = "Refused: cancelled in Slack, \
            a state that is missing, altered, expired, used or from another browser, or a code Slack refused. \
            Nothing was changed."),
        (status = 404, content_type = "text/html", body = String, description = "Installs are not enabled on \
            this Klaxon."),
        (status = 502, content_type = "text/html", body = String, description = "Slack could not be reached; \
            nothing was changed."),
        (status = 503, content_type = "text/html", body = String, description = "The install could not be \
            recorded; nothing was changed."),
    ))]
pub(super) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((slack, app)) = oauth_of(&state) else {
        return not_enabled();
    };
    let refused = |title: &str, why: &str| {
        let body = format!(
            "<p>{why}</p><p>Nothing was changed. <a href=\"{}/slack/install\">Start the install again</a>.</p>",
            esc(&state.public_url)
        );
        with_cookie_cleared(page(StatusCode::BAD_REQUEST, title, &body))
    };
    let q = match serde_urlencoded::from_str::<CallbackQuery>(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return refused("Not a valid install link", &esc(&e.to_string())),
    };
    if let Some(error) = &q.error {
        let why = if error == "access_denied" {
            "The install was cancelled on Slack's page.".to_owned()
        } else {
            format!("Slack did not install Klaxon: <code>{}</code>.", esc(error))
        };
        return refused("Klaxon was not installed", &why);
    }
    let (Some(code), Some(signed)) = (q.code.as_deref(), q.state.as_deref()) else {
        return refused(
            "Not a valid install link",
            "This page is where Slack sends you back during an install; the link has no code or state.",
        );
    };
    let now = crate::store::now_ms();
    let nonce = match check_state(app, signed, now) {
        Ok(nonce) => nonce,
        Err(StateError::Forged) => {
            tracing::warn!("Refused an install whose state was altered or not made by this Klaxon.");
            return refused(
                "This install link is not valid",
                "It was altered, or it was not made by this Klaxon.",
            );
        }
        Err(StateError::Expired) => {
            return refused(
                "This install link expired",
                "An install must be finished within ten minutes.",
            );
        }
    };
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v.to_owned());
    if cookie.as_deref() != Some(nonce) {
        return refused(
            "This install was begun in another browser",
            "Finish the install in the browser that opened the install link.",
        );
    }
    match installs::take(&state.store, nonce).await {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                "This install link was already used",
                "Each install link works once.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "Could not check an install's state.");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The install could not be recorded",
                "Klaxon could not reach its database; nothing was changed. Start the install again in a moment.",
            );
        }
    }
    let answer = match slack
        .client
        .oauth_access(&app.client_id, &app.client_secret, code, &redirect_uri(&state))
        .await
    {
        Ok(v) => v,
        Err(e) => return slack_failed("Slack refused the install", &e, &state),
    };
    let text = |p: &str| answer.pointer(p).and_then(Value::as_str).map(str::to_owned);
    if answer.get("is_enterprise_install").and_then(Value::as_bool) == Some(true) {
        return refused(
            "Organisation-wide installs are not supported",
            "Install Klaxon in each workspace of the organisation instead.",
        );
    }
    let (Some(token), Some(team_id)) = (text("/access_token"), text("/team/id")) else {
        return refused(
            "Slack's answer has no bot token",
            "Slack answered without a bot token or workspace.",
        );
    };
    let team_name = text("/team/name").unwrap_or_else(|| team_id.clone());
    // The token is checked before it is stored: a token Slack does not accept is not an install.
    if let Err(e) = slack
        .client
        .call(
            &team_id,
            &token,
            "auth.test",
            crate::slack::Args::Form(Vec::new()),
        )
        .await
    {
        return slack_failed("Slack did not accept the new token", &e, &state);
    }
    let installed = match installs::record(
        &state.store,
        &team_id,
        &team_name,
        text("/bot_user_id").as_deref(),
        &token,
        now,
    )
    .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, team = %team_id, "Could not record an install.");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The install could not be recorded",
                "Klaxon could not store the install; nothing was changed. Start the install again in a moment.",
            );
        }
    };
    slack.forget_install(&installed.account_id);
    tracing::info!(team = %team_id, account = %installed.account_id, reinstall = installed.first_token.is_none(),
        "Klaxon was installed in a Slack workspace.");
    if installed.first_token.is_none() {
        catch_up(&state, &installed.account_id).await;
    }
    with_cookie_cleared(success(&state, &team_name, &team_id, &installed))
}

/// After a reinstall, brings the account's messages of alerts that are not closed up to date (they were not
/// while the workspace was inactive).
async fn catch_up(state: &AppState, account: &str) {
    let open = match alerts::open_in_workspace(&state.store, Some(account), 1000).await {
        Ok((open, _)) => open,
        Err(e) => {
            tracing::warn!(account, error = %e, "Could not list the alerts to bring up to date after a reinstall.");
            return;
        }
    };
    for alert in open {
        match SyncJob::of(account, &alert.id) {
            Ok(job) => {
                if let Err(e) = state.queue.enqueue(job).await {
                    tracing::warn!(account, alert = %alert.id, error = %e, "Could not enqueue a message sync after a reinstall.");
                }
            }
            Err(e) => tracing::warn!(error = %e, "Could not build a message sync."),
        }
    }
}

fn oauth_of(state: &AppState) -> Option<(&Slack, &OAuthApp)> {
    let slack = state.slack.as_deref()?;
    Some((slack, slack.oauth.as_ref()?))
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/slack/oauth/callback", state.public_url)
}

/// Slack's consent page, beside the Web API (`https://slack.com/api` → `https://slack.com/oauth/v2/authorize`;
/// a local fake Slack serves both).
fn authorize_url(slack: &Slack) -> Option<url::Url> {
    let api = slack.client.settings().base_url.clone();
    let base = api.strip_suffix("/api").unwrap_or(&api);
    url::Url::parse(&format!("{base}/oauth/v2/authorize"))
        .or_else(|_| url::Url::parse("https://slack.com/oauth/v2/authorize"))
        .ok()
}

#[derive(Debug)]
enum StateError {
    Forged,
    Expired,
}

/// The state's key: derived from the client secret, so it is never the secret itself.
fn state_key(app: &OAuthApp) -> hmac::Key {
    let derived = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, app.client_secret.as_bytes()),
        b"klaxon-oauth-state",
    );
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

fn sign(app: &OAuthApp, nonce: &str, expires: i64) -> String {
    hex::encode(hmac::sign(&state_key(app), format!("{nonce}.{expires}").as_bytes()).as_ref())
}

/// The nonce of a state signed by this Klaxon that has not expired.
fn check_state<'a>(app: &OAuthApp, signed: &'a str, now: i64) -> Result<&'a str, StateError> {
    let mut parts = signed.splitn(3, '.');
    let (Some(nonce), Some(expires), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StateError::Forged);
    };
    let tag = hex::decode(tag).map_err(|_| StateError::Forged)?;
    hmac::verify(&state_key(app), format!("{nonce}.{expires}").as_bytes(), &tag)
        .map_err(|_| StateError::Forged)?;
    let expires: i64 = expires.parse().map_err(|_| StateError::Forged)?;
    if now > expires {
        return Err(StateError::Expired);
    }
    Ok(nonce)
}

fn slack_failed(title: &str, e: &SlackError, state: &AppState) -> Response {
    let (status, why) = match e {
        SlackError::Api { code, .. } | SlackError::Workspace { code } => (
            StatusCode::BAD_REQUEST,
            format!("Slack answered <code>{}</code>.", esc(code)),
        ),
        _ => (StatusCode::BAD_GATEWAY, "Slack could not be reached.".to_owned()),
    };
    tracing::warn!(error = %e, "An install failed at Slack.");
    let body = format!(
        "<p>{why}</p><p>Nothing was changed. <a href=\"{}/slack/install\">Start the install again</a>.</p>",
        esc(&state.public_url)
    );
    with_cookie_cleared(page(status, title, &body))
}

fn not_enabled() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Installs are not enabled",
        "This Klaxon does not take installs from Slack workspaces: its operator has not set \
         <code>KLAXON_SLACK_CLIENT_ID</code> and <code>KLAXON_SLACK_CLIENT_SECRET</code>.",
    )
}

fn success(state: &AppState, team_name: &str, team_id: &str, installed: &installs::Installed) -> Response {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>Klaxon is installed in <strong>{}</strong> (<code>{}</code>). Its account is <code>{}</code>.</p>",
        esc(team_name),
        esc(team_id),
        esc(&installed.account_id)
    );
    match &installed.first_token {
        Some(token) => {
            let _ = write!(
                body,
                "<h2>Your API token</h2>\
                 <p>This is the only time it is shown. Keep it in your secrets manager; anyone who has it can \
                 change this workspace's alerting.</p>\
                 <pre id=\"token\">{token}</pre>\
                 <h2>Use it with Terraform</h2>\
                 <pre>export KLAXON_TOKEN={token}\n\n\
                 provider \"klaxon\" {{\n  endpoint = \"{url}\"\n}}</pre>\
                 <p>Then declare teams, escalation policies and endpoints: see the provider's documentation. \
                 Invite <code>@klaxon</code> to the channels your teams use, or let it join public ones itself.</p>",
                token = esc(token),
                url = esc(&state.public_url),
            );
        }
        None => body.push_str(
            "<p>This workspace had installed Klaxon before: its account, teams, policies, endpoints, alerts and \
             API tokens are unchanged, and Klaxon posts to it again. Messages of alerts that are not closed are \
             brought up to date.</p>",
        ),
    }
    page(StatusCode::OK, "Klaxon is installed", &body)
}

/// A plain, readable page; `body` is HTML already escaped.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title} - Klaxon</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;\
         line-height:1.5;color:#1d1d1f}}pre{{background:#f4f4f5;padding:1rem;overflow-x:auto}}\
         code{{background:#f4f4f5;padding:0 .2rem}}h1{{font-size:1.6rem}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n",
        title = esc(title),
    );
    let mut resp = (status, Html(html)).into_response();
    // The page may show a token: no cache may keep it.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn with_cookie_cleared(mut resp: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}=; Max-Age=0; Path=/slack/oauth; HttpOnly; SameSite=Lax"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// HTML-escapes `s`.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_signed_expire_and_cannot_be_altered() {
        let app = OAuthApp {
            client_id: "1.2".into(),
            client_secret: "secret".into(),
        };
        let nonce = "00112233445566778899aabbccddeeff";
        let signed = format!("{nonce}.1000.{}", sign(&app, nonce, 1000));
        assert_eq!(check_state(&app, &signed, 999).ok(), Some(nonce));
        assert!(matches!(
            check_state(&app, &signed, 1001),
            Err(StateError::Expired)
        ));
        let later = signed.replace(".1000.", ".9000.");
        assert!(matches!(check_state(&app, &later, 999), Err(StateError::Forged)));
        let other = OAuthApp {
            client_id: "1.2".into(),
            client_secret: "other".into(),
        };
        assert!(matches!(
            check_state(&other, &signed, 999),
            Err(StateError::Forged)
        ));
        assert!(matches!(
            check_state(&app, "garbage", 999),
            Err(StateError::Forged)
        ));
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let doc: Value = serde_json::from_str(&crate::http::openapi::document()).unwrap_or_default();
        let pattern = doc
            .pointer("/paths/~1slack~1install/get/parameters/0/schema/pattern")
            .and_then(Value::as_str);
        assert_eq!(pattern, Some(TEAM_ID_PATTERN));
    }
}
