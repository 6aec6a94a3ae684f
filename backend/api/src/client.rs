//! A typed async client of the management API, used by the Terraform provider and the tests.
//!
//! The client owns the HTTP policy, so callers never wrap calls in their own loops: a connect timeout and a
//! total timeout on every request, and retries with jittered exponential back-off on connection errors,
//! timeouts and 5xx answers, for idempotent calls only (GET, PUT, DELETE). A POST is sent once: retrying a
//! create whose answer was lost could create a second object.

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::{Serialize, de::DeserializeOwned};

use crate::maintenance::{MaintenanceWindow, MaintenanceWindowInput, MaintenanceWindowQuery};
use crate::{
    Endpoint, EndpointInput, EndpointQuery, ErrorBody, EscalationPolicy, EscalationPolicyInput, Heartbeat,
    HeartbeatInput, HeartbeatQuery, Page, PolicyQuery, Team, TeamInput, TeamQuery,
};

/// How the client talks to the server. Its `Debug` hides the token.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    pub endpoint: String,
    /// The account's API token.
    pub token: String,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, answer included.
    pub timeout: Duration,
    /// Attempts of an idempotent call, the first included.
    pub max_attempts: u32,
    /// Back-off before the first retry; doubles each time, with jitter.
    pub initial_backoff: Duration,
}

impl ClientConfig {
    /// Defaults for an endpoint and token: 5 s to connect, 30 s per request, 4 attempts from 200 ms.
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            token: token.into(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &self.endpoint)
            .field("token", &"***")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The configured endpoint is not an http(s) URL.
    #[error("invalid endpoint URL {0:?}: expected http://HOST:PORT or https://HOST")]
    InvalidEndpoint(String),
    /// An id that cannot be one path segment: empty, `.` or `..` (a URL resolves those to another path, even
    /// percent-encoded), so nothing was sent.
    #[error("invalid id {0:?}: an id cannot be empty, \".\" or \"..\"")]
    InvalidId(String),
    /// The server answered with an error.
    #[error("{message} (HTTP {status}, {code}{})", field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// The error's stable code.
        code: String,
        /// The server's explanation.
        message: String,
        /// The offending field, when there is one.
        field: Option<String>,
    },
    /// The request could not be sent or its answer not read (after the retries allowed).
    #[error("request to the Klaxon API failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// The answer was not what the API promises.
    #[error("unexpected answer from the Klaxon API: {0}")]
    Decode(String),
}

impl ClientError {
    /// True when the server said the object does not exist (or belongs to another account).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }
}

/// The management API client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    config: ClientConfig,
}

