//! Lifecycle commands on existing workspaces: `list`, `status` (`info`), `ssh` (`connect`),
//! `start`/`resume`, `stop`, `hibernate`, and `terminate`, which only a confirming click
//! carries out.
//!
//! Each checks who asks (their own workspace, or anyone's for owners and admins), asks the
//! cloud for the real state, acts only when something changes (stopping a stopped workspace
//! is a friendly no-op), then records the state, appends the ledger and the audit trail, and
//! posts one message in the channel.

use std::sync::Arc;

use domain::audit::{AuditAction, AuditEvent};
use domain::command::WorkspaceList;
use domain::identity::{ChatIdentity, Permission};
use domain::job::{ActionJob, CommandJob};
use domain::ledger::{LedgerEventKind, workspace_usage};
use domain::message::{self, LiveStatus};
use domain::network;
use domain::ports::{InstanceState, PortError};
use domain::template::{Catalog, ConnectionType};
use domain::token::sign_button_value;
use domain::workspace::Workspace;
use time::OffsetDateTime;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member, Request, authorize};
use crate::jobs::profiles::send_private_key;

/// What a lifecycle command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Start,
    Stop,
    Hibernate,
    Terminate,
}

impl Change {
    fn action(self) -> &'static str {
        match self {
            Change::Start => "start",
            Change::Stop => "stop",
            Change::Hibernate => "hibernate",
            Change::Terminate => "terminate",
        }
    }
}

/// EC2's answer when an instance was not launched able to hibernate.
const NO_HIBERNATION: &str = "UnsupportedHibernationConfiguration";

pub(crate) async fn command_list(
    env: &CommandEnv,
    job: &CommandJob,
    list: &WorkspaceList,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, list.project.as_deref(), Permission::View).await? else {
        return Ok(());
    };
    let username = &member.profile.research_user.username;
    let workspaces: Vec<Workspace> = env
        .launch
        .store
        .all()
        .await?
        .into_iter()
        .filter(|w| w.attribution.project == member.project.name)
        .filter(|w| w.state != InstanceState::Terminated)
        .filter(|w| !list.mine || &w.attribution.user == username)
        .collect();
    let reply = message::workspace_list(&member.project.name, &workspaces, list.mine);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The workspace called `name` and the member acting on it, if they may: `own` for their own
/// workspaces, `any` for anyone's. Every refusal is answered (and audited by `authorize`).
pub(crate) async fn workspace_for(
    env: &CommandEnv,
    request: &impl Request,
    name: &str,
    own: Permission,
    any: Permission,
) -> Result<Option<(Workspace, Member)>, PortError> {
    let (requester, reply) = (request.requester(), request.reply());
    let Some(workspace) = env.launch.store.by_name(name).await? else {
        env.answer(reply, requester, &message::workspace_unknown(name))
            .await?;
        return Ok(None);
    };
    let mine =
        |member: &Member| workspace.attribution.user == member.profile.research_user.username;
    let Some(member) = authorize(
        env,
        request,
        Some(&workspace.attribution.project),
        Permission::View,
    )
    .await?
    else {
        return Ok(None);
    };
    let needed = if mine(&member) { own } else { any };
    if !member.profile.role.may(needed) {
        let refusal = message::not_permitted(member.profile.role, needed, &member.project);
        env.answer(reply, requester, &refusal).await?;
        return Ok(None);
    }
    Ok(Some((workspace, member)))
}

/// `status NAME` (and `info NAME`).
pub(crate) async fn command_status(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    answer_status(env, job, name).await.map(drop)
}

/// `ssh NAME` and `connect NAME`: the status with how to connect, the profile's SSH key by
/// direct message if it is still waiting to be delivered, and on a running web workspace its
/// services' port forwards and password, also by direct message. Secrets never go anywhere
/// but a direct message.
pub(crate) async fn command_connect(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    let Some(seen) = answer_status(env, job, name).await? else {
        return Ok(());
    };
    if seen.state == InstanceState::Running
        && send_sign_in_link(env, job, &seen.workspace, &seen.member).await?
    {
        return Ok(());
    }
    send_private_key(env, &seen.member.profile, &job.requester.user_id).await?;
    if let Some(catalog) = &seen.catalog {
        send_web_connection(env, job, &seen.workspace, &seen.member, catalog).await?;
    }
    Ok(())
}

