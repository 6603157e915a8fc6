//! `cws`: the whole product in one process (bot and worker), or either half, or `cws say` to
//! send a signed command to a running bot the way Slack does. With nothing configured it runs
//! the embedded mode: in-memory queue and state, simulated cloud, chat printed to the terminal.

mod dead_letters;
mod say;
mod templates;

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use domain::ports::{JobQueue, Records, SignIns};
use domain::settings::{EMBEDDED_USER_ID, Settings};
use queue::{RecordsSignIns, RedisJobQueue, RedisSignIns};
use tokio::io::AsyncBufReadExt;

#[derive(Parser)]
#[command(
    name = "cws",
    version,
    about = "Research workstations on AWS, run from Slack"
)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Bot and worker in one process (the default).
    Run,
    /// Only the chat edge: verify, parse, enqueue (needs REDIS_URL).
    Bot,
    /// Only a worker: take jobs from Redis and do them (needs REDIS_URL).
    Worker,
    /// Run one scheduled round now and exit (needs REDIS_URL): checks, reconcile, idle,
    /// expiry-sweep or retention, under the same once-only rules as the schedule.
    RunOnce { round: worker::Round },
    /// Jobs in the queues (needs REDIS_URL).
    Jobs {
        #[command(subcommand)]
        jobs: JobsCommand,
    },
    /// Check every requirement of the configured deployment against the real services and
    /// say what to fix; exits 1 if any is not met. Read-only: creates nothing.
    Doctor,
    /// Register the `/cws` command with Discord (needs DISCORD_PUBLIC_KEY, DISCORD_BOT_TOKEN
    /// and DISCORD_APPLICATION_ID), generated from the same grammar as `/cws help`.
    RegisterDiscordCommands {
        /// A server (guild) id: the command shows there at once. Without it, globally.
        #[arg(long)]
        guild: Option<u64>,
    },
    /// Template publishers' keys and signatures (`CWS_TEMPLATE_PUBLISHERS`).
    Templates {
        #[command(subcommand)]
        templates: templates::TemplatesCommand,
    },
    /// Send a signed slash command to a running bot, exactly as Slack would.
    Say {
        /// The command, e.g. '/cws launch "Python Machine Learning" demo --size M'.
        text: String,
        /// The bot's base URL (default: http://CWS_LISTEN).
        #[arg(long)]
        url: Option<String>,
        /// The Slack user id to send as.
        #[arg(long, default_value = EMBEDDED_USER_ID)]
        user: String,
        /// The channel id the command comes from.
        #[arg(long, default_value = "C-TERMINAL")]
        channel: String,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Jobs the workers gave up on: list them, show one, replay them once the cause is fixed.
    Dead {
        #[command(subcommand)]
        dead: dead_letters::DeadCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Both ring and aws-lc-rs reach the dependency graph; rustls must be told which to use.
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .map_err(|_| anyhow::anyhow!("a TLS provider was already installed"))?;
    let cli = Cli::parse();
    // Signing a templates directory comes before any binary that checks it can start.
    if let Some(Mode::Templates { templates }) = cli.mode {
        return templates::run(templates);
    }
    let settings = ops::load_settings()?;
    ops::init_logging(
        settings.log_format,
        "warn,cws=info,cws_bot=info,cws_worker=info",
    );
    match cli.mode.unwrap_or(Mode::Run) {
        Mode::Run => run_all(settings).await,
        Mode::Bot => run_bot(settings).await,
        Mode::Worker => run_worker(settings).await,
        Mode::RunOnce { round } => {
            let connection = connect_redis(&settings, "run-once")?;
            let env = worker::command_env(&settings, Some(connection)).await?;
            println!("{}", worker::run_once(&env, round).await?);
            Ok(())
        }
        Mode::Jobs {
            jobs: JobsCommand::Dead { dead },
        } => {
            let connection = connect_redis(&settings, "jobs")?;
            dead_letters::run(&connection, dead).await
        }
        Mode::Templates { .. } => unreachable!("handled before the settings are read"),
        Mode::Doctor => {
            let checks = worker::doctor::checks(&settings).await;
            print!("{}", domain::doctor::report(&checks));
            if !domain::doctor::all_met(&checks) {
                std::process::exit(1);
            }
            Ok(())
        }
        Mode::RegisterDiscordCommands { guild } => {
            let rest = settings
                .discord
                .as_ref()
                .and_then(worker::adapters::discord::DiscordRest::new)
                .context("registering needs DISCORD_PUBLIC_KEY, DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID")?;
            let names = rest.register_commands(guild).await?;
            let place = guild.map_or("globally".to_owned(), |g| format!("in server {g}"));
            println!("Registered /{} {place}.", names.join(", /"));
            Ok(())
        }
        Mode::Say {
            text,
            url,
            user,
            channel,
        } => {
            let url = url.unwrap_or_else(|| format!("http://{}", settings.listen));
            let secret = settings.slack_or_embedded().signing_secret;
            println!(
                "{}",
                say::send(&url, &secret, &text, &user, &channel).await?
            );
            Ok(())
        }
    }
}

/// The connection is made on first use, so that bots and workers start while Redis is away
/// (the bot answering "try again", the workers waiting) and carry on once it is back.
fn connect_redis(
    settings: &Settings,
    role: &str,
) -> anyhow::Result<apalis_redis::ConnectionManager> {
    let url = settings.redis_url.as_deref().with_context(|| {
        format!("`cws {role}` needs REDIS_URL: it shares its queue with other processes")
    })?;
    queue::connect(url).context("REDIS_URL")
}

async fn serve_bot(
    settings: &Settings,
    queue: Arc<dyn JobQueue>,
    sign_ins: Arc<dyn SignIns>,
) -> anyhow::Result<()> {
    let bot = match (&settings.slack, &settings.discord) {
        (None, None) if !settings.listen.ip().is_loopback() => bail!(
            "SLACK_SIGNING_SECRET or DISCORD_PUBLIC_KEY is required to listen on {}: without them only loopback is safe",
            settings.listen
        ),
        (None, Some(discord)) if !settings.listen.ip().is_loopback() => {
            bot::Bot::discord_only(&discord.public_key, queue, sign_ins)
                .map_err(anyhow::Error::msg)?
        }
        (_, discord) => {
            let bot = bot::Bot::new(
                &settings.slack_or_embedded().signing_secret,
                queue,
                sign_ins,
            );
            match discord {
                Some(discord) => bot
                    .with_discord(&discord.public_key)
                    .map_err(anyhow::Error::msg)?,
                None => bot,
            }
        }
    }
    .with_catalog(settings.offerings.catalog.clone())
    .with_governed_templates(!settings.template_publishers.is_empty())
    .with_rate_limit(bot::RateLimit {
        per_minute: settings.web_rate_limit,
        trusted_proxies: settings.trusted_proxies,
    });
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| {
            format!(
                "binding {} (set CWS_LISTEN to use another address)",
                settings.listen
            )
        })?;
    bot::serve_until(listener, bot, ops::draining())
        .await
        .context("serving HTTP")?;
    tracing::info!("bot stopped: every request it held was answered");
    Ok(())
}

