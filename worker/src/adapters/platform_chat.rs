//! One [`Chat`] for a consortium on Slack, Discord or both: each message goes to the platform
//! its request came from (`ReplyTo::platform`), or, for direct messages, the platform of the
//! person's id ([`Platform::of_id`]).

use std::sync::Arc;

use async_trait::async_trait;
use domain::job::{Platform, ReplyTo};
use domain::message::ChatMessage;
use domain::message::limits::TextFile;
use domain::ports::{Chat, PortError, SharedFile};

pub struct PlatformChat {
    slack: Arc<dyn Chat>,
    discord: Option<Arc<dyn Chat>>,
}

impl PlatformChat {
    pub fn new(slack: Arc<dyn Chat>, discord: Option<Arc<dyn Chat>>) -> PlatformChat {
        PlatformChat { slack, discord }
    }

    fn on(&self, platform: Platform) -> Result<&dyn Chat, PortError> {
        match platform {
            Platform::Slack => Ok(&*self.slack),
            Platform::Discord => self.discord.as_deref().ok_or_else(|| PortError::Rejected {
                code: "discord_not_configured".to_owned(),
                message: "a Discord message, but DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID are not set".to_owned(),
            }),
        }
    }
}

#[async_trait]
impl Chat for PlatformChat {
    async fn post(&self, to: &ReplyTo, message: &ChatMessage) -> Result<(), PortError> {
        self.on(to.platform)?.post(to, message).await
    }

    async fn post_ephemeral(
        &self,
        to: &ReplyTo,
        user_id: &str,
        message: &ChatMessage,
    ) -> Result<(), PortError> {
        self.on(to.platform)?
            .post_ephemeral(to, user_id, message)
            .await
    }

    async fn post_direct(&self, user_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        self.on(Platform::of_id(user_id))?
            .post_direct(user_id, message)
            .await
    }

    async fn send_direct_file(&self, user_id: &str, file: &TextFile) -> Result<(), PortError> {
        self.on(Platform::of_id(user_id))?
            .send_direct_file(user_id, file)
            .await
    }

    async fn shared_file(
        &self,
        channel_id: &str,
        name: &str,
    ) -> Result<Option<SharedFile>, PortError> {
        self.on(Platform::of_id(channel_id))?
            .shared_file(channel_id, name)
            .await
    }

    async fn email_of(&self, user_id: &str) -> Result<Option<String>, PortError> {
        self.on(Platform::of_id(user_id))?.email_of(user_id).await
    }

    async fn in_user_group(&self, group_id: &str, user_id: &str) -> Result<bool, PortError> {
        self.on(Platform::of_id(user_id))?
            .in_user_group(group_id, user_id)
            .await
    }
}
