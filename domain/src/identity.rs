//! Who someone is in chat, and what their role in a project lets them do.
//!
//! The role table ([`Role::may`]) is the one place that decides what each role may do; every
//! handler asks it before anything else.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::InvitationType;

/// A person as one chat platform knows them: `slack:TEAM:USER` or `discord:USER` (Discord user
/// ids are global, not per server). One collaborator may have several (Slack and Discord);
/// each counts as a device of their invitation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatIdentity(String);

impl ChatIdentity {
    pub fn slack(team_id: &str, user_id: &str) -> ChatIdentity {
        ChatIdentity(format!("slack:{team_id}:{user_id}"))
    }

    pub fn discord(user_id: &str) -> ChatIdentity {
        ChatIdentity(format!("discord:{user_id}"))
    }

    /// The system itself acting, e.g. `system:reconcile`, for the audit trail.
    pub fn system(job: &str) -> ChatIdentity {
        ChatIdentity(format!("system:{job}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The user id direct messages go to (`USER` of `slack:TEAM:USER` or `discord:USER`);
    /// `None` for the system.
    pub fn chat_user_id(&self) -> Option<&str> {
        if let Some(user) = self.0.strip_prefix("discord:") {
            return Some(user);
        }
        self.0
            .strip_prefix("slack:")
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, user)| user)
    }

    /// The platform this identity lives on; the system's own is reported as Slack's, which
    /// never matters: nothing is sent to it.
    pub fn platform(&self) -> crate::job::Platform {
        if self.0.starts_with("discord:") {
            crate::job::Platform::Discord
        } else {
            crate::job::Platform::Slack
        }
    }
}

/// An identity written in configuration that names no person: the text and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a chat identity: expected slack:TEAM:USER (e.g. slack:T0123:U0456) or discord:USER (digits)"
)]
pub struct InvalidChatIdentity(pub String);

/// Parses a person's identity as configuration names it (`CWS_ADMINS`): Slack's team and user
/// ids are letters and digits, Discord's user id digits. The system's own identity is never
/// a person.
impl std::str::FromStr for ChatIdentity {
    type Err = InvalidChatIdentity;

    fn from_str(text: &str) -> Result<ChatIdentity, InvalidChatIdentity> {
        let id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        let valid = match text.split(':').collect::<Vec<_>>().as_slice() {
            ["slack", team, user] => id(team) && id(user),
            ["discord", user] => id(user) && user.bytes().all(|b| b.is_ascii_digit()),
            _ => false,
        };
        if valid {
            Ok(ChatIdentity(text.to_owned()))
        } else {
            Err(InvalidChatIdentity(text.to_owned()))
        }
    }
}

impl fmt::Display for ChatIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member's role in a project, from the most to the least trusted. The derived order is
/// "more trusted first": `Role::Owner < Role::Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    ReadWrite,
    ReadOnly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::ReadWrite => "read_write",
            Role::ReadOnly => "read_only",
        }
    }

    /// What the role means, as the invitation reply says it.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Owner => "full control, including budget and ending the collaboration",
            Role::Admin => "full resource access, approves exceptions",
            Role::ReadWrite => "launches and manages own workspaces",
            Role::ReadOnly => "sees workspaces, costs and policy; launches nothing",
        }
    }

    /// The one table of what each role may do.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(permission, ManageProject | EndCollaboration),
            Role::ReadWrite => matches!(
                permission,
                View | Launch | ManageOwnWorkspaces | MountVolumes | RequestException
            ),
            Role::ReadOnly => matches!(permission, View),
        }
    }

    /// Whether this role is at least as trusted as `other`.
    pub fn at_least(self, other: Role) -> bool {
        self <= other
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<InvitationType> for Role {
    fn from(kind: InvitationType) -> Role {
        match kind {
            InvitationType::Owner => Role::Owner,
            InvitationType::Admin => Role::Admin,
            InvitationType::ReadWrite => Role::ReadWrite,
            InvitationType::ReadOnly => Role::ReadOnly,
        }
    }
}

/// Something a member may or may not do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// See workspaces, costs, policy and status.
    View,
    Launch,
    /// Stop, start, hibernate, terminate the member's own workspaces.
    ManageOwnWorkspaces,
    /// The same for anyone's workspaces.
    ManageAnyWorkspace,
    MountVolumes,
    CreateVolumes,
    /// Ask for a launch the policy refused.
    RequestException,
    /// Approve or deny someone's exception request.
    DecideExceptions,
    /// Create invitations (also needs the member's own invitation to allow inviting).
    Invite,
    RevokeInvitations,
    /// Move an invitation's end later (bounded by the member's own invitation).
    ExtendInvitations,
    ReadAudit,
    /// Change the budget, alerts and chargeback.
    ManageProject,
    EndCollaboration,
}

impl Permission {
    /// What a command that shows or changes a project's settings needs: changing them is
    /// managing the project, showing them is seeing it.
    pub fn for_settings(changes: bool) -> Permission {
        if changes {
            Permission::ManageProject
        } else {
            Permission::View
        }
    }

