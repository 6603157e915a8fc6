//! The usage ledger: every lifecycle event of every workspace, and the pure maths that turns
//! them into hours and money. Stopped and hibernated workspaces accrue no compute; storage
//! accrues while the volume exists. A named snapshot has a history of its own (taken, then
//! deleted) under its own key, and accrues storage only, at the rate recorded when it was taken.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::budget::cost_between;
use crate::ports::InstanceState;
use crate::pricing::{Money, cents_adding_up};

pub mod checkpoint;

/// What happened to a workspace. The reconcile job records changes made outside the bot
/// (console, CLI) with the same kinds; see [`observed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerEventKind {
    Launched,
    Stopped,
    Hibernated,
    Resumed,
    Terminated,
    /// A named snapshot was taken: `workspace` is its [`snapshot_key`], `storage_gb` the size
    /// of the volumes it copies, `storage_rate` the snapshot GB-month price.
    SnapshotTaken,
    SnapshotDeleted,
}

/// The ledger's `workspace` for a named snapshot: apart from every workspace name, which has
/// no `:`.
pub fn snapshot_key(name: &str) -> String {
    format!("snapshot:{name}")
}

/// One line of the ledger. Carries everything the reports group by, so a report never needs
/// another lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: LedgerEventKind,
    pub workspace: String,
    pub instance_id: String,
    pub instance_type: String,
    pub region: String,
    /// On-demand compute rate while running.
    pub hourly: Money,
    /// Root volume size, charged per GB-month while the workspace exists.
    pub storage_gb: u32,
    pub project: String,
    /// The research username (the `cws:user` tag).
    pub user: String,
    pub institution: String,
    /// The GB-month price of what the event brought into being, when it is not the region's
    /// volume price (a snapshot's); absent in events written before snapshots were charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_rate: Option<Money>,
}

/// One workspace's time and money inside a report window. Times are whole seconds so that hours
/// across month boundaries and stops inside an hour stay exact; money is rounded as described on
/// [`workspace_usage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceUsage {
    pub workspace: String,
    /// Attribution as recorded by the workspace's first event.
    pub user: String,
    pub institution: String,
    pub region: String,
    /// The rate of its latest running interval in the window; zero if it never ran in it.
    pub hourly: Money,
    pub running_seconds: i64,
    pub stopped_seconds: i64,
    pub hibernated_seconds: i64,
    /// How long a named snapshot was kept: it costs storage only.
    pub kept_seconds: i64,
    pub compute: Money,
    pub storage: Money,
    /// What the stopped time would have cost running, at the rate recorded when it stopped.
    pub stop_savings: Money,
    /// What the hibernated time would have cost running, at the rate recorded when it slept.
    pub hibernation_savings: Money,
}

impl WorkspaceUsage {
    /// Compute plus storage: what the workspace is charged for the window.
    pub fn cost(&self) -> Money {
        plus(self.compute, self.storage)
    }

    fn existed_seconds(&self) -> i64 {
        self.running_seconds + self.stopped_seconds + self.hibernated_seconds + self.kept_seconds
    }

    /// A workspace, not a named snapshot: what reports count as an instance.
    fn is_instance(&self) -> bool {
        self.kept_seconds == 0
    }
}

/// Storage is prorated over a fixed 30-day month, so a GB-day costs the same in every month.
const STORAGE_MONTH: Duration = Duration::days(30);

/// Where a workspace stands between two events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Running,
    Stopped,
    Hibernated,
    /// A named snapshot exists.
    Kept,
}

fn state_after(kind: LedgerEventKind) -> State {
    match kind {
        LedgerEventKind::Launched | LedgerEventKind::Resumed => State::Running,
        LedgerEventKind::Stopped => State::Stopped,
        LedgerEventKind::Hibernated => State::Hibernated,
        LedgerEventKind::Terminated | LedgerEventKind::SnapshotDeleted => State::Absent,
        LedgerEventKind::SnapshotTaken => State::Kept,
    }
}

