//! Budget alerts: a DM and an e-mail to the project owner.

use serde_json::{Value, json};

use super::mail::{MailText, render_mail};
use super::{ChatMessage, render};
use crate::alert::{FULL_BUDGET, ThresholdReached, percent_committed};
use crate::budget::{BudgetPosition, Runway};
use crate::command::YearMonth;
use crate::project::Project;
use crate::time_text;

fn alert_data(
    project: &Project,
    month: YearMonth,
    reached: ThresholdReached,
    position: &BudgetPosition,
) -> Value {
    let until = match position.runway() {
        Runway::Until(at) => Some(time_text::date(at)),
        _ => None,
    };
    json!({
        "project": project.name,
        "owner_name": project.owner_name,
        "month": month.to_string(),
        "threshold": reached.percent,
        "full": reached.percent >= FULL_BUDGET,
        "percent": percent_committed(position).map_or_else(|| "all".to_owned(), |p| format!("{p}%")),
        "budget": position.monthly_budget.to_string(),
        "spent": position.spent.to_string(),
        "committed": position.committed.to_string(),
        "burn": position.burn_hourly.display_rate(),
        "until": until,
    })
}

/// The owner's DM when a threshold is reached.
pub fn budget_alert(
    project: &Project,
    month: YearMonth,
    reached: ThresholdReached,
    position: &BudgetPosition,
) -> ChatMessage {
    render(
        "budget_alert",
        &alert_data(project, month, reached, position),
    )
}

/// The same alert by e-mail.
pub fn budget_alert_mail(
    project: &Project,
    month: YearMonth,
    reached: ThresholdReached,
    position: &BudgetPosition,
) -> MailText {
    render_mail(
        "budget_alert",
        &alert_data(project, month, reached, position),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::message::digest::tests::project;
    use crate::pricing::Money;

    #[test]
    fn the_alert_says_how_much_is_committed_and_when_it_runs_out() {
        let position = BudgetPosition {
            monthly_budget: Money::from_cents(500_000),
            committed: Money::from_cents(390_000),
            spent: Money::from_cents(120_000),
            burn_hourly: "12.24".parse().unwrap(),
            now: datetime!(2026-11-10 12:00 UTC),
        };
        let month = "2026-11".parse().unwrap();
        let dm = budget_alert(
            &project(),
            month,
            ThresholdReached { percent: 75 },
            &position,
        );
        insta::assert_snapshot!(dm.text);
        insta::assert_json_snapshot!(dm.blocks);
        let mail = budget_alert_mail(
            &project(),
            month,
            ThresholdReached { percent: 75 },
            &position,
        );
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
        let full = budget_alert(
            &project(),
            month,
            ThresholdReached { percent: 100 },
            &position,
        );
        assert!(full.text.starts_with("🛑"), "{}", full.text);
    }
}
