//! `volume create`: an encrypted EFS file system in the lead account with mount targets, one
//! access point per collaborating account, the resource policy that lets each account mount
//! only through its own access point, and each account's mount policy, created in the account
//! where the worker has a role there (STS AssumeRole) or handed to its IT otherwise.
//!
//! Every step is safe to repeat (creation token, access point keys, policy names), and the
//! volume record is written as the steps complete, so a job run again after a crash continues
//! and never makes a second file system.
//!
//! `volume mount`: runs the mount script on the running workspace through the instance
//! commands port (SSM Run Command), through the access point of the caller's account, in the
//! mode its grant allows; the lead's own people mount read-write through the lead's access
//! point, made at the first such mount. `volume list` and `volume status` show mounts per
//! institution.
//!
//! `volume homes`: names the volume research users' homes live on; each launch then mounts the
//! user's own access point on it as their home (`jobs/launch.rs`).

use domain::audit::{AuditAction, AuditEvent};
use domain::command::{AccessMode, VolumeCreate, WorkspaceName};
use domain::identity::Permission;
use domain::job::CommandJob;
use domain::launch::TAG_PROJECT;
use domain::message;
use domain::ports::{
    AccessPoint, AccessPointRoot, InstanceState, PortError, PosixIdentity, ScriptOutcome,
};
use domain::profile::Collaborator;
use domain::project::Project;
use domain::volume::{
    BoundGrant, ResolvedGrant, SHARED_ROOT_PERMISSIONS, Volume, VolumeGrant, VolumeMount,
    file_system_policy, mount_mode, mount_policy, mount_script, nearest_mount_target,
    resolve_grants,
};

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, audit_member, authorize};
use crate::jobs::expiry::institution_of;
use crate::jobs::workspaces::workspace_for;

/// On a file system and its access points: the volume's name.
pub(crate) const TAG_VOLUME: &str = "cws:volume";

