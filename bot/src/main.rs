//! `cws-bot`: the chat edge alone, for deployments that run bots and workers separately.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use queue::{RedisJobQueue, RedisSignIns};

#[derive(Parser)]
#[command(
    name = "cws-bot",
    version,
    about = "The chat edge: verifies Slack's and Discord's requests and queues jobs in Redis"
)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Exit 0 if the bot on CWS_LISTEN answers /healthz: a container's health check.
    Healthcheck,
}

/// glibc's malloc took a fifth of the bot's time under load (each request allocates its
/// form, job and answer); mimalloc's per-thread heaps take most of that back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `rediss://` runs over rustls, and both ring and aws-lc-rs reach the dependency graph.
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .map_err(|_| anyhow::anyhow!("a TLS provider was already installed"))?;
    let cli = Cli::parse();
    let settings = ops::load_settings()?;
    ops::init_logging(settings.log_format, "info");
    if let Some(Mode::Healthcheck) = cli.mode {
        return Ok(ops::healthcheck(settings.listen).await?);
    }
    let redis_url = settings
        .redis_url
        .clone()
        .context("cws-bot needs REDIS_URL: its jobs go to workers in other processes")?;
    // Made on first use: the bot starts, and answers "try again", while Redis is away.
    let connection = queue::connect(&redis_url).context("REDIS_URL")?;
    let queue = Arc::new(RedisJobQueue::new(connection.clone()));
    let sign_ins = Arc::new(RedisSignIns::new(connection));
    let bot = match (&settings.slack, &settings.discord) {
        (Some(slack), None) => bot::Bot::new(&slack.signing_secret, queue, sign_ins),
        (Some(slack), Some(discord)) => bot::Bot::new(&slack.signing_secret, queue, sign_ins)
            .with_discord(&discord.public_key)
            .map_err(anyhow::Error::msg)?,
        (None, Some(discord)) => bot::Bot::discord_only(&discord.public_key, queue, sign_ins)
            .map_err(anyhow::Error::msg)?,
        (None, None) => anyhow::bail!("cws-bot needs SLACK_SIGNING_SECRET or DISCORD_PUBLIC_KEY"),
    }
    .with_catalog(settings.offerings.catalog.clone())
    .with_governed_templates(!settings.template_publishers.is_empty())
    .with_rate_limit(bot::RateLimit {
        per_minute: settings.web_rate_limit,
        trusted_proxies: settings.trusted_proxies,
    });
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    tracing::info!("cws-bot listening on http://{}", settings.listen);
    bot::serve_until(listener, bot, ops::draining())
        .await
        .context("serving")?;
    tracing::info!("cws-bot stopped: every request it held was answered");
    Ok(())
}
