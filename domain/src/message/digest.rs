//! The weekly digest: a channel post and an e-mail to the project owner.

use serde_json::{Value, json};

use super::cost::institution_rows;
use super::mail::{MailText, render_mail};
use super::{ChatMessage, render_for_both};
use crate::alert::percent_committed;
use crate::budget::Runway;
use crate::chargeback::Reconciled;
use crate::digest::WeeklyDigest;
use crate::project::Project;
use crate::time_text;

fn digest_data(project: &Project, digest: &WeeklyDigest, billed: &[Reconciled]) -> Value {
    let week = &digest.week;
    let user_cents = week.user_cents();
    let users: Vec<Value> = week
        .by_user
        .iter()
        .zip(user_cents)
        .map(|(row, cost)| {
            json!({
                "user": row.user,
                "institution": row.institution,
                "hours": format!("{}h", row.hours),
                "cost": cost.to_string(),
            })
        })
        .collect();
    let top: Vec<Value> = digest
        .top
        .iter()
        .map(|usage| {
            json!({
                "workspace": usage.workspace,
                "rate": usage.hourly.display_rate(),
                "user": usage.user,
                "cost": usage.cost().to_string(),
            })
        })
        .collect();
    let billed: Vec<Value> = billed
        .iter()
        .map(|row| {
            json!({
                "user": row.user,
                "ledger": row.ledger.to_string(),
                "aws": row.billed.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                "difference": row.difference().to_string(),
            })
        })
        .collect();
    let until = match digest.budget.runway() {
        Runway::Until(at) => Some(time_text::date(at)),
        _ => None,
    };
    json!({
        "project": project.name,
        "owner_name": project.owner_name,
        "from": time_text::date(digest.from),
        "to": time_text::date(digest.to),
        "total": week.total.to_string(),
        "hours": week.compute_hours,
        "budget": digest.budget.monthly_budget.to_string(),
        "month_spent": digest.budget.spent.to_string(),
        "percent": percent_committed(&digest.budget).map(|p| format!("{p}%")),
        "burn": digest.budget.burn_hourly.display_rate(),
        "until": until,
        "users": users,
        "institutions": institution_rows(week),
        "top": top,
        "billed": billed,
    })
}

/// The channel's weekly post; `billed` is empty when Cost Explorer has no data.
pub fn weekly_digest(
    project: &Project,
    digest: &WeeklyDigest,
    billed: &[Reconciled],
) -> ChatMessage {
    render_for_both("weekly_digest", &digest_data(project, digest, billed))
}

/// The owner's weekly e-mail, with the same figures.
pub fn weekly_digest_mail(
    project: &Project,
    digest: &WeeklyDigest,
    billed: &[Reconciled],
) -> MailText {
    render_mail("weekly_digest", &digest_data(project, digest, billed))
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::BudgetPosition;
    use crate::digest::weekly_digest as digest_of;
    use crate::identity::ChatIdentity;
    use crate::ledger::{LedgerEvent, LedgerEventKind};
    use crate::ports::BilledCost;
    use crate::pricing::Money;

    pub(crate) fn project() -> Project {
        Project {
            name: "nih".into(),
            owner: ChatIdentity::slack("T1", "USMITH"),
            owner_user_id: "USMITH".into(),
            owner_name: "Dr. Smith".into(),
            institution: "stanford".into(),
            monthly_budget: Money::from_cents(500_000),
            description: None,
            alert_threshold: 75,
            kind: None,
            duration: None,
            account: "111111111111".into(),
            channel_id: "C1".into(),
            created_at: datetime!(2026-01-01 00:00 UTC),
            time_zone: None,
            chargeback: None,
            limit: Default::default(),
            idle: None,
            collaboration_end: None,
            approvers: Vec::new(),
            archived_at: None,
        }
    }

    fn launched(workspace: &str, user: &str, institution: &str, hourly: &str) -> LedgerEvent {
        LedgerEvent {
            at: datetime!(2026-11-01 00:00 UTC),
            kind: LedgerEventKind::Launched,
            workspace: workspace.into(),
            instance_id: format!("i-{workspace}"),
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: hourly.parse().unwrap(),
            storage_gb: 0,
            project: "nih".into(),
            user: user.into(),
            institution: institution.into(),
            storage_rate: None,
        }
    }

    #[test]
    fn the_digest_shows_the_week_by_collaborator_and_the_bill_beside_the_ledger() {
        let events = [
            launched("gpu-train", "sarah_lee", "berkeley", "3.06"),
            launched("notebook", "jennifer_smith", "stanford", "0.0832"),
        ];
        let due = datetime!(2026-11-23 09:00 UTC);
        let budget =
            BudgetPosition::from_ledger(Money::from_cents(500_000), &events, due, |_| Money::ZERO);
        let digest = digest_of(&events, due, budget, |_| Money::ZERO);
        let billed = crate::chargeback::reconcile(
            &digest.week,
            &[BilledCost {
                user: "sarah_lee".into(),
                institution: "berkeley".into(),
                cost: "514.08".parse().unwrap(),
            }],
        );
        let post = weekly_digest(&project(), &digest, &billed);
        insta::assert_snapshot!(post.text);
        insta::assert_json_snapshot!(post.blocks);
        insta::assert_json_snapshot!(
            "weekly_digest_on_discord",
            crate::message::discord::discord_messages(&post)
        );
        let mail = weekly_digest_mail(&project(), &digest, &billed);
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
    }
}
