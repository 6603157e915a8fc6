//! A project's ledger brought to the start of a month: what every closed month cost, and one
//! or two events per workspace standing for its whole history. The month in progress is then
//! reported from the checkpoint and the events dated inside the month alone, with exactly the
//! figures the whole ledger gives, so a worker's first command need not read 18 months.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{LedgerEvent, LedgerEventKind, State, histories, state_after, totals};
use crate::budget::month_bounds;
use crate::pricing::Money;

/// The ledger as of `at`, the first instant of a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What each month from the project's first up to `at` cost, oldest first.
    pub closed: Vec<ClosedMonth>,
    /// Per workspace seen before `at`: an event opening the state it was in at `at`, carrying
    /// the rate and volume size that state is priced at and the attribution of its first
    /// event; then, if a later repeat of that state came before `at`, the latest such event
    /// (which [`super::running_at`] reads).
    pub carry: Vec<LedgerEvent>,
    /// The storage rate of each region the closed months were priced in: a checkpoint priced
    /// otherwise than today is not used.
    pub rates: BTreeMap<String, Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedMonth {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub total: Money,
}

impl Checkpoint {
    /// Closes every month of `events` from the one holding `since` up to `at` (a month's first
    /// instant).
    pub fn close(
        events: &[LedgerEvent],
        since: OffsetDateTime,
        at: OffsetDateTime,
        ebs_rate: impl Fn(&str) -> Money,
    ) -> Checkpoint {
        let mut windows = Vec::new();
        let mut month = month_bounds(since);
        while month.0 < at {
            windows.push(month);
            month = month_bounds(month.1);
        }
        let closed = totals(events, &windows, &ebs_rate)
            .into_iter()
            .zip(&windows)
            .map(|(total, window)| ClosedMonth {
                start: window.0,
                total,
            })
            .collect();
        let before: Vec<LedgerEvent> = events.iter().filter(|e| e.at < at).cloned().collect();
        let carry: Vec<LedgerEvent> = histories(&before)
            .iter()
            .flat_map(|history| carried(history))
            .collect();
        let rates = carry
            .iter()
            .map(|event| (event.region.clone(), ebs_rate(&event.region)))
            .collect();
        Checkpoint {
            at,
            closed,
            carry,
            rates,
        }
    }

    /// Whether the closed months were priced at today's storage rates.
    pub fn priced_as(&self, ebs_rate: impl Fn(&str) -> Money) -> bool {
        self.rates
            .iter()
            .all(|(region, rate)| ebs_rate(region) == *rate)
    }

    /// The ledger for any window from `at` on: the carry, then `later` (every event dated at
    /// or after `at`). `None` if one of `later` is dated before `at`: it changes a closed month,
    /// and the checkpoint must be made again from the whole ledger.
    pub fn with_later(&self, later: &[LedgerEvent]) -> Option<Vec<LedgerEvent>> {
        if later.iter().any(|event| event.at < self.at) {
            return None;
        }
        Some(self.carry.iter().chain(later).cloned().collect())
    }

    /// The underspend carried into the month starting `month` from the closed months before it.
    pub fn rollover(&self, month: OffsetDateTime, monthly_budget: Money) -> Money {
        Money::from_micros(
            self.closed
                .iter()
                .filter(|closed| closed.start < month)
                .map(|closed| (monthly_budget.micros() - closed.total.micros()).max(0))
                .sum(),
        )
    }
}

