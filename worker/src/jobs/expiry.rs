//! The expiry sweep: for every invitation whose next stage is due (the schedule in Redis holds
//! each invitation at the time of its next stage, so a sweep reads only what is due), it sends
//! the 30-, 7- or 1-day warning, ends the collaboration, sends the last warning a week before
//! the grace period is over, or cleans up after it (archive when asked, terminate, delete).
//!
//! Exactly once: each stage of each end date is a notice taken with a lease
//! (`expiry:{id}:{end, unix time}:{stage}`), so a sweep run twice, or on two workers at once,
//! does it once; a worker that dies mid-stage leaves the lease to run out and the next sweep to
//! resume. The end's steps are recorded one by one, so the resumed end does only what is left.
//! An invitation whose end moves (extended, or brought forward by `collaboration end`) starts
//! over at its new end: its warnings go out again for the new date, and nothing planned for
//! the old one happens.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;

use domain::audit::{AuditAction, AuditEvent};
use domain::expiry::{
    Archived, CleanupStep, EndStep, GRACE, LAST_WARNING, Stage, Timeline, days_left,
};
use domain::identity::ChatIdentity;
use domain::invitation::{Extension, Invitation};
use domain::launch::{TAG_COLLABORATOR, TAG_PURPOSE, TAG_WORKSPACE};
use domain::message::{self, Ended, GraceCleaned, GraceCleanup, Holdings, KeptSnapshot};
use domain::ports::{Cloud, InstanceState, PortError, Snapshot};
use domain::profile::Collaborator;
use domain::project::Project;
use domain::token::InvitationId;
use domain::workspace::Workspace;
use serde_json::json;
use time::OffsetDateTime;

use crate::jobs::workspaces::{Change, change_state};
use crate::jobs::{CommandEnv, LINK_VALID, mail_user};
use crate::state::Updated;

const JOB: &str = "expiry";

/// Invitations advanced at once: each stage waits mostly on Redis, Slack and SMTP round trips.
const SWEEP_CONCURRENCY: usize = 32;

/// One sweep: every invitation with a stage due now. Returns how many it looked at; one
/// invitation's failure does not hold up the others, and is tried again by the next sweep.
pub(crate) async fn sweep(env: &CommandEnv) -> Result<usize, PortError> {
    let now = env.clock.now();
    let due = env.state.due_expiries(now).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let workspaces = env.launch.store.all().await?;
    // Read once for the sweep: the invitations due share a few projects.
    let projects: HashMap<String, Project> = env
        .state
        .projects()
        .await?
        .into_iter()
        .map(|project| (project.name.clone(), project))
        .collect();
    futures::stream::iter(&due)
        .for_each_concurrent(SWEEP_CONCURRENCY, |id| {
            let (workspaces, projects) = (&workspaces, &projects);
            async move {
                if let Err(error) = advance(env, *id, workspaces, projects, now).await {
                    tracing::warn!(invitation = %id, %error, "expiry stage failed; the next sweep tries again");
                }
            }
        })
        .await;
    Ok(due.len())
}

async fn advance(
    env: &CommandEnv,
    id: InvitationId,
    workspaces: &[Workspace],
    projects: &HashMap<String, Project>,
    now: OffsetDateTime,
) -> Result<(), PortError> {
    let invitation = env.state.invitation(id).await?;
    let project = match &invitation {
        Some(invitation) => match projects.get(&invitation.project) {
            Some(project) => Some(project.clone()),
            None => env.state.project(&invitation.project).await?,
        },
        None => None,
    };
    let (Some(invitation), Some(project)) = (invitation, project) else {
        return env.state.unschedule_expiry(id).await;
    };
    let mut record = env.state.expiry_record(&invitation).await?;
    let timeline = Timeline::new(invitation.planned_at(), invitation.ends_at(), &record);
    if let Some(stage) = timeline.due(now) {
        let notice = format!(
            "expiry:{id}:{}:{}",
            invitation.ends_at().unix_timestamp(),
            stage.as_str()
        );
        let finished =
            match run_stage(env, &project, &invitation, stage, &notice, workspaces, now).await? {
                Ran::Done => true,
                // Another worker holds it, or sent it and died before recording it (then only the
                // record is missing).
                Ran::Taken => env.state.notice_sent(&notice).await?,
                // Extended while this sweep was about to end it: the new end is already scheduled.
                Ran::Moved => return Ok(()),
            };
        if finished {
            record = env
                .state
                .record_expiry(&invitation, |record| {
                    record.done = record.done.max(Some(stage))
                })
                .await?;
        }
    }
    env.state.schedule_expiry_after(&invitation, &record).await
}

