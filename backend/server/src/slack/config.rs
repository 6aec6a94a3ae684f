//! Slack's settings: the Web API's address, the app's signing secret, and the two ways of connecting
//! workspaces (one bot token from the configuration, or OAuth installs, or both). Each secret may be given
//! directly, as a file (`<VAR>_FILE`), or as a KMS ciphertext (`kms:<base64>`), read once at start-up.

use std::time::Duration;

use crate::{config::ConfigError, secrets::config_secret};

/// Settings of Slack.
#[derive(Clone, clap::Args)]
pub struct SlackArgs {
    /// Base URL of Slack's Web API (tests point it at a local fake).
    #[arg(long, env = "KLAXON_SLACK_API_URL", default_value = "https://slack.com/api")]
    pub slack_api_url: String,
    /// Single-workspace mode: the bot token (`xoxb-…`) of the workspace Klaxon posts to, for every account
    /// that is not a workspace installed through OAuth. With the signing secret it turns Slack on. Also
    /// `KLAXON_SLACK_BOT_TOKEN_FILE`; a value `kms:<base64>` is decrypted with KMS at start-up.
    #[arg(long, env = "KLAXON_SLACK_BOT_TOKEN", hide_env_values = true)]
    pub slack_bot_token: Option<String>,
    /// Signing secret of the Slack app ("Basic Information"): proves that button presses, events and slash
    /// commands come from Slack. Required when Slack is on. Also `KLAXON_SLACK_SIGNING_SECRET_FILE` or
    /// `kms:<base64>`.
    #[arg(long, env = "KLAXON_SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<String>,
    /// Several workspaces: the Slack app's client id ("Basic Information"). With the client secret (and the
    /// signing secret) it turns on `GET /slack/install`, which makes each workspace that installs Klaxon an
    /// account of its own.
    #[arg(long, env = "KLAXON_SLACK_CLIENT_ID")]
    pub slack_client_id: Option<String>,
    /// The Slack app's client secret, for the OAuth install. Also `KLAXON_SLACK_CLIENT_SECRET_FILE` or
    /// `kms:<base64>`. Kept in memory only; never stored.
    #[arg(long, env = "KLAXON_SLACK_CLIENT_SECRET", hide_env_values = true)]
    pub slack_client_secret: Option<String>,
    /// Time allowed for one Slack call, answer included, in milliseconds (at most 3 s of it to connect).
    /// A call that takes longer is retried like a 5xx.
    #[arg(long, env = "KLAXON_SLACK_TIMEOUT_MS", default_value_t = 5000)]
    pub slack_timeout_ms: u64,
}

impl std::fmt::Debug for SlackArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("SlackArgs")
            .field("slack_api_url", &self.slack_api_url)
            .field("slack_bot_token", &hidden(&self.slack_bot_token))
            .field("slack_signing_secret", &hidden(&self.slack_signing_secret))
            .field("slack_client_id", &self.slack_client_id)
            .field("slack_client_secret", &hidden(&self.slack_client_secret))
            .field("slack_timeout_ms", &self.slack_timeout_ms)
            .finish()
    }
}

