//! Configuration of `klaxon serve`, from flags and `KLAXON_*` variables, validated at start-up.

use std::net::SocketAddr;

/// Default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://klaxon.db";

/// Where the database is; shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://PATH` (created on first start) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(long, env = "KLAXON_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
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
