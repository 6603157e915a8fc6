//! `cws-worker`: consumes the job queues in Redis. Run as many as you like, on any machines.
//!
//! `cws-worker run-once checks|reconcile|idle|expiry-sweep|retention` runs one scheduled round now and exits: the
//! same work the schedule does, under the same once-only rules (a notice already sent is not
//! sent again), for operators who do not want to wait for the next tick.

use anyhow::Context;
use clap::{Parser, Subcommand};
use domain::settings::Settings;

#[derive(Parser)]
#[command(
    name = "cws-worker",
    version,
    about = "Takes the jobs bots queue in Redis and does them"
)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Run one scheduled round now and exit: checks, reconcile, idle, expiry-sweep or
    /// retention, under the same once-only rules as the schedule.
    RunOnce { round: worker::Round },
    /// Exit 0 if the worker on CWS_WORKER_LISTEN answers /healthz: a container's health check.
    Healthcheck,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .map_err(|_| anyhow::anyhow!("a TLS provider was already installed"))?;
    let cli = Cli::parse();
    let settings = ops::load_settings()?;
    ops::init_logging(settings.log_format, "info");
    match cli.mode {
        None => worker::run(&settings, worker::Queues::Redis(connect(&settings)?)).await?,
        Some(Mode::RunOnce { round }) => {
            let env = worker::command_env(&settings, Some(connect(&settings)?)).await?;
            println!("{}", worker::run_once(&env, round).await?);
        }
        Some(Mode::Healthcheck) => {
            let listen = settings
                .worker_listen
                .context("CWS_WORKER_LISTEN is not set: this worker serves no /healthz")?;
            ops::healthcheck(listen).await?;
        }
    }
    Ok(())
}

/// Made on first use: the worker starts while Redis is away and waits for it.
fn connect(settings: &Settings) -> anyhow::Result<apalis_redis::ConnectionManager> {
    let redis_url = settings
        .redis_url
        .as_deref()
        .context("cws-worker needs REDIS_URL: it takes jobs queued by bots in other processes")?;
    queue::connect(redis_url).context("REDIS_URL")
}
