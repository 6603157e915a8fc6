//! A fake Discord REST API (`/api/v10`), answering in Discord's wire format and recording
//! what it receives: follow-ups on an interaction's webhook, channel messages, direct messages
//! (`POST /users/@me/channels` opens the DM channel, not recorded) and command registrations.
//! Files shared in a channel are listed in its history and served from a CDN path.
//! It checks the bot token on every call but the webhook, which Discord authorizes by its
//! token alone, and refuses a message past Discord's limits (50035 Invalid Form Body),
//! keeping the refusals for [`FakeDiscord::refusals`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::inbox::Inbox;

pub const DISCORD_BOT_TOKEN: &str = "e2e-discord-bot-token";
pub const DISCORD_APPLICATION_ID: &str = "1100000000000000001";
pub const DISCORD_GUILD_ID: &str = "1100000000000000002";
pub const DISCORD_CHANNEL_ID: &str = "1100000000000000003";
const BOT_USER_ID: &str = "1100000000000000004";
/// Who shares files in the channel.
const LEE_USER_ID: &str = "200000000000000002";
/// DM channels get ids from here up, one per person.
const FIRST_DM_CHANNEL: u64 = 1_200_000_000_000_000_000;

/// One message (or registration) Discord accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `followup`, `channel`, `dm` or `commands`.
    pub kind: &'static str,
    /// The interaction token (follow-ups), channel id (channel messages), recipient's user id
    /// (DMs) or guild id, empty when global (commands).
    pub to: String,
    pub body: Value,
}

impl Sent {
    pub fn content(&self) -> &str {
        self.body["content"].as_str().unwrap_or_default()
    }

    pub fn ephemeral(&self) -> bool {
        self.body["flags"].as_u64().unwrap_or_default() & 64 != 0
    }

    /// The `custom_id` of the button labelled `label`.
    pub fn button(&self, label: &str) -> String {
        self.body["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find(|button| button["label"] == label)
            .and_then(|button| button["custom_id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no {label} button in {:#}", self.body))
    }
}

/// A file someone shared in a channel: (channel, name, content).
type SharedFile = (String, String, String);

struct DiscordState {
    inbox: Inbox<Sent>,
    files: Mutex<Vec<SharedFile>>,
    url: Mutex<String>,
    /// DM channel id → recipient's user id.
    dm_channels: Mutex<HashMap<String, String>>,
    /// Messages refused for breaking Discord's limits: `where: which limit`.
    refusals: Mutex<Vec<String>>,
}

pub struct FakeDiscord {
    url: String,
    state: Arc<DiscordState>,
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bot {DISCORD_BOT_TOKEN}"))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "401: Unauthorized", "code": 0 })),
    )
        .into_response()
}

fn user(id: &str, name: &str) -> Value {
    json!({
        "id": id, "username": name, "discriminator": "0", "global_name": null,
        "avatar": null, "bot": id == BOT_USER_ID,
    })
}

/// A message object as Discord returns it after creating one.
fn message(channel_id: &str, body: &Value, webhook: bool) -> Value {
    json!({
        "id": "1300000000000000001",
        "channel_id": channel_id,
        "author": user(BOT_USER_ID, "cws"),
        "content": body["content"].as_str().unwrap_or_default(),
        "timestamp": "2026-11-24T06:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": body["embeds"].as_array().cloned().unwrap_or_default(),
        "components": body["components"].as_array().cloned().unwrap_or_default(),
        "pinned": false,
        "type": 0,
        "flags": body["flags"].as_u64().unwrap_or_default(),
        "webhook_id": if webhook { json!(DISCORD_APPLICATION_ID) } else { Value::Null },
        "application_id": DISCORD_APPLICATION_ID,
    })
}

