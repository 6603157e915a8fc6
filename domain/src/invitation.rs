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
    /// Each move of its end to a later date, oldest first.
    #[serde(default)]
    pub extensions: Vec<Extension>,
}

/// One move of an invitation's end to a later date: `profiles invitations extend`, or
/// `collaboration end` moving the collaboration's end later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The request (job key) that made it: a request delivered again finds it made and does
    /// not extend twice.
    pub request: String,
    pub by: ChatIdentity,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
}

/// The facts of a new invitation that are not in the command.
pub struct NewInvitation {
    pub id: InvitationId,
    pub project: String,
    pub created_by: ChatIdentity,
    pub now: OffsetDateTime,
}

impl Invitation {
    /// No invitation outlasts its collaboration: one asked for longer than the project's
    /// planned end (`project create --duration`, `collaboration end --date`) ends with it.
    pub fn ending_by(self, collaboration_ends: Option<OffsetDateTime>) -> Invitation {
        match collaboration_ends {
            Some(ends) if self.expires_at > ends => Invitation {
                expires_at: ends,
                ..self
            },
            _ => self,
        }
    }

    /// Whole days from its creation to its end, as the reply to creating it says.
    pub fn valid_days(&self) -> u16 {
        u16::try_from((self.expires_at - self.created_at).whole_days().max(0)).unwrap_or(u16::MAX)
    }

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
            extensions: Vec::new(),
        }
    }

    /// When access ends: the expiry, or the revocation if that came first.
    pub fn ends_at(&self) -> OffsetDateTime {
        self.revoked_at
            .map_or(self.expires_at, |at| at.min(self.expires_at))
    }

    /// When the current end was set: at creation, or at the latest extension. Warnings due
    /// before then are never sent (the extension's own notice tells the new date).
    pub fn planned_at(&self) -> OffsetDateTime {
        self.extensions
            .last()
            .map_or(self.created_at, |extension| extension.at)
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

/// Who asks to extend an invitation, as the decision needs them.
pub struct Extender<'a> {
    pub identity: &'a ChatIdentity,
    pub role: Role,
    /// Their own invitation, which bounds what they grant; `None` for the project's owner.
    pub invitation: Option<&'a Invitation>,
}

/// `profiles invitations extend`: the facts of one request.
pub struct ExtendRequest<'a> {
    /// The request's job key, recorded with the extension.
    pub request: &'a str,
    pub by: Extender<'a>,
    pub days: u16,
    /// The end the owner set for the whole collaboration, if any: no invitation outlasts it.
    pub collaboration_ends: Option<OffsetDateTime>,
    pub now: OffsetDateTime,
}

impl Invitation {
    /// The invitation with its end `days` later than it is now (a grant extension adds to the
    /// current end, not to today), and the extension made; or why that is refused. The same
    /// request again returns what it made the first time.
    pub fn extended(
        &self,
        ask: &ExtendRequest<'_>,
    ) -> Result<(Invitation, Extension), ExtendRefusal> {
        if let Some(made) = self.extensions.iter().find(|e| e.request == ask.request) {
            return Ok((self.clone(), made.clone()));
        }
        if let Some(own) = ask.by.invitation {
            if own.id == self.id {
                return Err(ExtendRefusal::OwnInvitation);
            }
            if !ask.by.role.at_least(self.role) {
                return Err(ExtendRefusal::AboveOwnRole {
                    role: ask.by.role,
                    theirs: self.role,
                });
            }
        }
        match (self.status(ask.now), self.revoked_at) {
            (InvitationStatus::Revoked { at }, _) => return Err(ExtendRefusal::Revoked { at }),
            (InvitationStatus::Expired { at }, _) => return Err(ExtendRefusal::Expired { at }),
            // Revoked as of its end by the end's sweep, whose clock ran a moment ahead.
            (InvitationStatus::Active, Some(at)) => return Err(ExtendRefusal::Expired { at }),
            (InvitationStatus::Active, None) => {}
        }
        let to = self.expires_at + Duration::days(i64::from(ask.days));
        if let Some(ends) = ask.collaboration_ends
            && to > ends
        {
            return Err(ExtendRefusal::BeyondCollaboration { ends });
        }
        let extended = self.extend_to(to, ask.request, ask.by.identity, ask.now);
        if let Some(own) = ask.by.invitation {
            let excess = own.exceeded_by(&extended.0);
            if !excess.is_empty() {
                return Err(ExtendRefusal::BeyondYours { to, excess });
            }
        }
        Ok(extended)
    }

