//! The launch job: plan, reserve the name, start the instance (idempotently), record it, and
//! post the outcome.

use std::sync::Arc;

use apalis_core::error::AbortError;
use apalis_core::task::data::Data;
use domain::job::LaunchJob;
use domain::launch::{Attribution, plan_launch};
use domain::message;
use domain::ports::{Chat, Clock, Cloud, NameClaim, PortError, WorkspaceStore};
use domain::pricing::PricingTable;
use domain::retry::Backoff;
use domain::template::Catalog;
use domain::workspace::Workspace;

use crate::jobs::{dead_letter, with_retries};

/// The ports and facts the launch job uses, and nothing else.
pub struct LaunchEnv {
    pub cloud: Arc<dyn Cloud>,
    pub chat: Arc<dyn Chat>,
    pub store: Arc<dyn WorkspaceStore>,
    pub clock: Arc<dyn Clock>,
    pub default_region: String,
    pub backoff: Backoff,
}

const LAUNCHED: &str = "launched";

/// The apalis entry point for the launch queue.
pub(crate) async fn job_launch(
    job: LaunchJob,
    env: Data<Arc<LaunchEnv>>,
) -> Result<(), AbortError> {
    let env = &**env;
    match with_retries(&job.key, &env.backoff, || launch_once(env, &job)).await {
        Ok(()) => Ok(()),
        Err(gave_up) => {
            let reply = message::launch_failed(
                job.launch.name.as_str(),
                &job.requester.user_id,
                &gave_up.error,
                gave_up.attempts,
                job.key.as_str(),
            );
            if let Err(chat_error) = env
                .chat
                .post_ephemeral(&job.reply, &job.requester.user_id, &reply)
                .await
            {
                tracing::error!(job = %job.key, %chat_error, "could not tell the user the launch failed");
            }
            Err(dead_letter(&job.key, gave_up))
        }
    }
}

/// One attempt. Every step is safe to repeat: a re-run after a crash or a retry finds the
/// recorded workspace, or gets the same instance back from EC2 through the client token.
async fn launch_once(env: &LaunchEnv, job: &LaunchJob) -> Result<(), PortError> {
    let workspace = match env.store.by_job(&job.key).await? {
        Some(workspace) => workspace,
        None => {
            let attribution = Attribution::direct(&job.requester, job.launch.project.as_deref());
            let plan = match plan_launch(
                &job.launch,
                &job.key,
                &attribution,
                &env.default_region,
                Catalog::builtin(),
                PricingTable::builtin(),
            ) {
                Ok(plan) => plan,
                Err(refusal) => {
                    let reply = message::launch_refused(job.launch.name.as_str(), &refusal);
                    return env
                        .chat
                        .post_ephemeral(&job.reply, &job.requester.user_id, &reply)
                        .await;
                }
            };
            if let NameClaim::Taken { by } = env
                .store
                .claim_name(plan.workspace.as_str(), &job.key)
                .await?
            {
                tracing::info!(job = %job.key, holder = %by, "workspace name already taken");
                let reply = message::name_taken(plan.workspace.as_str());
                return env
                    .chat
                    .post_ephemeral(&job.reply, &job.requester.user_id, &reply)
                    .await;
            }
            let instance = env.cloud.run_instance(&plan).await?;
            if instance.instance_id.is_empty() {
                return Err(PortError::Rejected {
                    code: "NoInstanceId".into(),
                    message: "EC2 returned an instance without an id".into(),
                });
            }
            tracing::info!(job = %job.key, instance = %instance.instance_id, "instance launched");
            let workspace = Workspace::launched(
                &plan,
                &job.key,
                instance.instance_id,
                attribution,
                env.clock.now(),
            );
            env.store.record(&workspace).await?;
            workspace
        }
    };
    if !env.store.notice_sent(&job.key, LAUNCHED).await? {
        let reply = message::launch_succeeded(&workspace, &job.requester.user_id);
        env.chat.post(&job.reply, &reply).await?;
        env.store.mark_notice_sent(&job.key, LAUNCHED).await?;
    }
    Ok(())
}