/// The limit of Discord's a message body breaks
/// (<https://discord.com/developers/docs/resources/message#create-message>), if any.
fn breach(body: &Value) -> Option<&'static str> {
    let chars = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
    let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
    let embeds = list(&body["embeds"]);
    let embed_total: usize = embeds
        .iter()
        .map(|embed| {
            let fields: usize = list(&embed["fields"])
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum();
            chars(&embed["title"])
                + chars(&embed["description"])
                + chars(&embed["footer"]["text"])
                + fields
        })
        .sum();
    let custom_ids = list(&body["components"])
        .iter()
        .flat_map(|row| list(&row["components"]))
        .map(|component| chars(&component["custom_id"]))
        .max()
        .unwrap_or(0);
    if chars(&body["content"]) > 2_000 {
        Some("content over 2,000 characters")
    } else if embeds.len() > 10 {
        Some("over 10 embeds")
    } else if embeds
        .iter()
        .any(|embed| chars(&embed["description"]) > 4_096)
    {
        Some("embed description over 4,096 characters")
    } else if embed_total > 6_000 {
        Some("embeds over 6,000 characters")
    } else if custom_ids > 100 {
        Some("custom_id over 100 characters")
    } else {
        None
    }
}

/// Refuses `body` as Discord would if it breaks a limit, and keeps the refusal.
fn refused(state: &DiscordState, what: &str, body: &Value) -> Option<Response> {
    let limit = breach(body)?;
    state
        .refusals
        .lock()
        .unwrap()
        .push(format!("{what}: {limit}"));
    let invalid = Json(json!({ "message": "Invalid Form Body", "code": 50035 }));
    Some((StatusCode::BAD_REQUEST, invalid).into_response())
}

fn record(state: &DiscordState, sent: Sent) {
    state.inbox.record(sent);
}

async fn followup(
    State(state): State<Arc<DiscordState>>,
    Path((application_id, token)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if application_id != DISCORD_APPLICATION_ID {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Unknown Webhook", "code": 10015 })),
        )
            .into_response();
    }
    if let Some(refusal) = refused(&state, "follow-up", &body) {
        return refusal;
    }
    let answer = message(DISCORD_CHANNEL_ID, &body, true);
    record(
        &state,
        Sent {
            kind: "followup",
            to: token,
            body,
        },
    );
    Json(answer).into_response()
}

async fn channel_message(
    State(state): State<Arc<DiscordState>>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    if let Some(refusal) = refused(&state, "channel message", &body) {
        return refusal;
    }
    let answer = message(&channel_id, &body, false);
    let recipient = state.dm_channels.lock().unwrap().get(&channel_id).cloned();
    let sent = match recipient {
        Some(user_id) => Sent {
            kind: "dm",
            to: user_id,
            body,
        },
        None => Sent {
            kind: "channel",
            to: channel_id,
            body,
        },
    };
    record(&state, sent);
    Json(answer).into_response()
}

/// `GET /channels/{id}/messages`: the channel's messages, newest first; here, one per file
/// shared there, each carrying it as an attachment on the CDN.
async fn channel_history(
    State(state): State<Arc<DiscordState>>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let base = state.url.lock().unwrap().clone();
    let messages: Vec<Value> = state
        .files
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, (channel, _, _))| *channel == channel_id)
        .map(|(index, (_, name, content))| {
            let url = format!("{base}/attachments/{channel_id}/{index}/{name}");
            let mut shared = message(&channel_id, &json!({ "content": "" }), false);
            shared["id"] = json!(format!("13000000000000001{index:02}"));
            shared["author"] = user(LEE_USER_ID, "sarah.lee");
            shared["attachments"] = json!([{
                "id": format!("16000000000000000{index:02}"),
                "filename": name,
                "size": content.len(),
                "url": url,
                "proxy_url": url,
                "content_type": "text/csv; charset=utf-8",
            }]);
            shared
        })
        .collect();
    Json(Value::Array(messages)).into_response()
}

/// An attachment on the CDN: its URL is the whole authorization.
async fn attachment(
    State(state): State<Arc<DiscordState>>,
    Path((_channel, index, _name)): Path<(String, usize, String)>,
) -> Response {
    match state.files.lock().unwrap().get(index) {
        Some((_, _, content)) => content.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The application the bot token belongs to.
async fn current_application(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    Json(json!({ "id": DISCORD_APPLICATION_ID, "name": "cws" })).into_response()
}

async fn open_dm(
    State(state): State<Arc<DiscordState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let Some(recipient) = body["recipient_id"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "Invalid Form Body", "code": 50035 })),
        )
            .into_response();
    };
    let mut channels = state.dm_channels.lock().unwrap();
    let id = match channels.iter().find(|(_, user)| *user == recipient) {
        Some((id, _)) => id.clone(),
        None => {
            let id = (FIRST_DM_CHANNEL + channels.len() as u64).to_string();
            channels.insert(id.clone(), recipient.to_owned());
            id
        }
    };
    Json(json!({
        "id": id,
        "type": 1,
        "last_message_id": null,
        "recipients": [user(recipient, "someone")],
    }))
    .into_response()
}