    /// The invitation moved along when the collaboration's end moves from `from` to a later
    /// `to` (`collaboration end` with a later date): one that ended with the collaboration goes
    /// on with it; one with an earlier end of its own, or one whose access has ended, is left
    /// as it is (`None`). The same request again returns what it made.
    pub fn follow_collaboration(
        &self,
        (from, to): (OffsetDateTime, OffsetDateTime),
        request: &str,
        by: &ChatIdentity,
        now: OffsetDateTime,
    ) -> Option<(Invitation, Extension)> {
        if let Some(made) = self.extensions.iter().find(|e| e.request == request) {
            return Some((self.clone(), made.clone()));
        }
        (to > from && self.expires_at == from && self.end_can_move(now))
            .then(|| self.extend_to(to, request, by, now))
    }

    /// Whether its end may still move: it grants access at `now`, and nobody has revoked it
    /// (the end's sweep included, whose clock may run a moment ahead of this one).
    pub fn end_can_move(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.status(now) == InvitationStatus::Active
    }

    fn extend_to(
        &self,
        to: OffsetDateTime,
        request: &str,
        by: &ChatIdentity,
        now: OffsetDateTime,
    ) -> (Invitation, Extension) {
        let extension = Extension {
            request: request.to_owned(),
            by: by.clone(),
            at: now,
            from: self.expires_at,
            to,
        };
        let mut extended = self.clone();
        extended.expires_at = to;
        extended.extensions.push(extension.clone());
        (extended, extension)
    }
}

/// Why an invitation cannot be extended. Each is shown to the person as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtendRefusal {
    #[error("it is your own invitation: ask the project's owner")]
    OwnInvitation,
    #[error("it grants {theirs}, a more trusted role than your {role}")]
    AboveOwnRole { role: Role, theirs: Role },
    #[error(
        "it was revoked on {}, and a revoked invitation stays revoked: create a new invitation",
        crate::time_text::date(*at)
    )]
    Revoked { at: OffsetDateTime },
    #[error(
        "it expired on {}, and an ended invitation is not revived: create a new invitation",
        crate::time_text::date(*at)
    )]
    Expired { at: OffsetDateTime },
    #[error(
        "the collaboration ends on {} and no invitation outlasts it: the project's owner moves that date with `/cws collaboration end`",
        crate::time_text::date(*ends)
    )]
    BeyondCollaboration { ends: OffsetDateTime },
    #[error(
        "until {} it would grant more than your own invitation: {}",
        crate::time_text::date(*to),
        excess.iter().map(Excess::bound).collect::<Vec<_>>().join("; ")
    )]
    BeyondYours {
        to: OffsetDateTime,
        excess: Vec<Excess>,
    },
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
    #[error("your launches are capped at {} an hour: give --max-hourly-cost at most that", dollars(*yours))]
    HourlyCost { yours: HourlyRate },
    #[error("{} are forbidden to you: give --forbidden-regions with each of them", yours.join(", "))]
    Regions { yours: Vec<String> },
}

impl Excess {
    /// What the creator holds, without the advice on a new invitation's flags: an extension
    /// changes only the end, so the rest is what it is.
    pub fn bound(&self) -> String {
        match self {
            Excess::OutlivesCreator { yours } => {
                format!("yours ends on {}", crate::time_text::date(*yours))
            }
            Excess::MoreDevices { yours } => format!("yours allows {yours} device(s)"),
            Excess::OtherAccount { yours } => format!("yours launches only in account {yours}"),
            Excess::Templates { yours } => format!("yours launches only {}", yours.join(", ")),
            Excess::InstanceTypes { yours } => {
                format!("yours launches instance types up to {}", yours.join(", "))
            }
            Excess::HourlyCost { yours } => {
                format!("yours is capped at {} an hour", dollars(*yours))
            }
            Excess::Regions { yours } => format!("yours forbids {}", yours.join(", ")),
        }
    }
}

