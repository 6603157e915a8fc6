//! Invitations: time-boxed, signed grants of a role in a project, with optional launch
//! restrictions, accepted from chat by binding a chat identity (a "device") to a profile.

pub mod csv;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::command::{HourlyRate, InvitationCreate, PolicyRestrictions};
use crate::identity::{ChatIdentity, Role};
use crate::policy::instance_type_within;
use crate::token::InvitationId;
use crate::verified_identity::{IdentityShortfall, VerifiedIdentity, meets_requirement};

/// Devices an invitation allows when `--max-devices` is not given.
pub const DEFAULT_MAX_DEVICES: u8 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    /// Unique within its project, e.g. `berkeley-collaboration`.
    pub name: String,
    pub project: String,
    pub role: Role,
    pub created_by: ChatIdentity,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub can_invite: bool,
    pub device_bound: bool,
    pub max_devices: u8,
    /// Launch restrictions; `None` means only the project budget limits launches.
    pub restrictions: Option<PolicyRestrictions>,
    /// The invitee's institution when the inviter named it (`--institution`, the CSV):
    /// their costs are attributed to it and they hold its volume grants. Never taken from the
    /// chat workspace, which anyone in it shares.
    pub institution: Option<String>,
    /// The invitee's name when the inviter gave it (CSV).
    pub invitee: Option<String>,
    pub require_verified_identity: bool,
    pub require_domain: Option<String>,
    /// The configured account the invitee's workspaces launch in; `None`: the project's.
    #[serde(default)]
    pub launch_account: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Chat identities bound by accepting, in the order they accepted. Each is a device.
    #[serde(default)]
    pub devices: Vec<ChatIdentity>,
}

/// The facts of a new invitation that are not in the command.
pub struct NewInvitation {
    pub id: InvitationId,
    pub project: String,
    pub created_by: ChatIdentity,
    pub now: OffsetDateTime,
}

impl Invitation {
    pub fn create(command: &InvitationCreate, new: NewInvitation) -> Invitation {
        Invitation {
            id: new.id,
            name: command.name.to_string(),
            project: new.project,
            role: command.invitation_type.into(),
            created_by: new.created_by,
            created_at: new.now,
            expires_at: new.now + Duration::days(i64::from(command.valid_days)),
            can_invite: command.can_invite.unwrap_or(false),
            device_bound: command.device_bound.unwrap_or(true),
            max_devices: command.max_devices.unwrap_or(DEFAULT_MAX_DEVICES),
            restrictions: command.restrictions.clone(),
            institution: command.institution.clone().map(String::from),
            invitee: None,
            require_verified_identity: command.require_verified_identity,
            require_domain: command.require_domain.clone(),
            launch_account: command.launch_account.clone(),
            revoked_at: None,
            devices: Vec::new(),
        }
    }

    /// When access ends: the expiry, or the revocation if that came first.
    pub fn ends_at(&self) -> OffsetDateTime {
        self.revoked_at
            .map_or(self.expires_at, |at| at.min(self.expires_at))
    }

    /// Whether the invitation still grants anything at `now`.
    pub fn status(&self, now: OffsetDateTime) -> InvitationStatus {
        match self.revoked_at {
            // The end of a collaboration revokes an invitation as of its expiry: it expired.
            Some(at) if at < self.expires_at => InvitationStatus::Revoked { at },
            _ if now >= self.expires_at => InvitationStatus::Expired {
                at: self.expires_at,
            },
            _ => InvitationStatus::Active,
        }
    }

