//! Chargeback and the bill: `project chargeback` turns monthly statements on or off, or writes
//! one now; when a month closes, every project with chargeback on gets its statement (a CSV,
//! one row per user and institution) in S3 and a link in its channel, exactly once; and
//! `project reconcile` sets the ledger beside AWS Cost Explorer.

use domain::audit::{AuditAction, AuditEvent};
use domain::budget::month_bounds;
use domain::chargeback::{Chargeback, reconcile, statement_csv, statement_key};
use domain::command::{ChargebackMode, ProjectChargeback, ProjectReconcile, YearMonth};
use domain::identity::{ChatIdentity, Permission};
use domain::job::{CommandJob, ReplyTo};
use domain::message::{self, Statement};
use domain::ports::PortError;
use domain::project::Project;

use crate::jobs::access::{Context, authorize};
use crate::jobs::cost::month_report;
use crate::jobs::project::{SettingsChange, change_settings};
use crate::jobs::{CommandEnv, LINK_VALID};

pub(crate) async fn command_project_chargeback(
    env: &CommandEnv,
    job: &CommandJob,
    command: &ProjectChargeback,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, Some(&command.name), Permission::ManageProject).await?
    else {
        return Ok(());
    };
    let mut project = member.project.clone();
    if let Some(enable) = command.enable {
        let change = |current: &Project| {
            let mut next = current.clone();
            next.chargeback = enable.then(|| Chargeback {
                mode: command
                    .mode
                    .or(current.chargeback.as_ref().map(|c| c.mode))
                    .unwrap_or(ChargebackMode::Report),
                accounts: if command.accounts.is_empty() {
                    current
                        .chargeback
                        .as_ref()
                        .map(|c| c.accounts.clone())
                        .unwrap_or_default()
                } else {
                    command.accounts.clone()
                },
            });
            next
        };
        let audited = |changed: &Project| SettingsChange {
            outcome: if enable {
                "chargeback on"
            } else {
                "chargeback off"
            }
            .to_owned(),
            detail: changed
                .chargeback
                .as_ref()
                .map(|c| format!("{:?} mode", c.mode).to_lowercase()),
        };
        let Some(changed) = change_settings(env, job, &member, change, audited).await? else {
            return Ok(());
        };
        project = changed;
        let reply = message::chargeback_enabled(
            &project.name,
            &project.account,
            project.chargeback.as_ref(),
        );
        env.answer(&job.reply, &job.requester, &reply).await?;
    }
    if let Some(month) = command.month {
        if project.chargeback.is_none() {
            let reply = message::chargeback_not_enabled(&project.name);
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
        write_statement(env, &project, month, &job.reply).await?;
    }
    Ok(())
}

/// Writes the month's statement to the object store and posts its link in `channel`.
async fn write_statement(
    env: &CommandEnv,
    project: &Project,
    month: YearMonth,
    channel: &ReplyTo,
) -> Result<(), PortError> {
    let Some(chargeback) = &project.chargeback else {
        return Ok(());
    };
    let now = env.clock.now();
    let report = month_report(
        &env.state,
        &env.launch.offerings.pricing,
        project,
        month,
        now,
    )
    .await?;
    let csv = statement_csv(&project.name, &project.account, month, &report, chargeback);
    let key = statement_key(&project.name, month);
    let link = env
        .objects
        .put(&key, csv.into_bytes(), "text/csv", LINK_VALID)
        .await?;
    let post = message::chargeback_statement(
        &Statement {
            project: &project.name,
            project_account: &project.account,
            month,
            partial: month_bounds(month.first_instant()).1 > now,
            key: &key,
            link: &link,
            valid_days: LINK_VALID.as_secs() / 86_400,
        },
        &report,
        chargeback,
    );
    env.chat.post(channel, &post).await?;
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::Notice,
                who: ChatIdentity::system("chargeback"),
                institution: project.institution.clone(),
                resource: key,
                outcome: "statement written".to_owned(),
                detail: Some(format!("{} for {month}", report.total)),
                at: now,
            },
        )
        .await
}

/// When a month has closed: its statement, once, for a project with chargeback on.
pub(crate) async fn close_month(env: &CommandEnv, project: &Project) -> Result<(), PortError> {
    if project.chargeback.is_none() {
        return Ok(());
    }
    let now = env.clock.now();
    let closed = YearMonth::of(now).previous();
    if month_bounds(closed.first_instant()).1 <= project.created_at {
        return Ok(());
    }
    let key = format!("chargeback:{}:{closed}", project.name);
    if !env.state.take_notice(&key, now).await? {
        return Ok(());
    }
    write_statement(env, project, closed, &project.channel()).await?;
    env.state.notice_done(&key).await
}

pub(crate) async fn command_project_reconcile(
    env: &CommandEnv,
    job: &CommandJob,
    command: &ProjectReconcile,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, Some(&command.name), Permission::View).await? else {
        return Ok(());
    };
    let project = &member.project;
    let now = env.clock.now();
    let month = command.month.unwrap_or_else(|| YearMonth::of(now));
    let report = month_report(
        &env.state,
        &env.launch.offerings.pricing,
        project,
        month,
        now,
    )
    .await?;
    let (start, end) = month_bounds(month.first_instant());
    let billed = env
        .billing
        .cost_by_user(&project.name, start.date(), end.date())
        .await?;
    let reply = message::project_reconcile(&project.name, month, &reconcile(&report, &billed));
    env.answer(&job.reply, &job.requester, &reply).await
}
