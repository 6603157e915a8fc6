//! The scheduler: apalis-cron ticks every worker on `CWS_SCHEDULE`; one worker claims each
//! tick, sweeps invitations for due expiry stages, looks for idle workspaces and, for every
//! project, whether its hard limit is reached, or a budget alert, a weekly digest, a month's
//! chargeback statement or a closed day's audit archive is due, and forgets finished jobs past
//! their retention. Each of those is a notice taken once, so a tick that another
//! worker also ran, or one that ran late, never sends anything twice, and a missed tick is
//! caught up by the next.

use std::sync::Arc;

use apalis_core::error::BoxDynError;
use apalis_core::task::data::Data;
use apalis_cron::Tick;

use crate::jobs::{CommandEnv, alerts, audit, chargeback, digest, expiry, idle, limit, retention};

const JOB: &str = "tick";

pub(crate) async fn job_tick(tick: Tick, env: Data<Arc<CommandEnv>>) -> Result<(), BoxDynError> {
    let run = async {
        if env.state.claim_round(JOB, tick.get_timestamp()).await? {
            env.launch.metrics.round_ran(JOB);
            run_due(&env).await;
        }
        Ok(())
    };
    let key = format!("tick:{}", tick.get_timestamp());
    env.launch.metrics.observe(JOB, &key, run).await
}

/// Everything due now, project by project; one project's failure does not hold up the others,
/// and what failed is tried again at the next tick.
pub(crate) async fn run_due(env: &CommandEnv) {
    let failed = |round: &'static str, error: String| async move {
        tracing::warn!(%error, "{round} failed");
        env.ops_channel.round_failed(round, &error).await;
    };
    let projects = match env.state.projects().await {
        Ok(projects) => projects,
        Err(error) => {
            failed("scheduled checks", error.to_string()).await;
            return;
        }
    };
    if let Err(error) = idle::check(env, &projects).await {
        failed("idle check", error.to_string()).await;
    }
    if let Err(error) = expiry::sweep(env).await {
        failed("expiry sweep", error.to_string()).await;
    }
    if let Err(error) = retention::sweep(env).await {
        failed("retention sweep", error.to_string()).await;
    }
    for project in &projects {
        if let Err(error) = limit::enforce(env, project).await {
            tracing::warn!(project = %project.name, %error, "budget enforcement failed");
        }
        if let Err(error) = alerts::check_budget(&env.launch, project).await {
            tracing::warn!(project = %project.name, %error, "budget check failed");
        }
        if let Err(error) = digest::send_if_due(env, project).await {
            tracing::warn!(project = %project.name, %error, "weekly digest failed");
        }
        if let Err(error) = chargeback::close_month(env, project).await {
            tracing::warn!(project = %project.name, %error, "chargeback statement failed");
        }
        if let Err(error) = audit::archive_closed_days(env, project).await {
            tracing::warn!(project = %project.name, %error, "audit archive failed");
        }
    }
}
