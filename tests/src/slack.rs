//! A fake Slack for the tests: a local HTTP server that answers the Web API methods Klaxon uses as Slack does
//! (`ok`, `error`, `ts`, `channel`), records every call, and keeps the messages as a channel would show them
//! (top-level posts, threads, DMs, updates in place).
//!
//! It behaves like Slack where Klaxon must cope with it: one post a second per channel (more gets HTTP 429
//! with `Retry-After`), Block Kit limits enforced (`invalid_blocks`, `msg_too_long`), a bot that must join a
//! public channel before posting (`not_in_channel`, when a channel is set up so). It can be told to fail:
//! 5xx answers and timeouts at a rate, 429 bursts, a revoked token, a channel that does not exist, a user
//! who is deactivated, away or in Do Not Disturb, and a message text that Slack refuses.
//!
//! It also serves `response_url`s (at `/respond/...`), recording what Klaxon answers a presser privately,
//! and the OAuth v2 install: Slack's consent page (`/oauth/v2/authorize`, which sends the browser back to the
//! app's redirect URL as a person approving, or cancelling, would) and `oauth.v2.access` (HTTP Basic client
//! credentials, single-use codes, the redirect URL checked), which mints a bot token per workspace. Each
//! token belongs to one workspace: `auth.test` answers with its team, and messages and calls record it; a
//! workspace's tokens can be revoked (`token_revoked`).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use serde_json::{Value, json};

/// The team id the fake answers `auth.test` with.
pub const TEAM_ID: &str = "T0FAKE0001";

/// One call Klaxon made.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method (`chat.postMessage`).
    pub method: String,
    /// The workspace of the token used (empty when the token is unknown).
    pub team: String,
    /// The bot token used.
    pub token: String,
    /// Its arguments, whatever their encoding, as JSON.
    pub args: Value,
    /// What the fake answered: HTTP status and Slack's error code, if any.
    pub status: u16,
    /// Slack's `error`, when it refused.
    pub error: Option<String>,
    /// When.
    pub at: Instant,
}

/// A message as the channel shows it.
#[derive(Debug, Clone)]
pub struct Msg {
    /// The workspace it was posted in.
    pub team: String,
    /// Channel (C…, G…) or DM (D…) id.
    pub channel: String,
    /// Its ts.
    pub ts: String,
    /// The parent's ts, for a thread reply.
    pub thread_ts: Option<String>,
    /// Shown in the channel too (a broadcast thread reply).
    pub broadcast: bool,
    /// The notification text.
    pub text: String,
    /// The blocks.
    pub blocks: Value,
    /// How many times it was updated.
    pub updates: u32,
}

impl Msg {
    /// Text and blocks as one string, for searching.
    pub fn content(&self) -> String {
        format!("{} {}", self.text, self.blocks)
    }

    /// The `action_id`s of its buttons.
    pub fn buttons(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_action_ids(&self.blocks, &mut out);
        out
    }
}

fn collect_action_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) == Some("button")
                && let Some(id) = o.get("action_id").and_then(Value::as_str)
            {
                out.push(id.to_owned());
            }
            for v in o.values() {
                collect_action_ids(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_action_ids(v, out)),
        _ => {}
    }
}

/// How the fake misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of calls answered with HTTP 500 or 503 (half each).
    pub error_rate: f64,
    /// Share of calls that hang past the client's timeout before answering.
    pub timeout_rate: f64,
    /// How long a hanging call hangs.
    pub hang: Duration,
    /// The next this many calls get HTTP 429 with `Retry-After: 1`.
    pub rate_limit_burst: u32,
    /// Every call is refused with `token_revoked`.
    pub token_revoked: bool,
    /// Posts whose text contains this are refused with `invalid_blocks`.
    pub poison: Option<String>,
}

/// A workspace a token belongs to.
#[derive(Debug, Clone)]
struct Team {
    id: String,
    revoked: bool,
}

/// What the consent page does with the next install.
#[derive(Debug, Clone)]
enum Consent {
    /// A person of workspace `id` (`name`) approves.
    Approve { id: String, name: String },
    /// The person cancels.
    Deny,
}