/// Usage of every workspace that existed inside `[from, to)`, ordered by workspace name.
///
/// `events` may be unsorted and repeated; they are stably sorted by time, and an event that
/// does not change a workspace's state (a `Stopped` while stopped, a re-sent `Launched`) is
/// ignored, rates included, so retries and reconcile observations never split an interval. Each
/// workspace's events must reach back to its launch (or to its last event before `from`), since
/// the state at `from` comes from them. An interval takes the rate and volume size of the event
/// that began it; `ebs_rate` gives the GB-month price of a region.
///
/// Rounding: each interval (running, stopped or hibernated, clipped to the window) is priced
/// once, truncated to the micro-dollar as [`cost_between`] does, so the ledger agrees with the
/// budget's estimate and never overcharges; storage is priced once per existence interval
/// (launch to termination, clipped) and truncated the same way.
pub fn workspace_usage(
    events: &[LedgerEvent],
    from: OffsetDateTime,
    to: OffsetDateTime,
    ebs_rate: impl Fn(&str) -> Money,
) -> Vec<WorkspaceUsage> {
    histories(events)
        .iter()
        .map(|history| usage_of(history, (from, to), &ebs_rate))
        .filter(|usage| usage.existed_seconds() > 0)
        .collect()
}

/// Each workspace's events in time order (stable for equal times), by workspace name.
fn histories(events: &[LedgerEvent]) -> Vec<Vec<&LedgerEvent>> {
    let mut by_workspace: BTreeMap<&str, Vec<&LedgerEvent>> = BTreeMap::new();
    for event in events {
        by_workspace
            .entry(&event.workspace)
            .or_default()
            .push(event);
    }
    by_workspace
        .into_values()
        .map(|mut history| {
            history.sort_by_key(|event| event.at);
            history
        })
        .collect()
}

/// What each window cost in all (compute plus storage: a [`CostReport`]'s `total`), grouping
/// the events once. The rollover needs every earlier month's total, and a report per month
/// would sort the whole ledger again for each one.
pub fn totals(
    events: &[LedgerEvent],
    windows: &[(OffsetDateTime, OffsetDateTime)],
    ebs_rate: impl Fn(&str) -> Money,
) -> Vec<Money> {
    let histories = histories(events);
    windows
        .iter()
        .map(|window| {
            histories
                .iter()
                .map(|history| usage_of(history, *window, &ebs_rate))
                .filter(|usage| usage.existed_seconds() > 0)
                .map(|usage| usage.cost())
                .fold(Money::ZERO, plus)
        })
        .collect()
}

/// What the ledger should record when the cloud reports `seen` for a workspace last recorded
/// as `recorded`: nothing if the two agree on running, stopped or gone.
pub fn observed(recorded: InstanceState, seen: InstanceState) -> Option<LedgerEventKind> {
    use InstanceState::*;
    let running = |state| matches!(state, Pending | Running);
    let gone = |state| matches!(state, ShuttingDown | Terminated);
    if gone(recorded) {
        return None;
    }
    if gone(seen) {
        return Some(LedgerEventKind::Terminated);
    }
    match (running(recorded), running(seen)) {
        (true, false) => Some(LedgerEventKind::Stopped),
        (false, true) => Some(LedgerEventKind::Resumed),
        _ => None,
    }
}

/// The hourly rate of every workspace running at `now`: those whose latest event by then
/// started them (launched or resumed).
pub fn running_at(events: &[LedgerEvent], now: OffsetDateTime) -> Vec<Money> {
    let mut latest: BTreeMap<&str, &LedgerEvent> = BTreeMap::new();
    for event in events.iter().filter(|event| event.at <= now) {
        let newer = latest
            .get(event.workspace.as_str())
            .is_none_or(|seen| event.at >= seen.at);
        if newer {
            latest.insert(&event.workspace, event);
        }
    }
    latest
        .into_values()
        .filter(|event| {
            matches!(
                event.kind,
                LedgerEventKind::Launched | LedgerEventKind::Resumed
            )
        })
        .map(|event| event.hourly)
        .collect()
}

/// Walks one workspace's time-sorted, non-empty history.
fn usage_of(
    history: &[&LedgerEvent],
    window: (OffsetDateTime, OffsetDateTime),
    ebs_rate: &impl Fn(&str) -> Money,
) -> WorkspaceUsage {
    let first = history[0];
    let mut usage = WorkspaceUsage {
        workspace: first.workspace.clone(),
        user: first.user.clone(),
        institution: first.institution.clone(),
        region: first.region.clone(),
        hourly: Money::ZERO,
        running_seconds: 0,
        stopped_seconds: 0,
        hibernated_seconds: 0,
        kept_seconds: 0,
        compute: Money::ZERO,
        storage: Money::ZERO,
        stop_savings: Money::ZERO,
        hibernation_savings: Money::ZERO,
    };
    let mut state = State::Absent;
    let mut current = first;
    // The event that brought the volume into being: a launch, or the first observation of it.
    let mut appeared: Option<&LedgerEvent> = None;
    for &event in history {
        let next = state_after(event.kind);
        if next == state {
            continue;
        }
        usage.add_interval(state, current, event.at, window);
        if state == State::Absent {
            appeared = Some(event);
        } else if let (Some(since), State::Absent) = (appeared, next) {
            usage.add_storage(since, event.at, window, ebs_rate);
            appeared = None;
        }
        state = next;
        current = event;
    }
    usage.add_interval(state, current, window.1, window);
    if let Some(since) = appeared {
        usage.add_storage(since, window.1, window, ebs_rate);
    }
    usage
}

