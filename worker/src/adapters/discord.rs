//! Discord's REST API through serenity's HTTP client: follow-ups on an interaction's webhook
//! (`/webhooks/{application_id}/{token}`, valid 15 minutes), channel messages, direct
//! messages (`/users/@me/channels`, then the DM channel's messages), and files shared in a
//! channel (its recent messages' attachments). serenity's rate limiter
//! reads Discord's `X-RateLimit-*` headers; against a local stand-in (`DISCORD_API_URL`) it is
//! off, and a 429 is a transient failure the job retries.

use async_trait::async_trait;
use domain::command::discord_command;
use domain::job::ReplyTo;
use domain::message::ChatMessage;
use domain::message::discord::{DiscordMessage, EPHEMERAL, discord_messages};
use domain::message::limits::TextFile;
use domain::ports::{Chat, PortError, SHARED_FILE_LIMIT, SharedFile};

use crate::adapters::download_shared_file;
use domain::settings::DiscordSettings;
use domain::url_prefix::{UrlPrefix, host_of};
use serde_json::json;
use serenity::builder::CreateAttachment;
use serenity::http::{Http, HttpBuilder, HttpError};
use serenity::model::id::{ApplicationId, ChannelId, GuildId};

pub struct DiscordRest {
    http: Http,
    /// Downloads attachments, which live on Discord's CDN, not behind the REST API.
    files: reqwest::Client,
    /// Where attachments may be downloaded from.
    cdn_url: UrlPrefix,
}

impl DiscordRest {
    /// `None` without a bot token or application id: there is nothing to post as.
    pub fn new(settings: &DiscordSettings) -> Option<DiscordRest> {
        let token = settings.bot_token.as_deref()?;
        let application_id = settings.application_id?;
        let mut builder =
            HttpBuilder::new(token).application_id(ApplicationId::new(application_id));
        if let Some(proxy) = settings.proxy() {
            // serenity sends to a proxy only with its own rate limiter off.
            builder = builder.proxy(proxy).ratelimiter_disabled(true);
        }
        Some(DiscordRest {
            http: builder.build(),
            files: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                // A redirect could lead a checked URL anywhere.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a TLS provider is installed at start-up"),
            cdn_url: settings.cdn_url.clone(),
        })
    }

    /// Registers `/cws` ([`discord_command`], generated from the grammar) in one server, where
    /// it shows at once, or globally. Replaces the application's commands there, so running
    /// it again after an upgrade leaves exactly the current grammar. Returns their names.
    pub async fn register_commands(&self, guild: Option<u64>) -> Result<Vec<String>, PortError> {
        let commands = json!([discord_command()]);
        let registered = match guild {
            Some(guild) => {
                self.http
                    .create_guild_commands(GuildId::new(guild), &commands)
                    .await
            }
            None => self.http.create_global_commands(&commands).await,
        }
        .map_err(|e| port_error("command registration", e))?;
        Ok(registered.into_iter().map(|command| command.name).collect())
    }

    async fn followup(&self, token: &str, part: &DiscordMessage) -> Result<(), PortError> {
        self.http
            .create_followup_message(token, part, Vec::new())
            .await
            .map(drop)
            .map_err(|e| port_error("follow-up", e))
    }

