//! The operations channel (`CWS_OPS_CHANNEL`) hears of every job a worker gives up on, with
//! the command that puts it back, and of every scheduled round that failed, so nobody has to
//! watch the dead-letter gauge or the logs to notice.

use std::sync::Arc;

use apalis_core::error::AbortError;
use apalis_core::task::task_id::TaskId;
use domain::job::{JobKey, Platform, ReplyTo};
use domain::message;
use domain::ports::Chat;

/// Where dead letters and failed rounds are announced, if anywhere.
pub(crate) struct OpsChannel {
    chat: Arc<dyn Chat>,
    channel: Option<ReplyTo>,
    /// The queues are Redis', where `cws jobs dead replay` finds the job by its task id; the
    /// embedded mode's memory queues keep no dead letters to replay.
    replayable: bool,
}

impl OpsChannel {
    /// `channel` is a Slack or Discord channel id; its form tells which.
    pub(crate) fn new(chat: Arc<dyn Chat>, channel: Option<&str>, replayable: bool) -> OpsChannel {
        let channel = channel.map(|id| match Platform::of_id(id) {
            Platform::Slack => ReplyTo::slack(id, None),
            Platform::Discord => ReplyTo::discord(id, None),
        });
        OpsChannel {
            chat,
            channel,
            replayable,
        }
    }

    /// Passes a job's result through; an abort is one apalis dead-letters, so the channel is
    /// told first. A failed post is logged and changes nothing: the job is dead either way.
    pub(crate) async fn announced(
        &self,
        kind: &str,
        key: &JobKey,
        id: Option<TaskId>,
        result: Result<(), AbortError>,
    ) -> Result<(), AbortError> {
        let (Some(channel), Err(abort)) = (&self.channel, &result) else {
            return result;
        };
        // apalis' own wrapper ("AbortError: …") adds nothing an operator needs.
        let error =
            std::error::Error::source(abort).map_or_else(|| abort.to_string(), ToString::to_string);
        let id = id.filter(|_| self.replayable).map(|id| id.to_string());
        let notice = message::job_dead_lettered(kind, key.as_str(), &error, id.as_deref());
        if let Err(chat_error) = self.chat.post(channel, &notice).await {
            tracing::warn!(job = %key, %chat_error, "could not tell the operations channel of a dead letter");
        }
        result
    }

    /// Tells the channel that the scheduled `round` (`expiry sweep`, `reconcile`, …) failed;
    /// the next round tries again. A failed post is logged and changes nothing.
    pub(crate) async fn round_failed(&self, round: &str, error: &str) {
        let Some(channel) = &self.channel else {
            return;
        };
        let notice = message::round_failed(round, error);
        if let Err(chat_error) = self.chat.post(channel, &notice).await {
            tracing::warn!(round, %chat_error, "could not tell the operations channel of a failed round");
        }
    }
}
