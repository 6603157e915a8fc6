//! The end of a time-boxed invitation (seed problem 5): warnings 30, 7 and 1 days before it
//! expires, the end itself (revoke, stop, snapshot, archive, transfer), a last warning 7 days
//! before the 90-day grace period is over, and the clean-up after it (archive when asked,
//! terminate, delete).
//!
//! Each invitation moves through [`Stage`]s in order and records the last one done. The sweep
//! asks [`due`] what to do now: the *latest* stage whose time has come, so a sweep that missed
//! days sends the one warning that is still true ("expires in 1 day"), not three stale ones.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::command::{Date, TimeZoneName};

/// How long an ended collaborator's stopped workspaces and snapshots are kept.
pub const GRACE: Duration = Duration::days(90);

/// How long before the clean-up its last warning goes out, and the least time a late warning
/// still gives before anything is deleted.
pub const LAST_WARNING: Duration = Duration::days(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Warn30,
    Warn7,
    Warn1,
    /// Access ends: revoke, stop, snapshot, archive manifest, share snapshots.
    End,
    /// The grace period ends in 7 days: what the clean-up will delete (or archive) is listed
    /// to the collaborator and the owner.
    LastWarning,
    /// The grace period is over: archive when asked, terminate the stopped workspaces (their
    /// volumes go with them) and delete the snapshots nobody claimed.
    Cleanup,
}

const STAGES: [Stage; 6] = [
    Stage::Warn30,
    Stage::Warn7,
    Stage::Warn1,
    Stage::End,
    Stage::LastWarning,
    Stage::Cleanup,
];

impl Stage {
    /// Days before expiry, for a warning.
    pub fn warning_days(self) -> Option<u32> {
        match self {
            Stage::Warn30 => Some(30),
            Stage::Warn7 => Some(7),
            Stage::Warn1 => Some(1),
            Stage::End | Stage::LastWarning | Stage::Cleanup => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Warn30 => "warn-30",
            Stage::Warn7 => "warn-7",
            Stage::Warn1 => "warn-1",
            Stage::End => "end",
            Stage::LastWarning => "last-warning",
            Stage::Cleanup => "cleanup",
        }
    }

    /// When the stage is due for an invitation ending at `ends_at` (the clean-up also waits
    /// for its last warning: [`Timeline::due`]).
    pub fn at(self, ends_at: OffsetDateTime) -> OffsetDateTime {
        match self {
            Stage::End => ends_at,
            Stage::LastWarning => ends_at + GRACE - LAST_WARNING,
            Stage::Cleanup => ends_at + GRACE,
            warning => {
                ends_at - Duration::days(i64::from(warning.warning_days().unwrap_or_default()))
            }
        }
    }
}

/// The steps of [`Stage::End`], in order. Each is recorded when done, so a worker that dies
/// in the middle leaves the rest to the next sweep, which does not repeat what is recorded
/// (and each step is itself safe to run twice: stopping a stopped instance, snapshots found
/// again by their key, the same manifest written again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndStep {
    /// The invitation is revoked as of its end: its token and every device are refused.
    Revoke,
    /// The collaborator's workspaces are stopped, never terminated.
    Stop,
    /// Every volume of those workspaces is snapshotted.
    Snapshot,
    /// A manifest of what was kept goes to the archive bucket.
    Archive,
    /// The snapshots are shared with the collaborator's own account, if the owner named it.
    Transfer,
    /// The collaborator and the owner are told what happened and where their work is.
    Notify,
}

/// The steps of [`Stage::Cleanup`], in order, recorded like [`EndStep`]s: archives exist
/// before anything is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupStep {
    /// With `--archive-collaborator-work`: every volume of the stopped workspaces is
    /// snapshotted and the snapshot moved to the EBS archive tier.
    Archive,
    /// The stopped workspaces are terminated; their volumes are deleted with them.
    Terminate,
    /// The snapshots nobody claimed (and that are no archive) are deleted.
    Delete,
    /// The owner is told what is gone and what is archived where, and how to restore it.
    Report,
}

pub const CLEANUP_STEPS: [CleanupStep; 4] = [
    CleanupStep::Archive,
    CleanupStep::Terminate,
    CleanupStep::Delete,
    CleanupStep::Report,
];

