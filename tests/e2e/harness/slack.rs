//! A fake Slack Web API: accepts `chat.postMessage`, `chat.postEphemeral` and `response_url`
//! posts in Slack's wire format, records them, and can rate-limit like Slack (429 +
//! Retry-After). Like Slack, it refuses a message past Block Kit's limits (`invalid_blocks`,
//! `msg_too_long`) and keeps the refusals for [`FakeSlack::refusals`]. `conversations.open`
//! answers the DM channel `D{user_id}`, `users.info` the address [`email_of`] and
//! `usergroups.users.list` the groups a test set up, none recorded. A file upload
//! (`files.getUploadURLExternal`, the bytes to its URL under [`FakeSlack::files_url`],
//! `files.completeUploadExternal`) is recorded once completed, as a `Posted` whose body has
//! the file's `channel`, `file_id`, `filename`, `title` and `content`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde_json::{Value, json};

use super::inbox::Inbox;

/// One message (or file) Slack accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// `chat.postMessage`, `chat.postEphemeral`, `response_url` or
    /// `files.completeUploadExternal`.
    pub method: String,
    pub body: Value,
    pub authorization: Option<String>,
}

impl Posted {
    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }

    /// Every text the message shows: its fallback and each block's.
    pub fn shown(&self) -> String {
        let mut texts = vec![self.text().to_owned()];
        for block in self.body["blocks"].as_array().into_iter().flatten() {
            if let Some(text) = block["text"]["text"].as_str() {
                texts.push(text.to_owned());
            }
            for element in block["elements"].as_array().into_iter().flatten() {
                if let Some(text) = element["text"].as_str() {
                    texts.push(text.to_owned());
                }
            }
        }
        texts.join("\n")
    }

    /// What an uploaded file holds.
    pub fn file_content(&self) -> &str {
        self.body["content"].as_str().unwrap_or_default()
    }
}

/// A file being uploaded: announced by `files.getUploadURLExternal`, its bytes `None` until
/// they are posted to its upload URL.
struct Upload {
    id: String,
    filename: String,
    content: Option<String>,
}

/// A file someone shared in a channel: (channel, name, content).
/// A file shared in a channel: where, its name, its content, and the URL Slack lists it at
/// (`None`: this fake's own `/files/NAME`).
struct SharedFile {
    channel: String,
    name: String,
    content: String,
    url: Option<String>,
}

struct SlackState {
    inbox: Inbox<Posted>,
    files: Mutex<Vec<SharedFile>>,
    url: Mutex<String>,
    rate_limit_next: AtomicUsize,
    rate_limited: AtomicUsize,
    /// User groups by id, with their members' user ids.
    user_groups: Mutex<HashMap<String, Vec<String>>>,
    /// Users to whom the bot may not open a direct message.
    no_dms: Mutex<Vec<String>>,
    /// The bot token's scopes, as `auth.test` reports them in `x-oauth-scopes`.
    scopes: Mutex<Vec<String>>,
    /// Messages refused as Slack would refuse them: `method: error`.
    refusals: Mutex<Vec<String>>,
    uploads: Mutex<Vec<Upload>>,
}

pub struct FakeSlack {
    url: String,
    state: Arc<SlackState>,
}

/// Who the token is, and (in a header, as Slack does) what it may do.
async fn auth_test(State(state): State<Arc<SlackState>>, headers: HeaderMap) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    let scopes = state.scopes.lock().unwrap().join(",");
    (
        [("x-oauth-scopes", scopes)],
        Json(json!({
            "ok": true,
            "team": "NIH Neuro Consortium",
            "team_id": "T0CONSORTIUM",
            "user_id": "U0CWSBOT",
        })),
    )
        .into_response()
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
    if authorization.as_deref() != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    if method == "conversations.open" {
        // Opening a DM is plumbing, not a message: answer it without recording it.
        let user_id = body["users"].as_str().unwrap_or_default();
        if state.no_dms.lock().unwrap().iter().any(|u| u == user_id) {
            // What Slack answers for a member of another organisation in a shared channel.
            return Json(json!({"ok": false, "error": "user_not_visible"})).into_response();
        }
        let channel = json!({ "id": format!("D{user_id}") });
        return Json(json!({"ok": true, "channel": channel})).into_response();
    }
    let channel = body["channel"].clone();
    if let Some(error) = refusal(&body) {
        state
            .refusals
            .lock()
            .unwrap()
            .push(format!("{method}: {error}"));
        return Json(json!({"ok": false, "error": error})).into_response();
    }
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

const BOT_TOKEN: &str = "Bearer xoxb-e2e-token";

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization").and_then(|v| v.to_str().ok())
}

/// The e-mail address on every fake Slack profile.
pub fn email_of(user_id: &str) -> String {
    format!("{}@consortium.example", user_id.to_ascii_lowercase())
}

/// `users.info?user=U…`, as Slack answers it with the `users:read.email` scope.
async fn users_info(Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let Some(user_id) = query.get("user") else {
        return Json(json!({"ok": false, "error": "user_not_found"})).into_response();
    };
    Json(json!({
        "ok": true,
        "user": { "id": user_id, "profile": { "email": email_of(user_id) } }
    }))
    .into_response()
}

