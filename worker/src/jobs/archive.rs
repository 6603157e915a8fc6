//! `project archive NAME`: the owner makes a finished project read-only (seed 000's last
//! step). What that refuses is [`Project::grants`], checked by `authorize` for every member;
//! starting a stopped workspace is refused where it happens. Nothing is stopped or deleted:
//! the reply names what still runs, and the owner decides.

use domain::audit::AuditAction;
use domain::identity::Permission;
use domain::job::CommandJob;
use domain::message;
use domain::ports::{InstanceState, PortError};
use domain::project::Project;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, audit_member, authorize};

pub(crate) async fn command_project_archive(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    // Only the owner may end the collaboration; archiving ends the project's life.
    let Some(member) = authorize(env, job, Some(name), Permission::EndCollaboration).await? else {
        return Ok(());
    };
    let already = member.project.archived_at.is_some();
    if !already {
        let now = env.clock.now();
        env.state
            .update_project(name, |current: &Project| {
                let mut next = current.clone();
                next.archived_at = current.archived_at.or(Some(now));
                Ok::<_, ()>((next, ()))
            })
            .await?;
        audit_member(
            env,
            job,
            &member,
            name,
            AuditAction::ProjectSettings,
            "archived",
            "read-only: no launch, start, invitation, extension, volume, mount or exception"
                .to_owned(),
        )
        .await?;
    }
    let project = env.state.project(name).await?.unwrap_or(member.project);
    let running: Vec<String> = env
        .launch
        .store
        .all()
        .await?
        .into_iter()
        .filter(|w| w.attribution.project == project.name)
        .filter(|w| matches!(w.state, InstanceState::Running | InstanceState::Pending))
        .map(|w| w.name.to_string())
        .collect();
    let reply = message::project_archived(&project, &running, already);
    env.answer(&job.reply, &job.requester, &reply).await
}
