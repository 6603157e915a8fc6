//! Budget alerts: when a project's commitment for the month (spent, plus what the running
//! workspaces cost by its end) reaches the project's alert threshold or its whole budget, the
//! owner gets a DM and an e-mail, once per threshold per month however many launches and
//! workers notice it at the same moment.

use domain::alert::{ThresholdReached, thresholds_reached};
use domain::audit::{AuditAction, AuditEvent};
use domain::command::YearMonth;
use domain::identity::ChatIdentity;
use domain::job::LaunchJob;
use domain::message;
use domain::ports::PortError;
use domain::project::Project;

use crate::jobs::launch::LaunchEnv;
use crate::jobs::mail_user;
use crate::jobs::policy::budget_position;

const JOB: &str = "budget-alert";

/// After a launch: the project it went to may have crossed a threshold.
pub(crate) async fn after_launch(env: &LaunchEnv, job: &LaunchJob) -> Result<(), PortError> {
    let Some(workspace) = env.store.by_job(&job.key).await? else {
        return Ok(());
    };
    match env.state.project(&workspace.attribution.project).await? {
        Some(project) => check_budget(env, &project).await,
        None => Ok(()),
    }
}

fn notice_key(project: &Project, month: YearMonth, reached: ThresholdReached, by: &str) -> String {
    format!("budget:{}:{month}:{}:{by}", project.name, reached.percent)
}

/// Sends the alert for the highest threshold reached and not yet alerted this month. Lower
/// thresholds reached at the same time are settled by it: nobody needs "75 %" after "100 %".
pub(crate) async fn check_budget(env: &LaunchEnv, project: &Project) -> Result<(), PortError> {
    let now = env.clock.now();
    let position = budget_position(&env.state, &env.offerings.pricing, project, now).await?;
    let reached = thresholds_reached(&position, project.alert_threshold);
    let Some((&highest, lower)) = reached.split_first() else {
        return Ok(());
    };
    let month = YearMonth::of(now);
    for &threshold in lower {
        for by in ["dm", "mail"] {
            env.state
                .notice_done(&notice_key(project, month, threshold, by))
                .await?;
        }
    }
    let dm = notice_key(project, month, highest, "dm");
    if env.state.take_notice(&dm, now).await? {
        let alert = message::budget_alert(project, month, highest, &position);
        env.chat.post_direct(&project.owner_user_id, &alert).await?;
        env.state.notice_done(&dm).await?;
        audit_alert(env, project, highest, "sent by DM").await?;
    }
    let mail = notice_key(project, month, highest, "mail");
    if env.state.take_notice(&mail, now).await? {
        let text = message::budget_alert_mail(project, month, highest, &position);
        if mail_user(&*env.chat, &*env.mailer, &project.owner_user_id, text).await? {
            audit_alert(env, project, highest, "sent by e-mail").await?;
        }
        env.state.notice_done(&mail).await?;
    }
    Ok(())
}

async fn audit_alert(
    env: &LaunchEnv,
    project: &Project,
    reached: ThresholdReached,
    outcome: &str,
) -> Result<(), PortError> {
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::Notice,
                who: ChatIdentity::system(JOB),
                institution: project.institution.clone(),
                resource: project.name.clone(),
                outcome: outcome.to_owned(),
                detail: Some(format!("budget alert at {}%", reached.percent)),
                at: env.clock.now(),
            },
        )
        .await
}
