//! `cws-worker`: consumes the job queues in Redis. Run as many as you like, on any machines.

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
    let connection = apalis_redis::connect(redis_url)
        .await
        .context("connecting to Redis")?;
    worker::run(&settings, worker::Queues::Redis(connection)).await?;
    Ok(())
}
