//! The chat edge: a stateless HTTP service that verifies Slack's or Discord's signature, turns
//! the text into
//! a typed command, answers what needs no state at once, and queues everything else for the
//! workers. It holds no business rules and no state, so any number of copies can run.

mod discord;
mod metrics;
mod oauth;
mod rate_limit;
mod slack;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use domain::ports::{JobQueue, SignIns};
use domain::template::Catalog;
use domain::verified_identity::{CALLBACK_PATH, START_PATH};
use serenity::interactions_endpoint::Verifier;

use crate::metrics::{BotMetrics, BotProbe};
use crate::rate_limit::Limiter;
pub use crate::rate_limit::RateLimit;

/// What every request handler may use.
pub struct Bot {
    /// Slack's signing secret; `None` on a Discord-only deployment (the Slack endpoints then
    /// answer 404).
    signing_secret: Option<Vec<u8>>,
    /// Checks Discord's signatures; `None` when no Discord app is configured (the endpoint
    /// then answers 404).
    discord: Option<Verifier>,
    queue: Arc<dyn JobQueue>,
    /// Pending verifications, read so that a made-up `state` is refused before anything is
    /// queued.
    sign_ins: Arc<dyn SignIns>,
    /// Limits the routes anyone may call unsigned.
    limiter: Limiter,
    /// The templates a launch may name (`CWS_TEMPLATES_DIR`): the workers' own, so that what
    /// the edge accepts they can launch.
    catalog: Arc<Catalog>,
    /// Whether templates are governed (`CWS_TEMPLATE_PUBLISHERS`): then the deployment may
    /// have published templates since this process read `catalog`, so launches and
    /// `templates list` are left to the workers, which read the catalog of now.
    governed_templates: bool,
    metrics: Arc<BotMetrics>,
}

impl Bot {
    pub fn new(signing_secret: &str, queue: Arc<dyn JobQueue>, sign_ins: Arc<dyn SignIns>) -> Bot {
        Bot {
            signing_secret: Some(signing_secret.as_bytes().to_vec()),
            discord: None,
            queue,
            sign_ins,
            limiter: Limiter::new(RateLimit::default()),
            catalog: Arc::new(Catalog::builtin().clone()),
            governed_templates: false,
            metrics: Arc::new(BotMetrics::new(&SIGNED_ROUTES)),
        }
    }

    /// A bot for a consortium that lives on Discord only.
    pub fn discord_only(
        public_key_hex: &str,
        queue: Arc<dyn JobQueue>,
        sign_ins: Arc<dyn SignIns>,
    ) -> Result<Bot, String> {
        Bot {
            signing_secret: None,
            ..Bot::new("", queue, sign_ins)
        }
        .with_discord(public_key_hex)
    }

    /// Serves Discord's interactions endpoint too, verified with the application's public key
    /// (`DISCORD_PUBLIC_KEY`, 64 hex digits).
    pub fn with_discord(mut self, public_key_hex: &str) -> Result<Bot, String> {
        self.discord = Some(discord::verifier(public_key_hex)?);
        Ok(self)
    }

    /// Accepts launches of `catalog`'s templates (`CWS_TEMPLATES_DIR`) instead of the shipped
    /// ones.
    pub fn with_catalog(mut self, catalog: Arc<Catalog>) -> Bot {
        self.catalog = catalog;
        self
    }

    /// Leaves launches and `templates list` to the workers, which see the templates the
    /// deployment published after this process started (`CWS_TEMPLATE_PUBLISHERS` is set).
    pub fn with_governed_templates(mut self, governed: bool) -> Bot {
        self.governed_templates = governed;
        self
    }

    /// Limits the unsigned routes as `limit` says (`CWS_WEB_RATE_LIMIT`,
    /// `CWS_TRUSTED_PROXIES`) instead of the defaults.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Bot {
        self.limiter = Limiter::new(limit);
        self
    }
}

const SLACK_COMMANDS: &str = "/slack/commands";
const SLACK_INTERACTIONS: &str = "/slack/interactions";
const DISCORD_INTERACTIONS: &str = "/discord/interactions";
/// The routes the platforms sign, which the metrics count.
const SIGNED_ROUTES: [&str; 3] = [SLACK_COMMANDS, SLACK_INTERACTIONS, DISCORD_INTERACTIONS];

/// Every route. Serve it with [`serve`] (or with `ConnectInfo<SocketAddr>`), so that the rate
/// limit tells clients apart.
pub fn router(bot: Bot) -> Router {
    let bot = Arc::new(bot);
    let probe = Arc::new(BotProbe {
        queue: bot.queue.clone(),
        metrics: bot.metrics.clone(),
    });
    let unsigned = Router::new()
        .route(
            START_PATH,
            get(oauth::sign_in_page).post(oauth::sign_in_continue),
        )
        .route(CALLBACK_PATH, get(oauth::oauth_callback))
        .route_layer(axum::middleware::from_fn_with_state(
            bot.clone(),
            rate_limit::limit_unauthenticated,
        ));
    Router::new()
        .route(SLACK_COMMANDS, post(slack::commands::command_slash))
        .route(
            SLACK_INTERACTIONS,
            post(slack::interactions::interaction_click),
        )
        .route(DISCORD_INTERACTIONS, post(discord::interaction))
        .route_layer(axum::middleware::from_fn_with_state(
            bot.metrics.clone(),
            metrics::track,
        ))
        .merge(unsigned)
        .merge(ops::router(probe))
        .with_state(bot)
}

/// Serves the bot on `listener` until the process ends, with each connection's peer address
/// known to the rate limit.
pub async fn serve(listener: tokio::net::TcpListener, bot: Bot) -> std::io::Result<()> {
    serve_until(listener, bot, std::future::pending()).await
}

/// [`serve`] until `stop` resolves, then drains: no new connections, and every request already
/// received is answered (its job queued) before this returns.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    bot: Bot,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(bot).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
}
