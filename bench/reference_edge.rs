//! The reference the bot's throughput is measured against (`bench/ack_wrk.sh`): the least an
//! edge can do with a signed slash command, in bare axum: check Slack's signature, parse the
//! form, and queue the command with its idempotency check in one Redis round trip (`SET NX` of
//! the trigger id and `RPUSH`, pipelined atomically). No grammar, no metrics, no rate limit.
//!
//!     REDIS_URL=redis://127.0.0.1:6390/83 SLACK_SIGNING_SECRET=s CWS_LISTEN=127.0.0.1:38474 \
//!         cargo run --release -p cws-bot --example reference_edge

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use redis::aio::ConnectionManager;

#[derive(Clone)]
struct Edge {
    secret: String,
    redis: ConnectionManager,
}

#[derive(serde::Deserialize)]
struct Form {
    text: String,
    trigger_id: String,
    user_id: String,
    channel_id: String,
}

async fn command(State(edge): State<Edge>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if domain::slack_signature::verify(
        edge.secret.as_bytes(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        now,
    )
    .is_err()
    {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Form>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let job = serde_json::json!({
        "text": form.text, "user": form.user_id, "channel": form.channel_id,
    })
    .to_string();
    let mut redis = edge.redis.clone();
    let queued: redis::RedisResult<()> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(format!("ref:key:{}", form.trigger_id))
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(604_800)
        .ignore()
        .rpush("ref:queue", job)
        .ignore()
        .query_async(&mut redis)
        .await;
    match queued {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url = std::env::var("REDIS_URL")?;
    let edge = Edge {
        secret: std::env::var("SLACK_SIGNING_SECRET")?,
        redis: ConnectionManager::new(redis::Client::open(redis_url)?).await?,
    };
    let listener = tokio::net::TcpListener::bind(std::env::var("CWS_LISTEN")?).await?;
    let app = Router::new()
        .route("/slack/commands", post(command))
        .with_state(edge);
    axum::serve(listener, app).await?;
    Ok(())
}
