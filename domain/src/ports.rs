//! The small traits through which the worker and bot reach the outside world. Each has one real
//! adapter (tested against a real local server) and one embedded stand-in.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::job::{Job, JobKey, ReplyTo};
use crate::launch::LaunchPlan;
use crate::message::ChatMessage;
use crate::workspace::Workspace;

/// How an adapter call failed, which decides whether the job tries again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Worth retrying: throttling, timeouts, a service briefly unavailable.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Retrying cannot help; `code` is the service's own error code, shown to the user.
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
}

impl PortError {
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Transient(_))
    }
}

/// Puts jobs on their queues. Enqueuing a job whose key was seen before does nothing.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: Job) -> Result<(), PortError>;
}

/// An instance as the cloud reports it after a launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchedInstance {
    pub instance_id: String,
    pub state: String,
    pub private_ip: Option<String>,
}

#[async_trait]
pub trait Cloud: Send + Sync {
    /// Starts the planned instance; with the same client token, returns the same instance.
    async fn run_instance(&self, plan: &LaunchPlan) -> Result<LaunchedInstance, PortError>;
}

#[async_trait]
pub trait Chat: Send + Sync {
    /// A message everyone in the channel sees.
    async fn post(&self, to: &ReplyTo, message: &ChatMessage) -> Result<(), PortError>;
    /// A message only `user_id` sees.
    async fn post_ephemeral(
        &self,
        to: &ReplyTo,
        user_id: &str,
        message: &ChatMessage,
    ) -> Result<(), PortError>;
}

/// Whether a workspace name was free for this job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameClaim {
    /// The name is now (or already was) held by this job.
    Claimed,
    /// Another job holds it.
    Taken { by: JobKey },
}

#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Reserves a workspace name for a job, atomically across every worker.
    async fn claim_name(&self, name: &str, key: &JobKey) -> Result<NameClaim, PortError>;
    /// Records a launched workspace under its job key, its name and its instance id.
    async fn record(&self, workspace: &Workspace) -> Result<(), PortError>;
    async fn by_job(&self, key: &JobKey) -> Result<Option<Workspace>, PortError>;
    /// Whether a job's notice (e.g. "launched") was already posted. Checked before posting and
    /// marked after, so a crash in between repeats the message rather than losing it.
    async fn notice_sent(&self, key: &JobKey, notice: &str) -> Result<bool, PortError>;
    async fn mark_notice_sent(&self, key: &JobKey, notice: &str) -> Result<(), PortError>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}
