//! The weekly digest: when it is due in a project's time zone, and the week it covers.

use std::fmt;
use std::str::FromStr;

use jiff::civil;
use jiff::tz::TimeZone;
use time::{OffsetDateTime, Weekday};

use crate::budget::BudgetPosition;
use crate::ledger::{CostReport, LedgerEvent, WorkspaceUsage, cost_report, workspace_usage};
use crate::pricing::Money;

/// How many workspaces the digest lists by cost.
pub const TOP_WORKSPACES: usize = 5;

/// When in the week the digest goes out, in each project's own time zone (`CWS_DIGEST_AT`,
/// e.g. `monday 09:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestTime {
    pub weekday: Weekday,
    pub hour: u8,
    pub minute: u8,
}

impl Default for DigestTime {
    fn default() -> Self {
        DigestTime {
            weekday: Weekday::Monday,
            hour: 9,
            minute: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a weekly time such as `monday 09:00`")]
pub struct InvalidDigestTime(pub String);

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

impl FromStr for DigestTime {
    type Err = InvalidDigestTime;

    /// `monday 09:00`, `Mon 9:30`: a weekday (or its first three letters) and a 24-hour time.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidDigestTime(text.to_owned());
        let (day, clock) = text.trim().split_once(' ').ok_or_else(invalid)?;
        let day = day.to_ascii_lowercase();
        let weekday = WEEKDAYS
            .iter()
            .find(|(name, _)| *name == day || (day.len() == 3 && name.starts_with(&day)))
            .map(|(_, weekday)| *weekday)
            .ok_or_else(invalid)?;
        let (hour, minute) = clock.trim().split_once(':').ok_or_else(invalid)?;
        let hour: u8 = hour.parse().ok().filter(|h| *h < 24).ok_or_else(invalid)?;
        let minute: u8 = (minute.len() == 2)
            .then(|| minute.parse().ok())
            .flatten()
            .filter(|m| *m < 60)
            .ok_or_else(invalid)?;
        Ok(DigestTime {
            weekday,
            hour,
            minute,
        })
    }
}

impl fmt::Display for DigestTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02}:{:02}", self.weekday, self.hour, self.minute)
    }
}

/// The latest digest time at or before `now`, in `zone`: the digest that is due. Across a
/// daylight-saving change the local time is read as the clocks show it (a time skipped by the
/// change counts as the instant after it).
pub fn last_due(now: OffsetDateTime, zone: &TimeZone, when: DigestTime) -> OffsetDateTime {
    let now_seconds = now.unix_timestamp();
    let local = jiff::Timestamp::from_second(now_seconds)
        .expect("the clock reads a time jiff can hold")
        .to_zoned(zone.clone())
        .date();
    let wanted = when.weekday.number_days_from_monday();
    (0..=7)
        .filter_map(|back| local.checked_sub(jiff::Span::new().days(back)).ok())
        .filter(|date| date.weekday().to_monday_zero_offset() as u8 == wanted)
        .filter_map(|date| {
            let at = date.at(when.hour as i8, when.minute as i8, 0, 0);
            let instant = zone.to_ambiguous_zoned(at).compatible().ok()?.timestamp();
            (instant.as_second() <= now_seconds).then_some(instant.as_second())
        })
        .map(|seconds| {
            OffsetDateTime::from_unix_timestamp(seconds).expect("a time jiff holds fits `time`")
        })
        .next()
        .expect("a weekday recurs within eight days")
}

/// The local calendar date of `at` in `zone`: what names a digest's week (`2026-11-23`).
pub fn local_date(at: OffsetDateTime, zone: &TimeZone) -> civil::Date {
    jiff::Timestamp::from_second(at.unix_timestamp())
        .expect("the clock reads a time jiff can hold")
        .to_zoned(zone.clone())
        .date()
}

/// What one week cost a project, and where its month stands.
#[derive(Debug, Clone)]
pub struct WeeklyDigest {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub week: CostReport,
    /// The week's most expensive workspaces, at most [`TOP_WORKSPACES`].
    pub top: Vec<WorkspaceUsage>,
    pub budget: BudgetPosition,
}