/// `files.list?channel=C…`: the files shared in the channel, newest first, as Slack lists them.
async fn files_list(
    State(state): State<Arc<SlackState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let base = state.url.lock().unwrap().clone();
    let files: Vec<Value> = state
        .files
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, file)| query.get("channel") == Some(&file.channel))
        .map(|(index, file)| {
            let name = &file.name;
            json!({
                "id": format!("F{index:08}"),
                "name": name,
                "created": 1_767_225_600 + index as i64,
                "size": file.content.len(),
                "url_private_download": file.url.clone().unwrap_or_else(|| format!("{base}/files/{name}")),
            })
        })
        .collect();
    Json(json!({"ok": true, "files": files})).into_response()
}

/// `usergroups.users.list?usergroup=S…`, as Slack answers it with the `usergroups:read` scope.
async fn user_group_members(
    State(state): State<Arc<SlackState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let groups = state.user_groups.lock().unwrap();
    match query.get("usergroup").and_then(|group| groups.get(group)) {
        Some(users) => Json(json!({"ok": true, "users": users})).into_response(),
        None => Json(json!({"ok": false, "error": "no_such_subteam"})).into_response(),
    }
}

/// `files.getUploadURLExternal` (form-encoded, as Slack takes it): a file id, and a URL under
/// this fake's files prefix to post the bytes to.
async fn get_upload_url(
    State(state): State<Arc<SlackState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let length = form.get("length").and_then(|l| l.parse::<u64>().ok());
    let (Some(filename), Some(1..)) = (form.get("filename"), length) else {
        // What Slack answers for a missing name or a zero length.
        return Json(json!({"ok": false, "error": "missing_argument"})).into_response();
    };
    let mut uploads = state.uploads.lock().unwrap();
    let id = format!("F0UPLOAD{:04}", uploads.len());
    uploads.push(Upload {
        id: id.clone(),
        filename: filename.clone(),
        content: None,
    });
    let base = state.url.lock().unwrap().clone();
    Json(json!({"ok": true, "upload_url": format!("{base}/files/upload/{id}"), "file_id": id}))
        .into_response()
}

