//! `project create`: a project spends the lead account's money, so a deployment admin
//! (`CWS_ADMINS`) creates one at once and owns it; an allowed requester's project waits for an
//! admin's Approve (never their own); anyone else is told whom to ask, and nothing is stored.

use domain::audit::{AuditAction, AuditEvent};
use domain::command::{PersonRef, ProjectApprovers, ProjectCreate};
use domain::deployment::{ProjectCreation, ProjectRequest};
use domain::exception::{Decision, RequestId, Verdict};
use domain::identity::{ChatIdentity, Permission, Role};
use domain::job::{ActionJob, CommandJob, Platform, ReplyTo, Requester};
use domain::message::{self, AdminDecisionRefusal, ChatMessage};
use domain::ports::PortError;
use domain::profile::{Collaborator, Profile, research_username};
use domain::project::{Project, ProjectOwner};
use domain::token::sign_button_value;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member, authorize};
use crate::jobs::exception::DecisionClick;
use crate::jobs::profiles::{new_key_pair, send_private_key};
use crate::state::Updated;

/// The deployment's own audit chain: project requests and their decisions, which belong to
/// no project (yet).
pub(crate) const DEPLOYMENT_AUDIT_CHAIN: &str = "~deployment";

/// What a project-request button's signed value starts with.
const REQUEST_BUTTON: &str = "project-request:";

pub(crate) async fn command_project_create(
    env: &CommandEnv,
    job: &CommandJob,
    create: &ProjectCreate,
) -> Result<(), PortError> {
    let requester = &job.requester;
    let in_group = in_requester_group(env, requester).await?;
    let creation = env.deployment.project_creation(requester, in_group);
    if let ProjectCreation::Refused(refusal) = creation {
        audit_deployment(
            env,
            requester.identity(),
            AuditAction::Refused,
            &create.name,
            "refused",
            format!("project create: {refusal}"),
        )
        .await?;
        let reply = message::project_create_refused(refusal, env.deployment.admins());
        return env.answer(&job.reply, requester, &reply).await;
    }
    let verified = env.state.verified_identity(&requester.identity()).await?;
    let institution = create
        .institution
        .clone()
        .map(String::from)
        .or_else(|| env.institution.clone())
        .or_else(|| verified.as_ref().map(|v| v.institution()));
    let Some(institution) = institution else {
        let reply = message::project_institution_needed(&create.name);
        return env.answer(&job.reply, requester, &reply).await;
    };
    let account = create
        .account
        .as_ref()
        .map(|account| account.as_str().to_owned())
        .unwrap_or_else(|| env.default_account.clone());
    let new = NewProject {
        create,
        owner: requester,
        channel: &job.reply,
        account,
        institution,
        approved_by: None,
    };
    match creation {
        ProjectCreation::AskAdmins => ask_admins(env, job, new).await,
        _ => create_project(env, new, Some(&job.reply)).await,
    }
}

