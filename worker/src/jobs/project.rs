//! `project create`: the caller becomes the owner, with a profile and research user of their own.

use domain::audit::{AuditAction, AuditEvent};
use domain::command::ProjectCreate;
use domain::identity::Role;
use domain::job::CommandJob;
use domain::message;
use domain::ports::PortError;
use domain::profile::{Collaborator, Profile, research_username};
use domain::project::{Project, ProjectOwner};

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member};
use crate::jobs::profiles::{new_key_pair, send_private_key};
use crate::state::Updated;

pub(crate) async fn command_project_create(
    env: &CommandEnv,
    job: &CommandJob,
    create: &ProjectCreate,
) -> Result<(), PortError> {
    let requester = &job.requester;
    let identity = requester.identity();
    let now = env.clock.now();
    let account = create
        .account
        .as_ref()
        .map(|account| account.as_str().to_owned())
        .unwrap_or_else(|| env.default_account.clone());
    let project = Project::create(
        create,
        ProjectOwner {
            identity: identity.clone(),
            user_id: &requester.user_id,
            user_name: &requester.user_name,
            institution: &requester.team_domain,
            channel_id: &job.reply.channel_id,
        },
        &account,
        now,
    );
    let project = match env.state.create_project(&project).await? {
        Ok(()) => project,
        // A re-run of this very job finds its own project; anyone else finds it taken.
        Err(existing) if existing.owner == identity => existing,
        Err(existing) => {
            let reply = message::project_exists(&existing);
            return env.answer(&job.reply, requester, &reply).await;
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
            let reply = message::profile_name_taken(&existing);
            return env.answer(&job.reply, requester, &reply).await;
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
                detail: None,
                at: now,
            },
        )
        .await?;
    let reply = message::project_created(&project, &profile, &key_sent);
    env.answer(&job.reply, requester, &reply).await
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