/// On a platform with a sign-in of its own (SageMaker Studio), a presigned link by direct
/// message to the workspace's owner, and to nobody else: it signs in as them. `false`: the
/// workspace is reached through Session Manager instead.
async fn send_sign_in_link(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &Workspace,
    member: &Member,
) -> Result<bool, PortError> {
    if !workspace.platform.signs_in_by_link() {
        return Ok(false);
    }
    if workspace.attribution.user != member.profile.research_user.username {
        let refusal = message::studio_sign_in_refused(workspace);
        env.answer(&job.reply, &job.requester, &refusal).await?;
        return Ok(true);
    }
    let cloud = env.launch.cloud_of(workspace).await?;
    let Some(link) = cloud.sign_in_link(&workspace.instance_id).await? else {
        return Ok(false);
    };
    env.chat
        .post_direct(
            &job.requester.user_id,
            &message::studio_sign_in(workspace, &link),
        )
        .await?;
    let sent = message::studio_sign_in_sent(workspace);
    env.answer(&job.reply, &job.requester, &sent).await?;
    Ok(true)
}

/// A web workspace's port forwards and password, by direct message to whoever may have them:
/// the person who launched it, or the project's owners and admins (who may manage anyone's
/// workspace, as they may stop or terminate it). Anyone else is told who may.
async fn send_web_connection(
    env: &CommandEnv,
    job: &CommandJob,
    workspace: &Workspace,
    member: &Member,
    catalog: &Catalog,
) -> Result<(), PortError> {
    let Ok(template) = catalog.find(&workspace.template) else {
        return Ok(());
    };
    if template.connection_type != ConnectionType::Web {
        return Ok(());
    }
    let titles: Vec<&str> = template.services.iter().map(|s| s.kind.title()).collect();
    let mine = workspace.attribution.user == member.profile.research_user.username;
    if !mine && !member.profile.role.may(Permission::ManageAnyWorkspace) {
        let refusal = message::web_connection_refused(workspace, &titles);
        return env.answer(&job.reply, &job.requester, &refusal).await;
    }
    // A workspace launched before its services had a password has none to send: the status
    // already showed its port forwards.
    let Some(secret) = env.state.service_secret(&workspace.job).await? else {
        return Ok(());
    };
    let forwards = network::web_forwards(
        &workspace.instance_id,
        &workspace.region,
        &workspace.attribution.user,
        &template.services,
    );
    let direct = message::web_connection(workspace, &forwards, secret.password());
    env.chat
        .post_direct(&job.requester.user_id, &direct)
        .await?;
    let sent = message::web_connection_sent(&workspace.name, &titles);
    env.answer(&job.reply, &job.requester, &sent).await
}

/// What `answer_status` showed, for whoever asked and may see it.
struct Seen {
    workspace: Workspace,
    member: Member,
    state: InstanceState,
    /// The templates on offer, read while the workspace runs (nothing to connect to else).
    catalog: Option<Arc<Catalog>>,
}