/// Whether one of the requester groups (Slack user groups) holds the person; asked of Slack
/// only when the settings do not already decide.
async fn in_requester_group(env: &CommandEnv, requester: &Requester) -> Result<bool, PortError> {
    let roles = &env.deployment;
    if requester.platform != Platform::Slack
        || roles.is_admin(&requester.identity())
        || roles.names_requester(requester)
    {
        return Ok(false);
    }
    for group in roles.requester_groups() {
        if env.chat.in_user_group(group, &requester.user_id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A project about to be created: by an admin's command, or an approved request.
struct NewProject<'a> {
    create: &'a ProjectCreate,
    owner: &'a Requester,
    /// Where it was asked: the project's channel.
    channel: &'a ReplyTo,
    account: String,
    institution: String,
    /// The admin whose click approved the request, for the audit trail.
    approved_by: Option<ChatIdentity>,
}

/// Tells the owner: privately in the channel while the command is fresh (`reply`), or by
/// direct message when an admin's approval creates the project later.
async fn tell_owner(
    env: &CommandEnv,
    reply: Option<&ReplyTo>,
    owner: &Requester,
    message: &ChatMessage,
) -> Result<(), PortError> {
    match reply {
        Some(reply) => env.answer(reply, owner, message).await,
        None => env.chat.post_direct(&owner.user_id, message).await,
    }
}

/// Creates the project with its owner's profile and research user. A re-run finds what it
/// made; a name someone else took is refused.
async fn create_project(
    env: &CommandEnv,
    new: NewProject<'_>,
    reply: Option<&ReplyTo>,
) -> Result<(), PortError> {
    let requester = new.owner;
    let identity = requester.identity();
    let now = env.clock.now();
    let project = Project::create(
        new.create,
        ProjectOwner {
            identity: identity.clone(),
            user_id: &requester.user_id,
            user_name: &requester.user_name,
            institution: &new.institution,
            channel_id: &new.channel.channel_id,
        },
        &new.account,
        now,
    );
    let project = match env.state.create_project(&project).await? {
        Ok(()) => project,
        // A re-run of this very job finds its own project; anyone else finds it taken.
        Err(existing) if existing.owner == identity => existing,
        Err(existing) => {
            let reply_message = message::project_exists(&existing);
            return tell_owner(env, reply, requester, &reply_message).await;
        }
    };
    let collaborator = Collaborator::Owner {
        project: project.name.clone(),
    };
    let user = env
        .state
        .research_user_or_create(
            &collaborator,
            &project.account,
            &research_username(&requester.user_name),
            || new_key_pair(&requester.user_name),
        )
        .await?;
    let profile = Profile {
        name: project.name.clone(),
        identity: identity.clone(),
        project: project.name.clone(),
        collaborator,
        role: Role::Owner,
        can_invite: true,
        institution: project.institution.clone(),
        research_user: user,
        created_at: now,
        expires_at: None,
        verified_identity: env.state.verified_identity(&identity).await?,
    };
    let profile = match env.state.create_profile(&profile).await? {
        Ok(()) => profile,
        Err(existing) if existing.project == profile.project => existing,
        Err(existing) => {
            let reply_message = message::profile_name_taken(&existing);
            return tell_owner(env, reply, requester, &reply_message).await;
        }
    };
    env.state
        .set_active_profile(&identity, &profile.name)
        .await?;
    let key_sent = send_private_key(env, &profile, &requester.user_id).await?;
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::ProjectCreate,
                who: identity.clone(),
                institution: project.institution.clone(),
                resource: project.name.clone(),
                outcome: "created".to_owned(),
                detail: new
                    .approved_by
                    .map(|admin| format!("approved by deployment admin {admin}")),
                at: now,
            },
        )
        .await?;
    let reply_message = message::project_created(&project, &profile, &key_sent);
    tell_owner(env, reply, requester, &reply_message).await
}

/// Audits a deployment-level event: project requests, their decisions, refusals.
pub(crate) async fn audit_deployment(
    env: &CommandEnv,
    who: ChatIdentity,
    action: AuditAction,
    resource: &str,
    outcome: &str,
    detail: String,
) -> Result<(), PortError> {
    env.state
        .audit(
            DEPLOYMENT_AUDIT_CHAIN,
            &AuditEvent {
                action,
                who,
                institution: String::new(),
                resource: resource.to_owned(),
                outcome: outcome.to_owned(),
                detail: Some(detail),
                at: env.clock.now(),
            },
        )
        .await
}

/// Keeps the request and sends it to every deployment admin with Approve and Deny. Each admin
/// is told once, however often the job re-runs.
async fn ask_admins(
    env: &CommandEnv,
    job: &CommandJob,
    new: NewProject<'_>,
) -> Result<(), PortError> {
    let now = env.clock.now();
    let request = env
        .state
        .save_project_request(&ProjectRequest {
            id: RequestId::for_project_request(&job.key),
            create: new.create.clone(),
            requester: new.owner.clone(),
            channel: new.channel.channel_only(),
            account: new.account,
            institution: new.institution,
            created_at: now,
            expires_at: now + env.launch.exception_ttl,
        })
        .await?;
    let key = env.state.token_key().await?;
    let value = sign_button_value(&key, &format!("{REQUEST_BUTTON}{}", request.id));
    let ask = message::project_request(&request, &value);
    ask_admins_once(env, job, "project-request", &ask).await?;
    audit_deployment(
        env,
        job.requester.identity(),
        AuditAction::ProjectRequest,
        &request.create.name,
        "requested",
        format!(
            "{} a month in account {}, led by {}",
            domain::pricing::Money::from_cents(request.create.budget.0 as i64),
            request.account,
            request.institution
        ),
    )
    .await?;
    let reply = message::project_requested(&request, env.deployment.admins());
    env.answer(&job.reply, &job.requester, &reply).await
}

