//! A fake Slack Web API: accepts `chat.postMessage`, `chat.postEphemeral` and `response_url`
//! posts in Slack's wire format, records them, and can rate-limit like Slack (429 +
//! Retry-After). `conversations.open` answers the DM channel `D{user_id}` without being
//! recorded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// One message Slack accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// `chat.postMessage`, `chat.postEphemeral` or `response_url`.
    pub method: String,
    pub body: Value,
    pub authorization: Option<String>,
}

impl Posted {
    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct Recorded {
    posted: Vec<(Posted, bool)>,
}

#[derive(Default)]
struct SlackState {
    recorded: Mutex<Recorded>,
    rate_limit_next: AtomicUsize,
    rate_limited: AtomicUsize,
    changed: Notify,
}

pub struct FakeSlack {
    url: String,
    state: Arc<SlackState>,
}

async fn web_api(
    State(state): State<Arc<SlackState>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if state.rate_limit_next.load(Ordering::SeqCst) > 0 {
        state.rate_limit_next.fetch_sub(1, Ordering::SeqCst);
        state.rate_limited.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response();
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if authorization.as_deref() != Some("Bearer xoxb-e2e-token") {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    if method == "conversations.open" {
        // Opening a DM is plumbing, not a message: answer it without recording it.
        let user_id = body["users"].as_str().unwrap_or_default();
        let channel = json!({ "id": format!("D{user_id}") });
        return Json(json!({"ok": true, "channel": channel})).into_response();
    }
    let channel = body["channel"].clone();
    record(
        &state,
        Posted {
            method,
            body,
            authorization,
        },
    );
    Json(json!({"ok": true, "channel": channel, "ts": "1767225600.000100"})).into_response()
}

async fn response_url(State(state): State<Arc<SlackState>>, Json(body): Json<Value>) -> Response {
    record(
        &state,
        Posted {
            method: "response_url".to_owned(),
            body,
            authorization: None,
        },
    );
    "ok".into_response()
}

fn record(state: &SlackState, posted: Posted) {
    state.recorded.lock().unwrap().posted.push((posted, false));
    state.changed.notify_waiters();
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(SlackState::default());
        let app = axum::Router::new()
            .route("/api/{method}", post(web_api))
            .route("/response/{*rest}", post(response_url))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeSlack { url, state }
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/", self.url)
    }

    pub fn response_url(&self) -> String {
        format!("{}/response/T0CONSORTIUM/1/e2e", self.url)
    }

    /// Answer the next `n` Web API calls with 429 and `Retry-After: 1`.
    pub fn rate_limit_next(&self, n: usize) {
        self.state.rate_limit_next.store(n, Ordering::SeqCst);
    }

    pub fn rate_limited_answers(&self) -> usize {
        self.state.rate_limited.load(Ordering::SeqCst)
    }

    /// Waits for a message not yet examined that matches, marks it examined and returns it.
    pub async fn expect(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Posted) -> bool,
    ) -> Posted {
        let wait = async {
            loop {
                let changed = self.state.changed.notified();
                {
                    let mut recorded = self.state.recorded.lock().unwrap();
                    if let Some((posted, examined)) = recorded
                        .posted
                        .iter_mut()
                        .find(|(p, examined)| !*examined && matches(p))
                    {
                        *examined = true;
                        return posted.clone();
                    }
                }
                changed.await;
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(posted) => posted,
            Err(_) => panic!(
                "no Slack message {what} within {timeout:?}; received: {:#?}",
                self.all()
            ),
        }
    }

    /// Waits for a direct message to `user_id`: a `chat.postMessage` to the channel that
    /// `conversations.open` answered for that user.
    pub async fn expect_dm(&self, user_id: &str, what: &str, timeout: Duration) -> Posted {
        let channel = format!("D{user_id}");
        self.expect(what, timeout, |p| {
            p.method == "chat.postMessage" && p.body["channel"] == channel.as_str()
        })
        .await
    }

    pub fn all(&self) -> Vec<Posted> {
        self.posted(|_| true)
    }

    pub fn unexamined(&self) -> Vec<Posted> {
        self.posted(|examined| !examined)
    }

    fn posted(&self, keep: impl Fn(bool) -> bool) -> Vec<Posted> {
        let recorded = self.state.recorded.lock().unwrap();
        recorded
            .posted
            .iter()
            .filter(|(_, examined)| keep(*examined))
            .map(|(p, _)| p.clone())
            .collect()
    }
}
