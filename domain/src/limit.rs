//! Budget enforcement that acts in minutes: every check compares what the month has cost so
//! far, plus what the running workspaces will cost until the next check, with the project's
//! hard limit, and runs the project's action when it is reached. Cost Explorer lags a day; the
//! ledger does not.

use serde::{Deserialize, Serialize};

use crate::budget::{BudgetPosition, cost_between};
use crate::command::{LimitAction, YearMonth};
use crate::pricing::Money;

/// A project's enforcement settings, as `project budget` left them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BudgetLimit {
    /// The month's spend at which the action runs; `None` is the monthly budget.
    pub hard_limit: Option<Money>,
    pub action: LimitAction,
    /// The owner lifted enforcement for this month.
    pub lifted_for: Option<YearMonth>,
}

impl BudgetLimit {
    pub fn threshold(&self, monthly_budget: Money) -> Money {
        self.hard_limit.unwrap_or(monthly_budget)
    }

    /// The action to run on running workspaces in `month`, if any: none for
    /// `prevent_launch` (the launch check does that) or once lifted.
    pub fn acting_in(&self, month: YearMonth) -> Option<LimitAction> {
        match self.action {
            LimitAction::PreventLaunch => None,
            _ if self.lifted_for == Some(month) => None,
            action => Some(action),
        }
    }
}

/// Spent so far plus the running workspaces' cost until the next check.
pub fn projected_spend(position: &BudgetPosition, until_next_check: time::Duration) -> Money {
    position.spent
        + cost_between(
            position.burn_hourly,
            position.now,
            position.now + until_next_check,
        )
}

/// Whether the limit is reached by the time of the next check.
pub fn limit_reached(
    position: &BudgetPosition,
    threshold: Money,
    until_next_check: time::Duration,
) -> bool {
    projected_spend(position, until_next_check) >= threshold
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn position(spent: &str, burn: &str) -> BudgetPosition {
        BudgetPosition {
            monthly_budget: Money::from_cents(10_000),
            committed: spent.parse().unwrap(),
            spent: spent.parse().unwrap(),
            burn_hourly: burn.parse().unwrap(),
            now: datetime!(2026-11-10 12:00 UTC),
        }
    }

    #[test]
    fn the_limit_is_reached_by_the_projection_to_the_next_check() {
        let minute = time::Duration::minutes(1);
        // $99.50 spent, burning $60/h: $1 a minute, so the next check would be past $100.
        assert!(limit_reached(
            &position("99.50", "60"),
            Money::from_cents(10_000),
            minute
        ));
        assert!(!limit_reached(
            &position("98.50", "60"),
            Money::from_cents(10_000),
            minute
        ));
        assert!(limit_reached(
            &position("100", "0"),
            Money::from_cents(10_000),
            minute
        ));
        assert_eq!(
            projected_spend(&position("10", "6"), time::Duration::minutes(10)),
            "11".parse().unwrap()
        );
    }

    #[test]
    fn only_hibernate_all_and_stop_all_act_and_not_once_lifted() {
        let november: YearMonth = "2026-11".parse().unwrap();
        let mut limit = BudgetLimit::default();
        assert_eq!(limit.acting_in(november), None);
        assert_eq!(
            limit.threshold(Money::from_cents(500)),
            Money::from_cents(500)
        );
        limit.action = LimitAction::HibernateAll;
        limit.hard_limit = Some(Money::from_cents(700));
        assert_eq!(limit.acting_in(november), Some(LimitAction::HibernateAll));
        assert_eq!(
            limit.threshold(Money::from_cents(500)),
            Money::from_cents(700)
        );
        limit.lifted_for = Some(november);
        assert_eq!(limit.acting_in(november), None);
        assert_eq!(
            limit.acting_in(november.previous()),
            Some(LimitAction::HibernateAll)
        );
    }
}
