//! The weekly digest: at the configured time in each project's time zone, a channel post and
//! an e-mail to the owner with the week's spend by collaborator and institution, the budget
//! position and the top workspaces, and Cost Explorer's figures beside the ledger's when it
//! has any. Exactly one per project per week: each is a notice taken by one worker.

use domain::audit::{AuditAction, AuditEvent};
use domain::chargeback::{Reconciled, reconcile};
use domain::digest::{last_due, local_date, weekly_digest};
use domain::identity::ChatIdentity;
use domain::message;
use domain::ports::PortError;
use domain::project::Project;

use crate::jobs::policy::budget_position;
use crate::jobs::{CommandEnv, mail_user};

const JOB: &str = "weekly-digest";

/// Sends the project's digest if its latest digest time has passed and it has not gone out.
/// Only the latest: a worker that was down for weeks sends one digest, not a backlog.
pub(crate) async fn send_if_due(env: &CommandEnv, project: &Project) -> Result<(), PortError> {
    let now = env.clock.now();
    let zone = project.zone();
    let due = last_due(now, &zone, env.digest_at);
    if due <= project.created_at {
        return Ok(());
    }
    let week = local_date(due, &zone);
    let post_key = format!("digest:{}:{week}:post", project.name);
    let mail_key = format!("digest:{}:{week}:mail", project.name);
    let post = env.state.take_notice(&post_key, now).await?;
    let mail = env.state.take_notice(&mail_key, now).await?;
    if !post && !mail {
        return Ok(());
    }
    let events = env.state.ledger(&project.name).await?;
    let pricing = &env.launch.offerings.pricing;
    let budget = budget_position(&env.state, &env.launch.offerings.pricing, project, now).await?;
    let digest = weekly_digest(&events, due, budget, |region| {
        pricing.ebs_gb_month(region).unwrap_or_default()
    });
    let billed = billed(env, project, &digest.week, digest.from.date(), due.date()).await;
    if post {
        env.chat
            .post(
                &project.channel(),
                &message::weekly_digest(project, &digest, &billed),
            )
            .await?;
        env.state.notice_done(&post_key).await?;
        audit(env, project, "posted in the channel", &week.to_string()).await?;
    }
    if mail {
        let text = message::weekly_digest_mail(project, &digest, &billed);
        if mail_user(
            &*env.chat,
            &*env.launch.mailer,
            &project.owner_user_id,
            text,
        )
        .await?
        {
            audit(env, project, "sent by e-mail", &week.to_string()).await?;
        }
        env.state.notice_done(&mail_key).await?;
    }
    Ok(())
}

/// Cost Explorer's figures for the week, matched to the ledger's; empty when it has none or
/// cannot be reached (the digest goes out with the ledger alone rather than not at all).
async fn billed(
    env: &CommandEnv,
    project: &Project,
    week: &domain::ledger::CostReport,
    from: time::Date,
    to: time::Date,
) -> Vec<Reconciled> {
    match env.billing.cost_by_user(&project.name, from, to).await {
        Ok(billed) if !billed.is_empty() => reconcile(week, &billed),
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(project = %project.name, %error, "Cost Explorer unavailable; the digest shows the ledger only");
            Vec::new()
        }
    }
}

async fn audit(
    env: &CommandEnv,
    project: &Project,
    outcome: &str,
    week: &str,
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
                detail: Some(format!("weekly digest of the week ending {week}")),
                at: env.clock.now(),
            },
        )
        .await
}