    /// Sends `part` on the interaction's webhook; `false` when there is no token, or Discord
    /// says it has expired.
    async fn followup_while_fresh(
        &self,
        token: Option<&str>,
        part: &DiscordMessage,
    ) -> Result<bool, PortError> {
        let Some(token) = token else {
            return Ok(false);
        };
        match self.followup(token, part).await {
            Ok(()) => Ok(true),
            Err(error) if is_token_expired(&error) => {
                tracing::info!(%error, "the interaction token has expired; posting elsewhere");
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    async fn channel_message(
        &self,
        channel_id: &str,
        part: &DiscordMessage,
    ) -> Result<(), PortError> {
        let channel = channel_id_of(channel_id)?;
        self.http
            .send_message(channel, Vec::new(), part)
            .await
            .map(drop)
            .map_err(|e| port_error("channel message", e))
    }
}

fn channel_id_of(id: &str) -> Result<ChannelId, PortError> {
    id.parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .map(ChannelId::new)
        .ok_or_else(|| PortError::Rejected {
            code: "invalid_channel".to_owned(),
            message: format!("`{id}` is not a Discord channel id"),
        })
}

/// Discord's codes for an interaction token past its 15 minutes (Invalid Webhook Token) or
/// unknown to it (Unknown Webhook).
const EXPIRED_TOKEN_CODES: &[&str] = &["discord_50027", "discord_10015"];

fn is_token_expired(error: &PortError) -> bool {
    matches!(error, PortError::Rejected { code, .. } if EXPIRED_TOKEN_CODES.contains(&code.as_str()))
}

/// Throttling, server errors and connection failures clear up; anything else Discord refused
/// stays refused, with Discord's own error code.
fn port_error(what: &str, error: serenity::Error) -> PortError {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            if status == 429 || status >= 500 {
                PortError::Transient(format!("Discord {what}: HTTP {status}"))
            } else {
                PortError::Rejected {
                    code: format!("discord_{}", response.error.code),
                    message: format!("Discord refused the {what}: {}", response.error.message),
                }
            }
        }
        other => PortError::Transient(format!("Discord {what}: {other}")),
    }
}

#[async_trait]
impl Chat for DiscordRest {
    /// Through the interaction's webhook while the request is fresh, so the answer takes the
    /// place of "thinking…"; to the channel otherwise, or once the token has expired.
    async fn post(&self, to: &ReplyTo, message: &ChatMessage) -> Result<(), PortError> {
        for part in discord_messages(message) {
            let token = to.interaction_token.as_deref();
            if !self.followup_while_fresh(token, &part).await? {
                self.channel_message(&to.channel_id, &part).await?;
            }
        }
        Ok(())
    }

    /// An ephemeral follow-up; without an interaction (a notice long after the request) a
    /// direct message, the only other message one person alone sees.
    async fn post_ephemeral(
        &self,
        to: &ReplyTo,
        user_id: &str,
        message: &ChatMessage,
    ) -> Result<(), PortError> {
        for mut part in discord_messages(message) {
            part.flags = Some(EPHEMERAL);
            let token = to.interaction_token.as_deref();
            if !self.followup_while_fresh(token, &part).await? {
                return self.post_direct(user_id, message).await;
            }
        }
        Ok(())
    }

    /// Discord answers the same DM channel for the same user, so it is opened every time.
    async fn post_direct(&self, user_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        let opened = self
            .http
            .create_private_channel(&json!({ "recipient_id": user_id }))
            .await
            .map_err(|e| port_error("DM channel", e))?;
        for part in discord_messages(message) {
            self.http
                .send_message(opened.id, Vec::new(), &part)
                .await
                .map_err(|e| port_error("direct message", e))?;
        }
        Ok(())
    }

    /// The file as an attachment to a direct message whose text is its title.
    async fn send_direct_file(&self, user_id: &str, file: &TextFile) -> Result<(), PortError> {
        let opened = self
            .http
            .create_private_channel(&json!({ "recipient_id": user_id }))
            .await
            .map_err(|e| port_error("DM channel", e))?;
        let attachment = CreateAttachment::bytes(file.content.clone().into_bytes(), &file.name);
        self.http
            .send_message(
                opened.id,
                vec![attachment],
                &json!({ "content": file.title }),
            )
            .await
            .map(drop)
            .map_err(|e| port_error("direct message file", e))
    }

    /// The newest attachment called `name` among the channel's last 100 messages (Discord
    /// lists them newest first; the bot needs Read Message History there).
    async fn shared_file(
        &self,
        channel_id: &str,
        name: &str,
    ) -> Result<Option<SharedFile>, PortError> {
        let messages = self
            .http
            .get_messages(channel_id_of(channel_id)?, None, Some(100))
            .await
            .map_err(|e| port_error("channel history", e))?;
        let Some(attachment) = messages
            .iter()
            .flat_map(|message| &message.attachments)
            .find(|attachment| attachment.filename == name)
        else {
            return Ok(None);
        };
        let bytes = u64::from(attachment.size);
        if bytes > SHARED_FILE_LIMIT {
            return Ok(Some(SharedFile::TooLarge { bytes }));
        }
        let Some(url) = self.cdn_url.admit(&attachment.url) else {
            let host = host_of(&attachment.url);
            tracing::warn!(%host, allowed = %self.cdn_url, "attachment download refused: not under DISCORD_CDN_URL");
            return Ok(Some(SharedFile::ForeignHost { host }));
        };
        download_shared_file(self.files.get(url), "attachment download").await
    }

    /// Discord shows bots no e-mail addresses: notices go by DM alone.
    async fn email_of(&self, _: &str) -> Result<Option<String>, PortError> {
        Ok(None)
    }

    async fn in_user_group(&self, _: &str, _: &str) -> Result<bool, PortError> {
        Ok(false)
    }
}
