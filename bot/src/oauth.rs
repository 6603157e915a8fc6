//! `GET /oauth/globus/callback`: where the identity provider sends the person's browser after
//! `profiles verify`. The bot holds no state, so it only queues what the redirect carried;
//! the worker that takes the job checks `state`, exchanges the code and tells the person in
//! chat. The browser gets a short page pointing back to chat.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::job::{Job, JobKey, ProviderAnswer, VerificationCallbackJob};
use domain::message::{self, CallbackPage};
use serde::Deserialize;

use crate::Bot;
use crate::slack::enqueue_in_time;

/// The query of the provider's redirect (RFC 6749 §4.1.2): `code` and `state`, or `error`.
#[derive(Deserialize)]
pub(crate) struct Redirect {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Redirect {
    fn answer(self) -> Option<(String, ProviderAnswer)> {
        let state = self.state.filter(|state| !state.is_empty())?;
        let answer = match (self.code, self.error) {
            (_, Some(error)) => ProviderAnswer::Error {
                error,
                description: self.error_description,
            },
            (Some(code), None) if !code.is_empty() => ProviderAnswer::Code(code),
            _ => return None,
        };
        Some((state, answer))
    }
}

pub(crate) async fn oauth_callback(
    State(bot): State<Arc<Bot>>,
    Query(redirect): Query<Redirect>,
) -> Response {
    let Some((state, answer)) = redirect.answer() else {
        return (
            StatusCode::BAD_REQUEST,
            Html(message::verification_callback_page(
                CallbackPage::Incomplete,
            )),
        )
            .into_response();
    };
    let page = message::verification_callback_page(CallbackPage::Queued(&answer));
    // Every redirect is its own job, a replayed one included: the worker refuses it.
    let key = JobKey::try_from(format!("oauth:{}", uuid::Uuid::new_v4().simple()))
        .expect("a uuid makes a valid job key");
    let job = Job::VerificationCallback(VerificationCallbackJob { key, state, answer });
    if enqueue_in_time(&bot, job).await {
        Html(page).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(message::verification_callback_page(
                CallbackPage::Unavailable,
            )),
        )
            .into_response()
    }
}