    /// Decides whether `identity`, verified as `verified` if at all, may accept now.
    /// Accepting again from a bound identity is allowed (and changes nothing); a new identity
    /// is one more device.
    pub fn check_accept(
        &self,
        identity: &ChatIdentity,
        verified: Option<&VerifiedIdentity>,
        now: OffsetDateTime,
    ) -> Result<Acceptance, AcceptRefusal> {
        match self.status(now) {
            InvitationStatus::Revoked { at } => return Err(AcceptRefusal::Revoked { at }),
            InvitationStatus::Expired { at } => return Err(AcceptRefusal::Expired { at }),
            InvitationStatus::Active => {}
        }
        if self.devices.contains(identity) {
            return Ok(Acceptance::AlreadyBound);
        }
        if self.require_verified_identity || self.require_domain.is_some() {
            meets_requirement(verified, self.require_domain.as_deref())?;
        }
        if self.device_bound && self.devices.len() >= usize::from(self.max_devices) {
            return Err(AcceptRefusal::TooManyDevices {
                max: self.max_devices,
            });
        }
        Ok(Acceptance::NewDevice)
    }

    /// The invitation with `identity` bound, if `check_accept` allows it.
    pub fn accepted_by(
        &self,
        identity: &ChatIdentity,
        verified: Option<&VerifiedIdentity>,
        now: OffsetDateTime,
    ) -> Result<(Invitation, Acceptance), AcceptRefusal> {
        let acceptance = self.check_accept(identity, verified, now)?;
        let mut accepted = self.clone();
        if acceptance == Acceptance::NewDevice {
            accepted.devices.push(identity.clone());
        }
        Ok((accepted, acceptance))
    }
}

impl Invitation {
    /// Every way `new`, made by the holder of this invitation, would grant more than this one
    /// does: an invitation never outlives, outnumbers or outreaches its creator's (the role is
    /// bounded by [`crate::identity::may_invite`]). Empty when `new` stays within it.
    pub fn exceeded_by(&self, new: &Invitation) -> Vec<Excess> {
        let mut excess = Vec::new();
        if new.expires_at > self.expires_at {
            excess.push(Excess::OutlivesCreator {
                yours: self.expires_at,
            });
        }
        if self.device_bound && (!new.device_bound || new.max_devices > self.max_devices) {
            excess.push(Excess::MoreDevices {
                yours: self.max_devices,
            });
        }
        if let Some(account) = &self.launch_account
            && new.launch_account.as_ref() != Some(account)
        {
            excess.push(Excess::OtherAccount {
                yours: account.clone(),
            });
        }
        let Some(yours) = &self.restrictions else {
            return excess;
        };
        let none = PolicyRestrictions::default();
        let theirs = new.restrictions.as_ref().unwrap_or(&none);
        if !yours.template_whitelist.is_empty()
            && (theirs.template_whitelist.is_empty()
                || theirs
                    .template_whitelist
                    .iter()
                    .any(|t| !yours.template_whitelist.contains(t)))
        {
            excess.push(Excess::Templates {
                yours: yours.template_whitelist.clone(),
            });
        }
        if !yours.max_instance_types.is_empty()
            && (theirs.max_instance_types.is_empty()
                || theirs
                    .max_instance_types
                    .iter()
                    .any(|t| !instance_type_within(t, &yours.max_instance_types)))
        {
            excess.push(Excess::InstanceTypes {
                yours: yours.max_instance_types.clone(),
            });
        }
        if let Some(cap) = yours.max_hourly_cost
            && theirs.max_hourly_cost.is_none_or(|new_cap| new_cap > cap)
        {
            excess.push(Excess::HourlyCost { yours: cap });
        }
        let unforbidden: Vec<String> = yours
            .forbidden_regions
            .iter()
            .filter(|region| !theirs.forbidden_regions.contains(region))
            .cloned()
            .collect();
        if !unforbidden.is_empty() {
            excess.push(Excess::Regions {
                yours: yours.forbidden_regions.clone(),
            });
        }
        excess
    }
}