/// The digest for the week that ends at `due`.
pub fn weekly_digest(
    events: &[LedgerEvent],
    due: OffsetDateTime,
    budget: BudgetPosition,
    ebs_rate: impl Fn(&str) -> Money,
) -> WeeklyDigest {
    let from = due - time::Duration::weeks(1);
    let week = cost_report(
        events,
        (from, due),
        budget.monthly_budget,
        Money::ZERO,
        &ebs_rate,
    );
    let mut top = workspace_usage(events, from, due, &ebs_rate);
    top.sort_by_key(|usage| std::cmp::Reverse(usage.cost()));
    top.retain(|usage| usage.cost() > Money::ZERO);
    top.truncate(TOP_WORKSPACES);
    WeeklyDigest {
        from,
        to: due,
        week,
        top,
        budget,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn digest_times_read_like_people_write_them() {
        let monday_nine = DigestTime::default();
        assert_eq!("monday 09:00".parse(), Ok(monday_nine));
        assert_eq!("Mon 9:00".parse(), Ok(monday_nine));
        assert_eq!(
            "friday 17:30".parse(),
            Ok(DigestTime {
                weekday: Weekday::Friday,
                hour: 17,
                minute: 30
            })
        );
        for bad in [
            "monday",
            "funday 09:00",
            "monday 24:00",
            "monday 09:7",
            "mo 09:00",
        ] {
            assert!(bad.parse::<DigestTime>().is_err(), "{bad}");
        }
        assert_eq!(monday_nine.to_string(), "Monday 09:00");
    }

    #[test]
    fn the_digest_due_is_the_last_monday_nine_in_the_projects_zone() {
        let utc = TimeZone::UTC;
        let la = TimeZone::get("America/Los_Angeles").unwrap();
        let when = DigestTime::default();
        let cases = [
            // Monday 2026-11-23, 09:00 UTC exactly, then just before it.
            (
                datetime!(2026-11-23 09:00 UTC),
                &utc,
                datetime!(2026-11-23 09:00 UTC),
            ),
            (
                datetime!(2026-11-23 08:59 UTC),
                &utc,
                datetime!(2026-11-16 09:00 UTC),
            ),
            (
                datetime!(2026-11-26 12:00 UTC),
                &utc,
                datetime!(2026-11-23 09:00 UTC),
            ),
            // 09:00 in Los Angeles is 17:00 UTC in November (PST).
            (
                datetime!(2026-11-23 16:59 UTC),
                &la,
                datetime!(2026-11-16 17:00 UTC),
            ),
            (
                datetime!(2026-11-23 17:00 UTC),
                &la,
                datetime!(2026-11-23 17:00 UTC),
            ),
            // In July (PDT) it is 16:00 UTC.
            (
                datetime!(2026-07-13 16:30 UTC),
                &la,
                datetime!(2026-07-13 16:00 UTC),
            ),
        ];
        for (now, zone, due) in cases {
            assert_eq!(last_due(now, zone, when), due, "at {now}");
        }
    }

    #[test]
    fn a_digest_covers_the_seven_days_before_it_is_due() {
        use crate::ledger::LedgerEventKind;
        let launched = |workspace: &str, hourly: &str, at| LedgerEvent {
            at,
            kind: LedgerEventKind::Launched,
            workspace: workspace.into(),
            instance_id: format!("i-{workspace}"),
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: hourly.parse().unwrap(),
            storage_gb: 0,
            project: "nih".into(),
            user: "sarah_lee".into(),
            institution: "berkeley".into(),
            storage_rate: None,
        };
        let due = datetime!(2026-11-23 09:00 UTC);
        // One was launched weeks earlier and ran all week; one started the day before.
        let events = [
            launched("gpu", "1.00", datetime!(2026-11-01 00:00 UTC)),
            launched("cpu", "0.10", datetime!(2026-11-22 09:00 UTC)),
        ];
        let budget = BudgetPosition::new(Money::from_cents(100_000), Money::ZERO, due);
        let digest = weekly_digest(&events, due, budget, |_| Money::ZERO);
        assert_eq!(digest.from, datetime!(2026-11-16 09:00 UTC));
        assert_eq!(digest.week.total, "170.40".parse().unwrap());
        let top: Vec<_> = digest.top.iter().map(|u| u.workspace.as_str()).collect();
        assert_eq!(top, ["gpu", "cpu"]);
    }
}
