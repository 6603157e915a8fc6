//! Preserving work on demand: `snapshot create|list|delete`, `transfer` and `download`.
//!
//! Each acts on a workspace for the people `stop` and `terminate` act for: its owner, and the
//! project's owner and admins (anyone's workspace). A named snapshot is charged in the ledger
//! from its taking to its deletion at the snapshot storage price; `transfer` shares one only
//! with a configured account of the workspace owner's institution; `download`'s link goes by
//! direct message, never to the channel.

use std::time::Duration;

use domain::audit::AuditAction;
use domain::command::{AccountRef, HomePath, SnapshotName};
use domain::identity::Permission;
use domain::job::CommandJob;
use domain::ledger::LedgerEventKind;
use domain::message;
use domain::ports::{InstanceState, PortError, ScriptOutcome};
use domain::preserve::{
    NamedSnapshot, PURPOSE_SNAPSHOT, PURPOSE_TRANSFER, archive_script, download_object_key,
    named_snapshot_tags, snapshot_request_key, transfer_snapshot_name,
};
use domain::workspace::Workspace;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member, audit_member};
use crate::jobs::workspaces::workspace_for;

/// How long a download link works: a day, enough to fetch it, short for a link that needs no
/// sign-in.
const DOWNLOAD_LINK_VALID: Duration = Duration::from_secs(24 * 3600);
/// How long the workstation's upload link works: the archive is made and sent while the worker
/// waits for the script, which SSM stops after ten minutes.
const UPLOAD_LINK_VALID: Duration = Duration::from_secs(3600);

