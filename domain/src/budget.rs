//! Where a project stands against its monthly budget, for the launch policy and the runway.
//!
//! From the usage ledger: what the month has cost so far, plus what the workspaces running now
//! will cost if they run to the end of the month (the cautious reading: a launch the policy
//! lets through cannot take the month over budget unless someone starts more).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time};

use crate::ledger::{LedgerEvent, running_at, workspace_usage};
use crate::pricing::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetPosition {
    pub monthly_budget: Money,
    /// Spent this month plus what running workspaces will cost by the end of it.
    pub committed: Money,
    /// Spent this month so far.
    pub spent: Money,
    /// What the running workspaces cost per hour together.
    pub burn_hourly: Money,
    pub now: OffsetDateTime,
}

/// How long this month's budget lasts at the current burn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runway {
    /// Nothing is running.
    NoBurn,
    /// It runs out before the month ends, at this moment.
    Until(OffsetDateTime),
    /// It outlasts the month.
    PastMonthEnd,
    /// Already spent.
    Spent,
}

impl BudgetPosition {
    /// A position from its figures, nothing running.
    pub fn new(monthly_budget: Money, committed: Money, now: OffsetDateTime) -> BudgetPosition {
        BudgetPosition {
            monthly_budget,
            committed,
            spent: committed,
            burn_hourly: Money::ZERO,
            now,
        }
    }

    /// The position of a project with this ledger, at `now`.
    pub fn from_ledger(
        monthly_budget: Money,
        events: &[LedgerEvent],
        now: OffsetDateTime,
        ebs_rate: impl Fn(&str) -> Money,
    ) -> BudgetPosition {
        let (start, end) = month_bounds(now);
        let spent = sum(workspace_usage(events, start, now, ebs_rate)
            .iter()
            .map(|usage| usage.cost()));
        let running = running_at(events, now);
        let burn_hourly = sum(running.iter().copied());
        let to_month_end = sum(running.iter().map(|hourly| cost_between(*hourly, now, end)));
        BudgetPosition {
            monthly_budget,
            committed: spent + to_month_end,
            spent,
            burn_hourly,
            now,
        }
    }

    /// When this month's budget runs out if the running workspaces keep running.
    pub fn runway(&self) -> Runway {
        let left = (self.monthly_budget - self.spent).micros();
        if left <= 0 {
            return Runway::Spent;
        }
        if self.burn_hourly <= Money::ZERO {
            return Runway::NoBurn;
        }
        let seconds = i128::from(left) * 3600 / i128::from(self.burn_hourly.micros());
        let until =
            self.now + time::Duration::seconds(seconds.min(i128::from(i64::MAX / 2)) as i64);
        if until >= month_bounds(self.now).1 {
            Runway::PastMonthEnd
        } else {
            Runway::Until(until)
        }
    }

    /// What is left of this month's budget after the commitment; never below zero.
    pub fn remaining(&self) -> Money {
        (self.monthly_budget - self.committed).max(Money::ZERO)
    }

    /// What a workspace at `hourly` costs if started now and run to the end of the month.
    pub fn cost_to_month_end(&self, hourly: Money) -> Money {
        cost_between(hourly, self.now, month_bounds(self.now).1)
    }
}

fn sum(amounts: impl Iterator<Item = Money>) -> Money {
    amounts.sum()
}

/// Launches between the policy's yes and their `Launched` ledger event, counted against the
/// budget so that two launches racing for the last of it cannot both pass. Each is kept for
/// [`Reservations::TTL`] at most, so a worker that died mid-launch does not hold budget forever.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservations {
    entries: BTreeMap<String, Reservation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Reservation {
    amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    until: OffsetDateTime,
}

impl Reservations {
    /// Longer than any launch takes, retries included.
    pub const TTL: time::Duration = time::Duration::minutes(15);

    /// What other launches (not `job`) hold now.
    pub fn pending(&self, job: &str, now: OffsetDateTime) -> Money {
        sum(self
            .entries
            .iter()
            .filter(|(key, reservation)| key.as_str() != job && reservation.until > now)
            .map(|(_, reservation)| reservation.amount))
    }

    /// These reservations with `job` holding `amount` (replacing its own earlier hold), and
    /// the expired ones gone.
    pub fn with(&self, job: &str, amount: Money, now: OffsetDateTime) -> Reservations {
        let mut entries: BTreeMap<String, Reservation> = self
            .entries
            .iter()
            .filter(|(_, reservation)| reservation.until > now)
            .map(|(key, reservation)| (key.clone(), reservation.clone()))
            .collect();
        entries.insert(
            job.to_owned(),
            Reservation {
                amount,
                until: now + Reservations::TTL,
            },
        );
        Reservations { entries }
    }

