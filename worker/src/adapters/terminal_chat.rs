//! The embedded mode's chat: messages are printed to the terminal.

use async_trait::async_trait;
use domain::job::ReplyTo;
use domain::message::ChatMessage;
use domain::message::limits::TextFile;
use domain::ports::{Chat, PortError, SHARED_FILE_LIMIT, SharedFile};

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

    async fn send_direct_file(&self, user_id: &str, file: &TextFile) -> Result<(), PortError> {
        println!(
            "[DM @{user_id}] {} ({}):\n{}",
            file.title, file.name, file.content
        );
        Ok(())
    }

    /// The terminal's "channel" is the working directory: `--csv-file collaborators.csv`
    /// reads that file.
    async fn shared_file(
        &self,
        _channel_id: &str,
        name: &str,
    ) -> Result<Option<SharedFile>, PortError> {
        let path = std::path::Path::new(name);
        let Ok(metadata) = tokio::fs::metadata(path).await else {
            return Ok(None);
        };
        if metadata.len() > SHARED_FILE_LIMIT {
            return Ok(Some(SharedFile::TooLarge {
                bytes: metadata.len(),
            }));
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| PortError::Transient(format!("{name}: {e}")))?;
        Ok(Some(match String::from_utf8(bytes) {
            Ok(text) => SharedFile::Text(text),
            Err(_) => SharedFile::NotText,
        }))
    }

    /// The embedded mode has no directory of people: mail goes to a local folder, addressed
    /// by chat user id.
    async fn email_of(&self, user_id: &str) -> Result<Option<String>, PortError> {
        Ok(Some(format!("{user_id}@localhost")))
    }

    async fn in_user_group(&self, _: &str, _: &str) -> Result<bool, PortError> {
        Ok(false)
    }
}
