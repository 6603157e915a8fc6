//! The chat edge: a stateless HTTP service that verifies Slack's signature, turns the text into
//! a typed command, answers what needs no state at once, and queues everything else for the
//! workers. It holds no business rules and no state, so any number of copies can run.

mod oauth;
mod slack;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use domain::ports::JobQueue;
use domain::template::Catalog;
use domain::verified_identity::CALLBACK_PATH;

/// What every request handler may use.
pub struct Bot {
    signing_secret: Vec<u8>,
    queue: Arc<dyn JobQueue>,
    catalog: &'static Catalog,
}

impl Bot {
    pub fn new(signing_secret: &str, queue: Arc<dyn JobQueue>) -> Bot {
        Bot {
            signing_secret: signing_secret.as_bytes().to_vec(),
            queue,
            catalog: Catalog::builtin(),
        }
    }
}

pub fn router(bot: Bot) -> Router {
    Router::new()
        .route("/slack/commands", post(slack::commands::command_slash))
        .route(
            "/slack/interactions",
            post(slack::interactions::interaction_click),
        )
        .route(CALLBACK_PATH, get(oauth::oauth_callback))
        .route("/healthz", get(healthz))
        .with_state(Arc::new(bot))
}

async fn healthz() -> &'static str {
    "ok"
}