/// Whether `decider` may decide what `requester` asked the deployment's admins for (`what`,
/// named `resource`): an admin, never the requester. A refusal is audited and returned.
pub(crate) async fn four_eyes(
    env: &CommandEnv,
    decider: &ChatIdentity,
    requester: &ChatIdentity,
    resource: &str,
    what: &str,
) -> Result<Option<AdminDecisionRefusal<'static>>, PortError> {
    let (refusal, why) = if !env.deployment.is_admin(decider) {
        (AdminDecisionRefusal::NotAdmin, "not a deployment admin")
    } else if decider == requester {
        (AdminDecisionRefusal::Own, "their own request")
    } else {
        return Ok(None);
    };
    audit_deployment(
        env,
        decider.clone(),
        AuditAction::Refused,
        resource,
        "refused",
        format!("deciding {what}: {why}"),
    )
    .await?;
    Ok(Some(refusal))
}

/// Sends `ask` by direct message to each deployment admin but the person who asked (who may
/// not decide), each once however often `job` re-runs (notices `{what}-admin-{index}`).
pub(crate) async fn ask_admins_once(
    env: &CommandEnv,
    job: &CommandJob,
    what: &str,
    ask: &ChatMessage,
) -> Result<(), PortError> {
    let asker = job.requester.identity();
    let store = &env.launch.store;
    for (index, admin) in env.deployment.admins().iter().enumerate() {
        let notice = format!("{what}-admin-{index}");
        let Some(user_id) = admin.chat_user_id().filter(|_| *admin != asker) else {
            continue;
        };
        if !store.notice_sent(&job.key, &notice).await? {
            env.chat.post_direct(user_id, ask).await?;
            store.mark_notice_sent(&job.key, &notice).await?;
        }
    }
    Ok(())
}

/// Approve or Deny on a project request: deployment admins only, never the requester; the
/// first decision stands; approving creates the project with the requester as its owner.
pub(crate) async fn action_decide_project(
    env: &CommandEnv,
    job: &ActionJob,
    click: DecisionClick<'_>,
) -> Result<(), PortError> {
    let Some(id) = env
        .button_names(&job.reply, &job.requester, click.signed, REQUEST_BUTTON)
        .await?
    else {
        return Ok(());
    };
    let request = match RequestId::try_from(id) {
        Ok(id) => env.state.project_request(&id).await?,
        Err(_) => None,
    };
    let Some(request) = request else {
        return env
            .answer(&job.reply, &job.requester, &message::button_invalid())
            .await;
    };
    let decider = job.requester.identity();
    let refuse = |refusal: AdminDecisionRefusal<'_>| {
        let reply = message::project_request_refused(&request, refusal);
        async move { env.answer(&job.reply, &job.requester, &reply).await }
    };
    if let Some(refusal) = four_eyes(
        env,
        &decider,
        &request.requester.identity(),
        &request.create.name,
        "a project request",
    )
    .await?
    {
        return refuse(refusal).await;
    }
    let now = env.clock.now();
    if request.is_expired(now)
        && env
            .state
            .project_request_decision(&request.id)
            .await?
            .is_none()
    {
        return refuse(AdminDecisionRefusal::Expired).await;
    }
    let proposed = Decision {
        verdict: click.verdict,
        by: decider,
        by_user_id: job.requester.user_id.clone(),
        reason: click.reason.map(str::to_owned),
        job: job.key.to_string(),
        at: now,
    };
    let decision = env
        .state
        .decide_project_request(&request.id, &proposed)
        .await?;
    if decision.job != job.key.as_str() {
        return refuse(AdminDecisionRefusal::AlreadyDecided(&decision)).await;
    }
    let store = &env.launch.store;
    if !store
        .notice_sent(&job.key, "project-request-decided")
        .await?
    {
        audit_deployment(
            env,
            decision.by.clone(),
            AuditAction::ProjectRequestDecision,
            &request.create.name,
            decision.verdict.decided(),
            format!(
                "requested by {}{}",
                request.requester.identity(),
                decision
                    .reason
                    .as_deref()
                    .map(|reason| format!(": {reason}"))
                    .unwrap_or_default()
            ),
        )
        .await?;
        env.answer(
            &job.reply,
            &job.requester,
            &message::project_request_recorded(&request, decision.verdict),
        )
        .await?;
        env.chat
            .post_direct(
                &request.requester.user_id,
                &message::project_request_decided(&request, &decision),
            )
            .await?;
        store
            .mark_notice_sent(&job.key, "project-request-decided")
            .await?;
    }
    if decision.verdict == Verdict::Denied {
        return Ok(());
    }
    let new = NewProject {
        create: &request.create,
        owner: &request.requester,
        channel: &request.channel,
        account: request.account.clone(),
        institution: request.institution.clone(),
        approved_by: Some(decision.by.clone()),
    };
    create_project(env, new, None).await
}

