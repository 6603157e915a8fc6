//! Idle detection: a running workspace whose CPU stayed below the project's threshold for the
//! whole window is idle. Its owner is warned (with **Keep running** and **Hibernate now**), and
//! if nobody answers within the grace period the project's action runs, once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::command::IdleAction;
use crate::ports::Activity;

/// A project's idle policy, as `project idle` left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdlePolicy {
    pub cpu_below: u8,
    pub after_minutes: u32,
    pub grace_minutes: u32,
    pub action: IdleAction,
}

impl Default for IdlePolicy {
    fn default() -> Self {
        IdlePolicy {
            cpu_below: 5,
            after_minutes: 120,
            grace_minutes: 30,
            action: IdleAction::Hibernate,
        }
    }
}

/// At most this many bytes in and out in any 5 minutes (about 17 kB/s: SSH keep-alives and
/// package-index polls, not a transfer) for a workspace to count as idle.
pub const IDLE_NETWORK_BYTES: f64 = 5_000_000.0;

/// How long **Keep running** keeps a workspace from being warned again.
pub const KEEP_RUNNING: time::Duration = time::Duration::hours(2);

impl IdlePolicy {
    pub fn window(&self) -> time::Duration {
        time::Duration::minutes(i64::from(self.after_minutes))
    }

    pub fn grace(&self) -> time::Duration {
        time::Duration::minutes(i64::from(self.grace_minutes))
    }

    /// Idle when the busiest 5 minutes of the window stayed under the CPU threshold and moved
    /// less than [`IDLE_NETWORK_BYTES`] (a download at low CPU is work). No CPU data at all
    /// (metrics not there yet) is not idle: nobody is stopped on a guess.
    pub fn is_idle(&self, activity: Option<Activity>) -> bool {
        activity.is_some_and(|a| {
            a.peak_cpu < f64::from(self.cpu_below)
                && a.peak_network_bytes.unwrap_or(0.0) < IDLE_NETWORK_BYTES
        })
    }
}

/// What is known of one workspace's idleness between checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdleWatch {
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub warned_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub keep_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStep {
    Nothing,
    /// Send the owner the warning with its two buttons.
    Warn,
    /// The grace period passed unanswered: run the action.
    Act(IdleAction),
}

/// The next step for a workspace that is `idle` (or not) at `now`.
pub fn idle_step(
    policy: &IdlePolicy,
    watch: &IdleWatch,
    idle: bool,
    now: OffsetDateTime,
) -> IdleStep {
    if !idle || watch.keep_until.is_some_and(|until| now < until) {
        return IdleStep::Nothing;
    }
    match watch.warned_at {
        None => IdleStep::Warn,
        Some(_) if policy.action == IdleAction::Notify => IdleStep::Nothing,
        Some(at) if now >= at + policy.grace() => IdleStep::Act(policy.action),
        Some(_) => IdleStep::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn idle_workspaces_are_warned_then_acted_on_after_the_grace_period() {
        let policy = IdlePolicy::default();
        let now = datetime!(2026-11-10 12:00 UTC);
        let warned = |minutes_ago: i64| IdleWatch {
            warned_at: Some(now - time::Duration::minutes(minutes_ago)),
            keep_until: None,
        };
        let kept = IdleWatch {
            warned_at: None,
            keep_until: Some(now + time::Duration::minutes(1)),
        };
        let cases = [
            ("busy", IdleWatch::default(), false, IdleStep::Nothing),
            (
                "idle, never warned",
                IdleWatch::default(),
                true,
                IdleStep::Warn,
            ),
            ("warned 10 min ago", warned(10), true, IdleStep::Nothing),
            (
                "warned 30 min ago",
                warned(30),
                true,
                IdleStep::Act(IdleAction::Hibernate),
            ),
            ("warned, busy again", warned(45), false, IdleStep::Nothing),
            ("kept running", kept, true, IdleStep::Nothing),
        ];
        for (name, watch, idle, step) in cases {
            assert_eq!(idle_step(&policy, &watch, idle, now), step, "{name}");
        }
        let notify = IdlePolicy {
            action: IdleAction::Notify,
            ..policy
        };
        assert_eq!(
            idle_step(&notify, &warned(90), true, now),
            IdleStep::Nothing
        );
    }

    #[test]
    fn idle_means_low_cpu_little_network_and_some_data() {
        let policy = IdlePolicy::default();
        let activity = |peak_cpu, peak_network_bytes| {
            Some(Activity {
                peak_cpu,
                peak_network_bytes,
            })
        };
        assert!(policy.is_idle(activity(4.9, None)));
        assert!(policy.is_idle(activity(4.9, Some(1_000_000.0))));
        assert!(!policy.is_idle(activity(5.0, None)));
        assert!(
            !policy.is_idle(activity(1.0, Some(50_000_000.0))),
            "a transfer at low CPU is work"
        );
        assert!(!policy.is_idle(None));
    }
}