/// The workspace called `name` and the member, if they may manage it (see the module doc).
async fn managed_workspace(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<Option<(Workspace, Member)>, PortError> {
    workspace_for(
        env,
        job,
        name,
        Permission::ManageOwnWorkspaces,
        Permission::ManageAnyWorkspace,
    )
    .await
}

/// Refuses (and answers) when the workspace is gone, or on a platform without volumes of its
/// own: it has none to copy.
async fn refuse_terminated(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &Workspace,
    action: &str,
) -> Result<bool, PortError> {
    if let Some(reason) = workspace.platform.no_commands() {
        let reply = message::workspace_refused(&workspace.name, action, reason);
        env.answer(&job.reply, &job.requester, &reply).await?;
        return Ok(true);
    }
    let state = env
        .launch
        .live(workspace)
        .await?
        .map_or(InstanceState::Terminated, |live| live.state);
    if matches!(
        state,
        InstanceState::Terminated | InstanceState::ShuttingDown
    ) {
        let reply = message::workspace_refused(&workspace.name, action, "it was terminated");
        env.answer(&job.reply, &job.requester, &reply).await?;
        return Ok(true);
    }
    Ok(false)
}

/// Snapshots the workspace's volumes for this request (once, however often the job runs),
/// records the named snapshot and charges it in the ledger. `Err` holds the snapshot that
/// already has the name, when another request's does.
async fn take_snapshot(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &Workspace,
    name: SnapshotName,
    purpose: &str,
) -> Result<Result<NamedSnapshot, NamedSnapshot>, PortError> {
    if let Some(existing) = env.state.named_snapshot(&name).await?
        && existing.request != job.key
    {
        return Ok(Err(existing));
    }
    let key = snapshot_request_key(purpose, &job.key, &workspace.name);
    let tags = named_snapshot_tags(workspace, &name, purpose);
    let cloud = env.launch.cloud_of(workspace).await?;
    let snapshots = cloud
        .snapshot_volumes(&workspace.instance_id, &key, &tags)
        .await?;
    let pricing = &env.launch.offerings.pricing;
    let now = env.clock.now();
    let snapshot = NamedSnapshot::of(
        name,
        workspace,
        job.key.clone(),
        job.requester.identity(),
        snapshots,
        pricing
            .snapshot_gb_month(&workspace.region)
            .unwrap_or_default(),
        now,
    );
    let snapshot = match env.state.create_named_snapshot(&snapshot).await? {
        Ok(()) => snapshot,
        Err(existing) if existing.request == job.key => existing,
        Err(existing) => {
            // Lost the name to a racing request: the volumes' snapshots made here go again.
            for made in &snapshot.snapshots {
                cloud.delete_snapshot(&made.snapshot_id).await?;
            }
            return Ok(Err(existing));
        }
    };
    // A re-sent event changes nothing in the ledger's maths; the first one dates it.
    env.state
        .append_ledger(&snapshot.ledger_event(LedgerEventKind::SnapshotTaken, snapshot.taken_at))
        .await?;
    Ok(Ok(snapshot))
}

pub(crate) async fn command_snapshot_create(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &str,
    name: &SnapshotName,
) -> Result<(), PortError> {
    let Some((workspace, member)) = managed_workspace(env, job, workspace).await? else {
        return Ok(());
    };
    if refuse_terminated(env, job, &workspace, "snapshot").await? {
        return Ok(());
    }
    let snapshot = match take_snapshot(env, job, &workspace, name.clone(), PURPOSE_SNAPSHOT).await?
    {
        Ok(snapshot) => snapshot,
        Err(existing) => {
            let reply = message::snapshot_name_taken(&existing);
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
    };
    audit_member(
        env,
        job,
        &member,
        &workspace.name,
        AuditAction::Export,
        "snapshot taken",
        format!(
            "{} ({} GB): {}",
            snapshot.name,
            snapshot.size_gb(),
            ids(&snapshot)
        ),
    )
    .await?;
    let reply = message::snapshot_created(&snapshot);
    env.answer(&job.reply, &job.requester, &reply).await
}

fn ids(snapshot: &NamedSnapshot) -> String {
    snapshot
        .snapshots
        .iter()
        .map(|s| s.snapshot_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `snapshot list [WORKSPACE]`: one workspace's snapshots for those who may manage it, or
/// else the snapshots of the caller's active project they may manage (their own, or all for
/// owners and admins).
pub(crate) async fn command_snapshot_list(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: Option<&str>,
) -> Result<(), PortError> {
    let all = env.state.named_snapshots().await?;
    let shown: Vec<NamedSnapshot> = match workspace {
        Some(name) => {
            let Some((workspace, _)) = managed_workspace(env, job, name).await? else {
                return Ok(());
            };
            all.into_iter()
                .filter(|s| s.workspace == workspace.name)
                .collect()
        }
        None => {
            let Some(member) =
                crate::jobs::access::authorize(env, job, None, Permission::View).await?
            else {
                return Ok(());
            };
            let any = member.profile.role.may(Permission::ManageAnyWorkspace);
            let username = &member.profile.research_user.username;
            all.into_iter()
                .filter(|s| s.project == member.project.name && (any || &s.user == username))
                .collect()
        }
    };
    let reply = message::snapshot_list(workspace, &shown);
    env.answer(&job.reply, &job.requester, &reply).await
}

pub(crate) async fn command_snapshot_delete(
    env: &CommandEnv,
    job: &CommandJob,
    name: &SnapshotName,
) -> Result<(), PortError> {
    let Some(snapshot) = env.state.named_snapshot(name).await? else {
        let reply = message::snapshot_unknown(name);
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let Some((workspace, member)) = managed_workspace(env, job, &snapshot.workspace).await? else {
        return Ok(());
    };
    let cloud = env
        .launch
        .cloud_for(
            workspace.platform,
            snapshot.account.as_deref(),
            &snapshot.region,
        )
        .await?;
    for made in &snapshot.snapshots {
        cloud.delete_snapshot(&made.snapshot_id).await?;
    }
    let now = env.clock.now();
    env.state
        .append_ledger(&snapshot.ledger_event(LedgerEventKind::SnapshotDeleted, now))
        .await?;
    env.state.forget_named_snapshot(name).await?;
    audit_member(
        env,
        job,
        &member,
        &workspace.name,
        AuditAction::Lifecycle,
        "snapshot deleted",
        format!("{}: {}", snapshot.name, ids(&snapshot)),
    )
    .await?;
    let reply = message::snapshot_deleted(&snapshot);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `transfer WORKSPACE ACCOUNT`: the account must be configured (`CWS_ACCOUNTS`), named by
/// name, and belong to the institution the workspace is attributed to, whoever asks: the
/// work is its owner's, so no member, admin or not, can send it to another institution or to
/// an account nobody configured.
pub(crate) async fn command_transfer(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &str,
    account: &AccountRef,
) -> Result<(), PortError> {
    let Some((workspace, member)) = managed_workspace(env, job, workspace).await? else {
        return Ok(());
    };
    let institution = &workspace.attribution.institution;
    let found = env.accounts.named(&account.name);
    let refusal = match found {
        None => Some(format!(
            "`{}` is not a configured account. Snapshots are shared only with configured \
             accounts, so a typo cannot hand data to a stranger.",
            account.name
        )),
        Some(found)
            if account
                .institution
                .as_deref()
                .is_some_and(|named| !found.belongs_to(named)) =>
        {
            Some(format!(
                "`{}` belongs to {}, not to {}.",
                found.name,
                found.institution,
                account.institution.as_deref().unwrap_or_default()
            ))
        }
        Some(found) if !found.belongs_to(institution) => Some(format!(
            "`{}` belongs to {}, not to {institution}, whose work `{}` holds: a workspace \
             goes only to its owner's institution's account.",
            found.name, found.institution, workspace.name
        )),
        Some(_) => None,
    };
    let Some(target) = found.filter(|_| refusal.is_none()) else {
        audit_member(
            env,
            job,
            &member,
            &workspace.name,
            AuditAction::Refused,
            "refused",
            format!("transfer to {account}"),
        )
        .await?;
        let reply = message::account_refused(&refusal.unwrap_or_default(), &env.accounts.names());
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    if refuse_terminated(env, job, &workspace, "transfer").await? {
        return Ok(());
    }
    let name = transfer_snapshot_name(&workspace.name, &job.key);
    let snapshot = match take_snapshot(env, job, &workspace, name, PURPOSE_TRANSFER).await? {
        Ok(snapshot) => snapshot,
        Err(existing) => {
            let reply = message::snapshot_name_taken(&existing);
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
    };
    let cloud = env.launch.cloud_of(&workspace).await?;
    for made in &snapshot.snapshots {
        cloud.share_snapshot(&made.snapshot_id, &target.id).await?;
    }
    env.state
        .record_named_share(&snapshot.name, &target.name)
        .await?;
    audit_member(
        env,
        job,
        &member,
        &workspace.name,
        AuditAction::Export,
        "snapshots shared",
        format!(
            "{}: {} shared with {} ({})",
            snapshot.name,
            ids(&snapshot),
            target.name,
            target.id
        ),
    )
    .await?;
    let reply = message::workspace_transferred(&snapshot, target);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `download WORKSPACE [PATH]`: the workstation archives the path and uploads it to a
/// presigned link; once the object is there, its download link goes to the person by direct
/// message.
pub(crate) async fn command_download(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &str,
    path: Option<&HomePath>,
) -> Result<(), PortError> {
    let Some((workspace, member)) = managed_workspace(env, job, workspace).await? else {
        return Ok(());
    };
    if let Some(reason) = workspace.platform.no_commands() {
        let reply = message::workspace_refused(&workspace.name, "download from", reason);
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let running = env
        .launch
        .live(&workspace)
        .await?
        .is_some_and(|live| live.state == InstanceState::Running);
    if !running {
        let reply = message::workspace_refused(
            &workspace.name,
            "download from",
            "it is not running; start it first",
        );
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let failed = |reason: &str| message::download_failed(&workspace.name, path, reason);
    let key = download_object_key(&workspace.attribution.project, &workspace.name, &job.key);
    // A retried job whose archive already arrived only sends the link.
    let mut stored = env.objects.download_link(&key, DOWNLOAD_LINK_VALID).await?;
    if stored.is_none() {
        let upload = env.objects.upload_link(&key, UPLOAD_LINK_VALID).await?;
        let Some(script) = archive_script(&workspace.attribution.user, path, &upload) else {
            let reply = failed("its research user cannot be written to a script.");
            return env.answer(&job.reply, &job.requester, &reply).await;
        };
        let comment = format!("cws download: {}", workspace.name);
        let run = env
            .launch
            .commands_of(&workspace)
            .await?
            .run_script(&workspace.instance_id, &comment, &script)
            .await?;
        if let ScriptOutcome::Failed { status, output } = run.outcome {
            let reply = failed(&format!(
                "{status} ({}), command {}.",
                output.trim(),
                run.command_id
            ));
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
        stored = env.objects.download_link(&key, DOWNLOAD_LINK_VALID).await?;
    }
    let Some((size, link)) = stored else {
        let reply = failed("the workspace said it uploaded the archive, but it never arrived.");
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    audit_member(
        env,
        job,
        &member,
        &workspace.name,
        AuditAction::Export,
        "downloaded",
        format!(
            "~/{} ({size} bytes) as {key}",
            path.map_or(".", HomePath::as_str)
        ),
    )
    .await?;
    let dm = message::download_ready(
        &workspace.name,
        path,
        &link,
        size,
        DOWNLOAD_LINK_VALID.as_secs() / 3600,
    );
    env.chat.post_direct(&job.requester.user_id, &dm).await?;
    let reply = message::download_sent(&workspace.name, path);
    env.answer(&job.reply, &job.requester, &reply).await
}
