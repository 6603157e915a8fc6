//! Budget enforcement: the settings, and what ran when the hard limit was reached.

use serde_json::{Value, json};

use super::mail::{MailText, render_mail};
use super::{ChatMessage, render};
use crate::budget::BudgetPosition;
use crate::command::{LimitAction, YearMonth};
use crate::pricing::Money;
use crate::project::Project;

fn action_text(action: LimitAction) -> &'static str {
    match action {
        LimitAction::PreventLaunch => "launches are refused; running workspaces keep running",
        LimitAction::HibernateAll => "every running workspace is hibernated (or stopped)",
        LimitAction::StopAll => "every running workspace is stopped",
    }
}

/// `project budget`: the enforcement settings and where the month stands.
pub fn project_budget(
    project: &Project,
    position: &BudgetPosition,
    check_every: &str,
    changed: bool,
) -> ChatMessage {
    let month = YearMonth::of(position.now);
    render(
        "project_budget",
        &json!({
            "project": project.name,
            "changed": changed,
            "budget": project.monthly_budget.to_string(),
            "hard_limit": project.limit.threshold(project.monthly_budget).to_string(),
            "action": project.limit.action.as_str(),
            "action_text": action_text(project.limit.action),
            "lifted": project.limit.lifted_for == Some(month),
            "month": month.to_string(),
            "spent": position.spent.to_string(),
            "burn": position.burn_hourly.display_rate(),
            "check_every": check_every,
        }),
    )
}

/// One workspace the enforcement changed.
pub struct Enforced<'a> {
    pub name: &'a str,
    pub user: &'a str,
    /// `hibernated` or `stopped`.
    pub verb: &'a str,
}

fn enforced_data(
    project: &Project,
    position: &BudgetPosition,
    projected: Money,
    changed: &[Enforced<'_>],
) -> Value {
    let changed: Vec<Value> = changed
        .iter()
        .map(|c| json!({ "name": c.name, "user": c.user, "verb": c.verb }))
        .collect();
    json!({
        "project": project.name,
        "owner_name": project.owner_name,
        "hard_limit": project.limit.threshold(project.monthly_budget).to_string(),
        "action": project.limit.action.as_str(),
        "spent": position.spent.to_string(),
        "projected": projected.to_string(),
        "burn": position.burn_hourly.display_rate(),
        "changed": changed,
    })
}

/// Posted in the project's channel, and sent to the owner, when the action ran.
pub fn limit_enforced(
    project: &Project,
    position: &BudgetPosition,
    projected: Money,
    changed: &[Enforced<'_>],
) -> ChatMessage {
    render(
        "limit_enforced",
        &enforced_data(project, position, projected, changed),
    )
}

pub fn limit_enforced_mail(
    project: &Project,
    position: &BudgetPosition,
    projected: Money,
    changed: &[Enforced<'_>],
) -> MailText {
    render_mail(
        "limit_enforced",
        &enforced_data(project, position, projected, changed),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::message::digest::tests::project;

    #[test]
    fn the_enforcement_notice_lists_what_ran_and_how_to_lift_it() {
        let mut project = project();
        project.limit.action = LimitAction::HibernateAll;
        project.limit.hard_limit = Some(Money::from_cents(5_000));
        let position = BudgetPosition {
            monthly_budget: Money::from_cents(500_000),
            committed: Money::from_cents(9_000),
            spent: Money::from_cents(4_990),
            burn_hourly: "6.12".parse().unwrap(),
            now: datetime!(2026-11-10 12:00 UTC),
        };
        let changed = [
            Enforced {
                name: "gpu-train",
                user: "sarah_lee",
                verb: "hibernated",
            },
            Enforced {
                name: "notebook",
                user: "jennifer_smith",
                verb: "stopped",
            },
        ];
        let post = limit_enforced(&project, &position, "50.10".parse().unwrap(), &changed);
        insta::assert_snapshot!(post.text);
        let mail = limit_enforced_mail(&project, &position, "50.10".parse().unwrap(), &changed);
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
        let settings = project_budget(&project, &position, "minute", true);
        assert!(
            settings.blocks[0].to_string().contains("$50.00"),
            "{:?}",
            settings.blocks
        );
    }
}
