//! The embedded mode's chat: messages are printed to the terminal.

use async_trait::async_trait;
use domain::job::ReplyTo;
use domain::message::ChatMessage;
use domain::ports::{Chat, PortError};

pub struct TerminalChat;

#[async_trait]
impl Chat for TerminalChat {
    async fn post(&self, to: &ReplyTo, message: &ChatMessage) -> Result<(), PortError> {
        println!("[#{}] {}", to.channel_id, message.text);
        Ok(())
    }

    async fn post_ephemeral(
        &self,
        to: &ReplyTo,
        user_id: &str,
        message: &ChatMessage,
    ) -> Result<(), PortError> {
        println!(
            "[#{} · only @{user_id} sees this] {}",
            to.channel_id, message.text
        );
        Ok(())
    }

    async fn post_direct(&self, user_id: &str, message: &ChatMessage) -> Result<(), PortError> {
        println!("[DM @{user_id}] {}", message.text);
        Ok(())
    }
}