/// The carry of one workspace's time-sorted history, all of it before the checkpoint: walks it
/// as the usage maths does and keeps what that walk would hold at its end.
fn carried(history: &[&LedgerEvent]) -> Vec<LedgerEvent> {
    let first = history[0];
    let mut state = State::Absent;
    let mut current = first;
    let mut appeared: Option<&LedgerEvent> = None;
    for &event in history {
        let next = state_after(event.kind);
        if next == state {
            continue;
        }
        if state == State::Absent {
            appeared = Some(event);
        } else if next == State::Absent {
            appeared = None;
        }
        state = next;
        current = event;
    }
    let last = history[history.len() - 1];
    let opening = LedgerEvent {
        at: current.at,
        kind: if state == State::Absent {
            LedgerEventKind::Terminated
        } else {
            current.kind
        },
        workspace: first.workspace.clone(),
        instance_id: current.instance_id.clone(),
        instance_type: current.instance_type.clone(),
        region: first.region.clone(),
        hourly: current.hourly,
        storage_gb: appeared.map_or(current.storage_gb, |event| event.storage_gb),
        project: first.project.clone(),
        user: first.user.clone(),
        institution: first.institution.clone(),
        storage_rate: appeared.map_or(current.storage_rate, |event| event.storage_rate),
    };
    if std::ptr::eq(last, current) || state == State::Absent {
        vec![opening]
    } else {
        vec![opening, last.clone()]
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::budget::BudgetPosition;
    use crate::ledger::{cost_report, running_at};
    use LedgerEventKind::{
        Hibernated, Launched, Resumed, SnapshotDeleted, SnapshotTaken, Stopped, Terminated,
    };

    const MARCH: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);

    fn m(text: &str) -> Money {
        text.parse().unwrap()
    }

    fn ebs(region: &str) -> Money {
        if region == "eu-west-1" {
            m("0.088")
        } else {
            m("0.08")
        }
    }

    fn event(
        workspace: &str,
        at: OffsetDateTime,
        kind: LedgerEventKind,
        hourly: &str,
        storage_gb: u32,
    ) -> LedgerEvent {
        LedgerEvent {
            at,
            kind,
            workspace: workspace.to_owned(),
            instance_id: format!("i-{workspace}"),
            instance_type: "m5.large".to_owned(),
            region: if workspace.starts_with("eu") {
                "eu-west-1"
            } else {
                "us-east-1"
            }
            .to_owned(),
            hourly: m(hourly),
            storage_gb,
            project: "nih-neuro-consortium".to_owned(),
            user: format!("{workspace}-user"),
            institution: "MIT".to_owned(),
            storage_rate: workspace.starts_with("snapshot:").then(|| m("0.05")),
        }
    }

    /// Every report and budget figure from `at` on, from the whole ledger and from the
    /// checkpoint with the later events, must be the same.
    fn assert_reports_agree(
        case: &str,
        events: &[LedgerEvent],
        since: OffsetDateTime,
        at: OffsetDateTime,
    ) {
        let checkpoint = Checkpoint::close(events, since, at, ebs);
        let later: Vec<LedgerEvent> = events.iter().filter(|e| e.at >= at).cloned().collect();
        let view = checkpoint.with_later(&later).expect("later events only");
        let budget = m("5000");
        for window in [
            month_bounds(at),
            (at, at + Duration::days(9)),
            month_bounds(month_bounds(at).1),
        ] {
            let rollover = checkpoint.rollover(at, budget);
            assert_eq!(
                cost_report(&view, window, budget, rollover, ebs),
                cost_report(events, window, budget, rollover, ebs),
                "{case}: window {window:?}"
            );
        }
        for now in [at, at + Duration::hours(30), at + Duration::days(40)] {
            assert_eq!(
                running_at(&view, now),
                running_at(events, now),
                "{case}: running at {now}"
            );
            assert_eq!(
                BudgetPosition::from_ledger(budget, &view, now, ebs),
                BudgetPosition::from_ledger(budget, events, now, ebs),
                "{case}: budget at {now}"
            );
        }
        let mut months = Vec::new();
        let mut month = month_bounds(since);
        while month.0 < at {
            months.push(month);
            month = month_bounds(month.1);
        }
        let closed: Vec<Money> = checkpoint.closed.iter().map(|c| c.total).collect();
        assert_eq!(
            closed,
            totals(events, &months, ebs),
            "{case}: closed months"
        );
    }

    #[test]
    fn the_month_in_progress_reports_the_same_from_a_checkpoint() {
        let jan = datetime!(2026-01-05 09:00 UTC);
        let h = Duration::hours;
        // (what the case is, its events)
        let cases: Vec<(&str, Vec<LedgerEvent>)> = vec![
            (
                "running across the month's start",
                vec![event("a", jan, Launched, "0.50", 30)],
            ),
            (
                "stopped across it, then resumed inside",
                vec![
                    event("a", jan, Launched, "0.50", 30),
                    event("a", jan + h(5), Stopped, "0.50", 30),
                    event("a", MARCH + h(3), Resumed, "0.50", 30),
                ],
            ),
            (
                "resumed at a new rate before the start: the new rate runs on",
                vec![
                    event("a", jan, Launched, "0.50", 30),
                    event("a", jan + h(5), Stopped, "0.50", 30),
                    event("a", jan + h(9), Resumed, "0.75", 50),
                ],
            ),
            (
                "a repeated launch with another rate: the walk keeps the first, running_at the last",
                vec![
                    event("a", jan, Launched, "0.50", 30),
                    event("a", jan + h(1), Launched, "0.60", 30),
                ],
            ),
            (
                "hibernated across the start, terminated inside",
                vec![
                    event("a", jan, Launched, "1.00", 100),
                    event("a", jan + h(2), Hibernated, "1.00", 100),
                    event("a", MARCH + h(30), Terminated, "1.00", 100),
                ],
            ),
            (
                "terminated before, relaunched inside under the same name",
                vec![
                    event("a", jan, Launched, "0.50", 30),
                    event("a", jan + h(2), Terminated, "0.50", 30),
                    event("a", MARCH + h(2), Launched, "0.90", 80),
                ],
            ),
            (
                "first seen stopped (reconcile), in another region",
                vec![
                    event("eu-a", jan, Stopped, "0.40", 20),
                    event("eu-a", MARCH + h(1), Resumed, "0.40", 20),
                ],
            ),
            (
                "duplicates and out-of-order events",
                vec![
                    event("a", jan + h(4), Stopped, "0.50", 30),
                    event("a", jan, Launched, "0.50", 30),
                    event("a", jan + h(4), Stopped, "0.50", 30),
                    event("a", MARCH + h(1), Resumed, "0.50", 30),
                    event("a", MARCH + h(1), Resumed, "0.50", 30),
                ],
            ),
            (
                "a named snapshot kept across the start, deleted inside",
                vec![
                    event("snapshot:final", jan, SnapshotTaken, "0", 100),
                    event("snapshot:final", MARCH + h(40), SnapshotDeleted, "0", 100),
                ],
            ),
            (
                "a named snapshot deleted before the start",
                vec![
                    event("snapshot:old", jan, SnapshotTaken, "0", 100),
                    event("snapshot:old", jan + h(40), SnapshotDeleted, "0", 100),
                ],
            ),
            (
                "launched inside the month only",
                vec![event("a", MARCH + h(7), Launched, "0.50", 30)],
            ),
        ];
        for (case, events) in cases {
            assert_reports_agree(case, &events, datetime!(2025-11-01 00:00 UTC), MARCH);
        }
    }

    #[test]
    fn a_varied_ledger_reports_the_same_at_every_month_start() {
        // 40 workspaces with a pseudo-random life of launches, stops, hibernations, resumes and
        // terminations over a year, in two regions.
        let mut seed = 0x5EED_u64;
        let mut next = move |below: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % below
        };
        let start = datetime!(2025-06-01 00:00 UTC);
        let mut events = Vec::new();
        for n in 0..40 {
            let name = if n % 3 == 0 {
                format!("eu-{n}")
            } else {
                format!("ws-{n}")
            };
            let mut at = start + Duration::hours(next(24 * 200) as i64);
            let hourly = ["0.0416", "0.0832", "0.526", "3.06"][next(4) as usize];
            let mut kind = Launched;
            for _ in 0..next(30) + 1 {
                events.push(event(&name, at, kind, hourly, 10 + next(90) as u32));
                at += Duration::hours(next(24 * 20) as i64 + 1);
                kind =
                    [Stopped, Hibernated, Resumed, Resumed, Terminated, Launched][next(6) as usize];
            }
        }
        let mut month = month_bounds(start).1;
        while month < datetime!(2026-08-01 00:00 UTC) {
            assert_reports_agree(&format!("checkpoint at {month}"), &events, start, month);
            month = month_bounds(month).1;
        }
    }

    #[test]
    fn an_event_dated_before_the_checkpoint_makes_it_unusable() {
        let jan = datetime!(2026-01-05 09:00 UTC);
        let events = vec![event("a", jan, Launched, "0.50", 30)];
        let checkpoint = Checkpoint::close(&events, jan, MARCH, ebs);
        let late = event("a", MARCH - Duration::days(3), Stopped, "0.50", 30);
        assert_eq!(checkpoint.with_later(&[late]), None);
        let inside = event("a", MARCH, Stopped, "0.50", 30);
        assert_eq!(checkpoint.with_later(&[inside]).unwrap().len(), 2);
    }

    #[test]
    fn a_checkpoint_priced_at_other_storage_rates_is_not_used() {
        let jan = datetime!(2026-01-05 09:00 UTC);
        let events = vec![
            event("a", jan, Launched, "0.50", 30),
            event("eu-b", jan, Launched, "0.50", 30),
        ];
        let checkpoint = Checkpoint::close(&events, jan, MARCH, ebs);
        assert!(checkpoint.priced_as(ebs));
        assert!(!checkpoint.priced_as(|_| m("0.08")));
    }

    #[test]
    fn the_rollover_counts_underspend_of_earlier_months_only() {
        let jan = datetime!(2026-01-01 00:00 UTC);
        // $1/h from January 1st: January costs $744, February $672.
        let events = vec![event("a", jan, Launched, "1", 0)];
        let checkpoint = Checkpoint::close(&events, jan, MARCH, ebs);
        let totals: Vec<Money> = checkpoint.closed.iter().map(|c| c.total).collect();
        assert_eq!(totals, [m("744"), m("672")]);
        // A $700 budget: January overspent (carries nothing), February left $28.
        assert_eq!(checkpoint.rollover(MARCH, m("700")), m("28"));
        assert_eq!(
            checkpoint.rollover(datetime!(2026-02-01 00:00 UTC), m("700")),
            Money::ZERO
        );
    }
}
