//! `POST /slack/commands`: one `/cws ...` slash command.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::command::{Command, Launch, TemplatesCommand, parse};
use domain::job::{CommandJob, Job, JobKey, LaunchJob, Platform, ReplyTo, Requester};
use domain::launch::check_launch_request;
use domain::message::limits::{SECTION_TEXT, fit_to_slack};
use domain::message::{self, ChatMessage};
use serde::{Deserialize, Serialize};

use crate::Bot;
use crate::metrics::Outcome;
use crate::slack::{enqueue_in_time, verify_request};

/// The form Slack posts for a slash command (the fields we use).
#[derive(Debug, Deserialize)]
pub(crate) struct SlashCommand {
    text: String,
    team_id: String,
    #[serde(default)]
    team_domain: String,
    channel_id: String,
    user_id: String,
    #[serde(default)]
    user_name: String,
    response_url: Option<String>,
    trigger_id: String,
}

/// The immediate answer; only the caller sees it.
#[derive(Serialize)]
struct Ephemeral {
    response_type: &'static str,
    #[serde(flatten)]
    message: ChatMessage,
}

/// The answer to a slash command is one message, so it is cut to fit one ([`fit_to_slack`]).
fn ephemeral(message: ChatMessage) -> Response {
    let message = fit_to_slack(&message);
    Json(Ephemeral {
        response_type: "ephemeral",
        message,
    })
    .into_response()
}

/// A message already rendered as JSON (`{"text":…,"blocks":…}`), answered as it is with
/// Slack's `response_type` added: nothing parsed or serialized again.
fn ephemeral_rendered(message_json: &str) -> Response {
    let fields = message_json
        .trim_start()
        .strip_prefix('{')
        .expect("a rendered message is a JSON object");
    let body = format!("{{\"response_type\":\"ephemeral\",{fields}");
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

pub(crate) async fn command_slash(
    State(bot): State<Arc<Bot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = verify_request(bot.signing_secret.as_deref(), &headers, &body) {
        return refusal.into_response();
    }
    let form: SlashCommand = match serde_urlencoded::from_bytes(&body) {
        Ok(form) => form,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a slash command form: {error}"),
            )
                .into_response();
        }
    };
    match parse(&unescape(&form.text)) {
        Err(error) => Outcome::ParseError.mark(ephemeral(message::parse_error(&error))),
        Ok(Command::Help(help)) => match domain::command::help_text(help.topic.as_deref()) {
            Ok(text) => ephemeral(message::help(&text)),
            Err(error) => ephemeral(message::parse_error(&error)),
        },
        Ok(Command::Templates(TemplatesCommand::List)) if !bot.governed_templates => {
            ephemeral(message::template_list(&bot.catalog))
        }
        Ok(Command::Launch(launch)) => command_launch(&bot, form, launch).await,
        Ok(command) if CommandJob::runs(&command) => command_for_worker(&bot, form, command).await,
        Ok(other) => ephemeral(message::not_available(other.name())),
    }
}

impl SlashCommand {
    fn key(&self) -> Result<JobKey, (StatusCode, String)> {
        JobKey::for_slack(&self.team_id, &self.trigger_id)
            .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))
    }

    /// Who asked and where the answers go, the form's own strings moved into them.
    fn into_parts(self) -> (Requester, ReplyTo) {
        let reply = ReplyTo::slack(&self.channel_id, self.response_url);
        let requester = Requester {
            platform: Platform::Slack,
            team_id: self.team_id,
            team_domain: self.team_domain,
            user_id: self.user_id,
            user_name: self.user_name,
        };
        (requester, reply)
    }
}

/// Queues a job and acknowledges it with `accepted`, inside Slack's deadline.
async fn enqueue(bot: &Bot, key: &JobKey, job: Job, accepted: Response) -> Response {
    if enqueue_in_time(bot, job).await {
        Outcome::Accepted.mark(accepted)
    } else {
        Outcome::Busy.mark(ephemeral(message::try_again(key.as_str())))
    }
}

/// Commands that need state (projects, invitations, profiles, policy) go to a worker, which
/// decides who may run them and answers through `response_url`.
async fn command_for_worker(bot: &Bot, form: SlashCommand, command: Command) -> Response {
    let key = match form.key() {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let accepted = ephemeral(message::working_on_it(command.name()));
    let (requester, reply) = form.into_parts();
    let job = Job::Command(CommandJob {
        key: key.clone(),
        requester,
        reply,
        command,
    });
    enqueue(bot, &key, job, accepted).await
}

/// Slack sends `&`, `<` and `>` in command text as HTML entities; the grammar sees the
/// characters the person typed.
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

async fn command_launch(bot: &Bot, form: SlashCommand, launch: Launch) -> Response {
    let accepted = if bot.governed_templates {
        // The template may have been published after this process read its catalog: the
        // worker checks it against the catalog of now.
        ephemeral(message::launch_accepted_unchecked(&launch))
    } else {
        if let Err(refusal) = check_launch_request(&launch, &bot.catalog) {
            return ephemeral(message::launch_refused(launch.name.as_str(), &refusal));
        }
        let template = bot.catalog.find(&launch.template).expect("checked above");
        let size = launch.size.unwrap_or(template.default_size);
        let instance_type = template.instance_type(size).expect("checked above");
        let rendered = message::launch_accepted_json(&launch, &template.name, size, instance_type);
        // Short enough that no Block Kit limit applies (one section): answered as rendered.
        if rendered.len() < SECTION_TEXT {
            ephemeral_rendered(&rendered)
        } else {
            ephemeral(message::launch_accepted(
                &launch,
                &template.name,
                size,
                instance_type,
            ))
        }
    };
    let key = match form.key() {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let (requester, reply) = form.into_parts();
    let job = Job::Launch(LaunchJob {
        key: key.clone(),
        requester,
        reply,
        launch,
    });
    enqueue(bot, &key, job, accepted).await
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn slack_entities_become_the_typed_characters() {
        assert_eq!(
            unescape("profiles invitations accept &lt;STANFORD-TOKEN&gt; a&amp;b"),
            "profiles invitations accept <STANFORD-TOKEN> a&b"
        );
        assert_eq!(unescape("&amp;lt;"), "&lt;");
    }
}
