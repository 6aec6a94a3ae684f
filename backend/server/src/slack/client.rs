//! The Slack Web API client: the one place that owns how Klaxon talks to Slack.
//!
//! Policy (the seed's lessons): every call has a connect and a total timeout; timeouts, connection errors,
//! 5xx and 429 are retried a bounded number of times with jittered back-off, a 429 after its `Retry-After`;
//! Slack's other refusals (`ok: false`) are never retried. Calls are paced per workspace and method by
//! Slack's tiers ([`super::pace`]); a wait longer than a moment is handed back to the caller as
//! [`SlackError::RateLimited`], so a job can come back later instead of holding a worker. Errors that mean
//! the workspace cannot be used at all are told apart ([`SlackError::Workspace`]).
//!
//! Bodies: JSON for the methods that take it (`chat.*`, `conversations.open`), a query string for reads,
//! a form for the rest, as Slack's SDKs do.

use std::time::Duration;

use rand::Rng as _;
use serde_json::Value;

use super::pace::{Pacer, method_rate};

/// How calls are made.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Slack's Web API base, e.g. `https://slack.com/api` (tests point it at a fake).
    pub base_url: String,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole call, answer included.
    pub timeout: Duration,
    /// Attempts of one call, the first included.
    pub max_attempts: u32,
    /// Back-off before the first retry; doubles each time, with jitter.
    pub initial_backoff: Duration,
    /// Longest pacing or `Retry-After` wait taken inside a call; a longer one is returned to the caller.
    pub max_inline_wait: Duration,
}

impl ClientSettings {
    /// The defaults for `base_url`: 3 s to connect (the seed's), 5 s per call, 3 attempts from 250 ms, waits
    /// of up to 2 s taken inline.
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_inline_wait: Duration::from_secs(2),
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack refused this request (`ok: false` with `code`); the same request will be refused again.
    #[error("Slack refused {method}: {code}")]
    Api {
        /// The method.
        method: &'static str,
        /// Slack's error code (`channel_not_found`, `invalid_blocks`, ...).
        code: String,
    },
    /// The workspace cannot be used: its token is revoked or invalid, the app was uninstalled, the
    /// workspace is inactive. No call for it can succeed until that is fixed.
    #[error("the Slack workspace cannot be used: {code}")]
    Workspace {
        /// Slack's error code (`token_revoked`, `invalid_auth`, `account_inactive`, ...).
        code: String,
    },
    /// The workspace is inactive (it uninstalled Klaxon, revoked its token, or the account has no
    /// workspace): no call is made for it until it installs Klaxon again.
    #[error("the Slack workspace is inactive: {reason}")]
    Inactive {
        /// Why (`app_uninstalled`, `tokens_revoked`, `not_installed`, `token_unreadable`).
        reason: String,
    },
    /// Over Slack's rate (a 429, or Klaxon's own pacing): try again after `retry_after`.
    #[error("Slack {method} is rate limited; retry after {retry_after:?}")]
    RateLimited {
        /// The method.
        method: &'static str,
        /// How long to wait.
        retry_after: Duration,
    },
    /// No usable answer after the retries allowed (timeouts, connection errors, 5xx).
    #[error("Slack {method} failed: {message}")]
    Transient {
        /// The method.
        method: &'static str,
        /// What went wrong last.
        message: String,
    },
}

impl SlackError {
    /// Slack's error code, for `Api` and `Workspace` errors (the reason, for `Inactive`).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } | Self::Workspace { code } => Some(code),
            Self::Inactive { reason } => Some(reason),
            _ => None,
        }
    }
}

/// The error codes that mean the workspace (not this call) is unusable.
const WORKSPACE_ERRORS: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "team_access_not_granted",
    "app_uninstalled",
    "ekm_access_denied",
];

/// `ok: false` codes that may pass: retried like a 5xx.
const TRANSIENT_ERRORS: &[&str] = &["service_unavailable", "internal_error", "request_timeout"];