/// Answers with the workspace's status; what was shown, if the asker may see it.
async fn answer_status(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<Option<Seen>, PortError> {
    let Some((workspace, member)) =
        workspace_for(env, job, name, Permission::View, Permission::View).await?
    else {
        return Ok(None);
    };
    let now = env.clock.now();
    let live = env.launch.live(&workspace).await?;
    let state = live
        .as_ref()
        .map_or(InstanceState::Terminated, |live| live.state);
    let ledger = env.state.ledger(&workspace.attribution.project).await?;
    let pricing = &env.launch.offerings.pricing;
    let cost_so_far = workspace_usage(&ledger, workspace.launched_at, now, |region| {
        pricing.ebs_gb_month(region).unwrap_or_default()
    })
    .into_iter()
    .find(|usage| usage.workspace == workspace.name)
    .map(|usage| usage.cost())
    .unwrap_or_default();
    // Read once: the status lines and a web workspace's DM both need the template.
    let catalog = match state {
        InstanceState::Running => Some(env.launch.catalog().await?),
        _ => None,
    };
    let connect = match &catalog {
        Some(catalog) => {
            let own_key = env
                .state
                .research_user(&member.profile.collaborator)
                .await?
                .is_some_and(|user| user.own_key);
            connect_lines(catalog, &workspace, &member, own_key)
        }
        None => Vec::new(),
    };
    let uptime = match (state, live.as_ref().and_then(|l| l.launched_at)) {
        (InstanceState::Running, Some(since)) => Some(uptime(since, now)),
        _ => None,
    };
    let reply = message::workspace_status(
        &workspace,
        &LiveStatus {
            state,
            public_ip: live.as_ref().and_then(|l| l.public_ip.as_deref()),
            private_ip: live.as_ref().and_then(|l| l.private_ip.as_deref()),
            uptime,
            cost_so_far,
            connect,
        },
    );
    env.answer(&job.reply, &job.requester, &reply).await?;
    Ok(Some(Seen {
        workspace,
        member,
        state,
        catalog,
    }))
}

/// How to reach the workspace through Session Manager: SSH as the research user with the
/// key the profile's DM carried (or their own), and a port forward per template service.
fn connect_lines(
    catalog: &Catalog,
    workspace: &Workspace,
    member: &Member,
    own_key: bool,
) -> Vec<String> {
    let services = catalog
        .find(&workspace.template)
        .map(|template| template.services.clone())
        .unwrap_or_default();
    network::connect_lines(&network::Connection {
        instance_id: &workspace.instance_id,
        region: &workspace.region,
        username: &workspace.attribution.user,
        key_file: (!own_key)
            .then(|| format!("~/.ssh/cws-{}", member.profile.name))
            .as_deref(),
        services: &services,
        platform: workspace.platform,
    })
}

fn uptime(since: OffsetDateTime, now: OffsetDateTime) -> String {
    let minutes = (now - since).whole_minutes().max(0);
    format!("{} h {:02} min", minutes / 60, minutes % 60)
}

/// `start`/`resume`, `stop` and `hibernate`: carried out at once.
pub(crate) async fn command_change(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
    change: Change,
) -> Result<(), PortError> {
    apply_change(env, job, name, change).await
}

/// `terminate`: asks for a confirming click and does nothing else.
pub(crate) async fn command_terminate(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    let Some((workspace, _)) = workspace_for(
        env,
        job,
        name,
        Permission::ManageOwnWorkspaces,
        Permission::ManageAnyWorkspace,
    )
    .await?
    else {
        return Ok(());
    };
    let key = env.state.token_key().await?;
    let value = sign_button_value(&key, &format!("terminate:{}", workspace.name));
    let reply = message::terminate_confirm(&workspace, &value);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The confirming click: checked again for the clicker, then carried out.
pub(crate) async fn action_confirm_terminate(
    env: &CommandEnv,
    job: &ActionJob,
    signed: &str,
) -> Result<(), PortError> {
    let Some(name) = env
        .button_names(&job.reply, &job.requester, signed, "terminate:")
        .await?
    else {
        return Ok(());
    };
    apply_change(env, job, &name, Change::Terminate).await
}

pub(crate) async fn apply_change(
    env: &CommandEnv,
    request: &impl Request,
    name: &str,
    change: Change,
) -> Result<(), PortError> {
    let (requester, reply) = (request.requester(), request.reply());
    let Some((mut workspace, member)) = workspace_for(
        env,
        request,
        name,
        Permission::ManageOwnWorkspaces,
        Permission::ManageAnyWorkspace,
    )
    .await?
    else {
        return Ok(());
    };
    if change == Change::Start && !member.project.grants(Permission::Launch) {
        let refusal = message::project_archived_refused(&member.project, "start workspaces");
        return env.answer(reply, requester, &refusal).await;
    }
    let cloud = env.launch.cloud_of(&workspace).await?;
    let current = cloud
        .describe(&workspace.instance_id)
        .await?
        .map_or(InstanceState::Terminated, |status| status.state);
    let refuse = |reason: &str| message::workspace_refused(name, change.action(), reason);
    match (change, current) {
        (Change::Start, InstanceState::Running | InstanceState::Pending)
        | (Change::Stop | Change::Hibernate, InstanceState::Stopped | InstanceState::Stopping)
        | (Change::Terminate, InstanceState::Terminated | InstanceState::ShuttingDown) => {
            return env
                .answer(
                    reply,
                    requester,
                    &message::workspace_unchanged(name, current),
                )
                .await;
        }
        (_, InstanceState::Terminated | InstanceState::ShuttingDown) => {
            return env
                .answer(reply, requester, &refuse("it was terminated"))
                .await;
        }
        (Change::Start, InstanceState::Stopping) => {
            return env
                .answer(
                    reply,
                    requester,
                    &refuse("it is still stopping; try again in a minute"),
                )
                .await;
        }
        _ => {}
    }
    let changed = change_state(
        env,
        &mut workspace,
        change,
        &requester.identity(),
        &member.profile.institution,
    )
    .await?;
    let posted = message::workspace_changed(
        &workspace,
        &requester.user_id,
        changed.state,
        changed.verb,
        changed.fell_back,
    );
    env.chat.post(reply, &posted).await
}

/// What [`change_state`] did.
pub(crate) struct Changed {
    pub state: InstanceState,
    /// `started`, `stopped`, `hibernated`, `terminated`.
    pub verb: &'static str,
    /// Asked to hibernate, it could not and was stopped instead.
    pub fell_back: bool,
}

/// Changes the instance, then its record, the ledger and the audit trail, as `who` (a person,
/// or a scheduled job acting for the project). The caller has checked the change makes sense
/// in the instance's current state.
pub(crate) async fn change_state(
    env: &CommandEnv,
    workspace: &mut Workspace,
    change: Change,
    who: &ChatIdentity,
    institution: &str,
) -> Result<Changed, PortError> {
    let cloud = env.launch.cloud_of(workspace).await?;
    let mut fell_back = false;
    let (state, kind, verb) = match change {
        Change::Start => {
            cloud
                .start(&workspace.instance_id, &workspace.tags())
                .await?;
            (InstanceState::Running, LedgerEventKind::Resumed, "started")
        }
        Change::Stop => {
            cloud.stop(&workspace.instance_id, false).await?;
            (InstanceState::Stopped, LedgerEventKind::Stopped, "stopped")
        }
        Change::Hibernate => {
            let hibernated = if workspace.hibernation {
                match cloud.stop(&workspace.instance_id, true).await {
                    Ok(()) => true,
                    Err(PortError::Rejected { code, .. }) if code == NO_HIBERNATION => false,
                    Err(error) => return Err(error),
                }
            } else {
                false
            };
            if hibernated {
                (
                    InstanceState::Stopped,
                    LedgerEventKind::Hibernated,
                    "hibernated",
                )
            } else {
                fell_back = true;
                cloud.stop(&workspace.instance_id, false).await?;
                (InstanceState::Stopped, LedgerEventKind::Stopped, "stopped")
            }
        }
        Change::Terminate => {
            cloud.terminate(&workspace.instance_id).await?;
            env.state.forget_service_secret(&workspace.job).await?;
            (
                InstanceState::Terminated,
                LedgerEventKind::Terminated,
                "terminated",
            )
        }
    };
    let now = env.clock.now();
    workspace.state = state;
    env.launch.store.record(workspace).await?;
    env.state
        .append_ledger(&workspace.ledger_event(kind, now))
        .await?;
    env.state
        .audit(
            &workspace.attribution.project,
            &AuditEvent {
                action: AuditAction::Lifecycle,
                who: who.clone(),
                institution: institution.to_owned(),
                resource: workspace.name.clone(),
                outcome: verb.to_owned(),
                detail: fell_back.then(|| "hibernation unavailable, stopped".to_owned()),
                at: now,
            },
        )
        .await?;
    Ok(Changed {
        state,
        verb,
        fell_back,
    })
}