/// What a settings change did, for the audit trail: `chargeback on`, with its details.
pub(crate) struct SettingsChange {
    pub outcome: String,
    pub detail: Option<String>,
}

/// Changes the member's project atomically (racing changes each apply to the other's result)
/// and audits it. `None`, with the member told so, when the project no longer exists.
pub(crate) async fn change_settings(
    env: &CommandEnv,
    job: &CommandJob,
    member: &Member,
    change: impl Fn(&Project) -> Project,
    audited: impl FnOnce(&Project) -> SettingsChange,
) -> Result<Option<Project>, PortError> {
    let name = &member.project.name;
    let updated = env
        .state
        .update_project(name, |current| {
            let next = change(current);
            Ok::<_, std::convert::Infallible>((next.clone(), next))
        })
        .await?;
    let Updated::Done(project) = updated else {
        env.answer(&job.reply, &job.requester, &message::not_member(name))
            .await?;
        return Ok(None);
    };
    let SettingsChange { outcome, detail } = audited(&project);
    env.state
        .audit(
            name,
            &AuditEvent {
                action: AuditAction::ProjectSettings,
                who: job.requester.identity(),
                institution: member.profile.institution.clone(),
                resource: name.clone(),
                outcome,
                detail,
                at: env.clock.now(),
            },
        )
        .await?;
    Ok(Some(project))
}

/// `project approvers NAME [--add WHO] [--remove WHO]`: the owner names who else decides
/// exception requests; anyone in the project sees the list.
pub(crate) async fn command_project_approvers(
    env: &CommandEnv,
    job: &CommandJob,
    command: &ProjectApprovers,
) -> Result<(), PortError> {
    let changes = !command.add.is_empty() || !command.remove.is_empty();
    let permission = Permission::for_settings(changes);
    let Some(member) = authorize(env, job, Some(&command.name), permission).await? else {
        return Ok(());
    };
    let mut project = member.project.clone();
    if changes {
        let resolve = |people: &[PersonRef]| -> Vec<ChatIdentity> {
            people
                .iter()
                .map(|person| match person {
                    PersonRef::Identity(identity) => identity.clone(),
                    PersonRef::Mention(user) => match job.requester.platform {
                        Platform::Slack => ChatIdentity::slack(&job.requester.team_id, user),
                        Platform::Discord => ChatIdentity::discord(user),
                    },
                })
                .collect()
        };
        let (add, remove) = (resolve(&command.add), resolve(&command.remove));
        let change = |current: &Project| {
            let mut next = current.clone();
            next.approvers.retain(|approver| !remove.contains(approver));
            for approver in &add {
                if !next.approvers.contains(approver) {
                    next.approvers.push(approver.clone());
                }
            }
            next
        };
        let audited = |changed: &Project| SettingsChange {
            outcome: "approvers changed".to_owned(),
            detail: Some(format!(
                "exception approvers: {}",
                changed
                    .approvers
                    .iter()
                    .map(ChatIdentity::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        match change_settings(env, job, &member, change, audited).await? {
            Some(changed) => project = changed,
            None => return Ok(()),
        }
    }
    env.answer(
        &job.reply,
        &job.requester,
        &message::project_approvers(&project),
    )
    .await
}
