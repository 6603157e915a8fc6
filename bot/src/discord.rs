//! `POST /discord/interactions`: Discord's interactions endpoint. Every request is checked
//! with serenity's Ed25519 [`Verifier`] and a 5-minute timestamp window (Discord sends forged
//! signatures on purpose, and drops an endpoint that accepts one). PINGs get PONG; `/cws`
//! commands, button clicks and the reason modal of Approve and Deny become the same jobs as
//! Slack's, acknowledged with a deferred response well inside Discord's 3 s; the worker
//! answers through the interaction's webhook.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::command::{Command, Launch, TemplatesCommand, discord_command_line, parse};
use domain::job::{
    Action, ActionJob, CommandJob, Job, JobKey, LaunchJob, Platform, ReplyTo, Requester,
};
use domain::launch::check_launch_request;
use domain::message::discord::{
    EMBED_TOTAL, EMBEDS, EPHEMERAL, action_from_custom_id, asks_for_reason, discord_messages,
    exception_reason_modal,
};
use domain::message::{self, ChatMessage};
use domain::slack_signature::MAX_AGE_SECS;
use serde::Deserialize;
use serde_json::{Value, json};
use serenity::interactions_endpoint::Verifier;

use crate::Bot;
use crate::metrics::Outcome;
use crate::slack::enqueue_in_time;

/// Interaction types Discord sends, and the response types we answer with.
const PING: u8 = 1;
const APPLICATION_COMMAND: u8 = 2;
const MESSAGE_COMPONENT: u8 = 3;
const MODAL_SUBMIT: u8 = 5;
const PONG: u8 = 1;
const CHANNEL_MESSAGE: u8 = 4;
const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
const MODAL: u8 = 9;

/// An interaction, the fields we use.
#[derive(Debug, Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    id: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    guild_id: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
    /// In a server.
    #[serde(default)]
    member: Option<Member>,
    /// In a direct message.
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Debug, Deserialize)]
struct Member {
    user: User,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    username: String,
}

#[derive(Debug, Default, Deserialize)]
struct Data {
    /// Commands: the subcommand chosen, with its `args`.
    #[serde(default)]
    options: Vec<CommandOption>,
    /// Buttons and modals.
    #[serde(default)]
    custom_id: Option<String>,
    /// A submitted modal's rows of text inputs.
    #[serde(default)]
    components: Vec<ModalRow>,
}

#[derive(Debug, Deserialize)]
struct ModalRow {
    #[serde(default)]
    components: Vec<ModalInput>,
}

#[derive(Debug, Deserialize)]
struct ModalInput {
    #[serde(default)]
    custom_id: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CommandOption {
    name: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    options: Vec<CommandOption>,
}

/// Parses the application's public key (64 hex digits, checked by the settings).
pub(crate) fn verifier(public_key_hex: &str) -> Result<Verifier, String> {
    let key: [u8; 32] = hex::decode(public_key_hex)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| "DISCORD_PUBLIC_KEY: expected 64 hex digits".to_owned())?;
    Verifier::try_new(key).map_err(|error| format!("DISCORD_PUBLIC_KEY: {error}"))
}

pub(crate) async fn interaction(
    State(bot): State<Arc<Bot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(verifier) = &bot.discord else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(refusal) = verify_request(verifier, &headers, &body) {
        tracing::warn!(%refusal, "refused an unverified Discord request");
        return (
            StatusCode::UNAUTHORIZED,
            format!("invalid request signature: {refusal}"),
        )
            .into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a Discord interaction: {error}"),
            )
                .into_response();
        }
    };
    match interaction.kind {
        PING => Json(json!({ "type": PONG })).into_response(),
        APPLICATION_COMMAND => command(&bot, interaction).await,
        MESSAGE_COMPONENT => click(&bot, interaction).await,
        MODAL_SUBMIT => click(&bot, interaction).await,
        other => {
            tracing::info!(kind = other, "Discord interaction kind with no handler");
            StatusCode::BAD_REQUEST.into_response()
        }
    }
}

/// The signature over timestamp + body, and the timestamp within the window.
fn verify_request(verifier: &Verifier, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("missing {name}"))
    };
    let signature = header("x-signature-ed25519")?;
    let timestamp = header("x-signature-timestamp")?;
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| "the timestamp is not a number".to_owned())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    // The same window as Slack's: older (or future) timestamps are replays.
    if (now - sent).abs() > MAX_AGE_SECS {
        return Err("the timestamp is outside the 5-minute window".to_owned());
    }
    verifier
        .verify(signature, timestamp, body)
        .map_err(|_| "the signature does not match".to_owned())
}

impl Interaction {
    fn person(&self) -> Option<&User> {
        self.member.as_ref().map(|m| &m.user).or(self.user.as_ref())
    }

    /// The guild stands in for Slack's team; the interaction's id is its unique key.
    fn requester(&self) -> Option<Requester> {
        let user = self.person()?;
        let guild = self.guild_id.clone().unwrap_or_default();
        Some(Requester {
            platform: Platform::Discord,
            team_id: guild.clone(),
            team_domain: guild,
            user_id: user.id.clone(),
            user_name: user.username.clone(),
        })
    }

    fn reply(&self) -> ReplyTo {
        ReplyTo::discord(
            self.channel_id.as_deref().unwrap_or_default(),
            Some(self.token.clone()),
        )
    }