/// The upload URL: keeps the bytes, answering as Slack's file service does.
async fn upload_bytes(
    State(state): State<Arc<SlackState>>,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let mut uploads = state.uploads.lock().unwrap();
    let Some(upload) = uploads.iter_mut().find(|upload| upload.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let answer = format!("OK - {}", body.len());
    upload.content = Some(body);
    answer.into_response()
}

/// `files.completeUploadExternal`: shares each uploaded file in `channel_id` and records it.
/// An unknown id, or one whose bytes never came, is `file_not_found` and a refusal.
async fn complete_upload(
    State(state): State<Arc<SlackState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let files = body["files"].as_array().cloned().unwrap_or_default();
    if files.is_empty() {
        return Json(json!({"ok": false, "error": "invalid_arguments"})).into_response();
    }
    let mut shared = Vec::new();
    {
        let uploads = state.uploads.lock().unwrap();
        for file in &files {
            let upload = uploads
                .iter()
                .find(|upload| file["id"] == upload.id.as_str());
            let Some((upload, Some(content))) = upload.map(|u| (u, u.content.clone())) else {
                state.refusals.lock().unwrap().push(format!(
                    "files.completeUploadExternal: file_not_found ({file})"
                ));
                return Json(json!({"ok": false, "error": "file_not_found"})).into_response();
            };
            shared.push(json!({
                "channel": body["channel_id"],
                "file_id": upload.id,
                "filename": upload.filename,
                "title": file["title"],
                "content": content,
            }));
        }
    }
    let answer: Vec<Value> = shared
        .iter()
        .map(|file| json!({ "id": file["file_id"], "title": file["title"] }))
        .collect();
    for file in shared {
        record(
            &state,
            Posted {
                method: "files.completeUploadExternal".to_owned(),
                body: file,
                authorization: bearer(&headers).map(str::to_owned),
            },
        );
    }
    Json(json!({"ok": true, "files": answer})).into_response()
}

/// A private file URL: only the bot token opens it.
async fn file_download(
    State(state): State<Arc<SlackState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers) != Some(BOT_TOKEN) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let files = state.files.lock().unwrap();
    match files.iter().rev().find(|file| file.name == name) {
        Some(file) => file.content.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn response_url(State(state): State<Arc<SlackState>>, Json(body): Json<Value>) -> Response {
    if let Some(error) = refusal(&body) {
        state
            .refusals
            .lock()
            .unwrap()
            .push(format!("response_url: {error}"));
        let refused = Json(json!({"ok": false, "error": error}));
        return (StatusCode::BAD_REQUEST, refused).into_response();
    }
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

/// The error Slack answers for a message past its documented limits
/// (<https://docs.slack.dev/reference/block-kit/blocks>, `chat.postMessage`), if any.
fn refusal(body: &Value) -> Option<&'static str> {
    let chars = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
    let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
    if chars(&body["text"]) > 40_000 {
        return Some("msg_too_long");
    }
    let blocks = list(&body["blocks"]);
    let invalid = blocks.len() > 50
        || blocks.iter().any(|block| match block["type"].as_str() {
            Some("section") => {
                let fields = list(&block["fields"]);
                chars(&block["text"]["text"]) > 3_000
                    || fields.len() > 10
                    || fields.iter().any(|field| chars(&field["text"]) > 2_000)
            }
            Some("header") => chars(&block["text"]["text"]) > 150,
            Some("context") => {
                let elements = list(&block["elements"]);
                elements.len() > 10 || elements.iter().any(|e| chars(&e["text"]) > 3_000)
            }
            Some("actions") => list(&block["elements"]).iter().any(|element| {
                chars(&element["text"]["text"]) > 75
                    || chars(&element["value"]) > 2_000
                    || chars(&element["action_id"]) > 255
            }),
            _ => false,
        });
    invalid.then_some("invalid_blocks")
}

fn record(state: &SlackState, posted: Posted) {
    state.inbox.record(posted);
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(SlackState {
            inbox: Inbox::new("Slack"),
            files: Mutex::default(),
            url: Mutex::default(),
            rate_limit_next: AtomicUsize::default(),
            rate_limited: AtomicUsize::default(),
            user_groups: Mutex::default(),
            no_dms: Mutex::default(),
            scopes: Mutex::new(
                domain::doctor::SLACK_SCOPES
                    .iter()
                    .map(|(scope, _)| (*scope).to_owned())
                    .collect(),
            ),
            refusals: Mutex::default(),
            uploads: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/api/auth.test", post(auth_test))
            .route("/api/files.list", get(files_list))
            .route("/api/users.info", get(users_info))
            .route("/api/usergroups.users.list", get(user_group_members))
            .route("/api/files.getUploadURLExternal", post(get_upload_url))
            .route("/api/files.completeUploadExternal", post(complete_upload))
            .route("/files/{name}", get(file_download))
            .route("/files/upload/{id}", post(upload_bytes))
            .route("/api/{method}", post(web_api))
            .route("/response/{*rest}", post(response_url))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        *state.url.lock().unwrap() = url.clone();
        FakeSlack { url, state }
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/", self.url)
    }

    pub fn response_url(&self) -> String {
        format!("{}/response/T0CONSORTIUM/1/e2e", self.url)
    }

    /// What workers take as `SLACK_HOOKS_URL`: where this fake's response URLs live.
    pub fn hooks_url(&self) -> String {
        format!("{}/response/", self.url)
    }

    /// What workers take as `SLACK_FILES_URL`: where this fake's files live.
    pub fn files_url(&self) -> String {
        format!("{}/files/", self.url)
    }

    /// Someone shares a file called `name` in `channel`.
    pub fn share_file(&self, channel: &str, name: &str, content: &str) {
        self.state.files.lock().unwrap().push(SharedFile {
            channel: channel.to_owned(),
            name: name.to_owned(),
            content: content.to_owned(),
            url: None,
        });
    }

    /// A file Slack lists with a download URL on another host (`url`).
    pub fn share_file_at(&self, channel: &str, name: &str, url: &str) {
        self.state.files.lock().unwrap().push(SharedFile {
            channel: channel.to_owned(),
            name: name.to_owned(),
            content: String::new(),
            url: Some(url.to_owned()),
        });
    }

    /// A Slack user group `group` whose members are `users`.
    pub fn add_user_group(&self, group: &str, users: &[&str]) {
        self.state.user_groups.lock().unwrap().insert(
            group.to_owned(),
            users.iter().map(|user| (*user).to_owned()).collect(),
        );
    }

    /// Answer the next `n` Web API calls with 429 and `Retry-After: 1`.
    pub fn rate_limit_next(&self, n: usize) {
        self.state.rate_limit_next.store(n, Ordering::SeqCst);
    }

    /// The app was installed with only `scopes`.
    pub fn grant_only(&self, scopes: &[&str]) {
        *self.state.scopes.lock().unwrap() = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    /// The bot may no longer open a direct message to `user_id` (`user_not_visible`).
    pub fn refuse_dms_to(&self, user_id: &str) {
        self.state.no_dms.lock().unwrap().push(user_id.to_owned());
    }

    /// The messages refused for breaking Slack's limits, as `method: error`.
    pub fn refusals(&self) -> Vec<String> {
        self.state.refusals.lock().unwrap().clone()
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
        self.state.inbox.expect(what, timeout, matches).await
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

    /// Waits for a file shared in `channel` (`files.completeUploadExternal`).
    pub async fn expect_file(&self, channel: &str, what: &str, timeout: Duration) -> Posted {
        self.expect(what, timeout, |p| {
            p.method == "files.completeUploadExternal" && p.body["channel"] == channel
        })
        .await
    }

    pub fn all(&self) -> Vec<Posted> {
        self.state.inbox.all()
    }

    pub fn unexamined(&self) -> Vec<Posted> {
        self.state.inbox.unexamined()
    }
}