/// What became of a stage this sweep found due.
enum Ran {
    Done,
    /// Another worker holds its notice.
    Taken,
    /// The invitation's end moved before its access was revoked: the stage is the old end's,
    /// and its notice is never taken again.
    Moved,
}

/// Runs the stage if this worker takes its notice.
async fn run_stage(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    stage: Stage,
    notice: &str,
    workspaces: &[Workspace],
    now: OffsetDateTime,
) -> Result<Ran, PortError> {
    if !env.state.take_notice(notice, now).await? {
        return Ok(Ran::Taken);
    }
    let theirs: Vec<Workspace> = workspaces
        .iter()
        .filter(|w| {
            w.attribution.project == project.name
                && w.attribution.invitation == invitation.name
                && w.state != InstanceState::Terminated
        })
        .cloned()
        .collect();
    match stage.warning_days() {
        Some(days) => warn(env, project, invitation, days, &theirs, now).await?,
        None if stage == Stage::End => {
            if !end(env, project, invitation, theirs).await? {
                return Ok(Ran::Moved);
            }
        }
        None if stage == Stage::LastWarning => {
            last_warning(env, project, invitation, &theirs, now).await?
        }
        None => cleanup(env, project, invitation, theirs).await?,
    }
    env.state.notice_done(notice).await?;
    Ok(Ran::Done)
}

fn collaborator_key(invitation: &Invitation) -> String {
    Collaborator::Invitation(invitation.id).key()
}

/// The collaborator's snapshots in the project's account, in every region, each with the
/// cloud holding it. Those of workspaces that ran in their own account are in that account
/// already, theirs to keep: nothing to share or delete.
async fn their_snapshots(
    env: &CommandEnv,
    invitation: &Invitation,
) -> Result<Vec<(Arc<dyn Cloud>, Snapshot)>, PortError> {
    env.launch
        .snapshots_tagged_everywhere(TAG_COLLABORATOR, &collaborator_key(invitation))
        .await
}

/// Each device's profile name for the project (what its commands name), with its chat user id.
async fn recipients(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
) -> Result<Vec<(String, String)>, PortError> {
    let mut recipients = Vec::new();
    for identity in &invitation.devices {
        let Some(user_id) = identity.chat_user_id() else {
            continue;
        };
        let profile = env
            .state
            .member_profile(&project.name, identity)
            .await?
            .map_or_else(|| project.name.clone(), |p| p.name);
        recipients.push((user_id.to_owned(), profile));
    }
    Ok(recipients)
}

/// The warning of the `stage_days`-day stage, saying how many days are really left.
async fn warn(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    stage_days: u32,
    workspaces: &[Workspace],
    now: OffsetDateTime,
) -> Result<(), PortError> {
    let days = days_left(invitation.ends_at(), now);
    let snapshots: Vec<Snapshot> = their_snapshots(env, invitation)
        .await?
        .into_iter()
        .map(|(_, snapshot)| snapshot)
        .collect();
    let holdings = Holdings {
        workspaces,
        snapshots: &snapshots,
    };
    for (user_id, profile) in recipients(env, project, invitation).await? {
        let (dm, mail) = message::expiry_warning(project, invitation, &profile, days, &holdings);
        env.chat.post_direct(&user_id, &dm).await?;
        mail_user(&*env.chat, &*env.launch.mailer, &user_id, mail).await?;
    }
    audit(
        env,
        project,
        invitation,
        "warned",
        format!(
            "{stage_days}-day expiry warning for {}",
            domain::time_text::date(invitation.ends_at())
        ),
    )
    .await
}

