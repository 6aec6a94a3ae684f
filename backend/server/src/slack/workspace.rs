//! The workspaces Klaxon talks to, and whether each can be used.
//!
//! An account's workspace is its OAuth install when it has one (see [`super::installs`]); otherwise the
//! single workspace of `KLAXON_SLACK_BOT_TOKEN`, when configured. Installs are read from the database and
//! kept for a few seconds, so an uninstall or a reinstall handled by any replica reaches every replica
//! quickly. A workspace is *inactive* when it uninstalled Klaxon or revoked its token (no call is made for
//! it; its alerts are still stored and escalated), and *unhealthy* while Slack refuses its token (checked
//! again every minute).

use std::{
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{Args, Slack, SlackError, installs};

/// How long an account's install is used before it is read again.
const INSTALL_TTL: Duration = Duration::from_secs(5);

/// Whether a workspace can be used, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Calls can be made.
    pub ok: bool,
    /// Why not (Slack's error code, or `app_uninstalled`, `tokens_revoked`), when not.
    pub reason: Option<String>,
    /// Since when, Unix milliseconds.
    pub since_ms: i64,
}

/// A workspace Klaxon talks to. Its `Debug` hides the bot token.
pub struct Workspace {
    /// What its pacing and caches are keyed by: `default` for the configured workspace, else its team id.
    pub(super) key: String,
    token: String,
    /// Slack's id of the workspace (`T…`): known for installs, learnt from `auth.test` for the configured one.
    team_id: RwLock<Option<String>>,
    /// The workspace's name, for installs.
    pub team_name: Option<String>,
    /// The account that installed it; `None` for the configured workspace.
    pub account: Option<String>,
    /// Why it cannot be used at all (uninstalled, token revoked, token unreadable): no call is made.
    pub inactive: Option<String>,
    sealed: Option<String>,
    health: RwLock<Health>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("key", &self.key)
            .field("token", &"***")
            .field("team_id", &self.team_id)
            .field("team_name", &self.team_name)
            .field("account", &self.account)
            .field("inactive", &self.inactive)
            .field("sealed", &self.sealed.as_ref().map(|_| "***"))
            .field("health", &self.health)
            .finish()
    }
}

impl Workspace {
    fn new(key: String, token: String, team_id: Option<String>) -> Self {
        Self {
            key,
            token,
            team_id: RwLock::new(team_id),
            team_name: None,
            account: None,
            inactive: None,
            sealed: None,
            health: RwLock::new(Health {
                ok: true,
                reason: None,
                since_ms: crate::store::now_ms(),
            }),
        }
    }

    /// The configured workspace of single-workspace mode.
    pub(super) fn configured(token: &str) -> Self {
        Self::new("default".to_owned(), token.to_owned(), None)
    }

    /// Slack's id of the workspace, once known.
    pub fn team_id(&self) -> Option<String> {
        self.team_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether calls can be made, and why not. An inactive workspace is never ok.
    pub fn health(&self) -> Health {
        let h = self.health.read().unwrap_or_else(PoisonError::into_inner).clone();
        match &self.inactive {
            Some(reason) => Health {
                ok: false,
                reason: Some(reason.clone()),
                since_ms: h.since_ms,
            },
            None => h,
        }
    }

    pub(super) fn set_health(&self, ok: bool, reason: Option<String>) {
        let mut h = self.health.write().unwrap_or_else(PoisonError::into_inner);
        if h.ok != ok || h.reason != reason {
            let team = self.team_id().unwrap_or_else(|| self.key.clone());
            if ok {
                tracing::info!(team, "The Slack workspace can be used again.");
            } else {
                tracing::error!(
                    team,
                    reason = reason.as_deref().unwrap_or("-"),
                    "The Slack workspace cannot be used: no more calls are made to it until a check succeeds. \
                     Alerts are still stored and escalated."
                );
            }
            *h = Health {
                ok,
                reason,
                since_ms: crate::store::now_ms(),
            };
        }
    }
}

impl Slack {
    /// The workspace `account`'s alerts go to: its install, else the configured workspace. An account with
    /// neither gets an inactive workspace (`not_installed`) that refuses every call.
    pub async fn workspace(&self, account: &str) -> Result<Arc<Workspace>, SlackError> {
        let cached = self
            .installs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)
            .cloned();
        let installed = match cached {
            Some((at, ws)) if at.elapsed() < INSTALL_TTL => ws,
            previous => {
                let install =
                    installs::by_account(&self.store, account)
                        .await
                        .map_err(|e| SlackError::Transient {
                            method: "workspace",
                            message: format!("cannot read the account's install: {e}"),
                        })?;
                let ws = match install {
                    None => None,
                    Some(install) => Some(self.installed(install, previous.and_then(|(_, ws)| ws)).await),
                };
                self.installs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(account.to_owned(), (Instant::now(), ws.clone()));
                ws
            }
        };
        Ok(installed
            .or_else(|| self.configured.clone())
            .unwrap_or_else(|| self.not_installed.clone()))
    }

