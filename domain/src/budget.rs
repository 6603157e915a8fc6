//! Where a project stands against its monthly budget, for the launch policy.
//!
//! Until the usage ledger exists (issue 4), a project's commitment this month is what its
//! recorded workspaces cost from launch (or the start of the month) to the end of the month,
//! as if each runs until then: the cautious reading, which never lets a launch through that
//! the ledger would later show over budget.

use time::{Date, Month, OffsetDateTime, Time};

use crate::pricing::Money;

/// A running workspace as the budget sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningCost {
    pub hourly: Money,
    pub since: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetPosition {
    pub monthly_budget: Money,
    /// Spent this month plus what running workspaces will cost by the end of it.
    pub committed: Money,
    pub now: OffsetDateTime,
}

impl BudgetPosition {
    pub fn new(monthly_budget: Money, committed: Money, now: OffsetDateTime) -> BudgetPosition {
        BudgetPosition {
            monthly_budget,
            committed,
            now,
        }
    }

    /// The position of a project whose workspaces are `running`.
    pub fn of_running(
        monthly_budget: Money,
        running: &[RunningCost],
        now: OffsetDateTime,
    ) -> BudgetPosition {
        let (start, end) = month_bounds(now);
        let committed = running
            .iter()
            .map(|workspace| cost_between(workspace.hourly, workspace.since.max(start), end))
            .fold(Money::ZERO, |sum, cost| {
                Money::from_micros(sum.micros() + cost.micros())
            });
        BudgetPosition::new(monthly_budget, committed, now)
    }

    /// What is left of this month's budget after the commitment; never below zero.
    pub fn remaining(&self) -> Money {
        Money::from_micros((self.monthly_budget.micros() - self.committed.micros()).max(0))
    }

    /// What a workspace at `hourly` costs if started now and run to the end of the month.
    pub fn cost_to_month_end(&self, hourly: Money) -> Money {
        cost_between(hourly, self.now, month_bounds(self.now).1)
    }
}

/// Cost of running at `hourly` from `from` to `to` (nothing if `to` is not after `from`),
/// to the micro-dollar.
pub fn cost_between(hourly: Money, from: OffsetDateTime, to: OffsetDateTime) -> Money {
    let seconds = (to - from).whole_seconds().max(0) as i128;
    Money::from_micros((i128::from(hourly.micros()) * seconds / 3600) as i64)
}

/// The first instant of `now`'s month and of the next, in UTC.
pub fn month_bounds(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let now = now.to_offset(time::UtcOffset::UTC);
    let first = |year: i32, month: Month| {
        Date::from_calendar_date(year, month, 1)
            .expect("the first of a month exists")
            .with_time(Time::MIDNIGHT)
            .assume_utc()
    };
    let start = first(now.year(), now.month());
    let next = match now.month() {
        Month::December => first(now.year() + 1, Month::January),
        month => first(now.year(), month.next()),
    };
    (start, next)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn months_end_at_the_next_first() {
        let (start, end) = month_bounds(datetime!(2026-12-15 13:00 UTC));
        assert_eq!(start, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(end, datetime!(2027-01-01 00:00 UTC));
    }

    #[test]
    fn running_workspaces_count_to_the_end_of_the_month() {
        let now = datetime!(2026-03-31 00:00 UTC);
        let running = [
            // Launched last month: only March counts (744 h).
            RunningCost {
                hourly: "0.10".parse().unwrap(),
                since: datetime!(2026-02-20 00:00 UTC),
            },
            // Launched today: 24 h.
            RunningCost {
                hourly: "1.00".parse().unwrap(),
                since: now,
            },
        ];
        let position = BudgetPosition::of_running(Money::from_cents(10_000), &running, now);
        assert_eq!(position.committed, Money::from_cents(7_440 + 2_400));
        assert_eq!(position.remaining(), Money::from_cents(160));
        assert_eq!(
            position.cost_to_month_end("0.5".parse().unwrap()),
            Money::from_cents(1_200)
        );
    }

    #[test]
    fn an_overspent_project_has_nothing_remaining() {
        let position = BudgetPosition::new(
            Money::from_cents(100),
            Money::from_cents(500),
            datetime!(2026-03-01 00:00 UTC),
        );
        assert_eq!(position.remaining(), Money::ZERO);
    }
}
