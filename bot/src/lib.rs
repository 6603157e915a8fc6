//! The chat edge: a stateless HTTP service that verifies Slack's or Discord's signature, turns
//! the text into
//! a typed command, answers what needs no state at once, and queues everything else for the
//! workers. It holds no business rules and no state, so any number of copies can run.

mod discord;
mod oauth;
mod slack;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use domain::ports::JobQueue;
use domain::template::Catalog;
use domain::verified_identity::CALLBACK_PATH;
use serenity::interactions_endpoint::Verifier;

/// What every request handler may use.
pub struct Bot {
    /// Slack's signing secret; `None` on a Discord-only deployment (the Slack endpoints then
    /// answer 404).
    signing_secret: Option<Vec<u8>>,
    /// Checks Discord's signatures; `None` when no Discord app is configured (the endpoint
    /// then answers 404).
    discord: Option<Verifier>,
    queue: Arc<dyn JobQueue>,
    catalog: &'static Catalog,
}

impl Bot {
    pub fn new(signing_secret: &str, queue: Arc<dyn JobQueue>) -> Bot {
        Bot {
            signing_secret: Some(signing_secret.as_bytes().to_vec()),
            discord: None,
            queue,
            catalog: Catalog::builtin(),
        }
    }

    /// A bot for a consortium that lives on Discord only.
    pub fn discord_only(public_key_hex: &str, queue: Arc<dyn JobQueue>) -> Result<Bot, String> {
        Bot {
            signing_secret: None,
            ..Bot::new("", queue)
        }
        .with_discord(public_key_hex)
    }

    /// Serves Discord's interactions endpoint too, verified with the application's public key
    /// (`DISCORD_PUBLIC_KEY`, 64 hex digits).
    pub fn with_discord(mut self, public_key_hex: &str) -> Result<Bot, String> {
        self.discord = Some(discord::verifier(public_key_hex)?);
        Ok(self)
    }
}

pub fn router(bot: Bot) -> Router {
    Router::new()
        .route("/slack/commands", post(slack::commands::command_slash))
        .route(
            "/slack/interactions",
            post(slack::interactions::interaction_click),
        )
        .route("/discord/interactions", post(discord::interaction))
        .route(CALLBACK_PATH, get(oauth::oauth_callback))
        .route("/healthz", get(healthz))
        .with_state(Arc::new(bot))
}

async fn healthz() -> &'static str {
    "ok"
}