impl Client {
    /// Builds a client; fails only on a malformed endpoint or an unusable TLS set-up.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let trimmed = config.endpoint.trim_end_matches('/');
        let base = url::Url::parse(&format!("{trimmed}/"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ClientError::InvalidEndpoint(config.endpoint.clone()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("klaxon-api/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Transport)?;
        Ok(Self { http, base, config })
    }

    /// Creates a team.
    pub async fn create_team(&self, input: &TeamInput) -> Result<Team, ClientError> {
        self.call(Method::POST, "v1/teams", None::<&()>, Some(input))
            .await
    }
    /// Reads a team; `None` when it does not exist.
    pub async fn get_team(&self, id: &str) -> Result<Option<Team>, ClientError> {
        found(
            self.call(
                Method::GET,
                &format!("v1/teams/{}", seg(id)?),
                None::<&()>,
                None::<&()>,
            )
            .await,
        )
    }
    /// Replaces a team.
    pub async fn update_team(&self, id: &str, input: &TeamInput) -> Result<Team, ClientError> {
        self.call(
            Method::PUT,
            &format!("v1/teams/{}", seg(id)?),
            None::<&()>,
            Some(input),
        )
        .await
    }
    /// Deletes a team; `false` when it was already gone.
    pub async fn delete_team(&self, id: &str) -> Result<bool, ClientError> {
        self.delete(&format!("v1/teams/{}", seg(id)?)).await
    }
    /// Lists teams.
    pub async fn list_teams(&self, query: &TeamQuery) -> Result<Page<Team>, ClientError> {
        self.call(Method::GET, "v1/teams", Some(query), None::<&()>).await
    }

    /// Creates an escalation policy.
    pub async fn create_policy(
        &self,
        input: &EscalationPolicyInput,
    ) -> Result<EscalationPolicy, ClientError> {
        self.call(Method::POST, "v1/escalation-policies", None::<&()>, Some(input))
            .await
    }
    /// Reads an escalation policy; `None` when it does not exist.
    pub async fn get_policy(&self, id: &str) -> Result<Option<EscalationPolicy>, ClientError> {
        found(
            self.call(
                Method::GET,
                &format!("v1/escalation-policies/{}", seg(id)?),
                None::<&()>,
                None::<&()>,
            )
            .await,
        )
    }
    /// Replaces an escalation policy.
    pub async fn update_policy(
        &self,
        id: &str,
        input: &EscalationPolicyInput,
    ) -> Result<EscalationPolicy, ClientError> {
        self.call(
            Method::PUT,
            &format!("v1/escalation-policies/{}", seg(id)?),
            None::<&()>,
            Some(input),
        )
        .await
    }
    /// Deletes an escalation policy; `false` when it was already gone.
    pub async fn delete_policy(&self, id: &str) -> Result<bool, ClientError> {
        self.delete(&format!("v1/escalation-policies/{}", seg(id)?)).await
    }
    /// Lists escalation policies.
    pub async fn list_policies(&self, query: &PolicyQuery) -> Result<Page<EscalationPolicy>, ClientError> {
        self.call(Method::GET, "v1/escalation-policies", Some(query), None::<&()>)
            .await
    }

    /// Creates an endpoint.
    pub async fn create_endpoint(&self, input: &EndpointInput) -> Result<Endpoint, ClientError> {
        self.call(Method::POST, "v1/endpoints", None::<&()>, Some(input))
            .await
    }
    /// Reads an endpoint; `None` when it does not exist.
    pub async fn get_endpoint(&self, id: &str) -> Result<Option<Endpoint>, ClientError> {
        found(
            self.call(
                Method::GET,
                &format!("v1/endpoints/{}", seg(id)?),
                None::<&()>,
                None::<&()>,
            )
            .await,
        )
    }
    /// Replaces an endpoint.
    pub async fn update_endpoint(&self, id: &str, input: &EndpointInput) -> Result<Endpoint, ClientError> {
        self.call(
            Method::PUT,
            &format!("v1/endpoints/{}", seg(id)?),
            None::<&()>,
            Some(input),
        )
        .await
    }
    /// Deletes an endpoint; `false` when it was already gone.
    pub async fn delete_endpoint(&self, id: &str) -> Result<bool, ClientError> {
        self.delete(&format!("v1/endpoints/{}", seg(id)?)).await
    }
    /// Lists endpoints.
    pub async fn list_endpoints(&self, query: &EndpointQuery) -> Result<Page<Endpoint>, ClientError> {
        self.call(Method::GET, "v1/endpoints", Some(query), None::<&()>)
            .await
    }

    /// Creates a heartbeat; its clock starts now.
    pub async fn create_heartbeat(&self, input: &HeartbeatInput) -> Result<Heartbeat, ClientError> {
        self.call(Method::POST, "v1/heartbeats", None::<&()>, Some(input))
            .await
    }
    /// Reads a heartbeat; `None` when it does not exist.
    pub async fn get_heartbeat(&self, id: &str) -> Result<Option<Heartbeat>, ClientError> {
        found(
            self.call(
                Method::GET,
                &format!("v1/heartbeats/{}", seg(id)?),
                None::<&()>,
                None::<&()>,
            )
            .await,
        )
    }
    /// Replaces a heartbeat.
    pub async fn update_heartbeat(&self, id: &str, input: &HeartbeatInput) -> Result<Heartbeat, ClientError> {
        self.call(
            Method::PUT,
            &format!("v1/heartbeats/{}", seg(id)?),
            None::<&()>,
            Some(input),
        )
        .await
    }
    /// Deletes a heartbeat; `false` when it was already gone.
    pub async fn delete_heartbeat(&self, id: &str) -> Result<bool, ClientError> {
        self.delete(&format!("v1/heartbeats/{}", seg(id)?)).await
    }
    /// Lists heartbeats.
    pub async fn list_heartbeats(&self, query: &HeartbeatQuery) -> Result<Page<Heartbeat>, ClientError> {
        self.call(Method::GET, "v1/heartbeats", Some(query), None::<&()>)
            .await
    }

    /// Creates a maintenance window.
    pub async fn create_maintenance_window(
        &self,
        input: &MaintenanceWindowInput,
    ) -> Result<MaintenanceWindow, ClientError> {
        self.call(Method::POST, "v1/maintenance-windows", None::<&()>, Some(input))
            .await
    }
    /// Reads a maintenance window; `None` when it does not exist.
    pub async fn get_maintenance_window(&self, id: &str) -> Result<Option<MaintenanceWindow>, ClientError> {
        found(
            self.call(
                Method::GET,
                &format!("v1/maintenance-windows/{}", seg(id)?),
                None::<&()>,
                None::<&()>,
            )
            .await,
        )
    }
    /// Replaces a maintenance window.
    pub async fn update_maintenance_window(
        &self,
        id: &str,
        input: &MaintenanceWindowInput,
    ) -> Result<MaintenanceWindow, ClientError> {
        self.call(
            Method::PUT,
            &format!("v1/maintenance-windows/{}", seg(id)?),
            None::<&()>,
            Some(input),
        )
        .await
    }
    /// Deletes a maintenance window; `false` when it was already gone.
    pub async fn delete_maintenance_window(&self, id: &str) -> Result<bool, ClientError> {
        self.delete(&format!("v1/maintenance-windows/{}", seg(id)?)).await
    }
    /// Lists maintenance windows.
    pub async fn list_maintenance_windows(
        &self,
        query: &MaintenanceWindowQuery,
    ) -> Result<Page<MaintenanceWindow>, ClientError> {
        self.call(Method::GET, "v1/maintenance-windows", Some(query), None::<&()>)
            .await
    }

    /// Any other call, for APIs this client has no typed method for yet: `path` is relative to the base
    /// (`v1/alerts`), the body is sent as JSON, and the same retry policy applies.
    pub async fn call<Q, B, T>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<T, ClientError>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let bytes = self.send(method, path, query, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn delete(&self, path: &str) -> Result<bool, ClientError> {
        match self.send(Method::DELETE, path, None::<&()>, None::<&()>).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn send<Q, B>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<Vec<u8>, ClientError>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
    {
        let url = self
            .base
            .join(path)
            .map_err(|_| ClientError::InvalidEndpoint(path.to_owned()))?;
        let idempotent = method != Method::POST;
        let attempts = if idempotent {
            self.config.max_attempts.max(1)
        } else {
            1
        };
        let mut backoff = self.config.initial_backoff;
        let mut attempt = 1;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&self.config.token);
            if let Some(q) = query {
                req = req.query(q);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let err = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    match resp.bytes().await {
                        Ok(bytes) if status.is_success() => return Ok(bytes.to_vec()),
                        Ok(bytes) => api_error(status, &bytes),
                        Err(e) => ClientError::Transport(e),
                    }
                }
                Err(e) => ClientError::Transport(e),
            };
            let retryable = match &err {
                ClientError::Transport(_) => true,
                ClientError::Api { status, .. } => *status >= 500,
                _ => false,
            };
            if !retryable || attempt >= attempts {
                return Err(err);
            }
            tracing::debug!(%method, path, attempt, error = %err, "Retrying an idempotent Klaxon API call.");
            // Full jitter: a random wait up to the current back-off, so clients that failed together do not
            // retry together.
            let wait = rand::rng().random_range(Duration::ZERO..=backoff);
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            attempt += 1;
        }
    }
}

fn found<T>(result: Result<T, ClientError>) -> Result<Option<T>, ClientError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Percent-encodes an id for use as one path segment, so an odd id cannot reach another path. An empty id,
/// `.` and `..` are refused: the empty segment names the collection, and URLs treat `.` and `..` as steps up
/// the path even when written `%2E` (the URL standard decodes them), so no encoding keeps them in place.
fn seg(id: &str) -> Result<String, ClientError> {
    if matches!(id, "" | "." | "..") {
        return Err(ClientError::InvalidId(id.to_owned()));
    }
    Ok(id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect())
}

fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => ClientError::Api {
            status: status.as_u16(),
            code: b.error.code,
            message: b.error.message,
            field: b.error.field,
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: "http_error".into(),
            message: format!(
                "{}: {}",
                status.canonical_reason().unwrap_or("error"),
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
            field: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_must_be_http() {
        assert!(Client::new(ClientConfig::new("ftp://x", "t")).is_err());
        assert!(Client::new(ClientConfig::new("not a url", "t")).is_err());
        assert!(Client::new(ClientConfig::new("http://127.0.0.1:8080/", "t")).is_ok());
    }

    #[test]
    fn debug_hides_the_token() {
        let config = ClientConfig::new("http://127.0.0.1:8080", "klx_secret-token-value");
        let client = Client::new(config.clone()).unwrap();
        for shown in [
            format!("{config:?}"),
            format!("{client:?}"),
            format!("{config:#?}"),
        ] {
            assert!(!shown.contains("secret-token-value"), "{shown}");
            assert!(
                shown.contains("127.0.0.1:8080") && shown.contains("***"),
                "{shown}"
            );
        }
    }

    #[test]
    fn ids_cannot_escape_their_segment() {
        assert_eq!(seg("tm_01AB").unwrap(), "tm_01AB");
        assert_eq!(seg("../x").unwrap(), "..%2Fx");
        assert_eq!(seg("...").unwrap(), "...");
        assert_eq!(seg("a b").unwrap(), "a%20b");
        let base = url::Url::parse("http://127.0.0.1:8080/").unwrap();
        for id in ["../x", "...", ".a", "a..", "%2e%2e", "a/../b", "?q", "#f"] {
            let url = base.join(&format!("v1/teams/{}", seg(id).unwrap())).unwrap();
            assert_eq!(
                url.path_segments().unwrap().collect::<Vec<_>>().len(),
                3,
                "{id:?} -> {url}"
            );
            assert!(url.path().starts_with("/v1/teams/"), "{id:?} -> {url}");
            assert!(
                url.query().is_none() && url.fragment().is_none(),
                "{id:?} -> {url}"
            );
        }
        // Encoding cannot save these: the URL standard reads `%2E%2E` as `..` too.
        assert_eq!(base.join("v1/teams/%2E%2E").unwrap().path(), "/v1/");
        for id in ["", ".", ".."] {
            assert!(matches!(seg(id), Err(ClientError::InvalidId(_))), "{id:?}");
        }
    }

    #[tokio::test]
    async fn calls_with_dot_ids_are_refused_before_sending() {
        // Nothing listens on port 9: a request that was sent would fail as a transport error instead.
        let client = Client::new(ClientConfig::new("http://127.0.0.1:9", "t")).unwrap();
        for id in ["", ".", ".."] {
            assert!(
                matches!(client.get_team(id).await, Err(ClientError::InvalidId(_))),
                "{id:?}"
            );
            assert!(
                matches!(client.delete_endpoint(id).await, Err(ClientError::InvalidId(_))),
                "{id:?}"
            );
            assert!(
                matches!(client.get_policy(id).await, Err(ClientError::InvalidId(_))),
                "{id:?}"
            );
        }
    }

    #[test]
    fn error_bodies_are_decoded() {
        let e = api_error(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"code":"invalid_field","message":"bad","field":"name"}}"#,
        );
        assert!(
            matches!(e, ClientError::Api { status: 400, ref field, .. } if field.as_deref() == Some("name"))
        );
        assert!(api_error(StatusCode::NOT_FOUND, b"nope").is_not_found());
    }
}
