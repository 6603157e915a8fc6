//! `cws-bot`: the chat edge alone, for deployments that run bots and workers separately.

use std::sync::Arc;

use anyhow::Context;
use queue::RedisJobQueue;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = domain_settings()?;
    let redis_url = settings
        .redis_url
        .clone()
        .context("cws-bot needs REDIS_URL: its jobs go to workers in other processes")?;
    let slack = settings
        .slack
        .clone()
        .context("cws-bot needs SLACK_SIGNING_SECRET")?;
    let connection = apalis_redis::connect(redis_url)
        .await
        .context("connecting to Redis")?;
    let bot = bot::Bot::new(
        &slack.signing_secret,
        Arc::new(RedisJobQueue::new(connection)),
    );
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    tracing::info!("cws-bot listening on http://{}", settings.listen);
    axum::serve(listener, bot::router(bot))
        .await
        .context("serving")
}

fn domain_settings() -> anyhow::Result<domain::settings::Settings> {
    let file = std::env::var("CWS_CONFIG").unwrap_or_else(|_| "cws.toml".to_owned());
    let text = std::fs::read_to_string(&file).ok();
    let env = |key: &str| std::env::var(key).ok();
    let sources = domain::settings::Sources::new(&env, text.as_deref())?;
    Ok(domain::settings::Settings::load(&sources)?)
}
