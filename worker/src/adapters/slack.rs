//! The Slack Web API over HTTPS (or plain HTTP to a local test server): `chat.postMessage`,
//! `chat.postEphemeral`, `conversations.open` (direct messages), `files.list`, `users.info`, and
//! the `response_url` of a slash command.

use std::time::Duration;

use async_trait::async_trait;
use domain::job::ReplyTo;
use domain::message::ChatMessage;
use domain::message::limits::{REPLY_MESSAGES, fit_to_slack};
use domain::ports::{Chat, PortError, SHARED_FILE_LIMIT, SharedFile};
use domain::settings::SlackSettings;
use domain::url_prefix::{UrlPrefix, host_of};

use crate::adapters::download_shared_file;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How many 429 answers in a row we wait out before handing back to the job's own retries.
const RATE_LIMIT_WAITS: u32 = 5;

pub struct SlackWebApi {
    http: reqwest::Client,
    api_url: String,
    token: String,
    /// Where a `response_url` may point; others are not posted to.
    hooks_url: UrlPrefix,
    /// Where a file may be downloaded from with the bot token.
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
            let response = attempt
                .send()
                .await
                .map_err(|e| PortError::Transient(format!("{what}: {e}")))?;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
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
                return Err(PortError::Transient(format!(
                    "{what}: HTTP {}",
                    response.status()
                )));
            }
            let body = response
                .text()
                .await
                .map_err(|e| PortError::Transient(format!("{what}: {e}")))?;
            // response_url answers a bare "ok"; the Web API answers JSON with an `ok` field.
            let value: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| json!({ "ok": body.trim() == "ok" }));
            if value["ok"].as_bool() == Some(true) {
                return Ok(value);
            }
            let code = value["error"]
                .as_str()
                .unwrap_or("unknown_error")
                .to_owned();
            return Err(if TRANSIENT_ERRORS.contains(&code.as_str()) {
                PortError::Transient(format!("{what}: {code}"))
            } else {
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

    /// In as many messages as Slack's limits need ([`fit_to_slack`]), in order.
    async fn post_message(&self, channel_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        for part in fit_to_slack(message, REPLY_MESSAGES) {
            let body = json!({
                "channel": channel_id,
                "text": part.text,
                "blocks": part.blocks,
                "unfurl_links": false,
            });
            self.call("chat.postMessage", body).await?;
        }
        Ok(())
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
        // A response_url takes five posts; a reply never needs more than REPLY_MESSAGES.
        for part in fit_to_slack(message, REPLY_MESSAGES) {
            match &hook {
                Some(url) => {
                    let body = json!({ "response_type": "ephemeral", "text": part.text, "blocks": part.blocks });
                    self.send(self.http.post(url.clone()).json(&body), "response_url")
                        .await?;
                }
                None => {
                    let body = json!({ "channel": to.channel_id, "user": user_id, "text": part.text, "blocks": part.blocks });
                    self.call("chat.postEphemeral", body).await?;
                }
            }
        }
        Ok(())
    }

    /// Opens the DM channel every time: Slack answers the same channel for the same user, so
    /// there is nothing worth caching.
    async fn post_direct(&self, user_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        let opened = self
            .call("conversations.open", json!({ "users": user_id }))
            .await?;
        let channel_id = opened["channel"]["id"]
            .as_str()
            .ok_or_else(|| PortError::Rejected {
                code: "invalid_response".to_owned(),
                message: "Slack opened a conversation without a channel id".to_owned(),
            })?;
        self.post_message(channel_id, message).await
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