    /// These reservations without `job`'s, once its launch is in the ledger.
    pub fn without(&self, job: &str) -> Reservations {
        let mut entries = self.entries.clone();
        entries.remove(job);
        Reservations { entries }
    }
}

/// Cost of running at `hourly` from `from` to `to` (nothing if `to` is not after `from`),
/// to the micro-dollar.
pub fn cost_between(hourly: Money, from: OffsetDateTime, to: OffsetDateTime) -> Money {
    let seconds = (to - from).whole_seconds().max(0) as i128;
    Money::from_wide_micros(i128::from(hourly.micros()) * seconds / 3600)
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
    use crate::ledger::LedgerEventKind;

    #[test]
    fn months_end_at_the_next_first() {
        let (start, end) = month_bounds(datetime!(2026-12-15 13:00 UTC));
        assert_eq!(start, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(end, datetime!(2027-01-01 00:00 UTC));
    }

    fn event(at: OffsetDateTime, kind: LedgerEventKind, name: &str, hourly: &str) -> LedgerEvent {
        LedgerEvent {
            at,
            kind,
            workspace: name.into(),
            instance_id: format!("i-{name}"),
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: hourly.parse().unwrap(),
            storage_gb: 0,
            project: "nih".into(),
            user: "u".into(),
            institution: "i".into(),
            storage_rate: None,
        }
    }

    #[test]
    fn the_ledger_gives_spent_committed_and_burn() {
        let now = datetime!(2026-03-31 00:00 UTC);
        let events = [
            // Launched last month, still running: 744 h spent in March, 24 h to come.
            event(
                datetime!(2026-02-20 00:00 UTC),
                LedgerEventKind::Launched,
                "a",
                "0.10",
            ),
            // Ran ten hours and stopped: spent, nothing to come.
            event(
                datetime!(2026-03-10 00:00 UTC),
                LedgerEventKind::Launched,
                "b",
                "1.00",
            ),
            event(
                datetime!(2026-03-10 10:00 UTC),
                LedgerEventKind::Stopped,
                "b",
                "1.00",
            ),
        ];
        let position =
            BudgetPosition::from_ledger(Money::from_cents(10_000), &events, now, |_| Money::ZERO);
        assert_eq!(position.spent, Money::from_cents(7_200 + 1_000));
        assert_eq!(position.committed, Money::from_cents(8_200 + 240));
        assert_eq!(position.burn_hourly, Money::from_cents(10));
        assert_eq!(position.remaining(), Money::from_cents(1_560));
        assert_eq!(
            position.cost_to_month_end("0.5".parse().unwrap()),
            Money::from_cents(1_200)
        );
        // $18 left at $0.10/h lasts 180 h: past the month's last 24 h.
        assert_eq!(position.runway(), Runway::PastMonthEnd);
    }

    #[test]
    fn the_runway_ends_inside_the_month_at_a_high_burn() {
        let now = datetime!(2026-03-10 00:00 UTC);
        let events = [event(now, LedgerEventKind::Launched, "gpu", "12.24")];
        let position =
            BudgetPosition::from_ledger(Money::from_cents(100_000), &events, now, |_| Money::ZERO);
        // $1,000 at $12.24/h: 81.7 h.
        assert_eq!(
            position.runway(),
            Runway::Until(datetime!(2026-03-13 09:41:57 UTC))
        );
        let idle = BudgetPosition::from_ledger(Money::from_cents(100), &[], now, |_| Money::ZERO);
        assert_eq!(idle.runway(), Runway::NoBurn);
    }

    #[test]
    fn reservations_hold_budget_for_others_until_released_or_expired() {
        let now = datetime!(2026-03-10 00:00 UTC);
        let held = Reservations::default()
            .with("job-a", Money::from_cents(4_000), now)
            .with("job-b", Money::from_cents(1_000), now);
        assert_eq!(held.pending("job-a", now), Money::from_cents(1_000));
        assert_eq!(held.pending("job-c", now), Money::from_cents(5_000));
        assert_eq!(
            held.without("job-b").pending("job-c", now),
            Money::from_cents(4_000)
        );
        let later = now + Reservations::TTL;
        assert_eq!(held.pending("job-c", later), Money::ZERO);
        let renewed = held.with("job-a", Money::from_cents(4_500), now);
        assert_eq!(renewed.pending("job-b", now), Money::from_cents(4_500));
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
