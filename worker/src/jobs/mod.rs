//! Job handlers, one module per job kind, and the wrapper that retries transient failures
//! with exponential backoff and hands exhausted or permanent ones to the dead-letter set.

mod access;
pub(crate) mod action;
mod alerts;
mod archive;
mod audit;
mod chargeback;
mod collaboration;
pub(crate) mod command;
mod cost;
mod digest;
mod exception;
pub(crate) mod expiry;
pub(crate) mod idle;
mod invitations;
pub(crate) mod launch;
mod limit;
pub(crate) mod ops_channel;
mod policy;
mod preserve;
mod profiles;
mod project;
pub(crate) mod reconcile;
pub(crate) mod retention;
pub(crate) mod schedule;
pub(crate) mod templates;
pub(crate) mod verification;
mod volumes;
mod workspaces;

use std::sync::Arc;

use apalis_core::error::AbortError;
use domain::account::Accounts;
use domain::deployment::DeploymentRoles;
use domain::digest::DigestTime;
use domain::job::{JobKey, ReplyTo};
use domain::message;
use domain::message::MailText;
use domain::ports::{
    AccountPolicies, Billing, Chat, Clock, FileSystems, FinishedJobs, IdentityProvider, Mail,
    Mailer, ObjectStore, PortError,
};
use domain::retry::Backoff;

use crate::jobs::access::Context;
use crate::jobs::launch::LaunchEnv;
use crate::state::State;

/// How long a download link posted in chat works (statements, exports, archive manifests):
/// long enough to reach a grants office or a collaborator's IT.
pub(crate) const LINK_VALID: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// The ports and settings command and button jobs use.
pub struct CommandEnv {
    pub chat: Arc<dyn Chat>,
    pub state: State,
    pub clock: Arc<dyn Clock>,
    /// The AWS account of projects that name none.
    pub default_account: String,
    pub backoff: Backoff,
    /// Approving an exception runs the refused launch.
    pub launch: Arc<LaunchEnv>,
    /// Where chargeback statements go.
    pub objects: Arc<dyn ObjectStore>,
    /// The provider's bill, to reconcile the ledger with.
    pub billing: Arc<dyn Billing>,
    pub digest_at: DigestTime,
    /// How long until the next scheduled check: budget enforcement projects spend that far.
    pub check_every: time::Duration,
    /// The consortium's accounts by name: where collaborators' snapshots may be shared.
    pub accounts: Accounts,
    /// Shared volumes (EFS) in the lead account.
    pub file_systems: Arc<dyn FileSystems>,
    /// IAM in the collaborators' accounts, for their mount policies.
    pub account_policies: Arc<dyn AccountPolicies>,
    /// Scripts on running workspaces: volume mounts.
    /// Globus Auth, when configured: `profiles verify` says so otherwise.
    pub identity_provider: Option<Arc<dyn IdentityProvider>>,
    /// Who runs the deployment and who may ask it for projects.
    pub deployment: DeploymentRoles,
    /// The lead institution of projects that name none (`CWS_INSTITUTION`).
    pub institution: Option<String>,
    /// The bot's public base URL (`CWS_PUBLIC_URL`): sign-in links lead to its pages.
    pub public_url: String,
    /// The jobs the queues keep after they ran, forgotten after `retention`.
    /// Where failed scheduled rounds are announced (`CWS_OPS_CHANNEL`).
    pub(crate) ops_channel: Arc<ops_channel::OpsChannel>,
    pub finished_jobs: Arc<dyn FinishedJobs>,
    /// How long finished jobs and what is kept per job are remembered.
    pub retention: std::time::Duration,
}

impl Context for CommandEnv {
    fn chat(&self) -> &dyn Chat {
        &*self.chat
    }
    fn state(&self) -> &State {
        &self.state
    }
    fn clock(&self) -> &dyn Clock {
        &*self.clock
    }
}

