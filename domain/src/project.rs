//! A project: the budget workspaces are charged to, its owner, and where it talks.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::chargeback::Chargeback;
use crate::command::{Months, ProjectCreate, ProjectType, TimeZoneName};
use crate::identity::ChatIdentity;
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
            collaboration_end: None,
            approvers: Vec::new(),
        }
    }
}
