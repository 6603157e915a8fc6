//! Budget alerts: which thresholds (the project's alert threshold, and 100 %) this month's
//! commitment has reached. The commitment is what the month has cost so far plus what the
//! running workspaces will cost by its end, so an alert comes when the money is committed, not
//! a day later when it has been spent. Sending each alert once per month is the worker's part.

use serde::{Deserialize, Serialize};

use crate::budget::BudgetPosition;

/// The threshold every project has: the whole budget.
pub const FULL_BUDGET: u8 = 100;

/// Percent of the monthly budget committed, rounded down; `None` for a zero budget.
pub fn percent_committed(position: &BudgetPosition) -> Option<i64> {
    let budget = i128::from(position.monthly_budget.micros());
    (budget > 0).then(|| (i128::from(position.committed.micros()) * 100 / budget) as i64)
}

/// A threshold a project's commitment reached in some month: the unit sent once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdReached {
    pub percent: u8,
}

/// The thresholds reached, highest first (the project's own and 100 %, once if they are the
/// same). A zero budget is reached by any commitment at all.
pub fn thresholds_reached(position: &BudgetPosition, alert_threshold: u8) -> Vec<ThresholdReached> {
    let mut thresholds = vec![FULL_BUDGET, alert_threshold.min(FULL_BUDGET)];
    thresholds.dedup();
    let reached = |threshold: u8| match percent_committed(position) {
        Some(percent) => percent >= i64::from(threshold),
        None => position.committed.micros() > 0,
    };
    thresholds
        .into_iter()
        .filter(|t| reached(*t))
        .map(|percent| ThresholdReached { percent })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::pricing::Money;

    fn position(budget_cents: i64, committed_cents: i64) -> BudgetPosition {
        BudgetPosition::new(
            Money::from_cents(budget_cents),
            Money::from_cents(committed_cents),
            datetime!(2026-06-10 00:00 UTC),
        )
    }

    fn reached(budget: i64, committed: i64, threshold: u8) -> Vec<u8> {
        thresholds_reached(&position(budget, committed), threshold)
            .iter()
            .map(|t| t.percent)
            .collect()
    }

    #[test]
    fn thresholds_are_reached_by_the_commitment() {
        let cases: &[(i64, i64, u8, &[u8])] = &[
            (100_000, 0, 75, &[]),
            (100_000, 74_999, 75, &[]),
            (100_000, 75_000, 75, &[75]),
            (100_000, 99_999, 75, &[75]),
            (100_000, 100_000, 75, &[100, 75]),
            (100_000, 250_000, 75, &[100, 75]),
            (100_000, 100_000, 100, &[100]),
            (0, 0, 80, &[]),
            (0, 1, 80, &[100, 80]),
        ];
        for (budget, committed, threshold, expected) in cases {
            assert_eq!(
                reached(*budget, *committed, *threshold),
                *expected,
                "budget {budget}, committed {committed}, threshold {threshold}"
            );
        }
    }

    #[test]
    fn percent_rounds_down() {
        assert_eq!(percent_committed(&position(300, 200)), Some(66));
        assert_eq!(percent_committed(&position(0, 200)), None);
    }
}