impl WorkspaceUsage {
    /// Books the interval that `began` opened, in `state`, up to `end`.
    fn add_interval(
        &mut self,
        state: State,
        began: &LedgerEvent,
        end: OffsetDateTime,
        window: (OffsetDateTime, OffsetDateTime),
    ) {
        let (start, end) = clip(began.at, end, window);
        let seconds = (end - start).whole_seconds().max(0);
        let value = cost_between(began.hourly, start, end);
        match state {
            State::Absent => {}
            State::Running => {
                self.running_seconds += seconds;
                self.compute = plus(self.compute, value);
                if seconds > 0 {
                    self.hourly = began.hourly;
                }
            }
            State::Stopped => {
                self.stopped_seconds += seconds;
                self.stop_savings = plus(self.stop_savings, value);
            }
            State::Hibernated => {
                self.hibernated_seconds += seconds;
                self.hibernation_savings = plus(self.hibernation_savings, value);
            }
            State::Kept => self.kept_seconds += seconds,
        }
    }

    /// Books the volume from `appeared` until `end`, whatever state the instance was in.
    fn add_storage(
        &mut self,
        appeared: &LedgerEvent,
        end: OffsetDateTime,
        window: (OffsetDateTime, OffsetDateTime),
        ebs_rate: &impl Fn(&str) -> Money,
    ) {
        let (start, end) = clip(appeared.at, end, window);
        let seconds = i128::from((end - start).whole_seconds().max(0));
        let rate = appeared
            .storage_rate
            .unwrap_or_else(|| ebs_rate(&self.region));
        let gb_month = i128::from(appeared.storage_gb) * i128::from(rate.micros());
        let micros = gb_month * seconds / i128::from(STORAGE_MONTH.whole_seconds());
        self.storage = plus(self.storage, Money::from_wide_micros(micros));
    }
}

fn clip(
    start: OffsetDateTime,
    end: OffsetDateTime,
    window: (OffsetDateTime, OffsetDateTime),
) -> (OffsetDateTime, OffsetDateTime) {
    (start.max(window.0), end.min(window.1))
}

/// A project's month: what it spent, against what, by whom. Money is exact; fields named
/// `hours` are whole hours rounded half up for display, computed from the `*_seconds` fields,
/// so rows may not add up to the rounded total by an hour or so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostReport {
    /// Compute plus storage.
    pub total: Money,
    pub compute: Money,
    pub storage: Money,
    /// The part of `storage` that named snapshots cost.
    pub snapshot_storage: Money,
    pub budget: Money,
    /// `total / budget` in whole percent, rounded half up; `None` without a budget.
    pub percent_used: Option<i64>,
    /// `budget - total`: negative when overspent.
    pub available: Money,
    /// Underspend carried over from earlier months.
    pub rollover: Money,
    pub available_with_rollover: Money,
    pub running_seconds: i64,
    pub compute_hours: i64,
    /// Compute cost per running hour, rounded half up to the micro-dollar; `None` if nothing ran.
    pub effective_hourly: Option<Money>,
    /// What the workspaces that ran this month would cost per hour if all ran around the clock.
    pub always_on_hourly: Money,
    pub hibernation_savings: Money,
    pub stop_savings: Money,
    /// Most expensive first.
    pub by_user: Vec<UserCost>,
    /// Most expensive first; percents add up to 100 whenever anything was spent.
    pub by_institution: Vec<InstitutionCost>,
}

impl CostReport {
    /// Each user row's cost in whole cents, adding up to the total's cents: what every table
    /// and statement of users shows.
    pub fn user_cents(&self) -> Vec<Money> {
        cents_adding_up(&self.by_user.iter().map(|u| u.cost).collect::<Vec<_>>())
    }