/// `$0.1000`: an hourly rate as the refusals show it.
fn dollars(rate: HourlyRate) -> String {
    format!("${}.{:04}", rate.0 / 1_000_000, rate.0 % 1_000_000 / 100)
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
    fn an_invitation_ends_no_later_than_its_collaboration() {
        let asked = invitation("profiles invitations create mit --type admin --valid-days 600");
        let ends = datetime!(2027-07-01 00:00 UTC);
        let capped = asked.clone().ending_by(Some(ends));
        assert_eq!((capped.expires_at, capped.valid_days()), (ends, 546));
        let sooner = invitation("profiles invitations create mit --type admin --valid-days 30");
        assert_eq!(sooner.clone().ending_by(Some(ends)), sooner);
        assert_eq!(asked.clone().ending_by(None), asked);
        assert_eq!(asked.valid_days(), 600);
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

    fn ask<'a>(
        identity: &'a ChatIdentity,
        role: Role,
        own: Option<&'a Invitation>,
        days: u16,
    ) -> ExtendRequest<'a> {
        ExtendRequest {
            request: "slack:T:trigger-1",
            by: Extender {
                identity,
                role,
                invitation: own,
            },
            days,
            collaboration_ends: None,
            now: datetime!(2026-01-05 00:00 UTC),
        }
    }

    #[test]
    fn an_extension_adds_to_the_current_end_once_per_request() {
        let owner = ChatIdentity::slack("T", "UOWNER");
        let target =
            invitation("profiles invitations create mit --type read_write --valid-days 10");
        let (extended, extension) = target
            .extended(&ask(&owner, Role::Owner, None, 90))
            .unwrap();
        // Ten days from creation, then ninety more: not ninety from the day it was asked.
        assert_eq!(extended.expires_at, datetime!(2026-04-11 00:00 UTC));
        assert_eq!(
            (extension.from, extension.to),
            (target.expires_at, extended.expires_at)
        );
        assert_eq!(extended.planned_at(), datetime!(2026-01-05 00:00 UTC));
        let (again, _) = extended
            .extended(&ask(&owner, Role::Owner, None, 90))
            .unwrap();
        assert_eq!(again, extended, "a request delivered twice extends once");
        let next = ExtendRequest {
            request: "slack:T:trigger-2",
            ..ask(&owner, Role::Owner, None, 30)
        };
        let (twice, _) = extended.extended(&next).unwrap();
        assert_eq!(twice.expires_at, datetime!(2026-05-11 00:00 UTC));
        assert_eq!(twice.extensions.len(), 2);
    }

    #[test]
    fn an_admin_extends_no_further_than_their_own_invitation_and_never_their_own() {
        let admin = ChatIdentity::slack("T", "UADMIN");
        let mut own = invitation(
            "profiles invitations create mit-admin --type admin --valid-days 180 --can-invite true",
        );
        own.id = InvitationId::from_bytes([2; 16]);
        let target =
            invitation("profiles invitations create mit --type read_write --valid-days 90");
        assert!(
            target
                .extended(&ask(&admin, Role::Admin, Some(&own), 90))
                .is_ok()
        );
        let refusal = target
            .extended(&ask(&admin, Role::Admin, Some(&own), 91))
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "until July 1, 2026 it would grant more than your own invitation: yours ends on June 30, 2026"
        );
        assert_eq!(
            own.extended(&ask(&admin, Role::Admin, Some(&own), 1)),
            Err(ExtendRefusal::OwnInvitation)
        );
        let co_owner = invitation("profiles invitations create pi --type owner --valid-days 30");
        assert_eq!(
            co_owner.extended(&ask(&admin, Role::Admin, Some(&own), 1)),
            Err(ExtendRefusal::AboveOwnRole {
                role: Role::Admin,
                theirs: Role::Owner
            })
        );
    }

    #[test]
    fn a_restricted_admin_may_not_prolong_an_unrestricted_invitation() {
        let admin = ChatIdentity::slack("T", "UADMIN");
        let mut own = invitation(
            "profiles invitations create mit-admin --type admin --valid-days 365 --max-devices 2 \
             --template-whitelist \"Python Machine Learning\" --max-hourly-cost 0.10",
        );
        own.id = InvitationId::from_bytes([2; 16]);
        let target =
            invitation("profiles invitations create mit --type read_write --valid-days 30");
        let refusal = target
            .extended(&ask(&admin, Role::Admin, Some(&own), 1))
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "until February 1, 2026 it would grant more than your own invitation: yours allows 2 \
             device(s); yours launches only Python Machine Learning; yours is capped at $0.1000 \
             an hour"
        );
    }

    #[test]
    fn revoked_expired_and_collaboration_bounded_invitations_are_not_extended() {
        let owner = ChatIdentity::slack("T", "UOWNER");
        let mut target =
            invitation("profiles invitations create mit --type read_write --valid-days 3");
        let late = ExtendRequest {
            now: datetime!(2026-01-04 00:00 UTC),
            ..ask(&owner, Role::Owner, None, 90)
        };
        assert_eq!(
            target.extended(&late).unwrap_err().to_string(),
            "it expired on January 4, 2026, and an ended invitation is not revived: create a new invitation"
        );
        let bounded = ExtendRequest {
            now: datetime!(2026-01-02 00:00 UTC),
            collaboration_ends: Some(datetime!(2026-02-01 00:00 UTC)),
            ..ask(&owner, Role::Owner, None, 90)
        };
        assert_eq!(
            target.extended(&bounded),
            Err(ExtendRefusal::BeyondCollaboration {
                ends: datetime!(2026-02-01 00:00 UTC)
            })
        );
        let mut ended_early = target.clone();
        ended_early.revoked_at = Some(ended_early.expires_at);
        assert_eq!(
            ended_early.extended(&bounded),
            Err(ExtendRefusal::Expired {
                at: ended_early.expires_at
            }),
            "revoked as of its end by a sweep whose clock ran ahead"
        );
        target.revoked_at = Some(datetime!(2026-01-02 00:00 UTC));
        assert_eq!(
            target
                .extended(&ask(&owner, Role::Owner, None, 1))
                .unwrap_err()
                .to_string(),
            "it was revoked on January 2, 2026, and a revoked invitation stays revoked: create a new invitation"
        );
    }

    #[test]
    fn only_an_invitation_ending_with_the_collaboration_moves_with_it() {
        let owner = ChatIdentity::slack("T", "UOWNER");
        let old_end = datetime!(2026-06-01 00:00 UTC);
        let new_end = datetime!(2026-12-01 00:00 UTC);
        let now = datetime!(2026-05-01 00:00 UTC);
        let mut with =
            invitation("profiles invitations create mit --type read_write --valid-days 540");
        with.expires_at = old_end;
        let (moved, extension) = with
            .follow_collaboration((old_end, new_end), "slack:T:end", &owner, now)
            .unwrap();
        assert_eq!((moved.expires_at, extension.from), (new_end, old_end));
        assert_eq!(
            moved.follow_collaboration((new_end, new_end), "slack:T:end", &owner, now),
            Some((moved.clone(), extension)),
            "the same request again finds what it made"
        );
        let own_end =
            invitation("profiles invitations create auditor --type read_only --valid-days 140");
        assert_eq!(
            own_end.follow_collaboration((old_end, new_end), "slack:T:end", &owner, now),
            None
        );
        assert_eq!(
            with.follow_collaboration((old_end, new_end), "slack:T:end", &owner, old_end),
            None,
            "an ended invitation is not revived"
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
