//! A project: the budget workspaces are charged to, its owner, and where it talks.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::chargeback::Chargeback;
use crate::command::{Months, ProjectCreate, ProjectType, TimeZoneName};
use crate::identity::{ChatIdentity, Permission};
use crate::idle::IdlePolicy;
use crate::job::ReplyTo;
use crate::limit::BudgetLimit;
use crate::pricing::Money;

/// The alert threshold when `project create` names none, in percent of the monthly budget.
pub const DEFAULT_ALERT_THRESHOLD: u8 = 80;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    pub owner: ChatIdentity,
    /// The owner's chat user id, for mentions and direct messages.
    pub owner_user_id: String,
    pub owner_name: String,
    /// The owner's institution (their chat workspace's domain).
    pub institution: String,
    pub monthly_budget: Money,
    pub description: Option<String>,
    pub alert_threshold: u8,
    pub kind: Option<ProjectType>,
    pub duration: Option<Months>,
    /// The AWS account the project's workspaces run in.
    pub account: String,
    /// The channel the project was created in: exception requests and notices go there too.
    pub channel_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Where the weekly digest is timed; `None` is UTC.
    #[serde(default)]
    pub time_zone: Option<TimeZoneName>,
    /// Set by `project chargeback --enable`.
    #[serde(default)]
    pub chargeback: Option<Chargeback>,
    /// Set by `project budget`.
    #[serde(default)]
    pub limit: BudgetLimit,
    /// Set by `project idle`; `None` is off.
    #[serde(default)]
    pub idle: Option<IdlePolicy>,
    /// Set by `collaboration end`.
    #[serde(default)]
    pub collaboration_end: Option<EndPlan>,
    /// Who decides exception requests besides the owner and admins (`project approvers`).
    #[serde(default)]
    pub approvers: Vec<ChatIdentity>,
    /// Set by `project archive`: from then on nothing launches, starts or resumes in it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
}

/// How the owner said the collaboration ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndPlan {
    /// Midnight of the end date in the project's time zone: no invitation lasts longer.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Keep collaborators' snapshots for the grace period, then delete the unclaimed ones.
    pub archive_collaborator_work: bool,
    /// Accounts (`CWS_ACCOUNTS` names) that receive their own people's snapshots at the end.
    pub transfer_snapshots: Vec<String>,
}

/// Who creates a project, as the worker knows them.
pub struct ProjectOwner<'a> {
    pub identity: ChatIdentity,
    pub user_id: &'a str,
    pub user_name: &'a str,
    pub institution: &'a str,
    pub channel_id: &'a str,
}

impl Project {
    /// Whether the project still lets its members use `permission`. An archived project is
    /// read-only: seeing it, its costs, reports, statements and audit trail stay, and so does
    /// winding down (stop, hibernate, terminate, revoke, end); nothing new is launched,
    /// mounted, created, invited, extended or excepted. Starting a stopped workspace is
    /// refused where it happens, since it shares its permission with stopping.
    pub fn grants(&self, permission: Permission) -> bool {
        use Permission::*;
        self.archived_at.is_none()
            || !matches!(
                permission,
                Launch
                    | MountVolumes
                    | CreateVolumes
                    | RequestException
                    | DecideExceptions
                    | Invite
                    | ExtendInvitations
            )
    }

    /// The channel the project was created in, for posts no command answers: exception
    /// requests, digests, statements, enforcement notices.
    pub fn channel(&self) -> ReplyTo {
        match self.owner.platform() {
            crate::job::Platform::Slack => ReplyTo::slack(&self.channel_id, None),
            crate::job::Platform::Discord => ReplyTo::discord(&self.channel_id, None),
        }
    }

    /// The zone the project's weekly digest follows.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.time_zone
            .as_ref()
            .map_or(jiff::tz::TimeZone::UTC, TimeZoneName::zone)
    }

    pub fn create(
        command: &ProjectCreate,
        owner: ProjectOwner<'_>,
        account: &str,
        now: OffsetDateTime,
    ) -> Project {
        Project {
            name: command.name.to_string(),
            owner: owner.identity,
            owner_user_id: owner.user_id.to_owned(),
            owner_name: owner.user_name.to_owned(),
            institution: owner.institution.to_owned(),
            monthly_budget: command.budget.to_money(),
            description: command.description.clone(),
            alert_threshold: command.alert_threshold.unwrap_or(DEFAULT_ALERT_THRESHOLD),
            kind: command.project_type,
            duration: command.duration,
            account: account.to_owned(),
            channel_id: owner.channel_id.to_owned(),
            created_at: now,
            time_zone: command.time_zone.clone(),
            chargeback: None,
            limit: BudgetLimit::default(),
            idle: None,
            collaboration_end: planned_end(command, now),
            approvers: Vec::new(),
            archived_at: None,
        }
    }
}