/// `PUT /applications/{app}/commands` and `…/guilds/{guild}/commands`: bulk overwrite.
async fn overwrite_commands(
    state: &DiscordState,
    headers: &HeaderMap,
    guild: String,
    body: Value,
) -> Response {
    if !authorized(headers) {
        return unauthorized();
    }
    let created: Vec<Value> = body
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(n, command)| {
            let mut command = command.clone();
            command["id"] = json!(format!("14000000000000000{n:02}"));
            command["application_id"] = json!(DISCORD_APPLICATION_ID);
            command["version"] = json!("1400000000000000099");
            command["default_member_permissions"] = Value::Null;
            if !guild.is_empty() {
                command["guild_id"] = json!(guild);
            }
            command
        })
        .collect();
    record(
        state,
        Sent {
            kind: "commands",
            to: guild,
            body,
        },
    );
    Json(Value::Array(created)).into_response()
}

async fn global_commands(
    State(state): State<Arc<DiscordState>>,
    Path(_application_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    overwrite_commands(&state, &headers, String::new(), body).await
}

async fn guild_commands(
    State(state): State<Arc<DiscordState>>,
    Path((_application_id, guild)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    overwrite_commands(&state, &headers, guild, body).await
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let state = Arc::new(DiscordState {
            inbox: Inbox::new("Discord"),
            files: Mutex::default(),
            url: Mutex::default(),
            dm_channels: Mutex::default(),
            refusals: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/api/v10/webhooks/{application_id}/{token}", post(followup))
            .route(
                "/api/v10/channels/{channel_id}/messages",
                post(channel_message).get(channel_history),
            )
            .route("/attachments/{channel}/{index}/{name}", get(attachment))
            .route("/api/v10/users/@me/channels", post(open_dm))
            .route("/api/v10/applications/@me", get(current_application))
            .route(
                "/api/v10/applications/{application_id}/commands",
                put(global_commands),
            )
            .route(
                "/api/v10/applications/{application_id}/guilds/{guild}/commands",
                put(guild_commands),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        *state.url.lock().unwrap() = url.clone();
        FakeDiscord { url, state }
    }

    /// Someone shares a file called `name` in `channel`.
    pub fn share_file(&self, channel: &str, name: &str, content: &str) {
        self.state.files.lock().unwrap().push((
            channel.to_owned(),
            name.to_owned(),
            content.to_owned(),
        ));
    }

    /// `DISCORD_API_URL` for the worker.
    /// What workers take as `DISCORD_CDN_URL`: where this fake's attachments live.
    pub fn cdn_url(&self) -> String {
        format!("{}/attachments/", self.url)
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/v10", self.url)
    }

    /// Waits for a message not yet examined that matches, marks it examined and returns it.
    pub async fn expect(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Sent) -> bool,
    ) -> Sent {
        self.state.inbox.expect(what, timeout, matches).await
    }

    /// The next follow-up on the interaction `token` whose content contains `wanted`.
    pub async fn followup_containing(&self, token: &str, wanted: &str) -> Sent {
        self.expect(wanted, Duration::from_secs(30), |s| {
            s.kind == "followup" && s.to == token && s.content().contains(wanted)
        })
        .await
    }

    /// The next direct message to `user_id`.
    pub async fn expect_dm(&self, user_id: &str, what: &str) -> Sent {
        self.expect(what, Duration::from_secs(30), |s| {
            s.kind == "dm" && s.to == user_id
        })
        .await
    }

    /// The messages refused for breaking Discord's limits.
    pub fn refusals(&self) -> Vec<String> {
        self.state.refusals.lock().unwrap().clone()
    }

    pub fn unexamined(&self) -> Vec<Sent> {
        self.state.inbox.unexamined()
    }
}
