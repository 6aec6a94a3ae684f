//! The `klaxon` command line.

use std::io::Write as _;

use clap::{Parser, Subcommand};
use klaxon::{
    config::{DatabaseArgs, ServeArgs},
    secrets::SecretArgs,
};
use tracing_subscriber::EnvFilter;

/// Klaxon forwards alerts from AWS and any HTTPS caller into Slack, and escalates the ones nobody
/// acknowledges.
#[derive(Debug, Parser)]
#[command(name = "klaxon", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: the management API, ingest and the workers. Migrates the database first.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit (serve does this too).
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage the secrets stored in the database (Slack bot tokens, ingest tokens).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// The CloudWatch dashboard of Klaxon's metrics.
    #[command(subcommand)]
    Dashboard(DashboardCommand),
}

#[derive(Debug, Subcommand)]
enum DashboardCommand {
    /// Write (create or replace) the CloudWatch dashboard of Klaxon's metrics with PutDashboard: alerts and
    /// notifications, escalations by step, acknowledged / closed / auto-closed / passed, time to acknowledge,
    /// Slack errors and latency, rejected ingest, dead jobs and queue lag, workspaces installed. Credentials
    /// come from the AWS default chain; prints the dashboard's ARN. The Terraform resource
    /// `klaxon_cloudwatch_dashboard` writes the same dashboard.
    Put {
        /// The dashboard's name.
        #[arg(long)]
        name: String,
        /// AWS region of the dashboard and its metrics (default: the AWS default chain's, e.g. AWS_REGION).
        #[arg(long)]
        region: Option<String>,
        /// The namespace the metrics are published in (KLAXON_CLOUDWATCH_NAMESPACE).
        #[arg(long, default_value = klaxon_api::metrics::DEFAULT_NAMESPACE)]
        namespace: String,
        /// Seconds per data point of the graphs (60 or a multiple of it; 1, 5, 10, 30 for high-resolution).
        #[arg(long, default_value_t = klaxon_api::metrics::DEFAULT_PERIOD)]
        period: u32,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Re-wrap every stored data key under the configured key: after replacing the local master key (the old
    /// one given with `--previous-master-key-file`), or after setting a new `KLAXON_KMS_KEY_ID` (the old KMS
    /// key must still allow Decrypt until this finishes). Works in batches; safe to interrupt and run again,
    /// also while `klaxon serve` runs. Replicas are then restarted with the new key only.
    Rotate {
        /// Data keys re-wrapped per batch.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account and print its API token on stdout, alone, once: it cannot be shown again.
    ///
    /// Example: `TOKEN=$(klaxon account create --name acme)`.
    Create {
        /// A name for people (e.g. the Slack workspace).
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("KLAXON_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("klaxon: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => klaxon::serve::run(&cli.db, &cli.secrets, &args).await,
        Command::Migrate => {
            let store = klaxon::serve::open_store(&cli.db, None).await?;
            store.database().pool.close().await;
            tracing::info!("Database is up to date.");
            Ok(())
        }
        Command::Account(AccountCommand::Create { name }) => {
            let name = name.trim();
            anyhow::ensure!(!name.is_empty(), "--name must not be empty");
            let store = klaxon::serve::open_store(&cli.db, None).await?;
            let account = store.create_account(name).await?;
            tracing::info!(
                account = account.id,
                "Created the account; its API token follows on stdout."
            );
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", account.token)?;
            Ok(())
        }
        Command::Dashboard(DashboardCommand::Put {
            name,
            region,
            namespace,
            period,
        }) => {
            anyhow::ensure!(
                matches!(period, 1 | 5 | 10 | 30) || (period % 60 == 0 && (60..=86_400).contains(&period)),
                "--period must be 1, 5, 10, 30, or a multiple of 60 up to 86400"
            );
            let arn =
                klaxon::metrics::cloudwatch::put_dashboard(&name, &namespace, period, region.as_deref())
                    .await?;
            tracing::info!(dashboard = %arn, "Wrote the CloudWatch dashboard.");
            writeln!(std::io::stdout().lock(), "{arn}")?;
            Ok(())
        }
        Command::Secrets(SecretsCommand::Rotate { batch }) => {
            let store = klaxon::serve::open_store(&cli.db, Some(&cli.secrets)).await?;
            klaxon::secrets::rotate_all(store.secrets(), batch).await?;
            store.database().pool.close().await;
            Ok(())
        }
    }
}
