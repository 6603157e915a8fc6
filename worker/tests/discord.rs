//! The Discord REST adapter against a local server that answers as Discord does when an
//! interaction's token has expired (15 minutes after the click or command) and when it
//! throttles.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use domain::job::ReplyTo;
use domain::message::ChatMessage;
use domain::ports::{Chat, PortError};
use domain::settings::DiscordSettings;
use domain::url_prefix::UrlPrefix;
use serde_json::{Value, json};
use worker::adapters::discord::DiscordRest;

const CHANNEL: &str = "1100000000000000003";
const USER: &str = "200000000000000002";
const DM_CHANNEL: &str = "1200000000000000000";

/// Where each message went: `channel` or `dm`, and its content.
type Received = Arc<Mutex<Vec<(&'static str, String)>>>;

fn message(channel_id: &str, body: &Value) -> Value {
    json!({
        "id": "1300000000000000001", "channel_id": channel_id,
        "author": { "id": "1100000000000000004", "username": "cws", "discriminator": "0", "global_name": null, "avatar": null, "bot": true },
        "content": body["content"], "timestamp": "2026-11-24T06:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
        "webhook_id": null,
    })
}

async fn expired_webhook() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "Invalid Webhook Token", "code": 50027 })),
    )
        .into_response()
}

async fn channel_message(
    State(received): State<Received>,
    Path(channel_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if channel_id == "1100000000000000429" {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({ "message": "You are being rate limited.", "retry_after": 1.0, "global": false, "code": 0 })),
        )
            .into_response();
    }
    let kind = if channel_id == DM_CHANNEL {
        "dm"
    } else {
        "channel"
    };
    let content = body["content"].as_str().unwrap_or_default().to_owned();
    received.lock().unwrap().push((kind, content));
    Json(message(&channel_id, &body)).into_response()
}

async fn open_dm(Json(body): Json<Value>) -> Response {
    Json(json!({
        "id": DM_CHANNEL, "type": 1, "last_message_id": null,
        "recipients": [{ "id": body["recipient_id"], "username": "sarah.lee", "discriminator": "0", "global_name": null, "avatar": null }],
    }))
    .into_response()
}

async fn discord() -> (DiscordRest, Received) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let received = Received::default();
    let app = axum::Router::new()
        .route("/api/v10/webhooks/{app}/{token}", post(expired_webhook))
        .route(
            "/api/v10/channels/{channel}/messages",
            post(channel_message),
        )
        .route("/api/v10/users/@me/channels", post(open_dm))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v10", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let settings = DiscordSettings {
        public_key: "ab".repeat(32),
        bot_token: Some("token".into()),
        application_id: Some(1_100_000_000_000_000_001),
        api_url: url,
        cdn_url: UrlPrefix::parse(domain::settings::DISCORD_CDN_URL).unwrap(),
    };
    (DiscordRest::new(&settings).unwrap(), received)
}

fn text(content: &str) -> ChatMessage {
    ChatMessage {
        text: content.into(),
        blocks: Vec::new(),
        discord: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_interaction_token_sends_the_answer_to_the_channel_or_by_dm() {
    let (discord, received) = discord().await;
    let stale = ReplyTo::discord(CHANNEL, Some("expired-token".into()));

    discord
        .post(&stale, &text("✅ launched *box*"))
        .await
        .unwrap();
    discord
        .post_ephemeral(&stale, USER, &text("only for you"))
        .await
        .unwrap();

    assert_eq!(
        *received.lock().unwrap(),
        vec![
            ("channel", "✅ launched **box**".to_owned()),
            ("dm", "only for you".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_transient_and_an_unknown_channel_is_refused() {
    let (discord, _) = discord().await;
    let throttled = discord
        .post(
            &ReplyTo::discord("1100000000000000429", None),
            &text("hello"),
        )
        .await;
    assert!(
        matches!(throttled, Err(PortError::Transient(_))),
        "{throttled:?}"
    );
    let refused = discord
        .post(&ReplyTo::discord("C0NEURO", None), &text("hello"))
        .await;
    assert!(
        matches!(refused, Err(PortError::Rejected { .. })),
        "{refused:?}"
    );
}