/// How a call sends its arguments.
#[derive(Debug, Clone)]
pub enum Args {
    /// A JSON body.
    Json(Value),
    /// A form body.
    Form(Vec<(&'static str, String)>),
    /// A `GET` with a query string.
    Query(Vec<(&'static str, String)>),
}

/// Who a call is made as.
enum Auth<'a> {
    /// A workspace's bot token.
    Bearer(&'a str),
    /// The app itself (client id and secret), for `oauth.v2.access`.
    Basic(&'a str, &'a str),
}

/// A Slack Web API client (cheap to clone; clones share the connection pool and the pacing).
#[derive(Debug, Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    settings: ClientSettings,
    pacer: std::sync::Arc<Pacer>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl SlackClient {
    /// A client with `settings`.
    pub fn new(settings: ClientSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            settings,
            pacer: std::sync::Arc::default(),
            metrics: std::sync::Arc::default(),
        })
    }

    /// This client, counting its calls (latency, retries, errors) in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The pacing shared by this client's clones (callers pace channel posts with it too).
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// The settings.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// Calls `method` for the workspace of `team` (the pacing key) with `token`; returns Slack's answer (with
    /// `ok: true`). See the module docs for the policy.
    pub async fn call(
        &self,
        team: &str,
        token: &str,
        method: &'static str,
        args: Args,
    ) -> Result<Value, SlackError> {
        self.call_as(team, &Auth::Bearer(token), method, args).await
    }

    /// `oauth.v2.access`: exchanges an install's `code` for the workspace's bot token, authenticated as the
    /// app (HTTP Basic with its client id and secret, which Slack prefers to body parameters).
    pub async fn oauth_access(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Value, SlackError> {
        let args = Args::Form(vec![
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
        ]);
        self.call_as(
            "oauth",
            &Auth::Basic(client_id, client_secret),
            "oauth.v2.access",
            args,
        )
        .await
    }

    async fn call_as(
        &self,
        team: &str,
        auth: &Auth<'_>,
        method: &'static str,
        args: Args,
    ) -> Result<Value, SlackError> {
        let started = std::time::Instant::now();
        let mut retries = 0;
        let result = self.call_counted(team, auth, method, args, &mut retries).await;
        let error = result.as_ref().err().map(metric_error);
        self.metrics
            .slack_call(method, started.elapsed(), retries, error.as_deref());
        result
    }

    async fn call_counted(
        &self,
        team: &str,
        auth: &Auth<'_>,
        method: &'static str,
        args: Args,
        retries: &mut u32,
    ) -> Result<Value, SlackError> {
        let url = format!("{}/{method}", self.settings.base_url);
        self.pace(team, method).await?;
        let attempts = self.settings.max_attempts.max(1);
        let mut backoff = self.settings.initial_backoff;
        let mut attempt = 1;
        loop {
            let err = match self.send(&url, auth, &args).await {
                Ok((status, retry_after, body)) => match classify(method, status, retry_after, &body) {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                },
                Err(e) => SlackError::Transient {
                    method,
                    message: transport_message(e),
                },
            };
            let wait = match &err {
                SlackError::Transient { .. } => {
                    // Full jitter: a random wait up to the current back-off.
                    let w = rand::rng().random_range(Duration::ZERO..=backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    w
                }
                SlackError::RateLimited { retry_after, .. } => {
                    let rate = method_rate(method);
                    self.pacer.hold(&pace_key(team, method), rate, *retry_after);
                    if *retry_after > self.settings.max_inline_wait {
                        return Err(err);
                    }
                    *retry_after
                }
                SlackError::Api { .. } | SlackError::Workspace { .. } | SlackError::Inactive { .. } => {
                    return Err(err);
                }
            };
            if attempt >= attempts {
                return Err(err);
            }
            tracing::debug!(method, attempt, error = %err, wait_ms = wait.as_millis() as u64, "Retrying a Slack call.");
            tokio::time::sleep(wait).await;
            attempt += 1;
            *retries += 1;
        }
    }

    /// Waits for the method's pace (briefly) or says how long it would be.
    async fn pace(&self, team: &str, method: &'static str) -> Result<(), SlackError> {
        let rate = method_rate(method);
        let key = pace_key(team, method);
        loop {
            match self.pacer.try_take(&key, rate) {
                Ok(()) => return Ok(()),
                Err(wait) if wait <= self.settings.max_inline_wait => tokio::time::sleep(wait).await,
                Err(wait) => {
                    return Err(SlackError::RateLimited {
                        method,
                        retry_after: wait,
                    });
                }
            }
        }
    }

    async fn send(
        &self,
        url: &str,
        auth: &Auth<'_>,
        args: &Args,
    ) -> Result<(reqwest::StatusCode, Option<Duration>, bytes::Bytes), reqwest::Error> {
        let req = match args {
            Args::Json(body) => self.http.post(url).json(body),
            Args::Form(pairs) => self.http.post(url).form(pairs),
            Args::Query(pairs) => self.http.get(url).query(pairs),
        };
        let req = match auth {
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::Basic(id, secret) => req.basic_auth(id, Some(secret)),
        };
        let resp = req.send().await?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await?;
        Ok((status, retry_after, body))
    }

    /// Posts a raw JSON body to a `response_url` (the ephemeral answer to a button press). Not paced or
    /// authenticated: the URL is the credential, valid for 30 minutes and 5 uses.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        let method = "response_url";
        let resp = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(|e| SlackError::Transient {
                method,
                message: transport_message(e),
            })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(SlackError::Api {
                method,
                code: format!("http_{}", resp.status().as_u16()),
            })
        }
    }
}

/// A failed call's label on `SlackApiErrors`: Slack's error code, or the kind of failure (a few values).
fn metric_error(e: &SlackError) -> String {
    match e {
        SlackError::Api { code, .. } | SlackError::Workspace { code } => code.clone(),
        SlackError::Inactive { .. } => "inactive".to_owned(),
        SlackError::RateLimited { .. } => "rate_limited".to_owned(),
        SlackError::Transient { message, .. } if message.contains("timed out") => "timeout".to_owned(),
        SlackError::Transient { message, .. } if message.starts_with("HTTP 5") => "http_5xx".to_owned(),
        SlackError::Transient { .. } => "unreachable".to_owned(),
    }
}

fn pace_key(team: &str, method: &str) -> String {
    format!("{team}/{method}")
}

fn transport_message(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        // No URL in the message: a response URL is a credential.
        e.without_url().to_string()
    }
}

/// Slack's answer as a result: see the module docs.
fn classify(
    method: &'static str,
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<Value, SlackError> {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(SlackError::RateLimited {
            method,
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
        });
    }
    if status.is_server_error() {
        return Err(SlackError::Transient {
            method,
            message: format!("HTTP {}", status.as_u16()),
        });
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| SlackError::Transient {
        method,
        message: format!("HTTP {} with a body that is not JSON", status.as_u16()),
    })?;
    if value.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(value);
    }
    let code = value
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error")
        .to_owned();
    if code == "ratelimited" || code == "rate_limited" {
        return Err(SlackError::RateLimited {
            method,
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
        });
    }
    if WORKSPACE_ERRORS.contains(&code.as_str()) {
        return Err(SlackError::Workspace { code });
    }
    if TRANSIENT_ERRORS.contains(&code.as_str()) {
        return Err(SlackError::Transient {
            method,
            message: code,
        });
    }
    Err(SlackError::Api { method, code })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, retry: Option<u64>, body: &str) -> Result<Value, SlackError> {
        classify(
            "chat.postMessage",
            reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::OK),
            retry.map(Duration::from_secs),
            body.as_bytes(),
        )
    }

    #[test]
    fn answers_are_sorted_by_what_can_be_done() {
        assert!(c(200, None, r#"{"ok":true,"ts":"1.2"}"#).is_ok());
        assert_eq!(
            c(429, Some(7), "").unwrap_err(),
            SlackError::RateLimited {
                method: "chat.postMessage",
                retry_after: Duration::from_secs(7)
            }
        );
        assert!(matches!(c(503, None, ""), Err(SlackError::Transient { .. })));
        assert!(matches!(
            c(200, None, r#"{"ok":false,"error":"internal_error"}"#),
            Err(SlackError::Transient { .. })
        ));
        assert_eq!(
            c(200, None, r#"{"ok":false,"error":"token_revoked"}"#).unwrap_err(),
            SlackError::Workspace {
                code: "token_revoked".into()
            }
        );
        assert_eq!(
            c(200, None, r#"{"ok":false,"error":"invalid_blocks"}"#)
                .unwrap_err()
                .code(),
            Some("invalid_blocks")
        );
        assert!(matches!(
            c(200, None, "<html>"),
            Err(SlackError::Transient { .. })
        ));
    }
}
