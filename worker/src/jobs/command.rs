//! The command queue's entry point: one match from a parsed command to its handler.

use std::sync::Arc;

use apalis_core::error::AbortError;
use apalis_core::task::data::Data;
use apalis_core::task::task_id::TaskId;
use domain::command::{
    AuditCommand, CollaborationCommand, Command, PolicyCommand, PreserveCommand, ProfilesCommand,
    ProjectCommand, TemplatesCommand, VolumeCommand, WorkspaceCommand,
};
use domain::job::{CommandJob, JobKind};
use domain::message;
use domain::ports::PortError;

use crate::jobs::access::Context;
use crate::jobs::ops_channel::OpsChannel;
use crate::jobs::workspaces::{self, Change};
use crate::jobs::{
    CommandEnv, archive, audit, chargeback, collaboration, cost, idle, invitations, limit, policy,
    preserve, profiles, project, run_to_end, templates, verification, volumes,
};

pub(crate) async fn job_command(
    job: CommandJob,
    env: Data<Arc<CommandEnv>>,
    dead_letters: Data<Arc<OpsChannel>>,
    id: Option<TaskId>,
) -> Result<(), AbortError> {
    let env = &**env;
    let run = run_to_end(
        env,
        &job.key,
        &job.reply,
        &job.requester.user_id,
        job.command.name(),
        || dispatch(env, &job),
    );
    let result = env
        .launch
        .metrics
        .observe(CommandJob::NAME, job.key.as_str(), run)
        .await;
    dead_letters
        .announced(CommandJob::NAME, &job.key, id, result)
        .await
}

async fn dispatch(env: &CommandEnv, job: &CommandJob) -> Result<(), PortError> {
    match &job.command {
        Command::Workspace(command) => workspace(env, job, command).await,
        Command::Project(ProjectCommand::Create(create)) => {
            project::command_project_create(env, job, create).await
        }
        Command::Project(ProjectCommand::Cost(report)) => {
            cost::command_project_cost(env, job, report).await
        }
        Command::Project(ProjectCommand::Status(status)) => {
            cost::command_project_status(env, job, status).await
        }
        Command::Project(ProjectCommand::Chargeback(command)) => {
            chargeback::command_project_chargeback(env, job, command).await
        }
        Command::Project(ProjectCommand::Reconcile(command)) => {
            chargeback::command_project_reconcile(env, job, command).await
        }
        Command::Project(ProjectCommand::Budget(command)) => {
            limit::command_project_budget(env, job, command).await
        }
        Command::Project(ProjectCommand::Idle(command)) => {
            idle::command_project_idle(env, job, command).await
        }
        Command::Project(ProjectCommand::Approvers(command)) => {
            project::command_project_approvers(env, job, command).await
        }
        Command::Project(ProjectCommand::Archive { name }) => {
            archive::command_project_archive(env, job, name).await
        }
        Command::Templates(TemplatesCommand::ListForProfile) => {
            policy::command_templates_for_profile(env, job).await
        }
        Command::Templates(TemplatesCommand::List) => {
            templates::command_templates_list(env, job).await
        }
        Command::Templates(TemplatesCommand::Show { template }) => {
            templates::command_templates_show(env, job, template).await
        }
        Command::Templates(TemplatesCommand::Propose { file }) => {
            templates::command_templates_propose(env, job, file).await
        }
        Command::Profiles(ProfilesCommand::Use { profile }) => {
            profiles::command_profiles_use(env, job, profile).await
        }
        Command::Profiles(ProfilesCommand::List) => profiles::command_profiles_list(env, job).await,
        Command::Profiles(ProfilesCommand::Verify) => {
            verification::command_profiles_verify(env, job).await
        }
        Command::Profiles(ProfilesCommand::InvitationCreate(create)) => {
            invitations::command_invitation_create(env, job, create).await
        }
        Command::Profiles(ProfilesCommand::InvitationCreateCollaboration(create)) => {
            invitations::command_invitation_create_collaboration(env, job, create).await
        }
        Command::Profiles(ProfilesCommand::InvitationAccept { token, profile }) => {
            invitations::command_invitation_accept(env, job, token, profile).await
        }
        Command::Profiles(ProfilesCommand::InvitationList) => {
            invitations::command_invitation_list(env, job).await
        }
        Command::Profiles(ProfilesCommand::InvitationRevoke { name }) => {
            invitations::command_invitation_revoke(env, job, name).await
        }
        Command::Profiles(ProfilesCommand::InvitationExtend { name, valid_days }) => {
            invitations::command_invitation_extend(env, job, name, *valid_days).await
        }
        Command::Profiles(ProfilesCommand::SshKeyAdd { key }) => {
            profiles::command_ssh_key_add(env, job, key).await
        }
        Command::Profiles(ProfilesCommand::SshKeyRotate) => {
            profiles::command_ssh_key_rotate(env, job).await
        }
        Command::Policy(PolicyCommand::Show) => policy::command_policy_show(env, job).await,
        Command::Policy(PolicyCommand::Test(launch)) => {
            policy::command_policy_test(env, job, launch).await
        }
        Command::Collaboration(CollaborationCommand::End(end)) => {
            collaboration::command_end(env, job, end).await
        }
        Command::Collaboration(CollaborationCommand::Export(export)) => {
            collaboration::command_export(env, job, export).await
        }
        Command::Collaboration(CollaborationCommand::Report(report)) => {
            collaboration::command_report(env, job, report).await
        }
        Command::Collaboration(CollaborationCommand::TransferSnapshots { profile, account }) => {
            collaboration::command_transfer_snapshots(env, job, profile, account).await
        }
        Command::Volume(VolumeCommand::Create(create)) => {
            volumes::command_volume_create(env, job, create).await
        }
        Command::Volume(VolumeCommand::Mount {
            volume,
            workspace,
            mode,
        }) => volumes::command_volume_mount(env, job, volume, workspace, *mode).await,
        Command::Volume(VolumeCommand::List) => volumes::command_volume_list(env, job).await,
        Command::Volume(VolumeCommand::Status { name }) => {
            volumes::command_volume_status(env, job, name).await
        }
        Command::Volume(VolumeCommand::Homes { name }) => {
            volumes::command_volume_homes(env, job, name).await
        }
        Command::Preserve(command) => preserve(env, job, command).await,
        Command::Audit(AuditCommand::Verify { project }) => {
            audit::command_audit_verify(env, job, project).await
        }
        Command::Audit(AuditCommand::Collaboration(report)) => {
            audit::command_audit_collaboration(env, job, report).await
        }
        // Queued by an older or newer bot: answer as the bot would, never drop it silently.
        other => {
            env.answer(
                &job.reply,
                &job.requester,
                &message::not_available(other.name()),
            )
            .await
        }
    }
}

