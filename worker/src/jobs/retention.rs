//! The retention sweep, part of every scheduled round: finished jobs older than the retention
//! period (by the workers' clock, so `CWS_CLOCK_OFFSET` moves it) are forgotten with what was
//! kept for each of them. Queued, in-flight and retrying jobs are never touched, and neither is
//! the state that must last (projects, profiles, invitations, workspaces, ledger, audit).

use domain::ports::PortError;

use crate::jobs::CommandEnv;

/// Forgets the jobs that ended more than the retention period ago; returns how many.
pub(crate) async fn sweep(env: &CommandEnv) -> Result<usize, PortError> {
    let retention = time::Duration::try_from(env.retention).unwrap_or(time::Duration::MAX);
    let before = env
        .clock
        .now()
        .checked_sub(retention)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let forgotten = env.finished_jobs.forget_finished(before).await?;
    for key in &forgotten {
        env.state.forget_job(key).await?;
        env.launch.store.forget_notices(key).await?;
    }
    Ok(forgotten.len())
}
