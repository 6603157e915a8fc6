//! Idle detection: at every scheduled check, the running workspaces of projects with an idle
//! policy get their CPU and network from CloudWatch in batched calls; an idle one's owner is warned by
//! DM with **Keep running (2 h)** and **Hibernate now**, and a warning left unanswered past
//! the grace period runs the project's action once. `project idle` shows and sets the policy.

use std::collections::HashMap;

use domain::command::{IdleAction, ProjectIdle};
use domain::identity::{ChatIdentity, Permission};
use domain::idle::{IdlePolicy, IdleStep, IdleWatch, KEEP_RUNNING, idle_step};
use domain::job::{ActionJob, CommandJob};
use domain::ledger::{LedgerEvent, LedgerEventKind};
use domain::message;
use domain::ports::{Activity, InstanceState, PortError};
use domain::project::Project;
use domain::token::sign_button_value;
use domain::workspace::Workspace;
use time::OffsetDateTime;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, authorize};
use crate::jobs::project::{SettingsChange, change_settings};
use crate::jobs::workspaces::{Change, apply_change, change_state, workspace_for};

const JOB: &str = "idle";
const KEEP: &str = "idle-keep:";
const HIBERNATE: &str = "hibernate:";

pub(crate) async fn command_project_idle(
    env: &CommandEnv,
    job: &CommandJob,
    command: &ProjectIdle,
) -> Result<(), PortError> {
    let changes = command.off
        || command.cpu_below.is_some()
        || command.after_minutes.is_some()
        || command.grace_minutes.is_some()
        || command.action.is_some();
    let permission = Permission::for_settings(changes);
    let Some(member) = authorize(env, job, Some(&command.name), permission).await? else {
        return Ok(());
    };
    let mut project = member.project.clone();
    if changes {
        let change = |current: &Project| {
            let mut next = current.clone();
            next.idle = (!command.off).then(|| {
                let base = current.idle.unwrap_or_default();
                IdlePolicy {
                    cpu_below: command.cpu_below.unwrap_or(base.cpu_below),
                    after_minutes: command.after_minutes.unwrap_or(base.after_minutes),
                    grace_minutes: command.grace_minutes.unwrap_or(base.grace_minutes),
                    action: command.action.unwrap_or(base.action),
                }
            });
            next
        };
        let audited = |changed: &Project| SettingsChange {
            outcome: if changed.idle.is_some() {
                "idle detection on"
            } else {
                "idle detection off"
            }
            .to_owned(),
            detail: changed.idle.map(|p| {
                format!(
                    "below {}% for {} min, {} after {} min",
                    p.cpu_below,
                    p.after_minutes,
                    p.action.as_str(),
                    p.grace_minutes
                )
            }),
        };
        let Some(changed) = change_settings(env, job, &member, change, audited).await? else {
            return Ok(());
        };
        project = changed;
        hand_to_platforms(env, &project).await?;
    }
    let reply = message::project_idle(&project.name, project.idle.as_ref(), changes);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The project's workspaces on a platform that shuts idle ones down itself get the new
/// policy. One that cannot is logged and keeps its old setting; the rest still get theirs.
async fn hand_to_platforms(env: &CommandEnv, project: &Project) -> Result<(), PortError> {
    for workspace in env.launch.store.all().await? {
        if workspace.attribution.project != project.name
            || workspace.state == InstanceState::Terminated
            || !workspace.platform.shuts_down_idle()
        {
            continue;
        }
        let applied = async {
            env.launch
                .cloud_of(&workspace)
                .await?
                .apply_idle_policy(&workspace.instance_id, project.idle.as_ref())
                .await
        };
        if let Err(error) = applied.await {
            tracing::warn!(workspace = %workspace.name, %error, "could not hand the idle policy to its platform");
        }
    }
    Ok(())
}

/// When each workspace last started running, from one project's ledger.
fn last_starts(events: &[LedgerEvent]) -> HashMap<&str, OffsetDateTime> {
    let mut starts: HashMap<&str, OffsetDateTime> = HashMap::new();
    for event in events
        .iter()
        .filter(|e| matches!(e.kind, LedgerEventKind::Launched | LedgerEventKind::Resumed))
    {
        let start = starts.entry(&event.workspace).or_insert(event.at);
        *start = (*start).max(event.at);
    }
    starts
}

/// One check over every project with an idle policy: one metrics call for all of them.
pub(crate) async fn check(env: &CommandEnv, projects: &[Project]) -> Result<(), PortError> {
    let policies: HashMap<&str, (&Project, IdlePolicy)> = projects
        .iter()
        .filter_map(|p| p.idle.map(|policy| (p.name.as_str(), (p, policy))))
        .collect();
    if policies.is_empty() {
        return Ok(());
    }
    let now = env.clock.now();
    let mut ledgers = HashMap::new();
    for name in policies.keys() {
        ledgers.insert(*name, env.state.ledger(name).await?);
    }
    let starts: HashMap<&str, HashMap<&str, OffsetDateTime>> = ledgers
        .iter()
        .map(|(name, events)| (*name, last_starts(events)))
        .collect();
    let mut watched: Vec<(Workspace, &Project, IdlePolicy)> = Vec::new();
    for workspace in env.launch.store.all().await? {
        if workspace.state != InstanceState::Running {
            continue;
        }
        let Some((project, policy)) = policies.get(workspace.attribution.project.as_str()) else {
            continue;
        };
        // A workspace not yet up for the whole window has too little data to be idle.
        let since = starts
            .get(project.name.as_str())
            .and_then(|s| s.get(workspace.name.as_str()));
        if since.is_some_and(|since| *since + policy.window() <= now) {
            watched.push((workspace, project, *policy));
        }
    }
    if watched.is_empty() {
        return Ok(());
    }
    // One batched metrics call per account, region and window length (usually one for all
    // projects): EC2 publishes an instance's metrics in its own account and region.
    let mut batches: HashMap<(Option<String>, String, u32), Vec<String>> = HashMap::new();
    for (workspace, _, policy) in &watched {
        batches
            .entry((
                workspace.account.clone(),
                workspace.region.clone(),
                policy.after_minutes,
            ))
            .or_default()
            .push(workspace.instance_id.clone());
    }
    let mut activity: HashMap<(u32, String), Activity> = HashMap::new();
    for ((account, region, minutes), ids) in batches {
        let from = now - time::Duration::minutes(i64::from(minutes));
        let metrics = env.launch.metrics_in(account.as_deref(), &region).await?;
        for (id, seen) in metrics.activity(&ids, from, now).await? {
            activity.insert((minutes, id), seen);
        }
    }
    for (workspace, project, policy) in watched {
        let seen = activity
            .get(&(policy.after_minutes, workspace.instance_id.clone()))
            .copied();
        if let Err(error) = step(env, project, &policy, workspace, seen, now).await {
            tracing::warn!(%error, "idle check of one workspace failed; the next check retries");
        }
    }
    Ok(())
}

async fn step(
    env: &CommandEnv,
    project: &Project,
    policy: &IdlePolicy,
    mut workspace: Workspace,
    seen: Option<Activity>,
    now: OffsetDateTime,
) -> Result<(), PortError> {
    let (raw, watch) = env.state.idle_watch(&workspace.name).await?;
    let idle = policy.is_idle(seen);
    match idle_step(policy, &watch, idle, now) {
        IdleStep::Nothing => {
            if !idle && watch.warned_at.is_some() {
                env.state.forget_idle_watch(&workspace.name).await?;
            }
            Ok(())
        }
        IdleStep::Warn => {
            let warned = IdleWatch {
                warned_at: Some(now),
                keep_until: None,
            };
            if !env
                .state
                .swap_idle_watch(&workspace.name, raw.as_deref(), &warned)
                .await?
            {
                return Ok(());
            }
            let key = env.state.token_key().await?;
            let warning = message::idle_warning(
                &workspace,
                policy,
                seen.map_or(0.0, |a| a.peak_cpu),
                &sign_button_value(&key, &format!("{KEEP}{}", workspace.name)),
                &sign_button_value(&key, &format!("{HIBERNATE}{}", workspace.name)),
            );
            let owner = workspace
                .owner_user_id
                .as_deref()
                .unwrap_or(&project.owner_user_id);
            env.chat.post_direct(owner, &warning).await
        }
        IdleStep::Act(action) => {
            // Forgetting the watch first is the claim: a second worker finds nothing to do.
            if !env
                .state
                .swap_idle_watch(&workspace.name, raw.as_deref(), &IdleWatch::default())
                .await?
            {
                return Ok(());
            }
            env.state.forget_idle_watch(&workspace.name).await?;
            let live = env.launch.live(&workspace).await?;
            if !matches!(live.map(|s| s.state), Some(InstanceState::Running)) {
                return Ok(());
            }
            let change = match action {
                IdleAction::Stop => Change::Stop,
                IdleAction::Hibernate | IdleAction::Notify => Change::Hibernate,
            };
            let institution = workspace.attribution.institution.clone();
            let done = change_state(
                env,
                &mut workspace,
                change,
                &ChatIdentity::system(JOB),
                &institution,
            )
            .await?;
            let posted = message::idle_acted(&workspace, policy, done.verb, done.fell_back);
            env.chat.post(&project.channel(), &posted).await
        }
    }
}

/// **Keep running (2 h)**: no warning for the workspace until then.
pub(crate) async fn action_keep_running(
    env: &CommandEnv,
    job: &ActionJob,
    signed: &str,
) -> Result<(), PortError> {
    let Some(name) = env
        .button_names(&job.reply, &job.requester, signed, KEEP)
        .await?
    else {
        return Ok(());
    };
    let Some((workspace, _)) = workspace_for(
        env,
        job,
        &name,
        Permission::ManageOwnWorkspaces,
        Permission::ManageAnyWorkspace,
    )
    .await?
    else {
        return Ok(());
    };
    let until = env.clock.now() + KEEP_RUNNING;
    loop {
        let (raw, _) = env.state.idle_watch(&workspace.name).await?;
        let kept = IdleWatch {
            warned_at: None,
            keep_until: Some(until),
        };
        if env
            .state
            .swap_idle_watch(&workspace.name, raw.as_deref(), &kept)
            .await?
        {
            break;
        }
    }
    env.answer(
        &job.reply,
        &job.requester,
        &message::idle_kept(&workspace.name, until),
    )
    .await
}

/// **Hibernate now**: as `/cws hibernate NAME` from whoever clicked, with the same rights.
pub(crate) async fn action_hibernate_now(
    env: &CommandEnv,
    job: &ActionJob,
    signed: &str,
) -> Result<(), PortError> {
    let Some(name) = env
        .button_names(&job.reply, &job.requester, signed, HIBERNATE)
        .await?
    else {
        return Ok(());
    };
    env.state.forget_idle_watch(&name).await?;
    apply_change(env, job, &name, Change::Hibernate).await
}