/// How a new invitation would grant more than its creator's. Each is shown as written, with
/// what the creator holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Excess {
    #[error("it would outlive yours, which ends on {}: give fewer --valid-days", crate::time_text::date(*yours))]
    OutlivesCreator { yours: OffsetDateTime },
    #[error("it would allow more devices than yours ({yours}, bound to devices)")]
    MoreDevices { yours: u8 },
    #[error("your workspaces launch in account {yours}: so must theirs (--launch-account {yours})")]
    OtherAccount { yours: String },
    #[error("you may launch only {}: give --template-whitelist within that", yours.join(", "))]
    Templates { yours: Vec<String> },
    #[error("you may launch instance types up to {}: give --max-instance-types within that", yours.join(", "))]
    InstanceTypes { yours: Vec<String> },
    #[error("your launches are capped at ${}.{:04} an hour: give --max-hourly-cost at most that", yours.0 / 1_000_000, yours.0 % 1_000_000 / 100)]
    HourlyCost { yours: HourlyRate },
    #[error("{} are forbidden to you: give --forbidden-regions with each of them", yours.join(", "))]
    Regions { yours: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Active,
    Revoked { at: OffsetDateTime },
    Expired { at: OffsetDateTime },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    NewDevice,
    AlreadyBound,
}

/// Why an invitation cannot be accepted. Each is shown to the person as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptRefusal {
    #[error("this invitation was revoked on {}", crate::time_text::date(*at))]
    Revoked { at: OffsetDateTime },
    #[error("this invitation expired on {}", crate::time_text::date(*at))]
    Expired { at: OffsetDateTime },
    #[error(
        "this invitation is already used on its maximum of {max} devices (each chat account counts as one); ask the inviter for another"
    )]
    TooManyDevices { max: u8 },
    #[error(transparent)]
    Identity(#[from] IdentityShortfall),
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, ProfilesCommand, parse};

    fn invitation(text: &str) -> Invitation {
        let Ok(Command::Profiles(ProfilesCommand::InvitationCreate(create))) = parse(text) else {
            panic!("{text}")
        };
        Invitation::create(
            &create,
            NewInvitation {
                id: InvitationId::from_bytes([1; 16]),
                project: "nih".into(),
                created_by: ChatIdentity::slack("T", "UOWNER"),
                now: datetime!(2026-01-01 00:00 UTC),
            },
        )
    }

    #[test]
    fn an_invitation_never_grants_more_than_its_creator_holds() {
        let creator = invitation(
            "profiles invitations create berkeley-admin --type admin --valid-days 180 \
             --can-invite true --max-devices 2 --policy-restrictions \
             --template-whitelist \"Python Machine Learning\" --max-instance-types t3.large \
             --max-hourly-cost 0.10 --forbidden-regions eu-west-1",
        );
        let within = "--type read_write --valid-days 90 --max-devices 1 --policy-restrictions \
             --template-whitelist \"Python Machine Learning\" --max-instance-types t3.medium \
             --max-hourly-cost 0.05 --forbidden-regions eu-west-1,ap-south-1";
        // (what the creator asks for, how many ways it exceeds theirs)
        let cases = [
            (within.to_owned(), 0),
            (within.replace("--valid-days 90", "--valid-days 181"), 1),
            (within.replace("--max-devices 1", "--max-devices 3"), 1),
            (
                within.replace("\"Python Machine Learning\"", "\"GPU Deep Learning\""),
                1,
            ),
            (within.replace("t3.medium", "m5.4xlarge"), 1),
            (within.replace("0.05", "0.11"), 1),
            (within.replace("eu-west-1,ap-south-1", "ap-south-1"), 1),
            (
                "--type read_write --valid-days 365 --max-devices 5".to_owned(),
                6,
            ),
        ];
        for (flags, ways) in cases {
            let new = invitation(&format!("profiles invitations create x {flags}"));
            let excess = creator.exceeded_by(&new);
            assert_eq!(excess.len(), ways, "{flags}: {excess:#?}");
        }
        let unbounded = invitation(
            "profiles invitations create x --type read_write --valid-days 365 --max-devices 5",
        );
        let refusals: Vec<String> = creator
            .exceeded_by(&unbounded)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            refusals,
            [
                "it would outlive yours, which ends on June 30, 2026: give fewer --valid-days",
                "it would allow more devices than yours (2, bound to devices)",
                "you may launch only Python Machine Learning: give --template-whitelist within that",
                "you may launch instance types up to t3.large: give --max-instance-types within that",
                "your launches are capped at $0.1000 an hour: give --max-hourly-cost at most that",
                "eu-west-1 are forbidden to you: give --forbidden-regions with each of them",
            ]
        );
    }

    fn device(n: u32) -> ChatIdentity {
        ChatIdentity::slack("T", &format!("U{n}"))
    }

    #[test]
    fn the_seed_invitation_expires_after_540_days() {
        let invitation = invitation(
            "profiles invitations create mit-collaboration --type admin --valid-days 540 --can-invite false --device-bound true --max-devices 3",
        );
        assert_eq!(invitation.role, Role::Admin);
        assert_eq!(invitation.expires_at, datetime!(2027-06-25 00:00 UTC));
        assert_eq!(invitation.max_devices, 3);
        assert!(!invitation.can_invite);
    }

    #[test]
    fn a_fourth_device_is_refused_and_a_bound_one_is_welcome_back() {
        let mut invitation = invitation(
            "profiles invitations create x --type read_write --valid-days 30 --max-devices 3",
        );
        let now = datetime!(2026-01-02 00:00 UTC);
        for n in 1..=3 {
            let (accepted, acceptance) = invitation.accepted_by(&device(n), None, now).unwrap();
            assert_eq!(acceptance, Acceptance::NewDevice);
            invitation = accepted;
        }
        assert_eq!(
            invitation.check_accept(&device(4), None, now),
            Err(AcceptRefusal::TooManyDevices { max: 3 })
        );
        assert_eq!(
            invitation.check_accept(&device(2), None, now),
            Ok(Acceptance::AlreadyBound)
        );
    }

    #[test]
    fn expiry_and_revocation_end_acceptance() {
        let mut invitation =
            invitation("profiles invitations create x --type read_only --valid-days 1");
        let expired = datetime!(2026-01-02 00:00 UTC);
        assert!(matches!(
            invitation.check_accept(&device(1), None, expired),
            Err(AcceptRefusal::Expired { .. })
        ));
        invitation.revoked_at = Some(datetime!(2026-01-01 12:00 UTC));
        let refusal = invitation
            .check_accept(&device(1), None, datetime!(2026-01-01 13:00 UTC))
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "this invitation was revoked on January 1, 2026"
        );
    }

    #[test]
    fn unbound_invitations_take_any_number_of_devices() {
        let mut invitation = invitation(
            "profiles invitations create x --type read_only --valid-days 9 --device-bound false --max-devices 1",
        );
        let now = datetime!(2026-01-02 00:00 UTC);
        for n in 1..=3 {
            invitation = invitation.accepted_by(&device(n), None, now).unwrap().0;
        }
        assert_eq!(invitation.devices.len(), 3);
    }

    #[test]
    fn a_domain_bound_invitation_waits_for_a_verified_login_at_that_domain() {
        let invitation = invitation(
            "profiles invitations create mit --type read_only --valid-days 9 --require-domain mit.edu",
        );
        let now = datetime!(2026-01-02 00:00 UTC);
        let verified = |username: &str| VerifiedIdentity {
            subject: "sub".into(),
            username: username.into(),
            name: None,
            email: None,
            organization: None,
            identity_provider: None,
            linked: Vec::new(),
            verified_at: now,
        };
        assert_eq!(
            invitation.check_accept(&device(1), None, now),
            Err(AcceptRefusal::Identity(IdentityShortfall::NotVerified))
        );
        let berkeley = verified("sarah.lee@berkeley.edu");
        assert_eq!(
            invitation
                .check_accept(&device(1), Some(&berkeley), now)
                .unwrap_err()
                .to_string(),
            "this invitation requires an identity at mit.edu, and your verified identity is sarah.lee@berkeley.edu"
        );
        let mit = verified("michael.johnson@mit.edu");
        assert_eq!(
            invitation.check_accept(&device(1), Some(&mit), now),
            Ok(Acceptance::NewDevice)
        );
    }
}