/// The Slack app's OAuth settings, and the install codes handed out.
#[derive(Debug, Default)]
struct OAuth {
    client_id: String,
    client_secret: String,
    /// Code -> (workspace id, name, redirect URL of the authorize request).
    codes: HashMap<String, (String, String, String)>,
    next: Option<Consent>,
    minted: u32,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, Team>,
    oauth: OAuth,
    calls: Vec<Call>,
    messages: Vec<Msg>,
    responses: Vec<(String, Value)>,
    next_ts: u64,
    last_post: HashMap<String, Instant>,
    faults: Faults,
    rng: u64,
    members: HashMap<String, Vec<String>>,
    away: HashSet<String>,
    dnd: HashSet<String>,
    /// Time zones (IANA names) `users.info` answers, by user; others are in [`DEFAULT_TZ`].
    tz: HashMap<String, String>,
    disabled: HashSet<String>,
    missing_channels: HashSet<String>,
    must_join: HashSet<String>,
    joined: HashSet<String>,
    sent_429: u32,
    on_post: Option<Hook>,
}

/// A test's hook on posts.
#[derive(Clone)]
struct Hook(Arc<dyn Fn(&Value) + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeSlack {
    /// Web API base, e.g. `http://127.0.0.1:40123/api` (what `KLAXON_SLACK_API_URL` takes).
    pub api_url: String,
    /// Base of the `response_url`s it hands out.
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSlack {
    /// Starts the fake on a free port; `token` is the bot token it accepts.
    pub fn start(token: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            tokens: HashMap::from([(
                token.to_owned(),
                Team {
                    id: TEAM_ID.to_owned(),
                    revoked: false,
                },
            )]),
            next_ts: 1,
            rng: 0x9E37_79B9_7F4A_7C15,
            faults: Faults {
                hang: Duration::from_secs(2),
                ..Faults::default()
            },
            ..Inner::default()
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake Slack");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr: SocketAddr = listener.local_addr().expect("fake Slack address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = inner.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("fake Slack runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let app = Router::new()
                    .route("/api/{method}", any(api))
                    .route("/respond/{id}", any(respond))
                    .route("/webhook/{id}", any(webhook))
                    .route("/oauth/v2/authorize", any(authorize))
                    .with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Self {
            api_url: format!("http://{addr}/api"),
            base_url: format!("http://{addr}"),
            inner,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the Slack app's OAuth client id and secret (what `oauth.v2.access` accepts).
    pub fn set_app(&self, client_id: &str, client_secret: &str) {
        let mut i = self.lock();
        i.oauth.client_id = client_id.to_owned();
        i.oauth.client_secret = client_secret.to_owned();
    }

    /// The next visit of the consent page is approved by a person of workspace `team_id` (`name`).
    pub fn approve_next(&self, team_id: &str, name: &str) {
        self.lock().oauth.next = Some(Consent::Approve {
            id: team_id.to_owned(),
            name: name.to_owned(),
        });
    }

    /// The next visit of the consent page is cancelled by the person.
    pub fn deny_next(&self) {
        self.lock().oauth.next = Some(Consent::Deny);
    }

    /// The newest bot token minted for workspace `team_id` (or given at start, for [`TEAM_ID`]).
    pub fn token_of(&self, team_id: &str) -> Option<String> {
        let i = self.lock();
        let mut tokens: Vec<&String> = i
            .tokens
            .iter()
            .filter(|(_, t)| t.id == team_id)
            .map(|(k, _)| k)
            .collect();
        tokens.sort();
        tokens.last().map(|t| (*t).clone())
    }

    /// Revokes every token of workspace `team_id`: calls with them get `token_revoked`.
    pub fn revoke(&self, team_id: &str) {
        for t in self.lock().tokens.values_mut().filter(|t| t.id == team_id) {
            t.revoked = true;
        }
    }

    /// A person's message in `channel` of workspace `team` (say, a mention of Klaxon); returns its ts.
    pub fn user_says(&self, team: &str, channel: &str, text: &str) -> String {
        let mut i = self.lock();
        let ts = format!("1800000000.{:06}", i.next_ts);
        i.next_ts += 1;
        i.messages.push(Msg {
            team: team.to_owned(),
            channel: channel.to_owned(),
            ts: ts.clone(),
            thread_ts: None,
            broadcast: false,
            text: text.to_owned(),
            blocks: Value::Null,
            updates: 0,
        });
        ts
    }

    /// Sets how the fake misbehaves.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Sets the members of a channel.
    pub fn set_members(&self, channel: &str, members: &[&str]) {
        self.lock().members.insert(
            channel.to_owned(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
    }

    /// Marks a user away (or back).
    pub fn set_away(&self, user: &str, away: bool) {
        let mut i = self.lock();
        if away {
            i.away.insert(user.to_owned());
        } else {
            i.away.remove(user);
        }
    }

    /// Puts a user in Do Not Disturb (or out of it).
    pub fn set_dnd(&self, user: &str, dnd: bool) {
        let mut i = self.lock();
        if dnd {
            i.dnd.insert(user.to_owned());
        } else {
            i.dnd.remove(user);
        }
    }

    /// Sets the time zone (an IANA name) `users.info` answers for `user`.
    pub fn set_tz(&self, user: &str, tz: &str) {
        self.lock().tz.insert(user.to_owned(), tz.to_owned());
    }

    /// Deactivates a user: DMs to them fail with `user_disabled`.
    pub fn disable_user(&self, user: &str) {
        self.lock().disabled.insert(user.to_owned());
    }

    /// Makes a channel unknown: posts to it fail with `channel_not_found`.
    pub fn remove_channel(&self, channel: &str) {
        self.lock().missing_channels.insert(channel.to_owned());
    }

    /// Makes the bot a non-member of a public channel: posts fail with `not_in_channel` until it joins.
    pub fn require_join(&self, channel: &str) {
        self.lock().must_join.insert(channel.to_owned());
    }

    /// Calls `hook` with each `chat.postMessage`'s arguments before it is answered (to kill Klaxon there).
    pub fn on_post(&self, hook: impl Fn(&Value) + Send + Sync + 'static) {
        self.lock().on_post = Some(Hook(Arc::new(hook)));
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// How many 429s the fake sent.
    pub fn sent_429(&self) -> u32 {
        self.lock().sent_429
    }

    /// Every message, in the order posted.
    pub fn messages(&self) -> Vec<Msg> {
        self.lock().messages.clone()
    }

    /// The top-level messages of a channel (DM channels included), oldest first.
    pub fn channel(&self, channel: &str) -> Vec<Msg> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.is_none())
            .cloned()
            .collect()
    }

    /// The replies in the thread of `ts`, oldest first.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Msg> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts))
            .cloned()
            .collect()
    }

    /// The messages sent to a user by DM.
    pub fn dms(&self, user: &str) -> Vec<Msg> {
        self.channel(&dm_channel(user))
    }

    /// The top-level messages of `channel` whose content mentions `needle`.
    pub fn find(&self, channel: &str, needle: &str) -> Vec<Msg> {
        self.channel(channel)
            .into_iter()
            .filter(|m| m.content().contains(needle))
            .collect()
    }

    /// What Klaxon answered pressers privately (`response_url` bodies).
    pub fn responses(&self) -> Vec<Value> {
        self.lock().responses.iter().map(|(_, v)| v.clone()).collect()
    }

    /// An incoming-webhook URL (for Alertmanager's Slack receiver).
    pub fn webhook_url(&self) -> String {
        format!("{}/webhook/incoming", self.base_url)
    }

    /// A `response_url` for a press.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/respond/{id}", self.base_url)
    }

    /// Waits until `check` holds (at most `timeout`), checking every 50 ms; panics with `what` otherwise.
    pub fn wait(&self, what: &str, timeout: Duration, mut check: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The DM channel the fake opens with `user`.
pub fn dm_channel(user: &str) -> String {
    format!("D{}", &user[1..])
}

/// Signs a body as Slack does: `(timestamp, X-Slack-Signature)`, for `now_secs`.
pub fn sign(secret: &str, body: &str, now_secs: i64) -> (String, String) {
    let ts = now_secs.to_string();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("v0:{ts}:{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    (ts, format!("v0={hex}"))
}

/// The time zone `users.info` answers for users without one set ([`FakeSlack::set_tz`]).
pub const DEFAULT_TZ: &str = "Europe/Paris";

/// The form body Slack posts when `user` chooses `value` in one of Klaxon's menus (`klaxon.snooze`), now.
pub fn select_body(action_id: &str, value: &str, label: &str, user: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": user, "team_id": TEAM_ID},
        "api_app_id": "A0KLAXON",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": "C0SRE00001"},
        "channel": {"id": "C0SRE00001", "name": "sre"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [{"action_id": action_id, "block_id": "klaxon", "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": label}, "value": value},
            "placeholder": {"type": "plain_text", "text": "Snooze…"},
            "action_ts": format!("{}.000001", now_secs())}],
    });
    let mut s = String::from("payload=");
    s.extend(form_urlencode(&payload.to_string()));
    s
}

/// The form body Slack posts when `user` presses one of Klaxon's buttons (`klaxon.ack`, ...) for `alert`.
pub fn press_body(action_id: &str, alert: &str, user: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": user, "team_id": TEAM_ID},
        "api_app_id": "A0KLAXON",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": "C0SRE00001"},
        "channel": {"id": "C0SRE00001", "name": "sre"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [{"action_id": action_id, "block_id": "klaxon", "value": alert, "type": "button",
            "action_ts": "1700000000.000001"}],
    });
    let mut s = String::from("payload=");
    s.extend(form_urlencode(&payload.to_string()));
    s
}

fn form_urlencode(s: &str) -> impl Iterator<Item = String> + '_ {
    s.bytes().map(|b| match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
        b' ' => "+".to_owned(),
        _ => format!("%{b:02X}"),
    })
}

/// The current Unix time in seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// An incoming webhook (what Alertmanager's Slack receiver posts to): a post to the body's `channel` (or
/// `#webhook`), at the same one-a-second pace per channel as `chat.postMessage`.
async fn webhook(State(state): State<Arc<Mutex<Inner>>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let channel = v
        .get("channel")
        .and_then(Value::as_str)
        .unwrap_or("#webhook")
        .to_owned();
    let mut i = state.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    let (status, error) = if i
        .last_post
        .get(&channel)
        .is_some_and(|last| now.duration_since(*last) < Duration::from_millis(1000))
    {
        i.sent_429 += 1;
        (429, Some("rate_limited".to_owned()))
    } else {
        i.last_post.insert(channel.clone(), now);
        let ts = format!(
            "{}.{:06}",
            1_700_000_000 + i.next_ts / 1_000_000,
            i.next_ts % 1_000_000
        );
        i.next_ts += 1;
        let text = format!(
            "{} {}",
            v.get("text").and_then(Value::as_str).unwrap_or_default(),
            v.get("attachments").map(Value::to_string).unwrap_or_default()
        );
        i.messages.push(Msg {
            team: String::new(),
            channel,
            ts,
            thread_ts: None,
            broadcast: false,
            text,
            blocks: v.get("blocks").cloned().unwrap_or(Value::Null),
            updates: 0,
        });
        (200, None)
    };
    i.calls.push(Call {
        method: "webhook".into(),
        team: String::new(),
        token: String::new(),
        args: v,
        status,
        error: error.clone(),
        at: now,
    });
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        error.unwrap_or_else(|| "ok".into()),
    )
        .into_response();
    if status == 429 {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}

async fn respond(State(state): State<Arc<Mutex<Inner>>>, Path(id): Path<String>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .responses
        .push((id, v));
    (StatusCode::OK, "ok").into_response()
}

/// Slack's consent page, as a person answers it: back to the `redirect_uri` with a code and the `state`
/// (approved, for the workspace set with [`FakeSlack::approve_next`]) or with `error=access_denied`.
async fn authorize(State(state): State<Arc<Mutex<Inner>>>, RawQuery(query): RawQuery) -> Response {
    let q: HashMap<String, String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let mut i = state.lock().unwrap_or_else(PoisonError::into_inner);
    if get("client_id") != i.oauth.client_id || get("redirect_uri").is_empty() {
        return (StatusCode::BAD_REQUEST, "invalid_client_id or no redirect_uri").into_response();
    }
    let redirect = get("redirect_uri");
    let mut back = url::Url::parse(&redirect).expect("a redirect URL");
    match i.oauth.next.take() {
        Some(Consent::Approve { id, name }) => {
            i.oauth.minted += 1;
            let code = format!("code-{}", i.oauth.minted);
            i.oauth.codes.insert(code.clone(), (id, name, redirect));
            back.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &get("state"));
        }
        Some(Consent::Deny) | None => {
            back.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &get("state"));
        }
    }
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = header::HeaderValue::from_str(back.as_str()) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Decodes the arguments of a call, whatever their encoding.
fn args_of(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Value {
    let mut args = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        args.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if json {
        if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
            args.extend(o);
        }
    } else {
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            // Form-encoded blocks are a JSON string inside the field.
            let parsed = if k == "blocks" {
                serde_json::from_str(&v).unwrap_or(Value::String(v))
            } else {
                Value::String(v)
            };
            args.insert(k.into_owned(), parsed);
        }
    }
    Value::Object(args)
}

