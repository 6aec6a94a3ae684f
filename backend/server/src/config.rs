//! Configuration of `klaxon serve`, from flags and `KLAXON_*` variables, validated at start-up.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://klaxon.db";

/// Where the database is; shared by every subcommand.
#[derive(Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://PATH` (created on first start) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(long, env = "KLAXON_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// The PostgreSQL password, instead of the one in the URL (which then needs none). Also
    /// `KLAXON_DATABASE_PASSWORD_FILE` (the container convention); a value `kms:<base64>` is decrypted with
    /// AWS KMS at start-up.
    #[arg(long, env = "KLAXON_DATABASE_PASSWORD", hide_env_values = true, global = true)]
    pub database_password: Option<String>,
}

impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &redact(&self.database_url))
            .field(
                "database_password",
                &self.database_password.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// Settings of the HTTP service.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address the HTTP server binds.
    #[arg(long, env = "KLAXON_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base of the ingest URLs handed out (what SNS and webhook callers call); default `http://<listen>`.
    /// Set it to the address callers reach, e.g. `https://klaxon.example.com`, behind a proxy.
    #[arg(long, env = "KLAXON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Background workers and escalation.
    #[command(flatten)]
    pub workers: WorkerArgs,
    /// Ingest: SNS checks and rate limits.
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// Slack: the Web API and the workspace's credentials.
    #[command(flatten)]
    pub slack: crate::slack::SlackArgs,
    /// Metrics: CloudWatch publishing and the database gauges.
    #[command(flatten)]
    pub metrics: crate::metrics::cloudwatch::MetricsArgs,
}

/// Settings of `POST /ingest/{token}`.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// SNS signature and URL checks.
    #[command(flatten)]
    pub sns: crate::ingest::sns::SnsArgs,
    /// Requests per second each endpoint may sustain; over it callers get 429 with `Retry-After`.
    #[arg(long, env = "KLAXON_INGEST_RATE", default_value_t = 50.0)]
    pub ingest_rate: f64,
    /// Requests an endpoint may send at once after a quiet period (the token bucket's size).
    #[arg(long, env = "KLAXON_INGEST_BURST", default_value_t = 500)]
    pub ingest_burst: u32,
}

impl IngestArgs {
    /// The rate limit, checked.
    pub fn rate_limit(&self) -> Result<crate::ingest::rate_limit::RateLimit, ConfigError> {
        if !(self.ingest_rate.is_finite() && self.ingest_rate > 0.0) {
            return Err(ConfigError {
                setting: "--ingest-rate / KLAXON_INGEST_RATE",
                message: format!(
                    "must be a positive number of requests per second, got {}",
                    self.ingest_rate
                ),
            });
        }
        if self.ingest_burst == 0 {
            return Err(ConfigError {
                setting: "--ingest-burst / KLAXON_INGEST_BURST",
                message: "must be at least 1".into(),
            });
        }
        Ok(crate::ingest::rate_limit::RateLimit {
            burst: self.ingest_burst,
            per_second: self.ingest_rate,
        })
    }
}

/// Settings of the background workers (escalation timers and other jobs) and of where notifications go
/// while Slack is not configured.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Append every notification as a JSON line to this file instead of skipping it, for tests and dry runs
    /// while Slack is not configured. Several processes may share one file.
    #[arg(long, env = "KLAXON_NOTIFY_LOG")]
    pub notify_log: Option<PathBuf>,
    /// Jobs run at the same time by this process.
    #[arg(long, env = "KLAXON_WORKERS", default_value_t = 16)]
    pub workers: usize,
    /// How long a claimed job stays leased without a heartbeat, in milliseconds: after a replica dies, its
    /// jobs run elsewhere this long after its last heartbeat.
    #[arg(long, env = "KLAXON_JOB_LEASE_MS", default_value_t = 30_000)]
    pub job_lease_ms: u64,
    /// How long running jobs get to finish on shutdown before they are released to other replicas, in
    /// milliseconds.
    #[arg(long, env = "KLAXON_SHUTDOWN_DEADLINE_MS", default_value_t = 10_000)]
    pub shutdown_deadline_ms: u64,
    /// The length of one escalation-policy minute, in milliseconds. Only tests and demos change it, so a
    /// five-minute step passes in a blink.
    #[arg(long, env = "KLAXON_ESCALATION_MINUTE_MS", default_value_t = 60_000)]
    pub escalation_minute_ms: u64,
    /// Days finished jobs are kept before they are deleted (checked hourly by every replica). An escalation
    /// step's finished job is what makes the step fire at most once; it is only ever scheduled minutes after
    /// the step before it, so a retention of days keeps that promise while bounding the jobs table. Failed
    /// (dead) jobs are kept until retried.
    #[arg(long, env = "KLAXON_JOB_RETENTION_DAYS", default_value_t = 30)]
    pub job_retention_days: u64,
}

