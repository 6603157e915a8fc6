//! `POST /slack/interactions`: button clicks. Verified like commands; the buttons themselves
//! (exception requests, approvals) arrive with the invitations and policy work.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Bot;
use crate::slack::verify_request;

#[derive(Debug, Deserialize)]
struct InteractionForm {
    payload: String,
}

#[derive(Debug, Deserialize)]
struct InteractionPayload {
    #[serde(rename = "type")]
    kind: String,
}

pub(crate) async fn interaction_click(
    State(bot): State<Arc<Bot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = verify_request(&bot.signing_secret, &headers, &body) {
        return refusal.into_response();
    }
    let payload = serde_urlencoded::from_bytes::<InteractionForm>(&body)
        .ok()
        .and_then(|form| serde_json::from_str::<InteractionPayload>(&form.payload).ok());
    match payload {
        Some(payload) => {
            tracing::info!(kind = %payload.kind, "interaction with no registered action");
            StatusCode::OK.into_response()
        }
        None => (StatusCode::BAD_REQUEST, "not a Slack interaction payload").into_response(),
    }
}