fn slack_error(code: &str) -> (u16, Value) {
    (200, json!({"ok": false, "error": code}))
}

async fn api(
    State(state): State<Arc<Mutex<Inner>>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let args = args_of(&headers, query.as_deref(), &body);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let token = authorization
        .strip_prefix("Bearer ")
        .unwrap_or_default()
        .to_owned();
    // Faults that do not depend on the method come first; a hang answers only after the client gave up.
    let (hang, hook) = {
        let mut i = state.lock().unwrap_or_else(PoisonError::into_inner);
        let roll = i.roll();
        let hang = roll < i.faults.timeout_rate;
        let hook = if method == "chat.postMessage" {
            i.on_post.clone()
        } else {
            None
        };
        (hang.then_some(i.faults.hang), hook)
    };
    if let Some(Hook(h)) = hook {
        h(&args);
    }
    if let Some(hang) = hang {
        tokio::time::sleep(hang).await;
    }
    let (status, value, retry_after) = {
        let mut i = state.lock().unwrap_or_else(PoisonError::into_inner);
        let (status, value, retry_after) = if method == "oauth.v2.access" {
            let (s, v) = i.oauth_access(&args, &authorization);
            (s, v, None)
        } else {
            i.answer(&method, &args, &token)
        };
        let error = value.get("error").and_then(Value::as_str).map(str::to_owned);
        let team = i.tokens.get(&token).map(|t| t.id.clone()).unwrap_or_default();
        i.calls.push(Call {
            method: method.clone(),
            team,
            token: token.clone(),
            args,
            status,
            error,
            at: Instant::now(),
        });
        (status, value, retry_after)
    };
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        axum::Json(value),
    )
        .into_response();
    if let Some(secs) = retry_after
        && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