impl WorkerArgs {
    /// Checks the numbers are usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(&'static str, bool, &str); 5] = [
            (
                "--workers / KLAXON_WORKERS",
                (1..=1024).contains(&self.workers),
                "must be 1 to 1024",
            ),
            (
                "--job-lease-ms / KLAXON_JOB_LEASE_MS",
                (100..=3_600_000).contains(&self.job_lease_ms),
                "must be 100 ms to 1 hour",
            ),
            (
                "--shutdown-deadline-ms / KLAXON_SHUTDOWN_DEADLINE_MS",
                self.shutdown_deadline_ms <= 600_000,
                "must be at most 10 minutes",
            ),
            (
                "--escalation-minute-ms / KLAXON_ESCALATION_MINUTE_MS",
                (1..=60_000).contains(&self.escalation_minute_ms),
                "must be 1 to 60000",
            ),
            (
                "--job-retention-days / KLAXON_JOB_RETENTION_DAYS",
                (1..=3650).contains(&self.job_retention_days),
                "must be 1 to 3650",
            ),
        ];
        match checks.into_iter().find(|(_, ok, _)| !ok) {
            Some((setting, _, message)) => Err(ConfigError {
                setting,
                message: message.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// How long finished jobs are kept.
    pub fn job_retention(&self) -> Duration {
        Duration::from_secs(self.job_retention_days.saturating_mul(86_400))
    }

    /// The length of one escalation-policy minute.
    pub fn escalation_minute(&self) -> Duration {
        Duration::from_millis(self.escalation_minute_ms)
    }
}

/// Settings that failed validation, with the name of the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {message}")]
pub struct ConfigError {
    /// The flag and variable at fault.
    pub setting: &'static str,
    /// What is wrong.
    pub message: String,
}

impl DatabaseArgs {
    /// The URL to connect with: the configured one, with the password from `KLAXON_DATABASE_PASSWORD` (or
    /// its file, or KMS) when one is given.
    pub async fn url(&self) -> Result<String, ConfigError> {
        const SETTING: &str = "--database-password / KLAXON_DATABASE_PASSWORD";
        let password = crate::secrets::config_secret(
            SETTING,
            "KLAXON_DATABASE_PASSWORD",
            self.database_password.as_deref(),
        )
        .await?;
        let Some(password) = password else {
            return Ok(self.database_url.clone());
        };
        let mut url = url::Url::parse(&self.database_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
            .ok_or_else(|| ConfigError {
                setting: SETTING,
                message: "is only for a postgres:// database URL".into(),
            })?;
        url.set_password(Some(&password)).map_err(|()| ConfigError {
            setting: SETTING,
            message: "cannot be set on this database URL".into(),
        })?;
        Ok(url.to_string())
    }

    /// Checks the URL names a supported database.
    pub fn validate(&self) -> Result<(), ConfigError> {
        klaxon_db::Dialect::from_url(&self.database_url)
            .map(|_| ())
            .map_err(|e| ConfigError {
                setting: "--database-url / KLAXON_DATABASE_URL",
                message: format!("{e} (got {:?})", redact(&self.database_url)),
            })
    }
}

impl ServeArgs {
    /// The public base URL without a trailing slash, checked to be an absolute http(s) URL.
    pub fn public_url(&self) -> Result<String, ConfigError> {
        let raw = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        let parsed = url::Url::parse(&raw).map_err(|e| ConfigError {
            setting: "--public-url / KLAXON_PUBLIC_URL",
            message: format!("{raw:?} is not an absolute URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(ConfigError {
                setting: "--public-url / KLAXON_PUBLIC_URL",
                message: format!("{raw:?} must be an http(s) URL without query or fragment"),
            });
        }
        Ok(raw.trim_end_matches('/').to_owned())
    }
}

/// A database URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        workers: WorkerArgs,
    }

    fn workers(args: &[&str]) -> Result<WorkerArgs, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("klaxon").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        cli.workers.validate().map(|()| cli.workers)
    }

    #[test]
    fn worker_settings_are_checked_and_named_when_wrong() {
        let ok = workers(&[]).unwrap_or_else(|e| panic!("defaults: {e}"));
        assert_eq!(ok.job_retention(), Duration::from_secs(30 * 86_400));
        for (args, setting) in [
            (&["--workers", "0"][..], "--workers / KLAXON_WORKERS"),
            (
                &["--job-lease-ms", "10"][..],
                "--job-lease-ms / KLAXON_JOB_LEASE_MS",
            ),
            (
                &["--job-retention-days", "0"][..],
                "--job-retention-days / KLAXON_JOB_RETENTION_DAYS",
            ),
            (
                &["--job-retention-days", "4000"][..],
                "--job-retention-days / KLAXON_JOB_RETENTION_DAYS",
            ),
        ] {
            let err = workers(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert_eq!(err.setting, setting, "{args:?}");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid setting {setting}: ")),
                "{err}"
            );
        }
    }
}