/// The Slack app's OAuth credentials.
#[derive(Clone)]
pub struct OAuthApp {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// Slack's settings, read and checked.
#[derive(Clone)]
pub struct SlackConfig {
    /// The Web API's base URL.
    pub api_url: String,
    /// Time allowed per call.
    pub timeout: Duration,
    /// The app's signing secret.
    pub signing_secret: String,
    /// The single workspace's bot token.
    pub bot_token: Option<String>,
    /// OAuth installs, when on.
    pub oauth: Option<OAuthApp>,
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("api_url", &self.api_url)
            .field("timeout", &self.timeout)
            .field("bot_token", &self.bot_token.as_ref().map(|_| "***"))
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}

const TOKEN: &str = "--slack-bot-token / KLAXON_SLACK_BOT_TOKEN";
const SIGNING: &str = "--slack-signing-secret / KLAXON_SLACK_SIGNING_SECRET";
const CLIENT_ID: &str = "--slack-client-id / KLAXON_SLACK_CLIENT_ID";
const CLIENT_SECRET: &str = "--slack-client-secret / KLAXON_SLACK_CLIENT_SECRET";

impl SlackArgs {
    /// The settings that need no secret read: the API URL and the timeout.
    pub fn check_plain(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.slack_api_url).ok();
        if !url
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Err(ConfigError {
                setting: "--slack-api-url / KLAXON_SLACK_API_URL",
                message: format!("{:?} is not an http(s) URL", self.slack_api_url),
            });
        }
        if !(100..=60_000).contains(&self.slack_timeout_ms) {
            return Err(ConfigError {
                setting: "--slack-timeout-ms / KLAXON_SLACK_TIMEOUT_MS",
                message: "must be 100 to 60000".into(),
            });
        }
        Ok(())
    }

    /// Reads the secrets (from their variables, `_FILE`s or KMS) and checks they make sense together; `None`
    /// when Slack is off. The error names the setting that is missing or wrong.
    pub async fn resolve(&self) -> Result<Option<SlackConfig>, ConfigError> {
        self.check_plain()?;
        let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let token =
            nonempty(config_secret(TOKEN, "KLAXON_SLACK_BOT_TOKEN", self.slack_bot_token.as_deref()).await?);
        let signing = nonempty(
            config_secret(
                SIGNING,
                "KLAXON_SLACK_SIGNING_SECRET",
                self.slack_signing_secret.as_deref(),
            )
            .await?,
        );
        let client_secret = nonempty(
            config_secret(
                CLIENT_SECRET,
                "KLAXON_SLACK_CLIENT_SECRET",
                self.slack_client_secret.as_deref(),
            )
            .await?,
        );
        let client_id = nonempty(self.slack_client_id.clone());
        let oauth = match (client_id, client_secret) {
            (Some(client_id), Some(client_secret)) => Some(OAuthApp {
                client_id,
                client_secret,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError {
                    setting: CLIENT_SECRET,
                    message: "is required with KLAXON_SLACK_CLIENT_ID: without it no install can finish"
                        .into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    setting: CLIENT_ID,
                    message: "is required with KLAXON_SLACK_CLIENT_SECRET".into(),
                });
            }
        };
        match (token.is_some() || oauth.is_some(), signing) {
            (false, None) => Ok(None),
            (true, Some(signing_secret)) => Ok(Some(SlackConfig {
                api_url: self.slack_api_url.clone(),
                timeout: Duration::from_millis(self.slack_timeout_ms),
                signing_secret,
                bot_token: token,
                oauth,
            })),
            (true, None) => Err(ConfigError {
                setting: SIGNING,
                message: "is required with a bot token or OAuth installs: without it button presses, events \
                          and commands cannot be checked"
                    .into(),
            }),
            (false, Some(_)) => Err(ConfigError {
                setting: TOKEN,
                message: "(or KLAXON_SLACK_CLIENT_ID and KLAXON_SLACK_CLIENT_SECRET) is required with \
                          KLAXON_SLACK_SIGNING_SECRET: without a workspace nothing can be posted"
                    .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(t: Option<&str>, s: Option<&str>, id: Option<&str>, cs: Option<&str>) -> SlackArgs {
        SlackArgs {
            slack_api_url: "https://slack.com/api".into(),
            slack_bot_token: t.map(str::to_owned),
            slack_signing_secret: s.map(str::to_owned),
            slack_client_id: id.map(str::to_owned),
            slack_client_secret: cs.map(str::to_owned),
            slack_timeout_ms: 5000,
        }
    }

    #[tokio::test]
    async fn settings_go_together_and_are_hidden() {
        assert!(
            args(None, None, None, None)
                .resolve()
                .await
                .is_ok_and(|c| c.is_none())
        );
        let single = args(Some("xoxb-1"), Some("s"), None, None).resolve().await;
        assert!(single.is_ok_and(|c| c.is_some_and(|c| c.oauth.is_none() && c.bot_token.is_some())));
        let multi = args(None, Some("s"), Some("1.2"), Some("cs")).resolve().await;
        assert!(multi.is_ok_and(|c| c.is_some_and(|c| c.oauth.is_some() && c.bot_token.is_none())));
        for (a, setting) in [
            (args(Some("xoxb-1"), None, None, None), SIGNING),
            (args(None, Some("s"), None, None), TOKEN),
            (args(None, Some("s"), Some("1.2"), None), CLIENT_SECRET),
            (args(None, Some("s"), None, Some("cs")), CLIENT_ID),
            (args(None, None, Some("1.2"), Some("cs")), SIGNING),
        ] {
            let e = a.resolve().await.err().map(|e| e.setting);
            assert_eq!(e, Some(setting));
        }
        let dbg = format!(
            "{:?}",
            args(
                Some("xoxb-secret-token"),
                Some("sign-secret"),
                Some("1.2"),
                Some("client-secret")
            )
        );
        for hidden in ["xoxb-secret-token", "sign-secret", "client-secret"] {
            assert!(!dbg.contains(hidden), "{dbg}");
        }
    }
}
