//! `klaxon serve`: open the database, migrate, bind, serve and run the job workers until SIGINT/SIGTERM,
//! then drain: stop accepting and claiming, let requests and jobs in flight finish (jobs within the shutdown
//! deadline; the rest are released to other replicas).

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use klaxon_db::{Database, PoolSettings};
use klaxon_queue::{Queue, RunnerSettings};
use tokio_util::sync::CancellationToken;

use crate::{
    alerts::batch::{BatchSettings, Batcher},
    config::{DatabaseArgs, IngestArgs, ServeArgs, WorkerArgs, redact},
    escalation::EngineConfig,
    http::ingest::IngestState,
    http::{self, AppState},
    ingest::{rate_limit::RateLimit, sns::SnsVerifier},
    jobs::{self, JobContext},
    metrics::{cloudwatch::Publisher, gauges},
    notify::{Directory, LogNotifier, NoDirectory, Notifier, SkipNotifier},
    secrets::{SecretArgs, Secrets},
    slack::{Slack, SlackConfig},
    store::Store,
};

/// Opens the database and applies every migration (the queue's and the server's). With `secrets`, the
/// stored secrets are sealed and opened with the configured key (created on first start of an empty
/// database); without, the store handles no secret (commands that need none, so they never touch the key).
pub async fn open_store(db: &DatabaseArgs, secrets: Option<&SecretArgs>) -> anyhow::Result<Store> {
    db.validate()?;
    let url = db.url().await?;
    let settings = PoolSettings {
        // With the database down, taking a connection retries connecting until this timeout: requests
        // then answer 503 after it rather than hang past their callers' timeouts (SNS gives 15 s).
        acquire_timeout: std::time::Duration::from_secs(3),
        ..PoolSettings::default()
    };
    let database = Database::connect(&url, &settings)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&url)))?;
    klaxon_queue::MIGRATOR
        .run(&database)
        .await
        .context("cannot migrate the job queue's tables")?;
    Store::new(database.clone(), Secrets::unavailable(database.clone()))
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let sealing = match secrets {
        None => Secrets::unavailable(database.clone()),
        Some(args) => {
            let has_keys = Secrets::any_data_keys(&database)
                .await
                .context("cannot read the data keys")?;
            let (current, previous) = args.providers(&db.database_url, !has_keys).await?;
            Secrets::new(database.clone(), current, previous)
        }
    };
    Ok(Store::new(database, sealing))
}

/// Checks the configured key opens this database's secrets (naming the setting when not), then seals what
/// earlier versions stored in clear.
async fn open_secrets(store: &Store) -> anyhow::Result<()> {
    store.secrets().check().await?;
    let sealed = store
        .seal_plaintext_tokens()
        .await
        .context("cannot seal the ingest tokens stored in clear by an earlier version")?;
    if sealed > 0 {
        tracing::info!(
            endpoints = sealed,
            "Sealed the ingest tokens an earlier version stored in clear."
        );
    }
    Ok(())
}

/// Runs the service until a shutdown signal.
pub async fn run(db: &DatabaseArgs, secrets: &SecretArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let public_url = args.public_url()?;
    args.workers.validate()?;
    // Every setting is checked before the database is opened (and migrated): a bad value changes nothing.
    let rate = args.ingest.rate_limit()?;
    let verifier = SnsVerifier::from_args(&args.ingest.sns)?;
    args.metrics.validate()?;
    let slack_config = args.slack.resolve().await?;
    let store = open_store(db, Some(secrets))
        .await?
        .with_slack_sync(slack_config.is_some());
    open_secrets(&store).await?;
    let queue = Queue::new(store.database().clone());
    let ingest = ingest_state(&args.ingest, verifier, rate, &store, &queue);
    let slack = match &slack_config {
        Some(config) => Some(Arc::new(connect_slack(config, &store, &queue).await?)),
        None => None,
    };
    let state = AppState {
        store: store.clone(),
        public_url: Arc::from(public_url.as_str()),
        queue: queue.clone(),
        ingest: Arc::new(ingest),
        slack: slack.clone(),
        jobs: crate::jobs::enqueue::Enqueuer::spawn(queue.clone()),
        pings: crate::store::PingWriter::spawn(store.clone(), queue.clock().clone()),
        engine: EngineConfig {
            minute: args.workers.escalation_minute(),
        },
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot bind {} (--listen / KLAXON_LISTEN)", args.listen))?;
    let local = listener.local_addr()?;
    let (directory, notifier): (Arc<dyn Directory>, Arc<dyn Notifier>) = match &slack {
        Some(slack) => (slack.clone(), slack.clone()),
        None => (Arc::new(NoDirectory), notifier(&args.workers)?),
    };
    let store_metrics = store.metrics().clone();
    let database = store.database().clone();
    let purge_store = store.clone();
    let ctx = JobContext {
        store,
        queue,
        engine: EngineConfig {
            minute: args.workers.escalation_minute(),
        },
        directory,
        notifier,
        slack: slack.clone(),
    };
    let shutdown = CancellationToken::new();
    if let Some(slack) = &slack {
        tokio::spawn(
            slack
                .clone()
                .watch_health(Duration::from_secs(60), shutdown.clone()),
        );
    }
    let runner = jobs::runner(ctx).with_settings(RunnerSettings {
        workers: args.workers.workers,
        lease: Duration::from_millis(args.workers.job_lease_ms),
        shutdown_deadline: Duration::from_millis(args.workers.shutdown_deadline_ms),
        retention: Some(args.workers.job_retention()),
        ..RunnerSettings::default()
    });
    // Heartbeats are watched by one self-rescheduling job per deployment; this replica makes sure it exists.
    jobs::HeartbeatSweepJob::start(&state.queue)
        .await
        .context("cannot schedule the heartbeat sweep")?;
    let workers = tokio::spawn(runner.run(shutdown.clone()));
    // SNS message ids are kept only as long as a message of their age can be accepted.
    tokio::spawn(purge_store.run_message_purge(crate::store::MESSAGE_PURGE_EVERY, shutdown.clone()));
    let metrics = store_metrics.clone();
    tokio::spawn(gauges::run(
        database.clone(),
        metrics.clone(),
        args.metrics.gauge_refresh(),
        shutdown.clone(),
    ));
    let publisher = match &args.metrics.cloudwatch_namespace {
        Some(namespace) => {
            let p = Publisher::new(namespace, args.metrics.metrics_interval, metrics).await;
            Some(tokio::spawn(p.run(shutdown.clone())))
        }
        None => None,
    };
    tracing::info!(listen = %local, public_url, database = %redact(&db.database_url), "Klaxon is serving.");
    let stop = shutdown.clone();
    let served = axum::serve(listener, http::router(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Workers stop claiming at once and finish (or release) their jobs while requests drain.
            stop.cancel();
        })
        .await;
    shutdown.cancel();
    match workers.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "Job workers failed."),
        Err(e) => tracing::error!(error = %e, "Job workers panicked."),
    }
    if let Some(p) = publisher {
        // Publishes what the last interval recorded (for at most a few seconds).
        let _ = p.await;
    }
    served?;
    tracing::info!("Klaxon stopped.");
    Ok(())
}