impl CleanupStep {
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupStep::Archive => "cleanup-archive",
            CleanupStep::Terminate => "cleanup-terminate",
            CleanupStep::Delete => "cleanup-delete",
            CleanupStep::Report => "cleanup-report",
        }
    }
}

/// A snapshot the clean-up keeps in the EBS archive tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    pub snapshot_id: String,
    pub workspace: String,
    pub volume_id: String,
    pub size_gb: u32,
    pub region: String,
}

pub const END_STEPS: [EndStep; 6] = [
    EndStep::Revoke,
    EndStep::Stop,
    EndStep::Snapshot,
    EndStep::Archive,
    EndStep::Transfer,
    EndStep::Notify,
];

impl EndStep {
    pub fn as_str(self) -> &'static str {
        match self {
            EndStep::Revoke => "revoke",
            EndStep::Stop => "stop",
            EndStep::Snapshot => "snapshot",
            EndStep::Archive => "archive",
            EndStep::Transfer => "transfer",
            EndStep::Notify => "notify",
        }
    }
}

/// What the sweep has done for one invitation's end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryRecord {
    /// The end the stages below were done for. Records from before ends could move later
    /// have none, and are taken to be for the current end.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// The last stage completed.
    pub done: Option<Stage>,
    /// The steps of the end completed so far.
    #[serde(default)]
    pub end_steps: Vec<EndStep>,
    /// The archive manifest's key and its download link, once written.
    #[serde(default)]
    pub manifest: Option<(String, String)>,
    /// When the last warning before the clean-up went out.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_warned_at: Option<OffsetDateTime>,
    /// The steps of the clean-up completed so far.
    #[serde(default)]
    pub cleanup_steps: Vec<CleanupStep>,
    /// The snapshots the clean-up moved to the archive tier.
    #[serde(default)]
    pub archives: Vec<Archived>,
    /// The workspaces the clean-up terminated, each recorded as it goes.
    #[serde(default)]
    pub terminated: Vec<String>,
    /// The snapshots the clean-up deleted, each recorded as it goes.
    #[serde(default)]
    pub deleted: Vec<String>,
}

impl ExpiryRecord {
    /// The record as it stands for an end at `ends_at`: empty when it was kept for another
    /// end, so an invitation extended (or brought forward) is warned and ended anew for its
    /// new date, and nothing planned for the old one happens.
    pub fn for_end(self, ends_at: OffsetDateTime) -> ExpiryRecord {
        let kept = match self.ends_at {
            Some(kept_for) if kept_for != ends_at => ExpiryRecord::default(),
            _ => self,
        };
        ExpiryRecord {
            ends_at: Some(ends_at),
            ..kept
        }
    }

    /// The end's steps still to do, in order.
    pub fn steps_left(&self) -> impl Iterator<Item = EndStep> + '_ {
        END_STEPS
            .into_iter()
            .filter(|step| !self.end_steps.contains(step))
    }

    /// The clean-up's steps still to do, in order.
    pub fn cleanup_steps_left(&self) -> impl Iterator<Item = CleanupStep> + '_ {
        CLEANUP_STEPS
            .into_iter()
            .filter(|step| !self.cleanup_steps.contains(step))
    }
}

/// What one invitation's end looks like to the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// When the current end was set: the invitation's creation or latest extension.
    pub planned_at: OffsetDateTime,
    /// When access ends: the expiry, or an earlier revocation.
    pub ends_at: OffsetDateTime,
    /// The last stage done.
    pub done: Option<Stage>,
    /// When the last warning before the clean-up went out.
    pub last_warned_at: Option<OffsetDateTime>,
}

impl Timeline {
    /// The timeline of an invitation's end as `record` has done it so far.
    pub fn new(
        planned_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        record: &ExpiryRecord,
    ) -> Timeline {
        Timeline {
            planned_at,
            ends_at,
            done: record.done,
            last_warned_at: record.last_warned_at,
        }
    }

    /// When `stage` is due. The clean-up never comes before its last warning, and never
    /// sooner than [`LAST_WARNING`] after it: a sweep that sent the warning late still gives
    /// the collaborator a week. `None` while that warning has not gone out.
    fn when(&self, stage: Stage) -> Option<OffsetDateTime> {
        if stage != Stage::Cleanup {
            return Some(stage.at(self.ends_at));
        }
        self.last_warned_at
            .map(|warned| stage.at(self.ends_at).max(warned + LAST_WARNING))
    }