/// A collaboration's end as `project create --type collaboration --duration 18-months` sets
/// it: midnight, in the project's time zone, of the day `duration` after the day it was
/// created (a month-end day moves to the shorter month's last). The same plan
/// `collaboration end --date` writes, so invitations never outlast it and the expiry sweep
/// ends them with it; `collaboration end` may move it later.
fn planned_end(command: &ProjectCreate, now: OffsetDateTime) -> Option<EndPlan> {
    let (Some(ProjectType::Collaboration), Some(Months(months))) =
        (command.project_type, command.duration)
    else {
        return None;
    };
    let zone = command
        .time_zone
        .as_ref()
        .map_or(jiff::tz::TimeZone::UTC, TimeZoneName::zone);
    let created = jiff::Timestamp::from_second(now.unix_timestamp())
        .expect("an OffsetDateTime is a timestamp jiff holds")
        .to_zoned(zone.clone())
        .date();
    let ends = created
        .checked_add(jiff::Span::new().months(i64::from(months)))
        .expect("at most ten years from now is a date jiff holds")
        .to_zoned(zone)
        .expect("midnight of a date jiff holds is a zoned time")
        .timestamp()
        .as_second();
    Some(EndPlan {
        ends_at: OffsetDateTime::from_unix_timestamp(ends).expect("a time jiff holds fits `time`"),
        archive_collaborator_work: false,
        transfer_snapshots: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, ProjectCommand, parse};

    fn create(line: &str) -> ProjectCreate {
        match parse(line) {
            Ok(Command::Project(ProjectCommand::Create(create))) => create,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn end_of(line: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
        planned_end(&create(line), now).map(|plan| plan.ends_at)
    }

    #[test]
    fn a_collaboration_with_a_duration_ends_that_many_months_after_its_first_day() {
        let seed = "project create nih --budget 5000 --type collaboration --duration 18-months";
        let cases = [
            (
                seed,
                datetime!(2026-01-15 17:30 UTC),
                Some(datetime!(2027-07-15 00:00 UTC)),
            ),
            // A month-end day moves to the shorter month's last day.
            (
                "project create nih --budget 5000 --type collaboration --duration 1-month",
                datetime!(2026-01-31 09:00 UTC),
                Some(datetime!(2026-02-28 00:00 UTC)),
            ),
            // Midnight where the project keeps its time: still the 15th in Los Angeles.
            (
                "project create nih --budget 5000 --type collaboration --duration 2-years \
                 --timezone America/Los_Angeles",
                datetime!(2026-01-16 03:00 UTC),
                Some(datetime!(2028-01-15 08:00 UTC)),
            ),
            // Without both, nothing is planned: `collaboration end --date` sets it later.
            (
                "project create nih --budget 5000 --duration 18-months",
                datetime!(2026-01-15 0:00 UTC),
                None,
            ),
            (
                "project create nih --budget 5000 --type collaboration",
                datetime!(2026-01-15 0:00 UTC),
                None,
            ),
        ];
        for (line, now, expected) in cases {
            assert_eq!(end_of(line, now), expected, "{line}");
        }
        let plan = planned_end(&create(seed), datetime!(2026-01-15 0:00 UTC)).unwrap();
        assert!(!plan.archive_collaborator_work && plan.transfer_snapshots.is_empty());
    }

    #[test]
    fn an_archived_project_is_read_only_but_can_wind_down() {
        use Permission::*;
        let mut project = Project::create(
            &create("project create nih --budget 5000"),
            ProjectOwner {
                identity: ChatIdentity::slack("T1", "U1"),
                user_id: "U1",
                user_name: "jennifer.smith",
                institution: "stanford",
                channel_id: "C1",
            },
            "stanford-neuroscience",
            datetime!(2026-01-15 0:00 UTC),
        );
        let table = [
            (View, true),
            (Launch, false),
            (ManageOwnWorkspaces, true),
            (ManageAnyWorkspace, true),
            (MountVolumes, false),
            (CreateVolumes, false),
            (RequestException, false),
            (DecideExceptions, false),
            (Invite, false),
            (RevokeInvitations, true),
            (ExtendInvitations, false),
            (ReadAudit, true),
            (ManageProject, true),
            (EndCollaboration, true),
        ];
        for (permission, _) in table {
            assert!(
                project.grants(permission),
                "{permission:?} before archiving"
            );
        }
        project.archived_at = Some(datetime!(2027-06-02 0:00 UTC));
        for (permission, kept) in table {
            assert_eq!(
                project.grants(permission),
                kept,
                "{permission:?} once archived"
            );
        }
    }
}
