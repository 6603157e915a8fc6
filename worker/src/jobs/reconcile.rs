//! The reconcile job: notices state changes made outside the bot (the AWS console, the CLI,
//! EC2 itself) by describing every tagged instance at once (one DescribeInstances page per
//! 1,000, in each account that has workspaces) and comparing each workspace not known to be terminated, and records what it sees in
//! the workspace record, the usage ledger (from the moment it saw it) and the audit trail.
//! Every worker runs the schedule; each round is claimed by exactly one of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::audit::{AuditAction, AuditEvent};
use domain::identity::ChatIdentity;
use domain::ledger::{LedgerEventKind, observed};
use domain::message;
use domain::ports::{InstanceState, PortError};
use domain::template::Platform;

use crate::jobs::CommandEnv;

const JOB: &str = "reconcile";

/// One round: returns how many workspaces had changed.
pub(crate) async fn reconcile_once(env: &CommandEnv) -> Result<usize, PortError> {
    let now = env.clock.now();
    let workspaces = env.launch.store.all().await?;
    // One listing per account and region that has live workspaces: the project's account in
    // the default region, and each account and region a workspace was launched in.
    let mut places: Vec<(Platform, Option<&str>, &str)> =
        vec![(Platform::Ec2, None, env.launch.default_region.as_str())];
    for workspace in &workspaces {
        let place = (
            workspace.platform,
            workspace.account.as_deref(),
            workspace.region.as_str(),
        );
        if workspace.state != InstanceState::Terminated && !places.contains(&place) {
            places.push(place);
        }
    }
    let mut seen_by_id: HashMap<String, InstanceState> = HashMap::new();
    for (platform, account, region) in places {
        let cloud = env.launch.cloud_for(platform, account, region).await?;
        seen_by_id.extend(
            cloud
                .describe_tagged()
                .await?
                .into_iter()
                .map(|status| (status.instance_id, status.state)),
        );
    }
    let mut changed = 0;
    for mut workspace in workspaces {
        if workspace.state == InstanceState::Terminated {
            continue;
        }
        // An instance EC2 no longer lists has been terminated long enough to be forgotten.
        let seen = seen_by_id
            .get(&workspace.instance_id)
            .copied()
            .unwrap_or(InstanceState::Terminated);
        let Some(kind) = observed(workspace.state, seen) else {
            continue;
        };
        workspace.state = match kind {
            LedgerEventKind::Stopped | LedgerEventKind::Hibernated => InstanceState::Stopped,
            LedgerEventKind::Terminated => InstanceState::Terminated,
            LedgerEventKind::Launched | LedgerEventKind::Resumed => InstanceState::Running,
            // `observed` speaks of instances, never of named snapshots.
            LedgerEventKind::SnapshotTaken | LedgerEventKind::SnapshotDeleted => continue,
        };
        env.launch.store.record(&workspace).await?;
        env.state
            .append_ledger(&workspace.ledger_event(kind, now))
            .await?;
        env.state
            .audit(
                &workspace.attribution.project,
                &AuditEvent {
                    action: AuditAction::Lifecycle,
                    who: ChatIdentity::system(JOB),
                    institution: workspace.attribution.institution.clone(),
                    resource: workspace.name.clone(),
                    outcome: format!("observed {kind:?}").to_lowercase(),
                    detail: Some("changed outside chat".to_owned()),
                    at: now,
                },
            )
            .await?;
        tracing::info!(workspace = %workspace.name, ?kind, "reconcile: changed outside chat");
        if kind == LedgerEventKind::Stopped && workspace.platform.shuts_down_idle() {
            tell_idle_shutdown(env, &workspace).await;
        }
        changed += 1;
    }
    Ok(changed)
}

/// A space stopped outside chat while its project's idle policy is on was most likely shut down
/// by SageMaker for idleness: the channel hears it as it hears cws's own idle stops. Best
/// effort: the stop is recorded either way.
async fn tell_idle_shutdown(env: &CommandEnv, workspace: &domain::workspace::Workspace) {
    let told = async {
        let Some(project) = env.state.project(&workspace.attribution.project).await? else {
            return Ok(());
        };
        let Some(posted) = message::idle_shut_down_by_platform(workspace, project.idle.as_ref())
        else {
            return Ok(());
        };
        env.chat.post(&project.channel(), &posted).await
    };
    if let Err(error) = told.await {
        tracing::warn!(workspace = %workspace.name, %error, "could not tell the channel of an idle shutdown");
    }
}

/// Runs a round every `every`, for as long as the worker runs. Rounds are numbered by the
/// clock, so however many workers run this, each round happens once.
pub async fn reconcile_every(env: Arc<CommandEnv>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let round = env.clock.now().unix_timestamp().max(0) as u64 / every.as_secs().max(1);
        match env.state.claim_round(JOB, round).await {
            Ok(true) => {
                env.launch.metrics.round_ran(JOB);
                if let Err(error) = reconcile_once(&env).await {
                    tracing::warn!(%error, "reconcile round failed; the next one tries again");
                    env.ops_channel
                        .round_failed("reconcile", &error.to_string())
                        .await;
                }
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "could not claim a reconcile round"),
        }
    }
}
