//! `klaxon serve`: open the database, migrate, bind, serve until SIGINT/SIGTERM, then drain.

use std::sync::Arc;

use anyhow::Context as _;
use klaxon_db::{Database, PoolSettings};

use crate::{
    config::{DatabaseArgs, ServeArgs, redact},
    http::{self, AppState},
    store::Store,
};

/// Opens the database and applies every migration.
pub async fn open_store(db: &DatabaseArgs) -> anyhow::Result<Store> {
    db.validate()?;
    let database = Database::connect(&db.database_url, &PoolSettings::default())
        .await
        .with_context(|| format!("cannot open the database {}", redact(&db.database_url)))?;
    let store = Store::new(database);
    store.migrate().await.context("cannot migrate the database")?;
    Ok(store)
}

/// Runs the service until a shutdown signal.
pub async fn run(db: &DatabaseArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let public_url = args.public_url()?;
    let store = open_store(db).await?;
    let state = AppState {
        store,
        public_url: Arc::from(public_url.as_str()),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot bind {} (--listen / KLAXON_LISTEN)", args.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(listen = %local, public_url, database = %redact(&db.database_url), "Klaxon is serving.");
    tracing::info!("Slack is not configured: alerts are stored and visible through the API but not posted.");
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("Klaxon stopped.");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("Shutting down: finishing requests in flight.");
}
