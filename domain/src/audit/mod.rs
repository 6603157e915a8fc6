//! Audit events: who did what to which resource, and how it ended. One event per command,
//! decision, refusal and change, appended to the project's hash chain ([`chain`]) by the worker;
//! the compliance report ([`report`]) reads them back.

pub mod archive;
pub mod chain;
pub mod compliance;
pub mod report;

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
    /// An invitation's end moved later.
    InvitationExtend,
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
    /// A member ran a command in the project (the command's own outcome is a separate event).
    Command,
    /// Someone made another profile their active one.
    ProfileSwitch,
    /// A workspace was launched.
    Launch,
    /// A shared volume was created, with its cross-account grants.
    VolumeCreate,
    /// A shared volume was mounted into a workspace.
    VolumeMount,
    /// A collaborator exported their work, or an audit report was exported.
    Export,
    /// A step of the end of a collaboration: a warning, revocation, stop, snapshot, archive,
    /// snapshot transfer or clean-up.
    Expiry,
    /// A research identity verification through the identity provider (Globus Auth):
    /// verified, or refused with the reason.
    IdentityVerification,
    /// Someone asked the deployment's admins for a project.
    ProjectRequest,
    /// A deployment admin approved or denied a project request.
    ProjectRequestDecision,
    /// A research user's SSH key was replaced: one the person registered, or a new pair.
    SshKey,
    /// Someone proposed a template to the deployment's admins.
    TemplateProposal,
    /// A deployment admin approved (signed and published) or denied a proposed template.
    TemplateDecision,
}

impl AuditAction {
    /// The words the compliance report uses.
    pub fn describe(self) -> &'static str {
        match self {
            AuditAction::ProjectCreate => "Project Create",
            AuditAction::InvitationCreate => "Invitation Create",
            AuditAction::InvitationAccept => "Invitation Accept",
            AuditAction::InvitationRevoke => "Invitation Revoke",
            AuditAction::InvitationExtend => "Invitation Extend",
            AuditAction::PolicyViolation => "Policy Violation",
            AuditAction::ExceptionRequest => "Exception Request",
            AuditAction::ExceptionDecision => "Exception Decision",
            AuditAction::Lifecycle => "Workspace Change",
            AuditAction::Refused => "Refused",
            AuditAction::ProjectSettings => "Settings Change",
            AuditAction::Notice => "Notice",
            AuditAction::Command => "Command",
            AuditAction::ProfileSwitch => "Profile Switch",
            AuditAction::Launch => "Workspace Launch",
            AuditAction::VolumeCreate => "Volume Create",
            AuditAction::VolumeMount => "Volume Mount",
            AuditAction::Export => "Export",
            AuditAction::Expiry => "Expiry",
            AuditAction::IdentityVerification => "Identity Verification",
            AuditAction::ProjectRequest => "Project Request",
            AuditAction::ProjectRequestDecision => "Project Request Decision",
            AuditAction::SshKey => "SSH Key Change",
            AuditAction::TemplateProposal => "Template Proposal",
            AuditAction::TemplateDecision => "Template Decision",
        }
    }

    /// Whether the event touches research data or compute: what the report's data access
    /// table lists.
    pub fn is_data_access(self) -> bool {
        matches!(
            self,
            AuditAction::Launch | AuditAction::VolumeMount | AuditAction::Export
        )
    }
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
