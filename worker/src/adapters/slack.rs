//! The Slack Web API over HTTPS (or plain HTTP to a local test server): `chat.postMessage`,
//! `chat.postEphemeral`, `conversations.open` (direct messages), `files.list`, the upload of a
//! reply too long for a message (`files.getUploadURLExternal`, `files.completeUploadExternal`),
//! `users.info`, and the `response_url` of a slash command.

use std::time::Duration;

use async_trait::async_trait;
use domain::job::ReplyTo;
use domain::message::ChatMessage;
use domain::message::limits::{FileShared, SlackReply, TextFile, slack_reply};
use domain::ports::{Chat, PortError, SHARED_FILE_LIMIT, SharedFile};
use domain::settings::SlackSettings;
use domain::url_prefix::{UrlPrefix, host_of};

use crate::adapters::download_shared_file;
use crate::metrics::{CallOutcome, called};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

/// The `service` label of Slack's calls in the worker's metrics.
const SLACK: &str = "slack";

/// How many 429 answers in a row we wait out before handing back to the job's own retries.
const RATE_LIMIT_WAITS: u32 = 5;

pub struct SlackWebApi {
    http: reqwest::Client,
    api_url: String,
    token: String,
    /// Where a `response_url` may point; others are not posted to.
    hooks_url: UrlPrefix,
    /// Where a file may be downloaded from with the bot token, and uploaded to.
    files_url: UrlPrefix,
}

/// Slack errors that clear up by themselves.
const TRANSIENT_ERRORS: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