/// Mails `text` to the address on `user_id`'s chat profile; `false` when it shows none (the
/// chat message then stands alone).
pub(crate) async fn mail_user(
    chat: &dyn Chat,
    mailer: &dyn Mailer,
    user_id: &str,
    text: MailText,
) -> Result<bool, PortError> {
    let Some(to) = chat.email_of(user_id).await? else {
        tracing::warn!(
            user_id,
            "the chat profile shows no e-mail address; sent by chat only"
        );
        return Ok(false);
    };
    mailer
        .send(&Mail {
            to,
            subject: text.subject,
            body: text.body,
        })
        .await?;
    Ok(true)
}

/// Runs one command or click with retries; if it fails for good, the person gets a
/// reference and the job goes to the dead set.
pub(crate) async fn run_to_end<F, Fut>(
    env: &CommandEnv,
    key: &JobKey,
    reply: &ReplyTo,
    user_id: &str,
    what: &str,
    attempt: F,
) -> Result<(), AbortError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), PortError>>,
{
    // A queue may hand out a job again after it ran (a worker judged dead a moment too
    // early); a finished command is not answered twice.
    match env.state.job_finished(key).await {
        Ok(true) => {
            tracing::info!(job = %key, "delivered again after it finished; nothing to do");
            return Ok(());
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(job = %key, %error, "cannot tell whether the job already ran"),
    }
    match with_retries(key, &env.backoff, attempt).await {
        Ok(()) => {
            if let Err(error) = env.state.finish_job(key, env.retention).await {
                tracing::warn!(job = %key, %error, "could not record the job as finished");
            }
            Ok(())
        }
        Err(gave_up) => {
            let reply_message = message::something_went_wrong(what, key.as_str());
            if let Err(chat_error) = env
                .chat
                .post_ephemeral(reply, user_id, &reply_message)
                .await
            {
                tracing::error!(job = %key, %chat_error, "could not tell the user the job failed");
            }
            Err(dead_letter(key, gave_up))
        }
    }
}

/// A failure that was not retried away, with the attempts it took: the handler tells the user.
pub(crate) struct GaveUp {
    pub error: PortError,
    pub attempts: u32,
}

/// The longest wait between looks at a store that is away.
const STORE_WAIT_CAP: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `attempt` until it succeeds, fails permanently, or the backoff schedule is spent; while
/// the store is away it waits, however long, since a job cannot finish without it.
pub(crate) async fn with_retries<F, Fut>(
    key: &JobKey,
    backoff: &Backoff,
    mut attempt: F,
) -> Result<(), GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), PortError>>,
{
    let mut attempts = 1;
    let mut store_waits = 0;
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(error @ PortError::StoreUnavailable(_)) => {
                // Every attempt is safe to repeat, and none can succeed without the store.
                store_waits += 1;
                let delay = backoff
                    .delay_before(store_waits.min(backoff.max_attempts) + 1)
                    .unwrap_or(backoff.max_delay)
                    .min(STORE_WAIT_CAP);
                tracing::warn!(job = %key, ?delay, %error, "the store is away; waiting for it");
                tokio::time::sleep(delay).await;
            }
            Err(error) if error.is_transient() => match backoff.delay_before(attempts + 1) {
                Some(delay) => {
                    tracing::warn!(job = %key, attempts, ?delay, %error, "transient failure, retrying");
                    crate::metrics::retried();
                    tokio::time::sleep(delay).await;
                    attempts += 1;
                }
                None => return Err(GaveUp { error, attempts }),
            },
            Err(error) => return Err(GaveUp { error, attempts }),
        }
    }
}

/// What apalis records for a job that will not be retried: it lands in the queue's dead set.
pub(crate) fn dead_letter(key: &JobKey, gave_up: GaveUp) -> AbortError {
    tracing::error!(job = %key, attempts = gave_up.attempts, error = %gave_up.error, "job failed for good");
    AbortError::new(gave_up.error)
}
