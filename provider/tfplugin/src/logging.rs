//! Logging: `tracing` to stderr, which terraform reads line by line into its own log, or to a file.
//!
//! - Level: `TF_LOG_PROVIDER`, else `TF_LOG` (terraform's names: TRACE, DEBUG, INFO, WARN, ERROR, OFF; JSON
//!   means TRACE), else WARN. `tracing` directives such as `tfplugin=debug,info` are accepted too.
//! - `PLUGIN_LOG_FILE=<path>`: append there instead of stderr (handy in debug mode).
//!
//! stdout is never used: it carries the handshake line and nothing else.

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    let level = ["TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "warn".to_owned());
    let level = match level.trim().to_ascii_lowercase().as_str() {
        "json" => "trace".to_owned(),
        other => other.to_owned(),
    };
    EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("warn"))
}

/// Installs the subscriber (no-op if one is already installed).
pub(crate) fn init() {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .without_time();
    let file = std::env::var_os("PLUGIN_LOG_FILE").and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    let _ = match file {
        Some(file) => builder.with_writer(std::sync::Mutex::new(file)).try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}