async fn run_bot(settings: Settings) -> anyhow::Result<()> {
    let connection = connect_redis(&settings, "bot")?;
    tracing::info!("bot listening on http://{}", settings.listen);
    serve_bot(
        &settings,
        Arc::new(RedisJobQueue::new(connection.clone())),
        Arc::new(RedisSignIns::new(connection)),
    )
    .await
}

async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    let connection = connect_redis(&settings, "worker")?;
    tracing::info!("worker started");
    Ok(worker::run(&settings, worker::Queues::Redis(connection)).await?)
}

async fn run_all(settings: Settings) -> anyhow::Result<()> {
    print_banner(&settings);
    let (queue, sign_ins, queues): (Arc<dyn JobQueue>, Arc<dyn SignIns>, worker::Queues) =
        match &settings.redis_url {
            Some(_) => {
                let connection = connect_redis(&settings, "run")?;
                (
                    Arc::new(RedisJobQueue::new(connection.clone())),
                    Arc::new(RedisSignIns::new(connection.clone())),
                    worker::Queues::Redis(connection),
                )
            }
            None => {
                let (queue, storages) = queue::memory_queues();
                // The bot reads the sign-ins the worker in this process starts.
                let records: Arc<dyn Records> =
                    Arc::new(worker::adapters::memory_records::MemoryRecords::default());
                (
                    queue,
                    Arc::new(RecordsSignIns(records.clone())),
                    worker::Queues::Memory(storages, records),
                )
            }
        };
    let url = format!("http://{}", settings.listen);
    if std::io::stdin().is_terminal() {
        let secret = settings.slack_or_embedded().signing_secret;
        tokio::spawn(read_commands(url, secret));
    }
    // Both stop on SIGTERM or ctrl-c: the bot answers what it holds, the worker finishes its
    // jobs in flight.
    tokio::try_join!(serve_bot(&settings, queue, sign_ins), async {
        Ok(worker::run(&settings, queues).await?)
    })?;
    Ok(())
}

fn print_banner(settings: &Settings) {
    let embedded = settings.embedded_components();
    let listen = settings.listen;
    if embedded.is_empty() {
        println!("cws: bot and worker on http://{listen}, fully configured.");
        if settings.discord.is_some() {
            println!("Discord interactions endpoint: POST http://{listen}/discord/interactions");
        }
        return;
    }
    println!("==================================================================");
    println!(" cws is running in EMBEDDED MODE: nothing here touches the outside world");
    for component in &embedded {
        println!("  - {component}");
    }
    println!("==================================================================");
    println!("Type commands at the prompt: start a project, then launch in it, e.g.");
    println!("  /cws project create demo --budget 500");
    println!("  /cws launch \"Python Machine Learning\" my-analysis --size M");
    println!("or from another terminal:");
    println!("  cargo run -- say '/cws launch \"R Research Environment\" berkeley-analysis'");
    println!(
        "Slack endpoint: POST http://{listen}/slack/commands · /cws help lists every command."
    );
}

/// The terminal prompt: each line goes through the real HTTP endpoint, signed like Slack.
async fn read_commands(url: String, secret: String) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match say::send(&url, &secret, &line, EMBEDDED_USER_ID, "C-TERMINAL").await {
            Ok(reply) => println!("{reply}"),
            Err(error) => eprintln!("could not send: {error:#}"),
        }
    }
}
