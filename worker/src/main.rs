//! `cws-worker`: consumes the job queues in Redis. Run as many as you like, on any machines.
//!
//! `cws-worker run-once checks|reconcile|idle|expiry-sweep|retention` runs one scheduled round now and exits: the
//! same work the schedule does, under the same once-only rules (a notice already sent is not
//! sent again), for operators who do not want to wait for the next tick.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .map_err(|_| anyhow::anyhow!("a TLS provider was already installed"))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let file = std::env::var("CWS_CONFIG").unwrap_or_else(|_| "cws.toml".to_owned());
    let text = std::fs::read_to_string(&file).ok();
    let env = |key: &str| std::env::var(key).ok();
    let settings =
        domain::settings::Settings::load(&domain::settings::Sources::new(&env, text.as_deref())?)?;
    let redis_url = settings
        .redis_url
        .clone()
        .context("cws-worker needs REDIS_URL: it takes jobs queued by bots in other processes")?;
    // Made on first use: the worker starts while Redis is away and waits for it.
    let connection = queue::connect(&redis_url).context("REDIS_URL")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => worker::run(&settings, worker::Queues::Redis(connection)).await?,
        ["run-once", round] => {
            let round: worker::Round = round.parse()?;
            let env = worker::command_env(&settings, Some(connection)).await?;
            println!("{}", worker::run_once(&env, round).await?);
        }
        _ => anyhow::bail!(
            "usage: cws-worker [run-once checks|reconcile|idle|expiry-sweep|retention]"
        ),
    }
    Ok(())
}