async fn workspace(
    env: &CommandEnv,
    job: &CommandJob,
    command: &WorkspaceCommand,
) -> Result<(), PortError> {
    match command {
        WorkspaceCommand::List(list) => workspaces::command_list(env, job, list).await,
        WorkspaceCommand::Status { name } => {
            workspaces::command_status(env, job, name.as_str()).await
        }
        WorkspaceCommand::Ssh { name } => {
            workspaces::command_connect(env, job, name.as_str()).await
        }
        WorkspaceCommand::Start { name } | WorkspaceCommand::Resume { name } => {
            workspaces::command_change(env, job, name.as_str(), Change::Start).await
        }
        WorkspaceCommand::Stop { name } => {
            workspaces::command_change(env, job, name.as_str(), Change::Stop).await
        }
        WorkspaceCommand::Hibernate { name } => {
            workspaces::command_change(env, job, name.as_str(), Change::Hibernate).await
        }
        WorkspaceCommand::Terminate { name } => {
            workspaces::command_terminate(env, job, name.as_str()).await
        }
    }
}

async fn preserve(
    env: &CommandEnv,
    job: &CommandJob,
    command: &PreserveCommand,
) -> Result<(), PortError> {
    match command {
        PreserveCommand::SnapshotCreate { workspace, name } => {
            preserve::command_snapshot_create(env, job, workspace, name).await
        }
        PreserveCommand::SnapshotList { workspace } => {
            preserve::command_snapshot_list(env, job, workspace.as_deref()).await
        }
        PreserveCommand::SnapshotDelete { name } => {
            preserve::command_snapshot_delete(env, job, name).await
        }
        PreserveCommand::Transfer { workspace, account } => {
            preserve::command_transfer(env, job, workspace, account).await
        }
        PreserveCommand::Download { workspace, path } => {
            preserve::command_download(env, job, workspace, path.as_ref()).await
        }
    }
}
