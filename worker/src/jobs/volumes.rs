//! `volume create`: an encrypted EFS file system in the lead account with mount targets, one
//! access point per collaborating account, the resource policy that lets each account mount
//! only through its own access point, and each account's mount policy, created in the account
//! where the worker has a role there (STS AssumeRole) or handed to its IT otherwise.
//!
//! Every step is safe to repeat (creation token, access point keys, policy names), and the
//! volume record is written as the steps complete, so a job run again after a crash continues
//! and never makes a second file system.

use domain::audit::{AuditAction, AuditEvent};
use domain::command::VolumeCreate;
use domain::identity::Permission;
use domain::job::CommandJob;
use domain::launch::TAG_PROJECT;
use domain::message;
use domain::ports::{PortError, PosixIdentity};
use domain::profile::Collaborator;
use domain::project::Project;
use domain::volume::{
    BoundGrant, ResolvedGrant, Volume, VolumeGrant, file_system_policy, mount_policy,
    resolve_grants,
};

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, authorize};
use crate::jobs::expiry::institution_of;

/// On a file system and its access points: the volume's name.
const TAG_VOLUME: &str = "cws:volume";

pub(crate) async fn command_volume_create(
    env: &CommandEnv,
    job: &CommandJob,
    create: &VolumeCreate,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::CreateVolumes).await? else {
        return Ok(());
    };
    let project = &member.project;
    let refuse = |reason: String| async move {
        env.answer(
            &job.reply,
            &job.requester,
            &message::volume_refused(&reason),
        )
        .await
    };
    let grants = match resolve_grants(&create.access, &env.accounts) {
        Ok(grants) => grants,
        Err(unknown) => {
            let known = env.accounts.names();
            return refuse(format!(
                "Nothing was created: {unknown}. Volumes are shared only with configured \
                 accounts ({}).",
                if known.is_empty() {
                    "none: set CWS_ACCOUNTS".to_owned()
                } else {
                    known.join(", ")
                }
            ))
            .await;
        }
    };
    let now = env.clock.now();
    let fresh = Volume {
        name: create.name.clone(),
        project: project.name.clone(),
        size_gb: create.size_gb,
        created_by: job.requester.identity(),
        job: job.key.to_string(),
        created_at: now,
        file_system: None,
        grants: Vec::new(),
    };
    let mut volume = match env.state.create_volume(&fresh).await? {
        Ok(()) => fresh,
        Err(existing) if existing.job == fresh.job => existing,
        Err(existing) => {
            return refuse(format!(
                "A volume named `{}` already exists in {} (created {}). Pick another name.",
                existing.name,
                project.name,
                domain::time_text::date(existing.created_at)
            ))
            .await;
        }
    };
    let tags = vec![
        (TAG_PROJECT.to_owned(), project.name.clone()),
        (TAG_VOLUME.to_owned(), create.name.clone()),
    ];
    let file_system = env
        .file_systems
        .create_file_system(&format!("cws-{}-{}", project.name, create.name), &tags)
        .await?;
    volume.file_system = Some(file_system.clone());
    env.state.put_volume(&volume).await?;
    let mount_targets = env
        .file_systems
        .ensure_mount_targets(&file_system.id)
        .await?;
    let owner = owner_identity(env, project).await?;
    let root = format!("/{}", create.name);
    let mut made = Vec::new();
    for grant in &grants {
        let user = account_identity(env, project, grant).await?;
        let access_point = env
            .file_systems
            .create_access_point(
                &file_system.id,
                &format!("{}:{}:{}", project.name, create.name, grant.account.name),
                user,
                (&root, owner),
                &tags,
            )
            .await?;
        made.push((grant, user, access_point));
    }
    let bound: Vec<BoundGrant<'_>> = made
        .iter()
        .map(|(grant, _, point)| BoundGrant {
            account_id: &grant.account.id,
            access_point_arn: &point.arn,
            mode: grant.mode,
        })
        .collect();
    env.file_systems
        .put_policy(
            &file_system.id,
            &file_system_policy(&file_system.arn, &bound).to_string(),
        )
        .await?;
    let mut volume_grants = Vec::new();
    for (grant, user, access_point) in made {
        let document = mount_policy(&file_system.arn, &access_point.arn, grant.mode).to_string();
        let policy_arn = env
            .account_policies
            .create_policy(
                grant.account,
                &format!("cws-{}-{}-mount", project.name, create.name),
                &document,
            )
            .await?;
        volume_grants.push(VolumeGrant {
            account: grant.account.name.clone(),
            account_id: grant.account.id.clone(),
            mode: grant.mode,
            user,
            access_point,
            policy_arn,
        });
    }
    volume.grants = volume_grants;
    env.state.put_volume(&volume).await?;
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::VolumeCreate,
                who: job.requester.identity(),
                institution: member.profile.institution.clone(),
                resource: create.name.clone(),
                outcome: "created".to_owned(),
                detail: Some(format!(
                    "{} ({} grant(s))",
                    file_system.id,
                    volume.grants.len()
                )),
                at: now,
            },
        )
        .await?;
    let reply = message::volume_created(&volume, &project.institution, mount_targets);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The owner's research user owns each access point's root directory.
async fn owner_identity(env: &CommandEnv, project: &Project) -> Result<PosixIdentity, PortError> {
    let owner = Collaborator::Owner {
        project: project.name.clone(),
    };
    let user = env
        .state
        .research_user(&owner)
        .await?
        .ok_or_else(|| PortError::Rejected {
            code: "NoResearchUser".to_owned(),
            message: format!("{}'s owner has no research user", project.name),
        })?;
    Ok(PosixIdentity {
        uid: user.uid,
        gid: user.gid,
    })
}

/// The identity an account's access point forces: the research user of the first person from
/// that account who joined the project, or, while nobody has (the seed creates volumes before
/// inviting), an identity reserved for the account from the same UID range.
async fn account_identity(
    env: &CommandEnv,
    project: &Project,
    grant: &ResolvedGrant<'_>,
) -> Result<PosixIdentity, PortError> {
    for invitation in env.state.invitations(&project.name).await? {
        if invitation.devices.is_empty() {
            continue;
        }
        let institution = institution_of(env, project, &invitation).await?;
        if !grant.account.belongs_to(&institution) {
            continue;
        }
        if let Some(user) = env
            .state
            .research_user(&Collaborator::Invitation(invitation.id))
            .await?
        {
            return Ok(PosixIdentity {
                uid: user.uid,
                gid: user.gid,
            });
        }
    }
    let uid = env
        .state
        .reserved_uid(
            &project.account,
            &format!("volume-account:{}:{}", project.name, grant.account.name),
        )
        .await?;
    Ok(PosixIdentity { uid, gid: uid })
}