/// Slack with the configured workspace (checked once with `auth.test`: a refused token is logged and the
/// workspace marked unhealthy, alerts are still stored and escalated; a network failure is only logged) and
/// the OAuth installs, when on.
async fn connect_slack(config: &SlackConfig, store: &Store, queue: &Queue) -> anyhow::Result<Slack> {
    let slack = Slack::new(config, store.clone(), queue.clone()).context("cannot build the Slack client")?;
    if let Some(ws) = slack.configured() {
        match slack.check(ws).await {
            Ok(()) => tracing::info!(team = ws.team_id().as_deref().unwrap_or("-"), api = %config.api_url,
                "Slack is on: alerts are posted, updated and escalated in the configured workspace."),
            Err(e) => tracing::error!(error = %e, api = %config.api_url,
                "Slack is configured but the workspace could not be checked; Klaxon checks again every minute."),
        }
    }
    if config.oauth.is_some() {
        tracing::info!(api = %config.api_url,
            "Slack installs are on: each workspace that installs Klaxon at /slack/install becomes an account.");
    }
    Ok(slack)
}

/// Ingest's state from its settings: the SNS verifier, the rate limit and the group-commit writer.
fn ingest_state(
    args: &IngestArgs,
    verifier: SnsVerifier,
    rate: RateLimit,
    store: &Store,
    queue: &Queue,
) -> IngestState {
    if !args.sns.sns_verify_signatures {
        tracing::warn!(
            "SNS signature checks are OFF (KLAXON_SNS_VERIFY_SIGNATURES=false): anyone who knows an endpoint's \
             URL can post SNS messages to it. Only use this with a local AWS emulator."
        );
    }
    let batcher = Batcher::spawn(store, queue, BatchSettings::default());
    IngestState::new(verifier, args.sns.sns_verify_signatures, rate, batcher)
}

/// Where notifications go while Slack is not configured: the notification log when one is set, else nowhere
/// (with one line saying so).
fn notifier(args: &WorkerArgs) -> anyhow::Result<Arc<dyn Notifier>> {
    match &args.notify_log {
        Some(path) => {
            let log = LogNotifier::open(path).with_context(|| {
                format!(
                    "cannot open the notification log {} (KLAXON_NOTIFY_LOG)",
                    path.display()
                )
            })?;
            tracing::info!(path = %path.display(),
                "Slack is not configured: notifications are appended to the notification log.");
            Ok(Arc::new(log))
        }
        None => {
            tracing::info!(
                "Slack is not configured: alerts are stored, grouped, escalated and visible through the API, \
                 but notifications are skipped. Set KLAXON_SLACK_SIGNING_SECRET with KLAXON_SLACK_BOT_TOKEN (one \
                 workspace) or KLAXON_SLACK_CLIENT_ID and KLAXON_SLACK_CLIENT_SECRET (installs) to post them, or \
                 KLAXON_NOTIFY_LOG=PATH to write them to a file."
            );
            Ok(Arc::new(SkipNotifier))
        }
    }
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
