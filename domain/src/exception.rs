//! Exception requests: a launch the policy refused, which the requester asks the project's
//! owner to allow anyway. Decided once, by an owner or admin, before it expires.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use sha2::{Digest, Sha256};

use crate::command::PolicyRestrictions;
use crate::identity::ChatIdentity;
use crate::job::{JobKey, LaunchJob};
use crate::policy::{LaunchFacts, Violation};

/// How long a request may wait for a decision when the deployment does not say.
pub const DEFAULT_EXCEPTION_TTL: Duration = Duration::hours(72);

/// An exception request's or a project request's id: 32 hex digits, the same shape as
/// invitation ids, derived from the job that asked, so a re-run finds the same request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a request id")]
pub struct InvalidRequestId(pub String);

impl RequestId {
    /// The request of a refused launch: one per launch job, so a re-run finds the same one.
    pub fn for_launch(key: &JobKey) -> RequestId {
        let digest = Sha256::digest(format!("exception:{key}").as_bytes());
        RequestId(hex::encode(&digest[..16]))
    }

    /// The request for a project that `project create` asked the deployment's admins for.
    pub fn for_project_request(key: &JobKey) -> RequestId {
        let digest = Sha256::digest(format!("project-request:{key}").as_bytes());
        RequestId(hex::encode(&digest[..16]))
    }

    /// A template proposed to the deployment's admins by `templates propose`.
    pub fn for_template_proposal(key: &JobKey) -> RequestId {
        let digest = Sha256::digest(format!("template-proposal:{key}").as_bytes());
        RequestId(hex::encode(&digest[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestId {
    type Error = InvalidRequestId;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let valid = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(RequestId(text))
        } else {
            Err(InvalidRequestId(text))
        }
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> String {
        id.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refused launch, kept so that the requester can ask for it and an owner can allow it.
/// The launch job is kept whole: approving runs it with its own idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRequest {
    pub id: RequestId,
    pub project: String,
    pub launch: LaunchJob,
    /// The requester's institution, as their profile says.
    pub institution: String,
    pub facts: LaunchFacts,
    pub restrictions: Option<PolicyRestrictions>,
    pub violations: Vec<Violation>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl ExceptionRequest {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    Denied,
}

impl Verdict {
    /// What the request was: `approved`, `denied`.
    pub fn decided(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Denied => "denied",
        }
    }

    /// What deciding so is called: `approval`, `denial`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approval",
            Verdict::Denied => "denial",
        }
    }
}

/// Where someone clicking Approve or Deny stands, four eyes first. Project members' roles are
/// checked by the access rule (`Permission::DecideExceptions`); the others decide without
/// membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeciderStanding {
    /// The requester: nobody decides their own request.
    OwnRequest,
    /// Named by `project approvers`.
    NamedApprover,
    /// A deployment admin, on a request the project's owner made (the owner may not decide it).
    DeploymentAdmin,
    /// Anyone else: decides only as the project's owner or an admin.
    Member,
}

/// Who the project's people are, as far as deciding exceptions goes.
pub struct Deciders<'a> {
    pub owner: &'a ChatIdentity,
    pub approvers: &'a [ChatIdentity],
    pub deployment_admins: &'a [ChatIdentity],
}

impl Deciders<'_> {
    pub fn standing(&self, clicker: &ChatIdentity, requester: &ChatIdentity) -> DeciderStanding {
        if clicker == requester {
            DeciderStanding::OwnRequest
        } else if self.approvers.contains(clicker) {
            DeciderStanding::NamedApprover
        } else if requester == self.owner && self.deployment_admins.contains(clicker) {
            DeciderStanding::DeploymentAdmin
        } else {
            DeciderStanding::Member
        }
    }

    /// Who is asked by direct message: the owner and the named approvers; for the owner's own
    /// request, the approvers and the deployment admins. Never the requester, each once.
    pub fn to_ask(&self, requester: &ChatIdentity) -> Vec<&ChatIdentity> {
        let mut asked: Vec<&ChatIdentity> = self.approvers.iter().collect();
        if requester == self.owner {
            asked.extend(self.deployment_admins);
        } else {
            asked.push(self.owner);
        }
        asked.retain(|person| *person != requester);
        asked.sort_unstable();
        asked.dedup();
        asked
    }
}

/// The one decision on a request. Stored only if none exists, so the first click wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub by: ChatIdentity,
    pub by_user_id: String,
    pub reason: Option<String>,
    /// The job (click) that decided: its re-run after a crash finishes the work instead of
    /// being refused as a second decision.
    pub job: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod four_eyes_tests {
    use super::*;

    #[test]
    fn nobody_decides_their_own_request_and_admins_only_the_owners() {
        let (owner, admin, approver, member) = (
            ChatIdentity::slack("T", "OWNER"),
            ChatIdentity::slack("T", "ADMIN"),
            ChatIdentity::slack("T", "APPROVER"),
            ChatIdentity::slack("T", "MEMBER"),
        );
        let approvers = [approver.clone()];
        let admins = [admin.clone(), owner.clone()];
        let deciders = Deciders {
            owner: &owner,
            approvers: &approvers,
            deployment_admins: &admins,
        };
        use DeciderStanding::*;
        for (clicker, requester, wanted) in [
            (&owner, &owner, OwnRequest),
            (&approver, &approver, OwnRequest),
            (&admin, &owner, DeploymentAdmin),
            (&admin, &member, Member),
            (&approver, &member, NamedApprover),
            (&approver, &owner, NamedApprover),
            (&owner, &member, Member),
        ] {
            assert_eq!(
                deciders.standing(clicker, requester),
                wanted,
                "{clicker} on {requester}"
            );
        }
        assert_eq!(deciders.to_ask(&member), [&approver, &owner]);
        assert_eq!(deciders.to_ask(&owner), [&admin, &approver]);
        assert_eq!(deciders.to_ask(&approver), [&owner]);
    }
}