    /// Stages still to come, in order. A warning whose time was before the end was set is
    /// never sent (a 10-day invitation gets no 30-day warning; an extension's notice already
    /// gave the new date), nor is one for an access that was revoked by hand (there is
    /// nothing left to warn about).
    fn ahead(&self) -> impl Iterator<Item = Stage> + '_ {
        STAGES.into_iter().filter(move |stage| {
            Some(*stage) > self.done
                && (stage.warning_days().is_none() || stage.at(self.ends_at) > self.planned_at)
        })
    }

    /// The stage to do now: the latest one whose time has come. Warnings it passes over are
    /// skipped, and none is sent once access has ended.
    pub fn due(&self, now: OffsetDateTime) -> Option<Stage> {
        self.ahead()
            .filter(|stage| self.when(*stage).is_some_and(|at| at <= now))
            .last()
    }

    /// The next stage and when it is due: when the sweep should look at this invitation again.
    pub fn next(&self) -> Option<(Stage, OffsetDateTime)> {
        let stage = self.ahead().next()?;
        // The last warning comes before the clean-up, so the clean-up's time is known here.
        Some((stage, self.when(stage).unwrap_or(stage.at(self.ends_at))))
    }
}

/// Whole days from `now` until `ends_at`, rounded up: what a warning says is left, which is
/// less than the stage's days when a sweep ran late or the end was brought forward.
pub fn days_left(ends_at: OffsetDateTime, now: OffsetDateTime) -> u32 {
    let seconds = (ends_at - now).whole_seconds().max(0);
    u32::try_from((seconds + 86_399) / 86_400).unwrap_or(u32::MAX)
}

