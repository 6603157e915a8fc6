//! Audit events: who did what to which resource, and how it ended. One event per command,
//! decision, refusal and change, appended to the project's stream by the worker. (Hash-chaining,
//! S3 archives and the compliance report build on these events in the audit issue.)

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::identity::ChatIdentity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    ProjectCreate,
    InvitationCreate,
    InvitationAccept,
    InvitationRevoke,
    PolicyViolation,
    ExceptionRequest,
    ExceptionDecision,
    /// A workspace started, stopped, hibernated or terminated from chat.
    Lifecycle,
    /// Anything refused because of who asked: no profile, an ended invitation, a role.
    Refused,
    /// Budget, alert or chargeback settings changed.
    ProjectSettings,
    /// A notice went out: a budget alert, a weekly digest, a chargeback statement.
    Notice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub who: ChatIdentity,
    pub institution: String,
    /// What was acted on: a project, invitation or workspace name.
    pub resource: String,
    /// How it ended: `created`, `accepted`, `refused`, `approved`, …
    pub outcome: String,
    /// Why, for refusals and decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