    /// The workspace of an install, reusing `previous` (and what it learnt of its health) while the install
    /// is unchanged.
    async fn installed(
        &self,
        install: installs::Install,
        previous: Option<Arc<Workspace>>,
    ) -> Arc<Workspace> {
        let inactive = (!install.active).then(|| {
            install
                .inactive_reason
                .clone()
                .unwrap_or_else(|| "inactive".into())
        });
        if let Some(prev) = previous
            && prev.sealed.as_deref() == Some(install.bot_token_sealed.as_str())
            && prev.inactive == inactive
        {
            return prev;
        }
        let (token, inactive) = match self
            .store
            .secrets()
            .open(&install.account_id, &install.bot_token_sealed)
            .await
        {
            Ok(token) => (token, inactive),
            Err(e) => {
                tracing::error!(account = %install.account_id, team = %install.team_id, error = %e,
                    "The workspace's bot token cannot be opened: no Slack calls are made for this account until \
                     the right key is configured or the workspace installs Klaxon again.");
                (String::new(), Some("token_unreadable".to_owned()))
            }
        };
        let mut ws = Workspace::new(install.team_id.clone(), token, Some(install.team_id));
        ws.team_name = Some(install.team_name);
        ws.account = Some(install.account_id);
        ws.inactive = inactive;
        ws.sealed = Some(install.bot_token_sealed);
        Arc::new(ws)
    }

    /// Forgets what is cached of `account`'s install (it was installed again or deactivated).
    pub fn forget_install(&self, account: &str) {
        self.installs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(account);
    }

    /// The configured workspace, when single-workspace mode is on.
    pub fn configured(&self) -> Option<&Arc<Workspace>> {
        self.configured.as_ref()
    }

    /// Whether `account`'s workspace can be used (an unreadable install counts as unhealthy).
    pub async fn health(&self, account: &str) -> Health {
        match self.workspace(account).await {
            Ok(ws) => ws.health(),
            Err(e) => Health {
                ok: false,
                reason: Some(e.to_string()),
                since_ms: crate::store::now_ms(),
            },
        }
    }

    /// The Slack id of `account`'s workspace, when known.
    pub async fn team_of(&self, account: &str) -> Option<String> {
        self.workspace(account).await.ok().and_then(|ws| ws.team_id())
    }

    /// Calls `method` on `account`'s workspace; refuses at once while the workspace is inactive or
    /// unhealthy, and marks it unhealthy when Slack says its token is no good.
    pub async fn call(&self, account: &str, method: &'static str, args: Args) -> Result<Value, SlackError> {
        let ws = self.workspace(account).await?;
        self.call_in(&ws, method, args).await
    }

    /// Calls `method` on workspace `ws` (see [`Slack::call`]).
    pub async fn call_in(
        &self,
        ws: &Workspace,
        method: &'static str,
        args: Args,
    ) -> Result<Value, SlackError> {
        if let Some(reason) = &ws.inactive {
            return Err(SlackError::Inactive {
                reason: reason.clone(),
            });
        }
        let health = ws.health();
        if !health.ok {
            return Err(SlackError::Workspace {
                code: health.reason.unwrap_or_else(|| "unhealthy".to_owned()),
            });
        }
        let result = self.client.call(&ws.key, &ws.token, method, args).await;
        if let Err(SlackError::Workspace { code }) = &result {
            ws.set_health(false, Some(code.clone()));
        }
        result
    }

    /// Asks Slack who the configured workspace's token is (`auth.test`), even while it is unhealthy (the
    /// way back to health): learns the workspace's id, and marks it unhealthy when the token is refused. A
    /// network failure leaves things as they are (the next call will tell).
    pub async fn check(&self, ws: &Workspace) -> Result<(), SlackError> {
        if let Some(reason) = &ws.inactive {
            return Err(SlackError::Inactive {
                reason: reason.clone(),
            });
        }
        match self
            .client
            .call(&ws.key, &ws.token, "auth.test", Args::Form(Vec::new()))
            .await
        {
            Ok(v) => {
                if let Some(team) = v.get("team_id").and_then(Value::as_str) {
                    *ws.team_id.write().unwrap_or_else(PoisonError::into_inner) = Some(team.to_owned());
                }
                ws.set_health(true, None);
                Ok(())
            }
            Err(e @ SlackError::Workspace { .. }) => {
                ws.set_health(false, e.code().map(str::to_owned));
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks the unhealthy workspaces (the configured one, and installs in use by this process) again every
    /// `every`, until `stop`.
    pub async fn watch_health(self: Arc<Self>, every: Duration, stop: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let mut due: Vec<Arc<Workspace>> = self
                .installs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .filter_map(|(_, ws)| ws.clone())
                .collect();
            due.extend(self.configured.clone());
            for ws in due {
                if ws.inactive.is_none() && (!ws.health().ok || ws.team_id().is_none()) {
                    // The result is in the health; a failure is logged by `set_health`.
                    let _ = self.check(&ws).await;
                }
            }
        }
    }

    /// Marks workspace `team_id` inactive for `reason` (an `app_uninstalled` or `tokens_revoked` event of
    /// `event_ms`): an install is marked in the database, the configured workspace in this process (until a
    /// check succeeds). Returns the account of the install deactivated now, if any.
    pub async fn deactivate(
        &self,
        team_id: &str,
        reason: &str,
        event_ms: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        if let Some(ws) = &self.configured
            && ws.team_id().as_deref() == Some(team_id)
        {
            ws.set_health(false, Some(reason.to_owned()));
        }
        let Some(install) = installs::by_team(&self.store, team_id).await? else {
            return Ok(None);
        };
        let changed = installs::deactivate(&self.store, team_id, reason, event_ms).await?;
        self.forget_install(&install.account_id);
        if changed {
            tracing::warn!(team = team_id, account = %install.account_id, reason,
                "The workspace is inactive: no Slack calls are made for it until it installs Klaxon again. Its \
                 alerts are still stored and escalated.");
        }
        Ok(changed.then_some(install.account_id))
    }
}