    /// The same for the institution rows.
    pub fn institution_cents(&self) -> Vec<Money> {
        cents_adding_up(
            &self
                .by_institution
                .iter()
                .map(|i| i.cost)
                .collect::<Vec<_>>(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserCost {
    pub user: String,
    pub institution: String,
    /// Workspaces that existed in the month.
    pub instances: usize,
    pub running_seconds: i64,
    pub hours: i64,
    pub cost: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionCost {
    pub institution: String,
    pub running_seconds: i64,
    pub hours: i64,
    pub cost: Money,
    /// Share of the project's total, in whole percent.
    pub percent: i64,
}

/// The cost report for `month` (`[from, to)`, usually [`crate::budget::month_bounds`]).
/// `rollover` is the earlier months' underspend; `ebs_rate` as for [`workspace_usage`].
pub fn cost_report(
    events: &[LedgerEvent],
    month: (OffsetDateTime, OffsetDateTime),
    monthly_budget: Money,
    rollover: Money,
    ebs_rate: impl Fn(&str) -> Money,
) -> CostReport {
    let usage = workspace_usage(events, month.0, month.1, ebs_rate);
    let sum = |money: fn(&WorkspaceUsage) -> Money| usage.iter().map(money).fold(Money::ZERO, plus);
    let compute = sum(|u| u.compute);
    let storage = sum(|u| u.storage);
    let snapshot_storage = usage
        .iter()
        .filter(|u| !u.is_instance())
        .map(|u| u.storage)
        .fold(Money::ZERO, plus);
    let total = plus(compute, storage);
    let running_seconds: i64 = usage.iter().map(|u| u.running_seconds).sum();

    let mut users: BTreeMap<(&str, &str), UserCost> = BTreeMap::new();
    let mut institutions: BTreeMap<&str, InstitutionCost> = BTreeMap::new();
    for workspace in &usage {
        let user = users
            .entry((&workspace.user, &workspace.institution))
            .or_insert_with(|| UserCost {
                user: workspace.user.clone(),
                institution: workspace.institution.clone(),
                instances: 0,
                running_seconds: 0,
                hours: 0,
                cost: Money::ZERO,
            });
        user.instances += usize::from(workspace.is_instance());
        user.running_seconds += workspace.running_seconds;
        user.cost = plus(user.cost, workspace.cost());
        let institution = institutions
            .entry(&workspace.institution)
            .or_insert_with(|| InstitutionCost {
                institution: workspace.institution.clone(),
                running_seconds: 0,
                hours: 0,
                cost: Money::ZERO,
                percent: 0,
            });
        institution.running_seconds += workspace.running_seconds;
        institution.cost = plus(institution.cost, workspace.cost());
    }
    let mut by_user: Vec<UserCost> = users.into_values().collect();
    by_user.sort_by_key(|u| Reverse(u.cost));
    for user in &mut by_user {
        user.hours = whole_hours(user.running_seconds);
    }
    let mut by_institution: Vec<InstitutionCost> = institutions.into_values().collect();
    by_institution.sort_by_key(|i| Reverse(i.cost));
    let shares: Vec<i64> = by_institution.iter().map(|i| i.cost.micros()).collect();
    for (institution, percent) in by_institution
        .iter_mut()
        .zip(percents(&shares, total.micros()))
    {
        institution.hours = whole_hours(institution.running_seconds);
        institution.percent = percent;
    }

    let available = monthly_budget - total;
    CostReport {
        total,
        compute,
        storage,
        snapshot_storage,
        budget: monthly_budget,
        percent_used: (monthly_budget.micros() > 0).then(|| {
            div_round(
                i128::from(total.micros()) * 100,
                monthly_budget.micros().into(),
            ) as i64
        }),
        available,
        rollover,
        available_with_rollover: plus(available, rollover),
        running_seconds,
        compute_hours: whole_hours(running_seconds),
        effective_hourly: (running_seconds > 0).then(|| {
            Money::from_wide_micros(div_round(
                i128::from(compute.micros()) * 3600,
                running_seconds.into(),
            ))
        }),
        always_on_hourly: usage
            .iter()
            .filter(|u| u.running_seconds > 0)
            .map(|u| u.hourly)
            .fold(Money::ZERO, plus),
        hibernation_savings: sum(|u| u.hibernation_savings),
        stop_savings: sum(|u| u.stop_savings),
        by_user,
        by_institution,
    }
}

/// Whole percents of `total` that add up to 100: each share is floored and the lost points go
/// to the largest remainders (earlier shares win ties), so a table never adds up to 99 or 101.
/// All zeros when nothing was spent.
fn percents(shares: &[i64], total: i64) -> Vec<i64> {
    if total <= 0 {
        return vec![0; shares.len()];
    }
    let total = i128::from(total);
    let scaled: Vec<i128> = shares.iter().map(|&s| i128::from(s) * 100).collect();
    let mut percents: Vec<i64> = scaled.iter().map(|s| (s / total) as i64).collect();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by_key(|&i| Reverse(scaled[i] % total));
    let missing = 100 - percents.iter().sum::<i64>();
    for &i in by_remainder.iter().take(missing.max(0) as usize) {
        percents[i] += 1;
    }
    percents
}

fn whole_hours(seconds: i64) -> i64 {
    div_round(seconds.into(), 3600) as i64
}

/// `numerator / denominator` rounded half up, for non-negative numerators.
fn div_round(numerator: i128, denominator: i128) -> i128 {
    (numerator + denominator / 2) / denominator
}

fn plus(a: Money, b: Money) -> Money {
    a + b
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::month_bounds;
    use LedgerEventKind::{
        Hibernated, Launched, Resumed, SnapshotDeleted, SnapshotTaken, Stopped, Terminated,
    };

    const JUNE: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    fn m(text: &str) -> Money {
        text.parse().unwrap()
    }

    fn ebs(_region: &str) -> Money {
        m("0.08")
    }

    /// A workspace's events: each step is the time since the previous step, then what happened.
    fn timeline(
        workspace: &str,
        (user, institution): (&str, &str),
        (hourly, storage_gb): (&str, u32),
        start: OffsetDateTime,
        steps: &[(Duration, LedgerEventKind)],
    ) -> Vec<LedgerEvent> {
        let mut at = start;
        steps
            .iter()
            .map(|&(after, kind)| {
                at += after;
                LedgerEvent {
                    at,
                    kind,
                    workspace: workspace.to_owned(),
                    instance_id: format!("i-{workspace}"),
                    instance_type: "m5.large".to_owned(),
                    region: "us-east-1".to_owned(),
                    hourly: m(hourly),
                    storage_gb,
                    project: "nih-neuro-consortium".to_owned(),
                    user: user.to_owned(),
                    institution: institution.to_owned(),
                    storage_rate: None,
                }
            })
            .collect()
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    /// Month 6 of the seed (June 2026), built so that every figure of its cost table comes out
    /// exactly. Compute only: volumes are 0 GB. Hibernation is chosen to bank the seed's $3,890.
    fn seed_month_6() -> Vec<LedgerEvent> {
        const SMITH: (&str, &str) = ("smith", "Stanford");
        const JOHNSON: (&str, &str) = ("johnson", "MIT");
        const LEE: (&str, &str) = ("lee", "Berkeley");
        let zero = Duration::ZERO;
        [
            // 400 h × $2.40 = $960.00; hibernated 300 h; stopped the last 20 h.
            timeline(
                "stanford-integration-1",
                SMITH,
                ("2.40", 0),
                JUNE,
                &[
                    (zero, Launched),
                    (h(200), Hibernated),
                    (h(300), Resumed),
                    (h(200), Stopped),
                ],
            ),
            // 212 h × $1.20 = $254.40, launched on the 10th.
            timeline(
                "stanford-pipeline-2",
                SMITH,
                ("1.20", 0),
                JUNE + h(216),
                &[(zero, Launched), (h(212), Terminated)],
            ),
            // 44 h × $0.60 = $26.40; stopped 100 h.
            timeline(
                "stanford-viz-3",
                SMITH,
                ("0.60", 0),
                JUNE,
                &[(zero, Launched), (h(44), Stopped), (h(100), Terminated)],
            ),
            // 170 h × $3.06 = $520.20; hibernated 500 h; stopped the last 50 h.
            timeline(
                "mit-algorithm-dev",
                JOHNSON,
                ("3.06", 0),
                JUNE,
                &[
                    (zero, Launched),
                    (h(100), Hibernated),
                    (h(500), Resumed),
                    (h(70), Stopped),
                ],
            ),
            // Launched in May and never stopped: June's 720 h × $2.40 = $1,728.00.
            timeline(
                "mit-validation",
                JOHNSON,
                ("2.40", 0),
                datetime!(2026-05-28 00:00 UTC),
                &[(zero, Launched), (h(24 * 35), Stopped)],
            ),
            // 360 h × $1.20 = $432.00; stopped the last 360 h.
            timeline(
                "mit-test-1",
                JOHNSON,
                ("1.20", 0),
                JUNE,
                &[(zero, Launched), (h(360), Stopped)],
            ),
            // 140 h × $1.00 = $140.00; hibernated 440 h.
            timeline(
                "mit-test-2",
                JOHNSON,
                ("1.00", 0),
                JUNE,
                &[(zero, Launched), (h(140), Hibernated), (h(440), Terminated)],
            ),
            // 140 h × $0.50 = $70.00, launched on the 15th; stopped the last 244 h.
            timeline(
                "mit-test-3",
                JOHNSON,
                ("0.50", 0),
                JUNE + h(336),
                &[(zero, Launched), (h(140), Stopped)],
            ),
            // 211 h × $2.40 = $506.40; hibernated 500 h; stopped the last 9 h.
            timeline(
                "berkeley-analysis",
                LEE,
                ("2.40", 0),
                JUNE,
                &[
                    (zero, Launched),
                    (h(111), Hibernated),
                    (h(500), Resumed),
                    (h(100), Stopped),
                ],
            ),
            // 155 h × $1.20 = $186.00.
            timeline(
                "berkeley-validation",
                LEE,
                ("1.20", 0),
                JUNE,
                &[(zero, Launched), (h(155), Terminated)],
            ),
        ]
        .concat()
    }

    #[test]
    fn what_the_reconcile_job_records_for_each_observation() {
        use InstanceState as S;
        use LedgerEventKind as K;
        let cases = [
            (S::Running, S::Running, None),
            (S::Running, S::Pending, None),
            (S::Running, S::Stopping, Some(K::Stopped)),
            (S::Running, S::Stopped, Some(K::Stopped)),
            (S::Stopped, S::Running, Some(K::Resumed)),
            (S::Stopped, S::Stopped, None),
            (S::Running, S::ShuttingDown, Some(K::Terminated)),
            (S::Stopped, S::Terminated, Some(K::Terminated)),
            (S::Terminated, S::Running, None),
        ];
        for (recorded, seen, kind) in cases {
            assert_eq!(observed(recorded, seen), kind, "{recorded:?} -> {seen:?}");
        }
    }

    #[test]
    fn totals_in_one_pass_match_a_report_per_month() {
        let events = seed_month_6();
        let mut windows = vec![month_bounds(JUNE)];
        for _ in 0..3 {
            let earlier = month_bounds(windows[0].0 - time::Duration::days(1));
            windows.insert(0, earlier);
        }
        let one_pass = totals(&events, &windows, ebs);
        let per_month: Vec<Money> = windows
            .iter()
            .map(|window| cost_report(&events, *window, m("5000"), Money::ZERO, ebs).total)
            .collect();
        assert_eq!(one_pass, per_month);
        assert_eq!(one_pass[3], m("4823.40"));
    }

    #[test]
    fn the_seed_month_6_cost_attribution_is_reproduced() {
        let report = cost_report(
            &seed_month_6(),
            month_bounds(JUNE),
            m("5000"),
            m("142.50"),
            ebs,
        );
        let users: Vec<_> = report
            .by_user
            .iter()
            .map(|u| {
                (
                    u.user.as_str(),
                    u.institution.as_str(),
                    u.instances,
                    u.hours,
                    u.cost.to_string(),
                )
            })
            .collect();
        assert_eq!(
            users,
            [
                ("johnson", "MIT", 5, 1_530, "$2,890.20".to_owned()),
                ("smith", "Stanford", 3, 656, "$1,240.80".to_owned()),
                ("lee", "Berkeley", 2, 366, "$692.40".to_owned()),
            ]
        );
        let institutions: Vec<_> = report
            .by_institution
            .iter()
            .map(|i| {
                (
                    i.institution.as_str(),
                    i.hours,
                    i.cost.to_string(),
                    i.percent,
                )
            })
            .collect();
        assert_eq!(
            institutions,
            [
                ("MIT", 1_530, "$2,890.20".to_owned(), 60),
                ("Stanford", 656, "$1,240.80".to_owned(), 26),
                ("Berkeley", 366, "$692.40".to_owned(), 14),
            ]
        );
        assert_eq!(report.total, m("4823.40"));
        assert_eq!(report.storage, Money::ZERO);
        assert_eq!(report.budget, m("5000"));
        assert_eq!(report.percent_used, Some(96));
        assert_eq!(report.available.to_string(), "$176.60");
        assert_eq!(report.rollover.to_string(), "$142.50");
        assert_eq!(report.available_with_rollover.to_string(), "$319.10");
        // The seed prints 2,554 hours, but its own rows add up to 656 + 1,530 + 366 = 2,552.
        assert_eq!(report.by_user.iter().map(|u| u.hours).sum::<i64>(), 2_552);
        assert_eq!(report.compute_hours, 2_552);
        // $4,823.40 / 2,552 h.
        assert_eq!(report.effective_hourly, Some(Money::from_micros(1_890_047)));
        assert_eq!(report.effective_hourly.unwrap().to_string(), "$1.89");
        assert_eq!(report.hibernation_savings.to_string(), "$3,890.00");
        assert_eq!(report.stop_savings.to_string(), "$836.60");
        // The seed's "$4.20/hour 24/7" cannot hold with these totals: ten workspaces whose
        // rates sum to $4.20 cost at most $3,024 in a 720-hour month, less than $4,823.40.
        assert_eq!(report.always_on_hourly, m("15.96"));
    }

    #[test]
    fn intervals_are_exact_to_the_second() {
        struct Case {
            name: &'static str,
            events: Vec<LedgerEvent>,
            window: (OffsetDateTime, OffsetDateTime),
            /// Running, stopped, hibernated seconds.
            seconds: (i64, i64, i64),
            compute: &'static str,
            storage: &'static str,
            stop_savings: &'static str,
            hibernation_savings: &'static str,
        }
        let one = ("ada", "Stanford");
        let launched_in_january = timeline(
            "ws",
            one,
            ("1.00", 0),
            datetime!(2026-01-30 22:00 UTC),
            &[(Duration::ZERO, Launched)],
        );
        let cases = [
            Case {
                name: "February counts from Feb 1 00:00",
                events: launched_in_january.clone(),
                window: month_bounds(datetime!(2026-02-10 00:00 UTC)),
                seconds: (672 * 3600, 0, 0),
                compute: "672",
                storage: "0",
                stop_savings: "0",
                hibernation_savings: "0",
            },
            Case {
                name: "January counts to Feb 1 00:00",
                events: launched_in_january,
                window: month_bounds(datetime!(2026-01-10 00:00 UTC)),
                seconds: (26 * 3600, 0, 0),
                compute: "26",
                storage: "0",
                stop_savings: "0",
                hibernation_savings: "0",
            },
            Case {
                name: "a stop and resume inside one hour",
                events: timeline(
                    "ws",
                    one,
                    ("0.60", 0),
                    datetime!(2026-06-03 10:00 UTC),
                    &[
                        (Duration::ZERO, Launched),
                        (Duration::minutes(20), Stopped),
                        (Duration::minutes(20), Resumed),
                    ],
                ),
                window: (
                    datetime!(2026-06-03 10:00 UTC),
                    datetime!(2026-06-03 11:00 UTC),
                ),
                seconds: (40 * 60, 20 * 60, 0),
                compute: "0.40",
                storage: "0",
                stop_savings: "0.20",
                hibernation_savings: "0",
            },
            Case {
                name: "ten hours hibernated at $0.50 saves $5.00",
                events: timeline(
                    "ws",
                    one,
                    ("0.50", 0),
                    JUNE,
                    &[
                        (Duration::ZERO, Launched),
                        (h(2), Hibernated),
                        (h(10), Resumed),
                        (h(2), Terminated),
                    ],
                ),
                window: month_bounds(JUNE),
                seconds: (4 * 3600, 0, 10 * 3600),
                compute: "2",
                storage: "0",
                stop_savings: "0",
                hibernation_savings: "5",
            },
            Case {
                name: "a stopped volume is charged all month, its instance nothing",
                events: timeline(
                    "ws",
                    one,
                    ("0.50", 100),
                    datetime!(2026-05-31 00:00 UTC),
                    &[(Duration::ZERO, Launched), (h(1), Stopped)],
                ),
                window: month_bounds(JUNE),
                seconds: (0, 720 * 3600, 0),
                compute: "0",
                storage: "8.00",
                stop_savings: "360",
                hibernation_savings: "0",
            },
            Case {
                name: "storage ends at termination",
                events: timeline(
                    "ws",
                    one,
                    ("0.50", 100),
                    JUNE,
                    &[
                        (Duration::ZERO, Launched),
                        (h(24), Stopped),
                        (h(14 * 24), Terminated),
                    ],
                ),
                window: month_bounds(JUNE),
                seconds: (24 * 3600, 14 * 24 * 3600, 0),
                compute: "12",
                storage: "4.00",
                stop_savings: "168",
                hibernation_savings: "0",
            },
            Case {
                name: "one second at $0.0416 truncates to 11 micro-dollars",
                events: timeline(
                    "ws",
                    one,
                    ("0.0416", 0),
                    JUNE,
                    &[
                        (Duration::ZERO, Launched),
                        (Duration::seconds(1), Terminated),
                    ],
                ),
                window: month_bounds(JUNE),
                seconds: (1, 0, 0),
                compute: "0.000011",
                storage: "0",
                stop_savings: "0",
                hibernation_savings: "0",
            },
        ];
        for case in cases {
            let usage = workspace_usage(&case.events, case.window.0, case.window.1, ebs);
            let [usage] = usage.as_slice() else {
                panic!("{}: expected one workspace, got {usage:?}", case.name)
            };
            let seconds = (
                usage.running_seconds,
                usage.stopped_seconds,
                usage.hibernated_seconds,
            );
            assert_eq!(seconds, case.seconds, "{}", case.name);
            assert_eq!(usage.compute, m(case.compute), "{}", case.name);
            assert_eq!(usage.storage, m(case.storage), "{}", case.name);
            assert_eq!(usage.stop_savings, m(case.stop_savings), "{}", case.name);
            assert_eq!(
                usage.hibernation_savings,
                m(case.hibernation_savings),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn workspaces_gone_before_the_window_are_left_out() {
        let events = timeline(
            "ws",
            ("ada", "MIT"),
            ("1.00", 100),
            datetime!(2026-05-01 00:00 UTC),
            &[(Duration::ZERO, Launched), (h(10), Terminated)],
        );
        let (from, to) = month_bounds(JUNE);
        assert_eq!(workspace_usage(&events, from, to, ebs), []);
    }

    #[test]
    fn duplicate_and_out_of_order_events_change_nothing() {
        let clean = seed_month_6();
        let reversed: Vec<_> = clean.iter().rev().cloned().collect();
        let doubled: Vec<_> = clean.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
        // The reconcile job observing a stopped workspace again, hours later, at another rate.
        let mut observed = clean.clone();
        let mut stop = clean
            .iter()
            .find(|e| e.workspace == "mit-test-1" && e.kind == Stopped)
            .unwrap()
            .clone();
        stop.at += h(10);
        stop.hourly = m("9.99");
        observed.insert(0, stop);
        let expected = cost_report(&clean, month_bounds(JUNE), m("5000"), m("142.50"), ebs);
        for (name, events) in [
            ("reversed", reversed),
            ("doubled", doubled),
            ("re-observed", observed),
        ] {
            let (from, to) = month_bounds(JUNE);
            assert_eq!(
                workspace_usage(&events, from, to, ebs),
                workspace_usage(&clean, from, to, ebs),
                "{name}"
            );
            assert_eq!(
                cost_report(&events, (from, to), m("5000"), m("142.50"), ebs),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn institution_percents_always_add_up_to_100() {
        let cases: [(&[i64], &[i64]); 4] = [
            (&[1, 1, 1], &[34, 33, 33]),
            (&[289_020, 124_080, 69_240], &[60, 26, 14]),
            (&[5, 0], &[100, 0]),
            (&[0, 0], &[0, 0]),
        ];
        for (shares, expected) in cases {
            assert_eq!(
                percents(shares, shares.iter().sum()),
                expected,
                "{shares:?}"
            );
        }
    }

    /// A named snapshot costs its size at the snapshot rate it was taken with, for as long as
    /// it is kept, whatever the region's volume price; it is no instance of anyone's.
    #[test]
    fn a_snapshot_is_charged_storage_only_while_kept() {
        let workspace = timeline(
            "mit-algorithm-dev",
            ("johnson", "MIT"),
            ("0.096", 0),
            JUNE,
            &[(h(0), Launched)],
        );
        let mut snapshot = timeline(
            &snapshot_key("before-rerun"),
            ("johnson", "MIT"),
            ("0", 100),
            JUNE,
            &[(h(0), SnapshotTaken), (h(24 * 15), SnapshotDeleted)],
        );
        for event in &mut snapshot {
            event.storage_rate = Some(m("0.05"));
        }
        let events: Vec<LedgerEvent> = workspace.iter().chain(&snapshot).cloned().collect();
        let (from, to) = month_bounds(JUNE);
        let report = cost_report(&events, (from, to), m("5000"), Money::ZERO, ebs);
        // 100 GB × $0.05 for half of a 30-day month; not the $0.08 of a volume.
        assert_eq!(report.storage, m("2.50"));
        assert_eq!(report.snapshot_storage, m("2.50"));
        assert_eq!(
            report.compute,
            cost_report(&workspace, (from, to), m("5000"), Money::ZERO, ebs).compute
        );
        assert_eq!(report.by_user[0].instances, 1);
        assert_eq!(report.total, report.compute + m("2.50"));
        let kept = workspace_usage(&snapshot, from, to, ebs);
        assert_eq!(kept[0].kept_seconds, 15 * 86_400);
        assert_eq!(kept[0].cost(), m("2.50"));
    }
}
