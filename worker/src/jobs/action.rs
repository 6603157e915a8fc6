//! The action queue's entry point: one match from a clicked button to its handler.

use std::sync::Arc;

use apalis_core::error::AbortError;
use apalis_core::task::data::Data;
use apalis_core::task::task_id::TaskId;
use domain::exception::Verdict;
use domain::job::{Action, ActionJob, JobKind};
use domain::ports::PortError;

use crate::jobs::exception::{DecisionClick, action_decide_exception, action_request_exception};
use crate::jobs::ops_channel::OpsChannel;
use crate::jobs::{CommandEnv, idle, project, run_to_end, templates, workspaces};

pub(crate) async fn job_action(
    job: ActionJob,
    env: Data<Arc<CommandEnv>>,
    dead_letters: Data<Arc<OpsChannel>>,
    id: Option<TaskId>,
) -> Result<(), AbortError> {
    let env = &**env;
    let run = run_to_end(
        env,
        &job.key,
        &job.reply,
        &job.requester.user_id,
        "button",
        || dispatch(env, &job),
    );
    let result = env
        .launch
        .metrics
        .observe(ActionJob::NAME, job.key.as_str(), run)
        .await;
    dead_letters
        .announced(ActionJob::NAME, &job.key, id, result)
        .await
}

async fn dispatch(env: &CommandEnv, job: &ActionJob) -> Result<(), PortError> {
    match &job.action {
        Action::RequestException { signed } => action_request_exception(env, job, signed).await,
        Action::ApproveException { signed, reason } => {
            let click = DecisionClick {
                verdict: Verdict::Approved,
                signed,
                reason: reason.as_deref(),
            };
            action_decide_exception(env, job, click).await
        }
        Action::ApproveProject { signed, reason } => {
            let click = DecisionClick {
                verdict: Verdict::Approved,
                signed,
                reason: reason.as_deref(),
            };
            project::action_decide_project(env, job, click).await
        }
        Action::DenyProject { signed, reason } => {
            let click = DecisionClick {
                verdict: Verdict::Denied,
                signed,
                reason: reason.as_deref(),
            };
            project::action_decide_project(env, job, click).await
        }
        Action::ApproveTemplate { signed, reason } => {
            let click = DecisionClick {
                verdict: Verdict::Approved,
                signed,
                reason: reason.as_deref(),
            };
            templates::action_decide_template(env, job, click).await
        }
        Action::DenyTemplate { signed, reason } => {
            let click = DecisionClick {
                verdict: Verdict::Denied,
                signed,
                reason: reason.as_deref(),
            };
            templates::action_decide_template(env, job, click).await
        }
        Action::ConfirmTerminate { signed } => {
            workspaces::action_confirm_terminate(env, job, signed).await
        }
        Action::KeepRunning { signed } => idle::action_keep_running(env, job, signed).await,
        Action::HibernateNow { signed } => idle::action_hibernate_now(env, job, signed).await,
        Action::DenyException { signed, reason } => {
            let click = DecisionClick {
                verdict: Verdict::Denied,
                signed,
                reason: reason.as_deref(),
            };
            action_decide_exception(env, job, click).await
        }
    }
}
