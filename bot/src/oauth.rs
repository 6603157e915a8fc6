//! The sign-in pages of `profiles verify`, the only routes anyone may call without a
//! platform's signature:
//!
//! - `GET /oauth/globus/start?state=…`: the link the person got in chat. It names the chat
//!   account the login will be bound to, and offers Continue (a form, so a link scanner that
//!   fetches the page goes no further). It sets a `SameSite=Strict` cookie that the form
//!   repeats, so another site cannot press Continue for the person.
//! - `POST /oauth/globus/start`: Continue; a 303 to the provider's authorization URL, which the
//!   worker computed and stored with the pending verification.
//! - `GET /oauth/globus/callback`: where the provider sends the browser back; queued for the
//!   workers, who check `state`, exchange the code and tell the person in chat.
//!
//! Every one of them first looks the `state` up (one read): a `state` that is not pending gets
//! a page saying so, and nothing is stored or queued.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::job::{Job, JobKey, ProviderAnswer, VerificationCallbackJob};
use domain::message::{self, CallbackPage};
use domain::verified_identity::{PendingVerification, START_PATH, SignInState};
use serde::Deserialize;

use crate::Bot;
use crate::slack::enqueue_in_time;

/// The cookie that ties Continue to the confirmation page shown in the same browser.
const CONFIRM_COOKIE: &str = "cws_confirm";

/// The query of the provider's redirect (RFC 6749 §4.1.2): `code` and `state`, or `error`.
#[derive(Deserialize)]
pub(crate) struct ProviderRedirect {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl ProviderRedirect {
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

/// The query of the start link, and the confirmation form.
#[derive(Deserialize)]
pub(crate) struct Start {
    state: Option<String>,
    confirm: Option<String>,
}

/// A page of these routes: never framed (Continue cannot be clicked through another site's
/// page), never cached, and no `Referer` carrying the `state` onwards.
fn page(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = (status, Html(body.into())).into_response();
    protect(response.headers_mut());
    response
}

fn protect(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn fixed(status: StatusCode, which: CallbackPage<'_>) -> Response {
    page(status, message::verification_callback_page(which))
}

/// The pending verification under `state`, or the page that answers for one that is not.
async fn pending(bot: &Bot, state: &str) -> Result<PendingVerification, Response> {
    match bot.sign_ins.sign_in(state).await {
        Ok(SignInState::Pending(pending)) => Ok(*pending),
        Ok(SignInState::Used) => Err(fixed(StatusCode::GONE, CallbackPage::Used)),
        Ok(SignInState::Unknown) => Err(fixed(StatusCode::NOT_FOUND, CallbackPage::Unknown)),
        Err(error) => {
            tracing::error!(%error, "cannot look up a sign-in");
            Err(fixed(
                StatusCode::SERVICE_UNAVAILABLE,
                CallbackPage::Unavailable,
            ))
        }
    }
}

pub(crate) async fn sign_in_page(
    State(bot): State<Arc<Bot>>,
    Query(start): Query<Start>,
) -> Response {
    let Some(state) = start.state.filter(|state| !state.is_empty()) else {
        return fixed(StatusCode::BAD_REQUEST, CallbackPage::Incomplete);
    };
    let pending = match pending(&bot, &state).await {
        Ok(pending) => pending,
        Err(refused) => return refused,
    };
    let confirm = uuid::Uuid::new_v4().simple().to_string();
    let mut response = page(
        StatusCode::OK,
        message::sign_in_confirm_page(&pending.requester, &state, &confirm),
    );
    let cookie = format!(
        "{CONFIRM_COOKIE}={confirm}; Path={START_PATH}; Max-Age=600; HttpOnly; SameSite=Strict"
    );
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a uuid makes a valid cookie"),
    );
    response
}

pub(crate) async fn sign_in_continue(
    State(bot): State<Arc<Bot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(Start {
        state: Some(state),
        confirm: Some(confirm),
    }) = serde_urlencoded::from_bytes::<Start>(&body)
    else {
        return fixed(StatusCode::BAD_REQUEST, CallbackPage::Incomplete);
    };
    if confirm.is_empty() || cookie(&headers, CONFIRM_COOKIE) != Some(confirm.as_str()) {
        return fixed(StatusCode::FORBIDDEN, CallbackPage::NotConfirmed);
    }
    match pending(&bot, &state).await {
        Ok(pending) => {
            let mut response = Redirect::to(&pending.authorization_url).into_response();
            protect(response.headers_mut());
            response
        }
        Err(refused) => refused,
    }
}

/// The value of cookie `name` in the request, if it carries one.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

pub(crate) async fn oauth_callback(
    State(bot): State<Arc<Bot>>,
    Query(redirect): Query<ProviderRedirect>,
) -> Response {
    let Some((state, answer)) = redirect.answer() else {
        return fixed(StatusCode::BAD_REQUEST, CallbackPage::Incomplete);
    };
    if let Err(refused) = pending(&bot, &state).await {
        return refused;
    }
    // Every redirect of a pending `state` is its own job, a double submit included: the
    // worker takes the pending record once and refuses the other.
    let key = JobKey::try_from(format!("oauth:{}", uuid::Uuid::new_v4().simple()))
        .expect("a uuid makes a valid job key");
    let shown = fixed(StatusCode::OK, CallbackPage::Queued(&answer));
    let job = Job::VerificationCallback(VerificationCallbackJob { key, state, answer });
    if enqueue_in_time(&bot, job).await {
        shown
    } else {
        fixed(StatusCode::SERVICE_UNAVAILABLE, CallbackPage::Unavailable)
    }
}