/// Midnight at the start of `date` in the project's time zone (UTC without one): when a
/// collaboration that "ends on June 1" ends.
pub fn start_of(date: Date, zone: Option<&TimeZoneName>) -> OffsetDateTime {
    let zone = zone.map_or(jiff::tz::TimeZone::UTC, TimeZoneName::zone);
    let civil = jiff::civil::date(
        i16::try_from(date.year()).expect("parsed years have four digits"),
        i8::try_from(date.month()).expect("months are 1-12"),
        i8::try_from(date.day()).expect("days are 1-31"),
    );
    let seconds = civil
        .to_zoned(zone)
        .expect("a parsed date is a day jiff knows")
        .timestamp()
        .as_second();
    OffsetDateTime::from_unix_timestamp(seconds).expect("a time jiff holds fits `time`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CREATED: OffsetDateTime = datetime!(2025-12-09 0:00 UTC);
    const ENDS: OffsetDateTime = datetime!(2027-06-01 0:00 UTC);

    fn timeline(done: Option<Stage>) -> Timeline {
        Timeline {
            planned_at: CREATED,
            ends_at: ENDS,
            done,
            last_warned_at: None,
        }
    }

    #[test]
    fn each_warning_comes_on_its_day_and_only_once() {
        let cases = [
            (None, ENDS - Duration::days(31), None),
            (None, ENDS - Duration::days(30), Some(Stage::Warn30)),
            (Some(Stage::Warn30), ENDS - Duration::days(29), None),
            (
                Some(Stage::Warn30),
                ENDS - Duration::days(7),
                Some(Stage::Warn7),
            ),
            (
                Some(Stage::Warn7),
                ENDS - Duration::hours(24),
                Some(Stage::Warn1),
            ),
            (Some(Stage::Warn1), ENDS - Duration::seconds(1), None),
            (Some(Stage::Warn1), ENDS, Some(Stage::End)),
            (Some(Stage::End), ENDS + Duration::days(82), None),
            (
                Some(Stage::End),
                ENDS + Duration::days(83),
                Some(Stage::LastWarning),
            ),
            (Some(Stage::Cleanup), ENDS + Duration::days(900), None),
        ];
        for (done, now, expected) in cases {
            assert_eq!(timeline(done).due(now), expected, "{done:?} at {now}");
        }
    }

    #[test]
    fn a_sweep_that_missed_days_sends_only_the_warning_still_true() {
        assert_eq!(
            timeline(None).due(ENDS - Duration::days(3)),
            Some(Stage::Warn7)
        );
        assert_eq!(
            timeline(None).due(ENDS + Duration::days(2)),
            Some(Stage::End)
        );
    }

    #[test]
    fn a_short_invitation_skips_warnings_from_before_it_existed() {
        let short = Timeline {
            planned_at: ENDS - Duration::days(10),
            ..timeline(None)
        };
        assert_eq!(short.next(), Some((Stage::Warn7, ENDS - Duration::days(7))));
        assert_eq!(short.due(ENDS - Duration::days(10)), None);
    }

    #[test]
    fn a_record_kept_for_another_end_counts_as_empty() {
        let done = ExpiryRecord {
            ends_at: Some(ENDS),
            done: Some(Stage::Warn7),
            end_steps: vec![EndStep::Revoke],
            ..ExpiryRecord::default()
        };
        let later = ENDS + Duration::days(90);
        assert_eq!(
            done.clone().for_end(later),
            ExpiryRecord {
                ends_at: Some(later),
                ..ExpiryRecord::default()
            }
        );
        assert_eq!(done.clone().for_end(ENDS), done);
        let legacy = ExpiryRecord {
            ends_at: None,
            ..done.clone()
        };
        assert_eq!(legacy.for_end(ENDS), done);
    }

    #[test]
    fn a_warning_says_the_days_really_left() {
        assert_eq!(days_left(ENDS, ENDS - Duration::days(30)), 30);
        assert_eq!(
            days_left(ENDS, ENDS - Duration::days(30) + Duration::seconds(5)),
            30
        );
        assert_eq!(days_left(ENDS, ENDS - Duration::days(20)), 20);
        assert_eq!(days_left(ENDS, ENDS - Duration::hours(1)), 1);
        assert_eq!(days_left(ENDS, ENDS + Duration::hours(1)), 0);
    }

    #[test]
    fn a_collaboration_ends_at_midnight_where_the_project_is() {
        let date: Date = "2027-06-01".parse().unwrap();
        assert_eq!(start_of(date, None), ENDS);
        let pacific: TimeZoneName = "America/Los_Angeles".parse().unwrap();
        assert_eq!(
            start_of(date, Some(&pacific)),
            datetime!(2027-06-01 7:00 UTC)
        );
    }

    #[test]
    fn the_clean_up_comes_a_week_after_its_last_warning() {
        let ended = timeline(Some(Stage::End));
        assert_eq!(
            ended.next(),
            Some((Stage::LastWarning, ENDS + GRACE - LAST_WARNING))
        );
        let warned_at = ENDS + Duration::days(83);
        let warned = Timeline {
            done: Some(Stage::LastWarning),
            last_warned_at: Some(warned_at),
            ..ended
        };
        assert_eq!(warned.next(), Some((Stage::Cleanup, ENDS + GRACE)));
        let cases = [
            (ENDS + GRACE - Duration::seconds(1), None),
            (ENDS + GRACE, Some(Stage::Cleanup)),
            (ENDS + Duration::days(900), Some(Stage::Cleanup)),
        ];
        for (now, expected) in cases {
            assert_eq!(warned.due(now), expected, "at {now}");
        }
    }

    #[test]
    fn a_clean_up_never_comes_without_a_week_of_warning() {
        // A sweep that missed the whole grace period warns first, whatever the date.
        let ended = timeline(Some(Stage::End));
        let late = ENDS + Duration::days(200);
        assert_eq!(ended.due(late), Some(Stage::LastWarning));
        let warned = Timeline {
            done: Some(Stage::LastWarning),
            last_warned_at: Some(late),
            ..ended
        };
        assert_eq!(warned.due(late + Duration::days(6)), None);
        assert_eq!(warned.next(), Some((Stage::Cleanup, late + LAST_WARNING)));
        assert_eq!(warned.due(late + LAST_WARNING), Some(Stage::Cleanup));
    }

    #[test]
    fn a_record_from_before_the_clean_up_had_steps_reads_as_none_done() {
        let legacy = r#"{"done":"end","end_steps":["revoke"],"manifest":null}"#;
        let record: ExpiryRecord = serde_json::from_str(legacy).unwrap();
        assert_eq!(record.last_warned_at, None);
        assert_eq!(
            record.cleanup_steps_left().collect::<Vec<_>>(),
            CLEANUP_STEPS
        );
    }
}
