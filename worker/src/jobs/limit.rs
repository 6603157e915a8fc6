//! Budget enforcement: `project budget` shows and changes it; at every scheduled check, a
//! project whose spend, projected to the next check, reaches its hard limit has its action run
//! on every running workspace (hibernate or stop, never terminate), the channel is told, and
//! the owner gets a DM and an e-mail once a month.

use domain::command::LimitAction;
use domain::command::{ProjectBudget, YearMonth};
use domain::identity::{ChatIdentity, Permission};
use domain::job::CommandJob;
use domain::limit::{limit_reached, projected_spend};
use domain::message::{self, Enforced};
use domain::ports::{InstanceState, PortError};
use domain::project::Project;

use crate::jobs::access::{Context, authorize};
use crate::jobs::policy::budget_position;
use crate::jobs::project::{SettingsChange, change_settings};
use crate::jobs::workspaces::{Change, change_state};
use crate::jobs::{CommandEnv, mail_user};

const JOB: &str = "budget-enforcement";

/// "minute", "5 minutes": how often the checks run, for people.
fn every(check: time::Duration) -> String {
    match check.whole_seconds() {
        60 => "minute".to_owned(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        1 => "second".to_owned(),
        s => format!("{s} seconds"),
    }
}

pub(crate) async fn command_project_budget(
    env: &CommandEnv,
    job: &CommandJob,
    command: &ProjectBudget,
) -> Result<(), PortError> {
    let changes = command.amount.is_some()
        || command.hard_limit.is_some()
        || command.action.is_some()
        || command.lift;
    let permission = Permission::for_settings(changes);
    let Some(member) = authorize(env, job, Some(&command.name), permission).await? else {
        return Ok(());
    };
    let now = env.clock.now();
    let mut project = member.project.clone();
    if changes {
        let month = YearMonth::of(now);
        let change = |current: &Project| {
            let mut next = current.clone();
            if let Some(amount) = command.amount {
                next.monthly_budget = amount.to_money();
            }
            if let Some(limit) = command.hard_limit {
                next.limit.hard_limit = Some(limit.to_money());
            }
            if let Some(action) = command.action {
                next.limit.action = action;
            }
            if command.lift {
                next.limit.lifted_for = Some(month);
            }
            next
        };
        let audited = |changed: &Project| SettingsChange {
            outcome: "budget changed".to_owned(),
            detail: Some(format!(
                "budget {}, hard limit {}, action {}{}",
                changed.monthly_budget,
                changed.limit.threshold(changed.monthly_budget),
                changed.limit.action.as_str(),
                if command.lift {
                    ", lifted for this month"
                } else {
                    ""
                }
            )),
        };
        let Some(changed) = change_settings(env, job, &member, change, audited).await? else {
            return Ok(());
        };
        project = changed;
    }
    let position =
        budget_position(&env.state, &env.launch.offerings.pricing, &project, now).await?;
    let reply = message::project_budget(&project, &position, &every(env.check_every), changes);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// One check: runs the project's action if its limit is reached by the next check.
pub(crate) async fn enforce(env: &CommandEnv, project: &Project) -> Result<(), PortError> {
    let now = env.clock.now();
    let month = YearMonth::of(now);
    let Some(action) = project.limit.acting_in(month) else {
        return Ok(());
    };
    let position = budget_position(&env.state, &env.launch.offerings.pricing, project, now).await?;
    let threshold = project.limit.threshold(project.monthly_budget);
    if !limit_reached(&position, threshold, env.check_every) {
        return Ok(());
    }
    let running: Vec<_> = env
        .launch
        .store
        .all()
        .await?
        .into_iter()
        .filter(|w| w.attribution.project == project.name && w.state == InstanceState::Running)
        .collect();
    let who = ChatIdentity::system(JOB);
    let change = match action {
        LimitAction::HibernateAll => Change::Hibernate,
        LimitAction::StopAll | LimitAction::PreventLaunch => Change::Stop,
    };
    let mut changed = Vec::new();
    for mut workspace in running {
        // Stopped in the console since the record was written: nothing to do.
        let live = env
            .launch
            .live(&workspace)
            .await?
            .map(|status| status.state);
        if !matches!(live, Some(InstanceState::Running | InstanceState::Pending)) {
            continue;
        }
        let institution = workspace.attribution.institution.clone();
        let done = change_state(env, &mut workspace, change, &who, &institution).await?;
        changed.push((workspace, done.verb));
    }
    if changed.is_empty() {
        return Ok(());
    }
    let projected = projected_spend(&position, env.check_every);
    let enforced: Vec<Enforced<'_>> = changed
        .iter()
        .map(|(workspace, verb)| Enforced {
            name: &workspace.name,
            user: &workspace.attribution.user,
            verb,
        })
        .collect();
    tracing::warn!(project = %project.name, workspaces = enforced.len(), "hard limit reached: {}", action.as_str());
    let notice = message::limit_enforced(project, &position, projected, &enforced);
    env.chat.post(&project.channel(), &notice).await?;
    let dm = format!("limit:{}:{month}:dm", project.name);
    if env.state.take_notice(&dm, now).await? {
        env.chat
            .post_direct(&project.owner_user_id, &notice)
            .await?;
        env.state.notice_done(&dm).await?;
    }
    let mail = format!("limit:{}:{month}:mail", project.name);
    if env.state.take_notice(&mail, now).await? {
        let text = message::limit_enforced_mail(project, &position, projected, &enforced);
        mail_user(
            &*env.chat,
            &*env.launch.mailer,
            &project.owner_user_id,
            text,
        )
        .await?;
        env.state.notice_done(&mail).await?;
    }
    Ok(())
}