/// Tells each of the collaborator's chat accounts, by DM and e-mail as the warnings go, that
/// their access now ends later. Returns how many were told.
pub(crate) async fn tell_extended(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    extension: &Extension,
) -> Result<usize, PortError> {
    let recipients = recipients(env, project, invitation).await?;
    for (user_id, profile) in &recipients {
        let (dm, mail) = message::access_extended(project, invitation, extension, profile);
        env.chat.post_direct(user_id, &dm).await?;
        mail_user(&*env.chat, &*env.launch.mailer, user_id, mail).await?;
    }
    Ok(recipients.len())
}

async fn audit(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    outcome: &str,
    detail: String,
) -> Result<(), PortError> {
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::Expiry,
                who: ChatIdentity::system(JOB),
                institution: invitation
                    .institution
                    .clone()
                    .unwrap_or_else(|| project.institution.clone()),
                resource: invitation.name.clone(),
                outcome: outcome.to_owned(),
                detail: Some(detail),
                at: env.clock.now(),
            },
        )
        .await
}

/// The collaborator's institution: the inviter's word, else the profile their first device
/// accepted with.
pub(crate) async fn institution_of(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
) -> Result<String, PortError> {
    if let Some(institution) = &invitation.institution {
        return Ok(institution.clone());
    }
    for identity in &invitation.devices {
        if let Some(profile) = env.state.member_profile(&project.name, identity).await? {
            return Ok(profile.institution);
        }
    }
    Ok(String::new())
}

/// The end: each step that is not yet recorded, in order. `false` when the invitation's end
/// moved before its access was revoked: then nothing is done.
async fn end(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    mut workspaces: Vec<Workspace>,
) -> Result<bool, PortError> {
    let institution = institution_of(env, project, invitation).await?;
    let steps: Vec<EndStep> = env
        .state
        .expiry_record(invitation)
        .await?
        .steps_left()
        .collect();
    for step in steps {
        let detail = match step {
            EndStep::Revoke => match revoke(env, invitation).await? {
                Some(detail) => detail,
                None => return Ok(false),
            },
            EndStep::Stop => stop(env, &mut workspaces, &institution).await?,
            EndStep::Snapshot => snapshot(env, invitation, &workspaces).await?,
            EndStep::Archive => archive(env, project, invitation, &workspaces).await?,
            EndStep::Transfer => transfer(env, project, invitation, &institution).await?,
            EndStep::Notify => notify(env, project, invitation, &institution, &workspaces).await?,
        };
        env.state
            .record_expiry(invitation, |record| {
                if !record.end_steps.contains(&step) {
                    record.end_steps.push(step);
                }
            })
            .await?;
        audit(env, project, invitation, step.as_str(), detail).await?;
    }
    Ok(true)
}

/// Revokes the invitation as of the end this sweep planned for; `None`, revoking nothing,
/// if its end has moved since (an extension that won the race). The same swap that an
/// extension makes decides which of the two happened.
async fn revoke(env: &CommandEnv, invitation: &Invitation) -> Result<Option<String>, PortError> {
    let planned = invitation.ends_at();
    let revoked = env
        .state
        .update_invitation(invitation.id, |current| {
            if current.ends_at() != planned {
                return Err(());
            }
            let mut revoked = current.clone();
            revoked.revoked_at = Some(planned);
            Ok((revoked, ()))
        })
        .await?;
    if !matches!(revoked, Updated::Done(())) {
        return Ok(None);
    }
    Ok(Some(format!(
        "token and {} device(s) refused from {}",
        invitation.devices.len(),
        domain::time_text::date(planned)
    )))
}