impl SlackWebApi {
    pub fn new(settings: &SlackSettings, token: &str) -> SlackWebApi {
        SlackWebApi {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                // A redirect could lead a checked URL anywhere.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a TLS provider is installed at start-up"),
            api_url: settings.api_url.clone(),
            token: token.to_owned(),
            hooks_url: settings.hooks_url.clone(),
            files_url: settings.files_url.clone(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, PortError> {
        for _ in 0..RATE_LIMIT_WAITS {
            let attempt = request.try_clone().expect("JSON bodies can be cloned");
            let response = attempt.send().await.map_err(|e| {
                called(SLACK, CallOutcome::Transient);
                PortError::Transient(format!("{what}: {e}"))
            })?;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                called(SLACK, CallOutcome::RateLimited);
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tracing::warn!(what, wait, "Slack rate limit: waiting as asked");
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            if response.status().is_server_error() {
                called(SLACK, CallOutcome::Transient);
                return Err(PortError::Transient(format!(
                    "{what}: HTTP {}",
                    response.status()
                )));
            }
            let body = response.text().await.map_err(|e| {
                called(SLACK, CallOutcome::Transient);
                PortError::Transient(format!("{what}: {e}"))
            })?;
            // response_url answers a bare "ok"; the Web API answers JSON with an `ok` field.
            let value: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| json!({ "ok": body.trim() == "ok" }));
            if value["ok"].as_bool() == Some(true) {
                called(SLACK, CallOutcome::Ok);
                return Ok(value);
            }
            let code = value["error"]
                .as_str()
                .unwrap_or("unknown_error")
                .to_owned();
            return Err(if TRANSIENT_ERRORS.contains(&code.as_str()) {
                called(SLACK, CallOutcome::Transient);
                PortError::Transient(format!("{what}: {code}"))
            } else {
                called(SLACK, CallOutcome::Refused);
                PortError::Rejected {
                    code,
                    message: format!("Slack refused {what}"),
                }
            });
        }
        Err(PortError::Transient(format!("{what}: still rate limited")))
    }

    async fn call(&self, method: &str, body: Value) -> Result<Value, PortError> {
        let request = self
            .http
            .post(format!("{}{method}", self.api_url))
            .bearer_auth(&self.token)
            .json(&body);
        self.send(request, method).await
    }

    /// One message, or a reply too long for one ([`slack_reply`]) as a file shared in
    /// `channel_id` and its summary.
    async fn post_message(&self, channel_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        match slack_reply(message, FileShared::InConversation) {
            SlackReply::Message(message) => self.post_one(channel_id, &message).await,
            SlackReply::WithFile { summary, file } => {
                // The file first: the summary never names a file that did not arrive.
                self.upload(channel_id, &file).await?;
                self.post_one(channel_id, &summary).await
            }
        }
    }

    async fn post_one(&self, channel_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        let body = json!({
            "channel": channel_id,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": false,
        });
        self.call("chat.postMessage", body).await?;
        Ok(())
    }

    /// The direct message channel with `user_id`. Opened every time: Slack answers the same
    /// channel for the same user, so there is nothing worth caching.
    async fn open_direct(&self, user_id: &str) -> Result<String, PortError> {
        let opened = self
            .call("conversations.open", json!({ "users": user_id }))
            .await?;
        opened["channel"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid_response("Slack opened a conversation without a channel id"))
    }

    /// Shares `file` in `channel_id` through Slack's upload flow (`files.upload` is retired):
    /// an upload URL, the bytes posted there, then the upload completed into the channel.
    /// Needs the `files:write` scope. The bytes go only under `SLACK_FILES_URL`
    /// (`files.slack.com`): an answer pointing elsewhere would carry a reply off to anyone.
    /// The upload URL is signed by Slack, so the bot token is not sent with it.
    async fn upload(&self, channel_id: &str, file: &TextFile) -> Result<(), PortError> {
        let request = self
            .http
            .post(format!("{}files.getUploadURLExternal", self.api_url))
            .bearer_auth(&self.token)
            .form(&[
                ("filename", file.name.clone()),
                ("length", file.content.len().to_string()),
            ]);
        let granted = self.send(request, "files.getUploadURLExternal").await?;
        let (Some(upload_url), Some(file_id)) =
            (granted["upload_url"].as_str(), granted["file_id"].as_str())
        else {
            return Err(invalid_response(
                "Slack gave no upload URL or file id for a file",
            ));
        };
        let Some(url) = self.files_url.admit(upload_url) else {
            tracing::warn!(host = %host_of(upload_url), allowed = %self.files_url, "file upload refused: not under SLACK_FILES_URL");
            return Err(PortError::Rejected {
                code: "upload_url_refused".to_owned(),
                message: format!(
                    "Slack gave an upload URL on {}, which is not under SLACK_FILES_URL ({}); the file was not sent",
                    host_of(upload_url),
                    self.files_url
                ),
            });
        };
        let uploaded = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(file.content.clone())
            .send()
            .await
            .map_err(|e| PortError::Transient(format!("file upload: {e}")))?;
        let status = uploaded.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(PortError::Transient(format!("file upload: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(PortError::Rejected {
                code: format!("http_{}", status.as_u16()),
                message: "Slack refused the file's upload".to_owned(),
            });
        }
        let files = json!([{ "id": file_id, "title": file.title }]);
        self.call(
            "files.completeUploadExternal",
            json!({ "files": files, "channel_id": channel_id }),
        )
        .await?;
        Ok(())
    }
}

fn invalid_response(message: &str) -> PortError {
    PortError::Rejected {
        code: "invalid_response".to_owned(),
        message: message.to_owned(),
    }
}

#[async_trait]
impl Chat for SlackWebApi {
    async fn post(&self, to: &ReplyTo, message: &ChatMessage) -> Result<(), PortError> {
        self.post_message(&to.channel_id, message).await
    }

    /// Uses the command's `response_url` when there is one under `SLACK_HOOKS_URL`: it works
    /// even where the bot is not a channel member. Any other `response_url` is not posted to;
    /// the answer goes through `chat.postEphemeral` instead.
    async fn post_ephemeral(
        &self,
        to: &ReplyTo,
        user_id: &str,
        message: &ChatMessage,
    ) -> Result<(), PortError> {
        let hook = to.response_url.as_deref().and_then(|url| {
            let admitted = self.hooks_url.admit(url);
            if admitted.is_none() {
                tracing::warn!(
                    host = %host_of(url),
                    allowed = %self.hooks_url,
                    "response_url refused: not under SLACK_HOOKS_URL; answering with chat.postEphemeral"
                );
            }
            admitted
        });
        // The file of a long reply goes to the requester's direct messages: shared in the
        // channel, everyone there would see what was answered to them alone.
        let part = match slack_reply(message, FileShared::InDirectMessage) {
            SlackReply::Message(message) => message,
            SlackReply::WithFile { summary, file } => {
                let direct = self.open_direct(user_id).await?;
                self.upload(&direct, &file).await?;
                summary
            }
        };
        match hook {
            Some(url) => {
                let body = json!({ "response_type": "ephemeral", "text": part.text, "blocks": part.blocks });
                self.send(self.http.post(url).json(&body), "response_url")
                    .await?;
            }
            None => {
                let body = json!({ "channel": to.channel_id, "user": user_id, "text": part.text, "blocks": part.blocks });
                self.call("chat.postEphemeral", body).await?;
            }
        }
        Ok(())
    }

    async fn post_direct(&self, user_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        let channel_id = self.open_direct(user_id).await?;
        self.post_message(&channel_id, message).await
    }

    async fn send_direct_file(&self, user_id: &str, file: &TextFile) -> Result<(), PortError> {
        let channel_id = self.open_direct(user_id).await?;
        self.upload(&channel_id, file).await
    }
    /// Needs the `files:read` scope. Files are listed newest first; the download carries the
    /// bot token, as Slack's private URLs require, and so is made only under
    /// `SLACK_FILES_URL`.
    async fn shared_file(
        &self,
        channel_id: &str,
        name: &str,
    ) -> Result<Option<SharedFile>, PortError> {
        let request = self
            .http
            .get(format!("{}files.list", self.api_url))
            .bearer_auth(&self.token)
            .query(&[("channel", channel_id), ("count", "100")]);
        let listed = self.send(request, "files.list").await?;
        let newest = listed["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|file| file["name"].as_str() == Some(name))
            .max_by_key(|file| file["created"].as_i64().unwrap_or_default());
        let Some(file) = newest else {
            return Ok(None);
        };
        let bytes = file["size"].as_u64().unwrap_or_default();
        if bytes > SHARED_FILE_LIMIT {
            return Ok(Some(SharedFile::TooLarge { bytes }));
        }
        let Some(url) = file["url_private_download"]
            .as_str()
            .or_else(|| file["url_private"].as_str())
        else {
            return Ok(None);
        };
        let Some(url) = self.files_url.admit(url) else {
            tracing::warn!(host = %host_of(url), allowed = %self.files_url, "file download refused: not under SLACK_FILES_URL");
            return Ok(Some(SharedFile::ForeignHost { host: host_of(url) }));
        };
        download_shared_file(self.http.get(url).bearer_auth(&self.token), "file download").await
    }

    /// Needs the `users:read.email` scope; a profile without an e-mail is `None`, not an error.
    async fn email_of(&self, user_id: &str) -> Result<Option<String>, PortError> {
        let request = self
            .http
            .get(format!("{}users.info", self.api_url))
            .bearer_auth(&self.token)
            .query(&[("user", user_id)]);
        let info = self.send(request, "users.info").await?;
        Ok(info["user"]["profile"]["email"]
            .as_str()
            .filter(|email| !email.is_empty())
            .map(str::to_owned))
    }

    async fn in_user_group(&self, group_id: &str, user_id: &str) -> Result<bool, PortError> {
        let request = self
            .http
            .get(format!("{}usergroups.users.list", self.api_url))
            .bearer_auth(&self.token)
            .query(&[("usergroup", group_id)]);
        let listed = self.send(request, "usergroups.users.list").await?;
        Ok(listed["users"]
            .as_array()
            .is_some_and(|users| users.iter().any(|user| user == user_id)))
    }
}
