//! `POST /slack/interactions`: button clicks. Verified like commands, turned into an
//! [`Action`] and queued; the worker decides who may do what and answers through the click's
//! `response_url`. Slack only needs a 200 within 3 s.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::job::{Action, ActionJob, Job, JobKey, Platform, ReplyTo, Requester};
use serde::Deserialize;

use crate::Bot;
use crate::metrics::Outcome;
use crate::slack::{enqueue_in_time, verify_request};

#[derive(Debug, Deserialize)]
struct InteractionForm {
    payload: String,
}

/// A `block_actions` payload, the fields we use.
#[derive(Debug, Deserialize)]
struct BlockActions {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: User,
    #[serde(default)]
    team: Team,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    container: Option<Container>,
    response_url: Option<String>,
    #[serde(default)]
    trigger_id: String,
    #[serde(default)]
    actions: Vec<Clicked>,
    #[serde(default)]
    state: Option<InputState>,
}

#[derive(Debug, Default, Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    username: String,
}

#[derive(Debug, Default, Deserialize)]
struct Team {
    id: String,
    #[serde(default)]
    domain: String,
}

#[derive(Debug, Deserialize)]
struct Channel {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Clicked {
    action_id: String,
    #[serde(default)]
    value: String,
}

/// `state.values[block_id][action_id]`: what is typed in the message's input boxes.
#[derive(Debug, Deserialize)]
struct InputState {
    values: HashMap<String, HashMap<String, InputValue>>,
}

#[derive(Debug, Deserialize)]
struct InputValue {
    value: Option<String>,
}

impl BlockActions {
    fn typed(&self, action_id: &str) -> Option<&str> {
        self.state
            .as_ref()?
            .values
            .values()
            .find_map(|block| block.get(action_id)?.value.as_deref())
    }
}

pub(crate) async fn interaction_click(
    State(bot): State<Arc<Bot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = verify_request(bot.signing_secret.as_deref(), &headers, &body) {
        return refusal.into_response();
    }
    let Some(payload) = serde_urlencoded::from_bytes::<InteractionForm>(&body)
        .ok()
        .and_then(|form| serde_json::from_str::<BlockActions>(&form.payload).ok())
    else {
        return (StatusCode::BAD_REQUEST, "not a Slack interaction payload").into_response();
    };
    if payload.kind != "block_actions" {
        tracing::info!(kind = %payload.kind, "interaction kind with no handler");
        return StatusCode::OK.into_response();
    }
    let Some(clicked) = payload.actions.first() else {
        return StatusCode::OK.into_response();
    };
    let reason = payload.typed(Action::REASON_INPUT);
    let Some(action) = Action::from_button(&clicked.action_id, &clicked.value, reason) else {
        // Typing in the reason box also arrives here; only buttons are actions.
        return StatusCode::OK.into_response();
    };
    let key = match JobKey::for_slack(&payload.team.id, &payload.trigger_id) {
        Ok(key) => key,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let channel_id = payload
        .channel
        .as_ref()
        .map(|c| c.id.clone())
        .or_else(|| {
            payload
                .container
                .as_ref()
                .and_then(|c| c.channel_id.clone())
        })
        .unwrap_or_default();
    let job = Job::Action(ActionJob {
        key: key.clone(),
        requester: Requester {
            platform: Platform::Slack,
            team_id: payload.team.id.clone(),
            team_domain: payload.team.domain.clone(),
            user_id: payload.user.id.clone(),
            user_name: payload.user.username.clone(),
        },
        reply: ReplyTo::slack(&channel_id, payload.response_url.clone()),
        action,
    });
    if enqueue_in_time(&bot, job).await {
        Outcome::Accepted.mark(StatusCode::OK.into_response())
    } else {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}