/// Stops what runs; never terminates. Hibernated and stopped workspaces stay as they are.
async fn stop(
    env: &CommandEnv,
    workspaces: &mut [Workspace],
    institution: &str,
) -> Result<String, PortError> {
    let who = ChatIdentity::system(JOB);
    let mut stopped = Vec::new();
    for workspace in workspaces.iter_mut() {
        let live = env.launch.live(workspace).await?.map(|status| status.state);
        if matches!(live, Some(InstanceState::Running | InstanceState::Pending)) {
            change_state(env, workspace, Change::Stop, &who, institution).await?;
            stopped.push(workspace.name.clone());
        } else if let Some(state) = live {
            workspace.state = state;
        }
    }
    Ok(format!("stopped (not terminated): {}", list(&stopped)))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Snapshots every volume of every workspace, once: the key names the invitation and the
/// workspace, so a resumed end finds the snapshots made before the crash.
async fn snapshot(
    env: &CommandEnv,
    invitation: &Invitation,
    workspaces: &[Workspace],
) -> Result<String, PortError> {
    let mut made = Vec::new();
    for workspace in workspaces {
        let key = format!("end:{}:{}", invitation.id, workspace.name);
        let tags = workspace.snapshot_tags(&collaborator_key(invitation), "collaboration-end");
        for snapshot in env
            .launch
            .cloud_of(workspace)
            .await?
            .snapshot_volumes(&workspace.instance_id, &key, &tags)
            .await?
        {
            made.push(snapshot.snapshot_id);
        }
    }
    Ok(format!("snapshots: {}", list(&made)))
}

async fn archive(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    workspaces: &[Workspace],
) -> Result<String, PortError> {
    let snapshots = their_snapshots(env, invitation).await?;
    let ended = invitation.ends_at();
    let manifest = json!({
        "project": project.name,
        "invitation": invitation.name,
        "invitee": invitation.invitee,
        "institution": invitation.institution,
        "role": invitation.role.as_str(),
        "devices": invitation.devices.len(),
        "ended_at": ended.format(&time::format_description::well_known::Rfc3339).ok(),
        "kept_until": (ended + GRACE).format(&time::format_description::well_known::Rfc3339).ok(),
        "cleanup_after_grace": project.collaboration_end.as_ref().is_some_and(|p| p.archive_collaborator_work),
        "workspaces": workspaces.iter().map(|w| json!({
            "name": w.name,
            "instance_id": w.instance_id,
            "instance_type": w.instance_type,
            "region": w.region,
            "template": w.template,
            "disk_gb": w.storage_gb,
            "state": "stopped",
        })).collect::<Vec<_>>(),
        "snapshots": snapshots.iter().map(|(_, s)| json!({
            "snapshot_id": s.snapshot_id,
            "volume_id": s.volume_id,
            "size_gb": s.size_gb,
            "workspace": s.tags.get(TAG_WORKSPACE),
            "purpose": s.tags.get(TAG_PURPOSE),
        })).collect::<Vec<_>>(),
    });
    let key = format!(
        "collaboration/{}/{}/manifest.json",
        project.name, invitation.name
    );
    let body = serde_json::to_vec_pretty(&manifest).expect("manifests serialize");
    let link = env
        .objects
        .put(&key, body, "application/json", LINK_VALID)
        .await?;
    env.state
        .record_expiry(invitation, |record| {
            record.manifest = Some((key.clone(), link.clone()))
        })
        .await?;
    Ok(format!("manifest {key}"))
}

/// Shares the snapshots with the accounts the end command named that belong to the
/// collaborator's institution.
async fn transfer(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    institution: &str,
) -> Result<String, PortError> {
    let Some(plan) = &project.collaboration_end else {
        return Ok("no transfer asked".to_owned());
    };
    let accounts: Vec<_> = plan
        .transfer_snapshots
        .iter()
        .filter_map(|name| env.accounts.named(name))
        .filter(|account| account.belongs_to(institution))
        .collect();
    if accounts.is_empty() {
        return Ok(format!("no transfer account for {institution}"));
    }
    let snapshots = their_snapshots(env, invitation).await?;
    for account in &accounts {
        for (cloud, snapshot) in &snapshots {
            cloud
                .share_snapshot(&snapshot.snapshot_id, &account.id)
                .await?;
            env.state
                .record_share(invitation.id, &snapshot.snapshot_id, &account.name)
                .await?;
        }
    }
    let names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
    Ok(format!(
        "{} snapshot(s) shared with {}",
        snapshots.len(),
        list(&names)
    ))
}

async fn notify(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    institution: &str,
    workspaces: &[Workspace],
) -> Result<String, PortError> {
    let snapshots = their_snapshots(env, invitation).await?;
    let shares = env.state.shares(invitation.id).await?;
    let kept: Vec<KeptSnapshot<'_>> = snapshots
        .iter()
        .map(|(_, snapshot)| KeptSnapshot {
            snapshot,
            workspace: snapshot.tags.get(TAG_WORKSPACE).map_or("", String::as_str),
            shared_with: shares.get(&snapshot.snapshot_id).map(String::as_str),
        })
        .collect();
    let stopped: Vec<String> = workspaces.iter().map(|w| w.name.clone()).collect();
    let (key, link) = env
        .state
        .expiry_record(invitation)
        .await?
        .manifest
        .unwrap_or_default();
    let ended = Ended {
        project,
        invitation,
        institution,
        stopped: &stopped,
        snapshots: &kept,
        manifest: (&key, &link),
    };
    let (dm, mail) = message::collaboration_ended(&ended);
    for (user_id, _) in recipients(env, project, invitation).await? {
        env.chat.post_direct(&user_id, &dm).await?;
        mail_user(&*env.chat, &*env.launch.mailer, &user_id, mail.clone()).await?;
    }
    env.chat
        .post(
            &project.channel(),
            &message::collaboration_ended_owner(&ended),
        )
        .await?;
    Ok("collaborator and channel told".to_owned())
}

fn archive_asked(project: &Project) -> bool {
    project
        .collaboration_end
        .as_ref()
        .is_some_and(|plan| plan.archive_collaborator_work)
}

/// The collaborator's snapshots the clean-up deletes: those nobody claimed (shared with an
/// account) and that are not its own archives; and how many claimed ones it keeps.
async fn unclaimed(
    env: &CommandEnv,
    invitation: &Invitation,
) -> Result<(Vec<(Arc<dyn Cloud>, Snapshot)>, usize), PortError> {
    let shares: HashMap<String, String> = env.state.shares(invitation.id).await?;
    let mut kept = 0;
    let mut delete = Vec::new();
    for (cloud, snapshot) in their_snapshots(env, invitation).await? {
        if snapshot.tags.get(TAG_PURPOSE).map(String::as_str) == Some(ARCHIVE_PURPOSE) {
            continue;
        }
        if shares.contains_key(&snapshot.snapshot_id) {
            kept += 1;
        } else {
            delete.push((cloud, snapshot));
        }
    }
    Ok((delete, kept))
}

/// The `cws:purpose` of the snapshots the clean-up archives.
const ARCHIVE_PURPOSE: &str = "grace-archive";

fn is_running(workspace: &Workspace) -> bool {
    matches!(
        workspace.state,
        InstanceState::Running | InstanceState::Pending
    )
}

/// Seven days before the clean-up: the collaborator (DM and e-mail) and the channel are told
/// exactly what it will delete, and whether it archives first.
async fn last_warning(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    workspaces: &[Workspace],
    now: OffsetDateTime,
) -> Result<(), PortError> {
    let (terminate, running): (Vec<Workspace>, Vec<Workspace>) =
        workspaces.iter().cloned().partition(|w| !is_running(w));
    let spared: Vec<String> = running.into_iter().map(|w| w.name).collect();
    let (delete, kept) = unclaimed(env, invitation).await?;
    let delete: Vec<Snapshot> = delete.into_iter().map(|(_, snapshot)| snapshot).collect();
    let warning = GraceCleanup {
        project,
        invitation,
        at: (invitation.ends_at() + GRACE).max(now + LAST_WARNING),
        archive: archive_asked(project),
        terminate: &terminate,
        spared: &spared,
        delete: &delete,
        kept,
    };
    let (dm, mail) = message::grace_ending(&warning);
    for (user_id, _) in recipients(env, project, invitation).await? {
        env.chat.post_direct(&user_id, &dm).await?;
        mail_user(&*env.chat, &*env.launch.mailer, &user_id, mail.clone()).await?;
    }
    env.chat
        .post(&project.channel(), &message::grace_ending_owner(&warning))
        .await?;
    env.state
        .record_expiry(invitation, |record| {
            record.last_warned_at.get_or_insert(now);
        })
        .await?;
    let names: Vec<String> = terminate.iter().map(|w| w.name.clone()).collect();
    let ids: Vec<String> = delete.iter().map(|s| s.snapshot_id.clone()).collect();
    audit(
        env,
        project,
        invitation,
        "warned",
        format!(
            "last warning: clean-up on {}, terminates {}, deletes {}{}",
            domain::time_text::date(warning.at),
            list(&names),
            list(&ids),
            if warning.archive {
                ", archived first"
            } else {
                ", nothing archived"
            }
        ),
    )
    .await
}

/// After the grace period: each clean-up step not yet recorded, in order. Archives (when
/// asked) exist before anything is deleted; each deletion is recorded as it happens, so a
/// clean-up resumed after a crash repeats none.
async fn cleanup(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    mut workspaces: Vec<Workspace>,
) -> Result<(), PortError> {
    let institution = institution_of(env, project, invitation).await?;
    // What runs now was started by someone after the end: never terminated, never archived.
    for workspace in &mut workspaces {
        if let Some(status) = env.launch.live(workspace).await? {
            workspace.state = status.state;
        }
    }
    let steps: Vec<CleanupStep> = env
        .state
        .expiry_record(invitation)
        .await?
        .cleanup_steps_left()
        .collect();
    for step in steps {
        let detail = match step {
            CleanupStep::Archive if archive_asked(project) => {
                archive_work(env, project, invitation, &workspaces).await?
            }
            CleanupStep::Archive => "nothing archived (not asked)".to_owned(),
            CleanupStep::Terminate => {
                terminate(env, invitation, &mut workspaces, &institution).await?
            }
            CleanupStep::Delete => delete_unclaimed(env, project, invitation).await?,
            CleanupStep::Report => report(env, project, invitation, &workspaces).await?,
        };
        env.state
            .record_expiry(invitation, |record| {
                if !record.cleanup_steps.contains(&step) {
                    record.cleanup_steps.push(step);
                }
            })
            .await?;
        audit(env, project, invitation, step.as_str(), detail).await?;
    }
    Ok(())
}

/// Snapshots every volume of each stopped workspace (once: the key names the invitation and
/// the workspace) and moves each snapshot to the EBS archive tier.
async fn archive_work(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    workspaces: &[Workspace],
) -> Result<String, PortError> {
    let mut archived = Vec::new();
    for workspace in workspaces.iter().filter(|w| !is_running(w)) {
        let cloud = env.launch.cloud_of(workspace).await?;
        let key = format!("grace:{}:{}", invitation.id, workspace.name);
        let tags = workspace.snapshot_tags(&collaborator_key(invitation), ARCHIVE_PURPOSE);
        for snapshot in cloud
            .snapshot_volumes(&workspace.instance_id, &key, &tags)
            .await?
        {
            cloud.archive_snapshot(&snapshot.snapshot_id).await?;
            let entry = Archived {
                snapshot_id: snapshot.snapshot_id.clone(),
                workspace: workspace.name.clone(),
                volume_id: snapshot.volume_id.clone(),
                size_gb: snapshot.size_gb,
                region: workspace.region.clone(),
            };
            env.state
                .record_expiry(invitation, |record| {
                    if !record.archives.contains(&entry) {
                        record.archives.push(entry.clone());
                    }
                })
                .await?;
            audit(
                env,
                project,
                invitation,
                "archived",
                format!(
                    "snapshot {} of {} ({}, {} GB) moved to the archive tier in {}",
                    snapshot.snapshot_id,
                    workspace.name,
                    snapshot.volume_id,
                    snapshot.size_gb,
                    workspace.region
                ),
            )
            .await?;
            archived.push(snapshot.snapshot_id);
        }
    }
    Ok(format!("archive tier: {}", list(&archived)))
}

/// Terminates the stopped workspaces (their volumes are deleted on termination), each through
/// the same change as `/cws terminate`: recorded, in the ledger (so costs stop) and audited.
async fn terminate(
    env: &CommandEnv,
    invitation: &Invitation,
    workspaces: &mut [Workspace],
    institution: &str,
) -> Result<String, PortError> {
    let who = ChatIdentity::system(JOB);
    let mut terminated = Vec::new();
    for workspace in workspaces.iter_mut() {
        if is_running(workspace) || workspace.state == InstanceState::Terminated {
            continue;
        }
        change_state(env, workspace, Change::Terminate, &who, institution).await?;
        env.state
            .record_expiry(invitation, |record| {
                if !record.terminated.contains(&workspace.name) {
                    record.terminated.push(workspace.name.clone());
                }
            })
            .await?;
        terminated.push(workspace.name.clone());
    }
    Ok(format!(
        "terminated with their volumes: {}",
        list(&terminated)
    ))
}

/// Deletes the snapshots nobody claimed, each audited and recorded as it goes.
async fn delete_unclaimed(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
) -> Result<String, PortError> {
    let (delete, kept) = unclaimed(env, invitation).await?;
    let mut deleted = Vec::new();
    for (cloud, snapshot) in &delete {
        cloud.delete_snapshot(&snapshot.snapshot_id).await?;
        env.state
            .record_expiry(invitation, |record| {
                if !record.deleted.contains(&snapshot.snapshot_id) {
                    record.deleted.push(snapshot.snapshot_id.clone());
                }
            })
            .await?;
        audit(
            env,
            project,
            invitation,
            "deleted",
            format!(
                "snapshot {} ({} GB) of {}",
                snapshot.snapshot_id,
                snapshot.size_gb,
                snapshot.tags.get(TAG_WORKSPACE).map_or("", String::as_str)
            ),
        )
        .await?;
        deleted.push(snapshot.snapshot_id.clone());
    }
    Ok(format!("deleted {}, kept {kept} claimed", list(&deleted)))
}

/// The owner's report in the channel, from the record: what is gone, and each archive.
async fn report(
    env: &CommandEnv,
    project: &Project,
    invitation: &Invitation,
    workspaces: &[Workspace],
) -> Result<String, PortError> {
    let record = env.state.expiry_record(invitation).await?;
    let (_, kept) = unclaimed(env, invitation).await?;
    let spared: Vec<String> = workspaces
        .iter()
        .filter(|w| is_running(w))
        .map(|w| w.name.clone())
        .collect();
    env.chat
        .post(
            &project.channel(),
            &message::grace_cleaned(&GraceCleaned {
                project: &project.name,
                invitation: &invitation.name,
                terminated: &record.terminated,
                spared: &spared,
                deleted: &record.deleted,
                kept,
                archives: &record.archives,
            }),
        )
        .await?;
    Ok(format!(
        "owner told: {} terminated, {} deleted, {} archived",
        record.terminated.len(),
        record.deleted.len(),
        record.archives.len()
    ))
}