pub(crate) async fn command_volume_create(
    env: &CommandEnv,
    job: &CommandJob,
    create: &VolumeCreate,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::CreateVolumes).await? else {
        return Ok(());
    };
    let project = &member.project;
    let grants = match resolve_grants(&create.access, &env.accounts) {
        Ok(grants) => grants,
        Err(unknown) => {
            let known = env.accounts.names();
            return refuse(
                env,
                job,
                format!(
                    "Nothing was created: {unknown}. Volumes are shared only with configured \
                     accounts ({}).",
                    if known.is_empty() {
                        "none: set CWS_ACCOUNTS".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            )
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
        lead_access_point: None,
    };
    let mut volume = match env.state.create_volume(&fresh).await? {
        Ok(()) => fresh,
        Err(existing) if existing.job == fresh.job => existing,
        Err(existing) => {
            return refuse(
                env,
                job,
                format!(
                    "A volume named `{}` already exists in {} (created {}). Pick another name.",
                    existing.name,
                    project.name,
                    domain::time_text::date(existing.created_at)
                ),
            )
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
    let root = access_point_root(&create.name);
    let mut made = Vec::new();
    for grant in &grants {
        let user = account_identity(env, project, grant).await?;
        let access_point = env
            .file_systems
            .create_access_point(
                &file_system.id,
                &access_point_key(project, &create.name, &grant.account.name),
                user,
                AccessPointRoot {
                    path: &root,
                    owner,
                    permissions: SHARED_ROOT_PERMISSIONS,
                },
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

async fn refuse(env: &CommandEnv, job: &CommandJob, reason: String) -> Result<(), PortError> {
    env.answer(
        &job.reply,
        &job.requester,
        &message::volume_refused(&reason),
    )
    .await
}

fn no_such_volume(project: &Project, name: &str) -> String {
    format!(
        "{} has no volume named `{name}`: `/cws volume list` shows its volumes.",
        project.name
    )
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

/// Every access point of a volume is rooted at `/NAME`, so all accounts see the same tree.
fn access_point_root(volume: &str) -> String {
    format!("/{volume}")
}

/// The key an access point is made once for: per project, volume and account.
fn access_point_key(project: &Project, volume: &str, account: &str) -> String {
    format!("{}:{volume}:{account}", project.name)
}

pub(crate) async fn command_volume_mount(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
    workspace: &WorkspaceName,
    wanted: Option<AccessMode>,
) -> Result<(), PortError> {
    let Some((workspace, member)) = workspace_for(
        env,
        job,
        workspace.as_str(),
        Permission::MountVolumes,
        Permission::ManageAnyWorkspace,
    )
    .await?
    else {
        return Ok(());
    };
    let project = &member.project;
    if !member.profile.role.may(Permission::MountVolumes) {
        let refusal =
            message::not_permitted(member.profile.role, Permission::MountVolumes, project);
        return env.answer(&job.reply, &job.requester, &refusal).await;
    }
    if let Some(reason) = workspace.platform.no_commands() {
        let reply = message::workspace_refused(&workspace.name, "mount a volume on", reason);
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let Some(mut volume) = env.state.volume(&project.name, name).await? else {
        return refuse(env, job, no_such_volume(project, name)).await;
    };
    let Some(file_system) = volume.file_system.clone() else {
        return refuse(
            env,
            job,
            format!("`{name}` is still being created; mount it once `volume create` has answered."),
        )
        .await;
    };
    let institution = member.grant_institution();
    let is_lead = institution == project.institution;
    let grants: Vec<_> = volume
        .grants
        .iter()
        .filter_map(|grant| Some((env.accounts.named(&grant.account)?, grant.mode)))
        .collect();
    let mode = match mount_mode(name, &grants, &institution, is_lead, wanted) {
        Ok(mode) => mode,
        Err(refusal) => {
            audit_member(
                env,
                job,
                &member,
                name,
                AuditAction::VolumeMount,
                "refused",
                format!("{refusal} (workspace {})", workspace.name),
            )
            .await?;
            return refuse(env, job, format!("Not mounted: {refusal}.")).await;
        }
    };
    let live = env.launch.live(&workspace).await?;
    let state = live
        .as_ref()
        .map_or(InstanceState::Terminated, |live| live.state);
    if state != InstanceState::Running {
        return refuse(
            env,
            job,
            format!(
                "{} is {}: a volume is mounted on a running workspace. \
             `/cws start {}`, then mount again.",
                workspace.name,
                message::state_name(state),
                workspace.name
            ),
        )
        .await;
    }
    let access_point = if is_lead {
        lead_access_point(env, project, &mut volume, &file_system.id).await?
    } else {
        let grant = volume
            .grants
            .iter()
            .find(|grant| {
                env.accounts
                    .named(&grant.account)
                    .is_some_and(|account| account.belongs_to(&institution))
            })
            .expect("mount_mode found this institution's grant");
        grant.access_point.clone()
    };
    // A workspace in the collaborator's own account cannot resolve the file system's name.
    let mount_target_ip = match workspace.account {
        None => None,
        Some(_) => {
            let targets = env.file_systems.mount_targets(&file_system.id).await?;
            let zone = live.as_ref().and_then(|live| live.zone_id.as_deref());
            let Some(target) = nearest_mount_target(&targets, zone) else {
                return refuse(
                    env,
                    job,
                    format!("`{name}` has no mount target to connect to yet."),
                )
                .await;
            };
            Some(target.ip_address.clone())
        }
    };
    let script = mount_script(
        name,
        &file_system.id,
        &access_point.id,
        mode,
        mount_target_ip.as_deref(),
        env.launch
            .catalog()
            .await?
            .efs_utils(&workspace.template)
            .as_ref(),
    );
    let run = env
        .launch
        .commands_of(&workspace)
        .await?
        .run_script(
            &workspace.instance_id,
            &format!(
                "cws volume mount {name} {} ({})",
                workspace.name, project.name
            ),
            &script,
        )
        .await?;
    if let ScriptOutcome::Failed { status, output } = &run.outcome {
        audit_member(
            env,
            job,
            &member,
            name,
            AuditAction::VolumeMount,
            "failed",
            format!("{} on {}: {status}", run.command_id, workspace.name),
        )
        .await?;
        let reply =
            message::volume_mount_failed(name, &workspace.name, status, output, &run.command_id);
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let mount = VolumeMount {
        volume: name.to_owned(),
        workspace: workspace.name.clone(),
        instance_id: workspace.instance_id.clone(),
        institution,
        mode,
        by: job.requester.identity(),
        at: env.clock.now(),
        command_id: run.command_id.clone(),
    };
    env.state.put_mount(&project.name, &mount).await?;
    audit_member(
        env,
        job,
        &member,
        name,
        AuditAction::VolumeMount,
        "mounted",
        format!(
            "{} {:?} through {} ({})",
            workspace.name, mode, access_point.id, run.command_id
        ),
    )
    .await?;
    let reply = message::volume_mounted(&volume, &mount, !is_lead);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The lead account's access point, made at its first mount: the owner's identity, so files
/// the lead's people write belong to the project as the collaborators' do.
async fn lead_access_point(
    env: &CommandEnv,
    project: &Project,
    volume: &mut Volume,
    file_system_id: &str,
) -> Result<AccessPoint, PortError> {
    if let Some(point) = &volume.lead_access_point {
        return Ok(point.clone());
    }
    let owner = owner_identity(env, project).await?;
    let point = env
        .file_systems
        .create_access_point(
            file_system_id,
            &access_point_key(project, &volume.name, &project.account),
            owner,
            AccessPointRoot {
                path: &access_point_root(&volume.name),
                owner,
                permissions: SHARED_ROOT_PERMISSIONS,
            },
            &[
                (TAG_PROJECT.to_owned(), project.name.clone()),
                (TAG_VOLUME.to_owned(), volume.name.clone()),
            ],
        )
        .await?;
    volume.lead_access_point = Some(point.clone());
    env.state.put_volume(volume).await?;
    Ok(point)
}

/// `volume homes NAME`: owners and admins name a created volume of the project as the one
/// research users' homes live on; launches from then on mount each user's own home from it.
pub(crate) async fn command_volume_homes(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::CreateVolumes).await? else {
        return Ok(());
    };
    let project = &member.project;
    let Some(volume) = env.state.volume(&project.name, name).await? else {
        return refuse(env, job, no_such_volume(project, name)).await;
    };
    if volume.file_system.is_none() {
        return refuse(
            env,
            job,
            format!("`{name}` is still being created; name it for homes once `volume create` has answered."),
        )
        .await;
    }
    let previous = env
        .state
        .homes_volume(&project.name)
        .await?
        .map(|previous| previous.name)
        .filter(|previous| previous != name);
    env.state.set_homes_volume(&project.name, name).await?;
    audit_member(
        env,
        job,
        &member,
        name,
        AuditAction::ProjectSettings,
        "homes volume",
        match &previous {
            Some(previous) => format!("research users' homes on {name} instead of {previous}"),
            None => format!("research users' homes on {name}"),
        },
    )
    .await?;
    let reply = message::volume_homes_set(&project.name, name, previous.as_deref());
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `volume list`: the active project's volumes with their mounts.
pub(crate) async fn command_volume_list(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::View).await? else {
        return Ok(());
    };
    let project = &member.project.name;
    let volumes = env.state.volumes_with_mounts(project).await?;
    let reply = message::volume_list(project, &volumes);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `volume status NAME`: who may mount it, and its mounts per institution.
pub(crate) async fn command_volume_status(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::View).await? else {
        return Ok(());
    };
    let project = &member.project;
    let Some(volume) = env.state.volume(&project.name, name).await? else {
        return refuse(env, job, no_such_volume(project, name)).await;
    };
    let mounts = env.state.mounts(&project.name, name).await?;
    let reply = message::volume_status(&volume, &mounts, &project.institution);
    env.answer(&job.reply, &job.requester, &reply).await
}