    fn key(&self) -> Result<JobKey, (StatusCode, String)> {
        JobKey::for_discord(&self.id).map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))
    }

    /// `/cws SUBCOMMAND args: …` as the command line Slack would have sent.
    fn command_line(&self) -> Option<String> {
        let subcommand = self.data.as_ref()?.options.first()?;
        let args = subcommand
            .options
            .iter()
            .find(|option| option.name == domain::command::DISCORD_ARGS_OPTION)
            .and_then(|option| option.value.as_ref())
            .and_then(Value::as_str);
        Some(discord_command_line(&subcommand.name, args))
    }
}

/// An answer shown at once, only to the caller. Discord's content holds 2,000 characters; a
/// longer answer (the full help) continues in embeds, which hold 6,000 more together.
fn ephemeral(message: ChatMessage) -> Response {
    let mut parts = discord_messages(&message).into_iter();
    let mut first = parts.next().expect("at least one part");
    let mut room = EMBED_TOTAL;
    for part in parts {
        let size = part.content.chars().count();
        if size > room || first.embeds.len() == EMBEDS {
            break;
        }
        room -= size;
        first.embeds.push(json!({ "description": part.content }));
    }
    first.flags = Some(EPHEMERAL);
    Json(json!({ "type": CHANNEL_MESSAGE, "data": first })).into_response()
}

/// "cws is thinking…": the worker's answer replaces it through the interaction's webhook.
fn deferred(private: bool) -> Response {
    let data = if private {
        json!({ "flags": EPHEMERAL })
    } else {
        json!({})
    };
    Json(json!({ "type": DEFERRED_CHANNEL_MESSAGE, "data": data })).into_response()
}

async fn enqueue(bot: &Bot, key: &JobKey, job: Job, private: bool) -> Response {
    if enqueue_in_time(bot, job).await {
        Outcome::Accepted.mark(deferred(private))
    } else {
        Outcome::Busy.mark(ephemeral(message::try_again(key.as_str())))
    }
}

async fn command(bot: &Bot, interaction: Interaction) -> Response {
    let Some(line) = interaction.command_line() else {
        return ephemeral(message::help(
            &domain::command::help_text(None).expect("the full help always renders"),
        ));
    };
    let Some(requester) = interaction.requester() else {
        return (StatusCode::BAD_REQUEST, "an interaction without a user").into_response();
    };
    let key = match interaction.key() {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let reply = interaction.reply();
    match parse(&line) {
        Err(error) => Outcome::ParseError.mark(ephemeral(message::parse_error(&error))),
        Ok(Command::Help(help)) => match domain::command::help_text(help.topic.as_deref()) {
            Ok(text) => ephemeral(message::help(&text)),
            Err(error) => ephemeral(message::parse_error(&error)),
        },
        Ok(Command::Templates(TemplatesCommand::List)) if !bot.governed_templates => {
            ephemeral(message::template_list(&bot.catalog))
        }
        Ok(Command::Launch(launch)) => command_launch(bot, key, requester, reply, launch).await,
        Ok(command) if CommandJob::runs(&command) => {
            let job = Job::Command(CommandJob {
                key: key.clone(),
                requester,
                reply,
                command,
            });
            enqueue(bot, &key, job, true).await
        }
        Ok(other) => ephemeral(message::not_available(other.name())),
    }
}

/// The launch's outcome is posted for the channel to see, as on Slack, so its deferral is
/// public; everything else answers only the caller.
async fn command_launch(
    bot: &Bot,
    key: JobKey,
    requester: Requester,
    reply: ReplyTo,
    launch: Launch,
) -> Response {
    // Governed templates may have been published since this process read its catalog: the
    // worker checks them against the catalog of now.
    if !bot.governed_templates
        && let Err(refusal) = check_launch_request(&launch, &bot.catalog)
    {
        return ephemeral(message::launch_refused(launch.name.as_str(), &refusal));
    }
    let job = Job::Launch(LaunchJob {
        key: key.clone(),
        requester,
        reply,
        launch,
    });
    enqueue(bot, &key, job, false).await
}

/// A button, or the reason modal it opened. Approve and Deny ask for the reason first (the
/// modal carries the button's `custom_id`); every other click is queued at once.
async fn click(bot: &Bot, interaction: Interaction) -> Response {
    let data = interaction.data.as_ref();
    let custom_id = data
        .and_then(|data| data.custom_id.as_deref())
        .unwrap_or_default();
    let reason = data
        .into_iter()
        .flat_map(|data| &data.components)
        .flat_map(|row| &row.components)
        .find(|input| input.custom_id == Action::REASON_INPUT)
        .and_then(|input| input.value.as_deref());
    let Some(action) = action_from_custom_id(custom_id, reason) else {
        return ephemeral(message::button_invalid());
    };
    if interaction.kind == MESSAGE_COMPONENT && asks_for_reason(&action) {
        let modal = exception_reason_modal(custom_id, &action);
        return Json(json!({ "type": MODAL, "data": modal })).into_response();
    }
    let Some(requester) = interaction.requester() else {
        return (StatusCode::BAD_REQUEST, "an interaction without a user").into_response();
    };
    let key = match interaction.key() {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let job = Job::Action(ActionJob {
        key: key.clone(),
        requester,
        reply: interaction.reply(),
        action,
    });
    enqueue(bot, &key, job, true).await
}