    /// What the permission lets someone do, for refusals: "… may not {describe}".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::View => "see this project",
            Permission::Launch => "launch workspaces",
            Permission::ManageOwnWorkspaces => "manage workspaces",
            Permission::ManageAnyWorkspace => "manage other members' workspaces",
            Permission::MountVolumes => "mount shared volumes",
            Permission::CreateVolumes => "create shared volumes",
            Permission::RequestException => "request policy exceptions",
            Permission::DecideExceptions => "approve or deny exception requests",
            Permission::Invite => "create invitations",
            Permission::RevokeInvitations => "revoke invitations",
            Permission::ExtendInvitations => "extend invitations",
            Permission::ReadAudit => "read the audit trail",
            Permission::ManageProject => "change the project's budget and settings",
            Permission::EndCollaboration => "end the collaboration",
        }
    }
}

/// Why someone may not create an invitation of a given role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InviteRefusal {
    #[error("a {role} may not create invitations")]
    RoleMayNot { role: Role },
    #[error("your invitation does not allow you to invite others")]
    InvitingNotAllowed,
    #[error("a {role} may not grant the more trusted role {granted}")]
    AboveOwnRole { role: Role, granted: Role },
}

/// Whether a member with `role` (whose own invitation says `can_invite`) may invite someone
/// as `granted`. Owners always may; anyone else needs their invitation's permission, and no
/// one grants a role above their own.
pub fn may_invite(role: Role, can_invite: bool, granted: Role) -> Result<(), InviteRefusal> {
    if role == Role::Owner {
        return Ok(());
    }
    if !role.may(Permission::Invite) {
        return Err(InviteRefusal::RoleMayNot { role });
    }
    if !can_invite {
        return Err(InviteRefusal::InvitingNotAllowed);
    }
    if !role.at_least(granted) {
        return Err(InviteRefusal::AboveOwnRole { role, granted });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Permission::*;
    use super::*;

    const ALL: [Permission; 14] = [
        View,
        Launch,
        ManageOwnWorkspaces,
        ManageAnyWorkspace,
        MountVolumes,
        CreateVolumes,
        RequestException,
        DecideExceptions,
        Invite,
        RevokeInvitations,
        ExtendInvitations,
        ReadAudit,
        ManageProject,
        EndCollaboration,
    ];

    /// The role table, case by case: (permission, owner, admin, read_write, read_only).
    const TABLE: [(Permission, bool, bool, bool, bool); 14] = [
        (View, true, true, true, true),
        (Launch, true, true, true, false),
        (ManageOwnWorkspaces, true, true, true, false),
        (ManageAnyWorkspace, true, true, false, false),
        (MountVolumes, true, true, true, false),
        (CreateVolumes, true, true, false, false),
        (RequestException, true, true, true, false),
        (DecideExceptions, true, true, false, false),
        (Invite, true, true, false, false),
        (RevokeInvitations, true, true, false, false),
        (ExtendInvitations, true, true, false, false),
        (ReadAudit, true, true, false, false),
        (ManageProject, true, false, false, false),
        (EndCollaboration, true, false, false, false),
    ];

    #[test]
    fn every_role_and_permission_is_in_the_table() {
        for (permission, owner, admin, read_write, read_only) in TABLE {
            assert_eq!(Role::Owner.may(permission), owner, "owner {permission:?}");
            assert_eq!(Role::Admin.may(permission), admin, "admin {permission:?}");
            assert_eq!(
                Role::ReadWrite.may(permission),
                read_write,
                "read_write {permission:?}"
            );
            assert_eq!(
                Role::ReadOnly.may(permission),
                read_only,
                "read_only {permission:?}"
            );
        }
        let listed: Vec<Permission> = TABLE.iter().map(|row| row.0).collect();
        assert_eq!(listed, ALL);
    }

    #[test]
    fn slack_and_discord_identities_name_their_user_and_platform() {
        let slack = ChatIdentity::slack("T1", "U1");
        let discord = ChatIdentity::discord("80351110224678912");
        assert_eq!(slack.chat_user_id(), Some("U1"));
        assert_eq!(discord.as_str(), "discord:80351110224678912");
        assert_eq!(discord.chat_user_id(), Some("80351110224678912"));
        assert_eq!(slack.platform(), crate::job::Platform::Slack);
        assert_eq!(discord.platform(), crate::job::Platform::Discord);
        assert_eq!(ChatIdentity::system("reconcile").chat_user_id(), None);
    }

    #[test]
    fn inviting_needs_the_role_the_flag_and_no_promotion() {
        assert_eq!(may_invite(Role::Owner, false, Role::Owner), Ok(()));
        assert_eq!(may_invite(Role::Admin, true, Role::ReadWrite), Ok(()));
        assert_eq!(may_invite(Role::Admin, true, Role::Admin), Ok(()));
        assert_eq!(
            may_invite(Role::Admin, false, Role::ReadOnly),
            Err(InviteRefusal::InvitingNotAllowed)
        );
        assert_eq!(
            may_invite(Role::Admin, true, Role::Owner),
            Err(InviteRefusal::AboveOwnRole {
                role: Role::Admin,
                granted: Role::Owner
            })
        );
        assert_eq!(
            may_invite(Role::ReadWrite, true, Role::ReadOnly),
            Err(InviteRefusal::RoleMayNot {
                role: Role::ReadWrite
            })
        );
    }
}