impl Inner {
    /// A number in [0, 1) from a fixed-seed generator, so a run's faults repeat.
    fn roll(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn answer(&mut self, method: &str, args: &Value, token: &str) -> (u16, Value, Option<u64>) {
        if self.faults.rate_limit_burst > 0 {
            self.faults.rate_limit_burst -= 1;
            self.sent_429 += 1;
            return (429, json!({"ok": false, "error": "ratelimited"}), Some(1));
        }
        let roll = self.roll();
        if roll < self.faults.error_rate {
            let status = if roll < self.faults.error_rate / 2.0 {
                500
            } else {
                503
            };
            return (status, json!({"ok": false, "error": "internal_error"}), None);
        }
        let Some(team) = self.tokens.get(token).cloned() else {
            let (s, v) = slack_error("invalid_auth");
            return (s, v, None);
        };
        if team.revoked {
            let (s, v) = slack_error("token_revoked");
            return (s, v, None);
        }
        if self.faults.token_revoked {
            let (s, v) = slack_error("token_revoked");
            return (s, v, None);
        }
        let s = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (status, value) = match method {
            "auth.test" => (
                200,
                json!({"ok": true, "team_id": team.id, "team": "Fake", "user_id": "U0KLAXON01",
                "bot_id": "B0KLAXON01", "url": "https://fake.slack.com/"}),
            ),
            "chat.postMessage" => return self.post(args, &team.id),
            "chat.update" => self.update(args),
            "chat.postEphemeral" => (200, json!({"ok": true, "message_ts": "1.1"})),
            "conversations.open" => {
                let user = s("users");
                if self.disabled.contains(&user) {
                    slack_error("user_disabled")
                } else if !user.starts_with('U') && !user.starts_with('W') {
                    slack_error("user_not_found")
                } else {
                    (200, json!({"ok": true, "channel": {"id": dm_channel(&user)}}))
                }
            }
            "conversations.join" => {
                let channel = s("channel");
                if channel.starts_with('G') {
                    slack_error("method_not_supported_for_channel_type")
                } else {
                    self.joined.insert(channel.clone());
                    (200, json!({"ok": true, "channel": {"id": channel}}))
                }
            }
            "conversations.members" => {
                let members = self.members.get(&s("channel")).cloned().unwrap_or_default();
                (
                    200,
                    json!({"ok": true, "members": members, "response_metadata": {"next_cursor": ""}}),
                )
            }
            "users.getPresence" => {
                let presence = if self.away.contains(&s("user")) {
                    "away"
                } else {
                    "active"
                };
                (200, json!({"ok": true, "presence": presence}))
            }
            "users.info" => {
                let user = s("user");
                let tz = self
                    .tz
                    .get(&user)
                    .cloned()
                    .unwrap_or_else(|| DEFAULT_TZ.to_owned());
                (
                    200,
                    json!({"ok": true, "user": {"id": user, "name": user, "tz": tz, "deleted": false}}),
                )
            }
            "dnd.info" => {
                let now = now_secs();
                let v = if self.dnd.contains(&s("user")) {
                    json!({"ok": true, "dnd_enabled": true, "next_dnd_start_ts": now - 60, "next_dnd_end_ts": now + 3600})
                } else {
                    json!({"ok": true, "dnd_enabled": false, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1})
                };
                (200, v)
            }
            _ => slack_error("unknown_method"),
        };
        (status, value, None)
    }

    fn post(&mut self, args: &Value, team: &str) -> (u16, Value, Option<u64>) {
        let channel = args
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if channel.is_empty() {
            let (s, v) = slack_error("channel_not_found");
            return (s, v, None);
        }
        if self.missing_channels.contains(&channel) {
            let (s, v) = slack_error("channel_not_found");
            return (s, v, None);
        }
        if self.must_join.contains(&channel) && !self.joined.contains(&channel) {
            let (s, v) = slack_error("not_in_channel");
            return (s, v, None);
        }
        // One post a second per channel, as Slack shows them; more is refused with a wait.
        let now = Instant::now();
        if let Some(last) = self.last_post.get(&channel)
            && now.duration_since(*last) < Duration::from_millis(1000)
        {
            self.sent_429 += 1;
            return (429, json!({"ok": false, "error": "ratelimited"}), Some(1));
        }
        if let Err(code) = check_message(args) {
            let (s, v) = slack_error(code);
            return (s, v, None);
        }
        let text = args
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(p) = &self.faults.poison
            && text.contains(p.as_str())
        {
            let (s, v) = slack_error("invalid_blocks");
            return (s, v, None);
        }
        self.last_post.insert(channel.clone(), now);
        let ts = format!(
            "{}.{:06}",
            1_700_000_000 + self.next_ts / 1_000_000,
            self.next_ts % 1_000_000
        );
        self.next_ts += 1;
        let thread_ts = args.get("thread_ts").and_then(Value::as_str).map(str::to_owned);
        if let Some(parent) = &thread_ts
            && !self
                .messages
                .iter()
                .any(|m| m.channel == channel && &m.ts == parent)
        {
            let (s, v) = slack_error("thread_not_found");
            return (s, v, None);
        }
        self.messages.push(Msg {
            team: team.to_owned(),
            channel: channel.clone(),
            ts: ts.clone(),
            thread_ts,
            broadcast: args.get("reply_broadcast").and_then(Value::as_bool) == Some(true),
            text,
            blocks: args.get("blocks").cloned().unwrap_or(Value::Null),
            updates: 0,
        });
        (
            200,
            json!({"ok": true, "channel": channel, "ts": ts, "message": {}}),
            None,
        )
    }

    /// `oauth.v2.access`: the app's Basic credentials, a code handed out by the consent page (once), the
    /// same redirect URL; answers a new bot token of the code's workspace.
    fn oauth_access(&mut self, args: &Value, authorization: &str) -> (u16, Value) {
        use base64::Engine as _;
        let basic = authorization
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (id, secret) = basic.split_once(':').unwrap_or_default();
        if id.is_empty() || id != self.oauth.client_id {
            return slack_error("invalid_client_id");
        }
        if secret != self.oauth.client_secret {
            return slack_error("bad_client_secret");
        }
        let s = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some((team_id, name, redirect)) = self.oauth.codes.remove(&s("code")) else {
            return slack_error("invalid_code");
        };
        if redirect != s("redirect_uri") {
            return slack_error("bad_redirect_uri");
        }
        self.oauth.minted += 1;
        let token = format!("xoxb-{team_id}-{:04}", self.oauth.minted);
        self.tokens.insert(
            token.clone(),
            Team {
                id: team_id.clone(),
                revoked: false,
            },
        );
        (
            200,
            json!({"ok": true, "access_token": token, "token_type": "bot",
                "scope": "chat:write,commands", "bot_user_id": "U0KLAXON01", "app_id": "A0KLAXON",
                "team": {"name": name, "id": team_id}, "enterprise": null, "is_enterprise_install": false,
                "authed_user": {"id": "U0INSTALLER"}}),
        )
    }

    fn update(&mut self, args: &Value) -> (u16, Value) {
        if let Err(code) = check_message(args) {
            return slack_error(code);
        }
        let channel = args.get("channel").and_then(Value::as_str).unwrap_or_default();
        let ts = args.get("ts").and_then(Value::as_str).unwrap_or_default();
        let text = args
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(p) = &self.faults.poison
            && text.contains(p.as_str())
        {
            return slack_error("invalid_blocks");
        }
        let Some(m) = self
            .messages
            .iter_mut()
            .find(|m| m.channel == channel && m.ts == ts)
        else {
            return slack_error("message_not_found");
        };
        m.text = text;
        m.blocks = args.get("blocks").cloned().unwrap_or(Value::Null);
        m.updates += 1;
        (200, json!({"ok": true, "channel": channel, "ts": ts}))
    }
}

/// Slack's Block Kit limits: `invalid_blocks` or `msg_too_long` when one is broken.
fn check_message(args: &Value) -> Result<(), &'static str> {
    let text_len = |v: Option<&Value>| {
        v.and_then(|t| t.get("text"))
            .and_then(Value::as_str)
            .map_or(0, |t| t.chars().count())
    };
    if args
        .get("text")
        .and_then(Value::as_str)
        .map_or(0, |t| t.chars().count())
        > 4000
    {
        return Err("msg_too_long");
    }
    let Some(blocks) = args.get("blocks") else {
        return Ok(());
    };
    let blocks = blocks.as_array().ok_or("invalid_blocks_format")?;
    if blocks.len() > 50 {
        return Err("invalid_blocks");
    }
    for b in blocks {
        let ok = match b.get("type").and_then(Value::as_str) {
            Some("header") => text_len(b.get("text")) <= 150,
            Some("section") => {
                let fields = b.get("fields").and_then(Value::as_array);
                text_len(b.get("text")) <= 3000
                    && fields.is_none_or(|f| f.len() <= 10 && f.iter().all(|x| text_len(Some(x)) <= 2000))
            }
            Some("context") => b
                .get("elements")
                .and_then(Value::as_array)
                .is_some_and(|e| e.len() <= 10),
            Some("actions") => b.get("elements").and_then(Value::as_array).is_some_and(|e| {
                e.len() <= 25
                    && e.iter().all(|x| {
                        text_len(x.get("text")) <= 75
                            && x.get("value")
                                .and_then(Value::as_str)
                                .is_none_or(|v| v.len() <= 2000)
                    })
            }),
            Some("divider") => true,
            _ => false,
        };
        if !ok {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

/// Slack's messages of one alert in a channel, found by the alert's title.
pub fn by_title<'a>(messages: &'a [Msg], title: &str) -> Vec<&'a Msg> {
    messages.iter().filter(|m| m.content().contains(title)).collect()
}

/// Counts of each method's calls.
pub fn method_counts(calls: &[Call]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in calls {
        *out.entry(c.method.clone()).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    /// The tests sign presses exactly as Slack does: Slack's published example.
    #[test]
    fn signs_like_slack() {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                crate::workspace_root().join("backend/server/tests/fixtures/slack/slack_signing_vector.json"),
            )
            .expect("the fixture"),
        )
        .expect("JSON");
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let ts: i64 = s("timestamp").parse().unwrap_or_default();
        let (got_ts, sig) = super::sign(&s("signing_secret"), &s("body"), ts);
        assert_eq!((got_ts, sig), (s("timestamp"), s("expected_signature")));
    }
}
