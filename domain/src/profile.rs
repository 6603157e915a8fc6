//! Profiles: a chat identity's membership of one project, with the research user it works as.
//!
//! A research user belongs to a collaborator (an invitation, or a project's owner), not to a
//! chat identity: the same person on two devices is the same Unix user. Its UID and GID come
//! from the AWS account's range (5000-5999 for the first account seen, 6000-6999 for the next,
//! ...), are never reused, and are the same on every instance in the account.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::identity::{ChatIdentity, Role};
use crate::token::InvitationId;
use crate::verified_identity::VerifiedIdentity;

/// The first UID of the first account's range.
pub const UID_BASE: u32 = 5000;

/// A collaborator's institution when neither the invitation nor a verified identity names
/// one: attributed as such in reports and tags, and holding no institution's volume grants.
pub const UNSTATED_INSTITUTION: &str = "unstated";
/// UIDs per account.
pub const UID_RANGE: u32 = 1000;
/// Unix usernames are at most 32 bytes.
const USERNAME_MAX: usize = 32;

/// What became of a new research user's SSH private key, which only a direct message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDelivery {
    Sent,
    /// None was waiting: the research user existed already, and its key went out before.
    NotPending,
    /// The chat refused the direct message (its reason): the key was deleted, not kept.
    Undelivered(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResearchUser {
    pub username: String,
    pub uid: u32,
    /// Each research user has a group of its own with the same number.
    pub gid: u32,
    pub account: String,
    /// OpenSSH public key line; the private key went to the person by direct message, unless
    /// it is their own.
    pub ssh_public_key: String,
    /// Whether the key is one the person registered (`profiles ssh-key add`), whose private
    /// half the system never had.
    #[serde(default)]
    pub own_key: bool,
    /// The key data (the base64 word) of every key this one replaced: removed from any
    /// workspace that still has one, so a rotated-out key never opens a workspace again.
    #[serde(default)]
    pub retired_keys: Vec<String>,
}

impl ResearchUser {
    /// The key data of `line`, the word between algorithm and comment.
    pub fn key_data(line: &str) -> Option<&str> {
        line.split_whitespace().nth(1)
    }
}

/// Whose research user this is: a collaborator is their invitation, an owner their project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Collaborator {
    Invitation(InvitationId),
    Owner { project: String },
}

impl Collaborator {
    /// A stable key for the store.
    pub fn key(&self) -> String {
        match self {
            Collaborator::Invitation(id) => format!("invitation:{id}"),
            Collaborator::Owner { project } => format!("owner:{project}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The name the person chose, unique among their own profiles.
    pub name: String,
    pub identity: ChatIdentity,
    pub project: String,
    pub collaborator: Collaborator,
    pub role: Role,
    /// Whether this member may invite others (always true for owners).
    pub can_invite: bool,
    /// The member's institution as self-declared (the chat workspace, or the inviter's CSV),
    /// used in cost attribution.
    pub institution: String,
    /// Who the member is according to their home institution's login (`profiles verify`).
    #[serde(default)]
    pub verified_identity: Option<VerifiedIdentity>,
    pub research_user: ResearchUser,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the invitation behind this profile expires; owners' profiles do not.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl Profile {
    /// The invitation behind this profile, if it came from one.
    pub fn invitation(&self) -> Option<InvitationId> {
        match &self.collaborator {
            Collaborator::Invitation(id) => Some(*id),
            Collaborator::Owner { .. } => None,
        }
    }
}

/// UID number `sequence` (0-based) of the account at `account_index` (0 for the first account
/// seen); `None` once the account's thousand UIDs are spent.
pub fn research_uid(account_index: u32, sequence: u32) -> Option<u32> {
    if sequence >= UID_RANGE {
        return None;
    }
    account_index
        .checked_mul(UID_RANGE)
        .and_then(|start| start.checked_add(UID_BASE))
        .and_then(|start| start.checked_add(sequence))
}

/// A Unix username made from whatever the person is called in chat: lowercase letters, digits,
/// `_`, starting with a letter, at most 32 bytes. `Dr. Sarah Lee` → `dr_sarah_lee`,
/// `sarah.lee` → `sarah_lee`, `42` → `u42`.
pub fn research_username(hint: &str) -> String {
    let mut name = String::new();
    for c in hint.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('_') {
            name.push('_');
        }
    }
    let mut name = name.trim_end_matches('_').to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert(0, 'u');
    }
    name.truncate(USERNAME_MAX - 4);
    name.trim_end_matches('_').to_owned()
}

/// The usernames to try in turn until one is free in the account: `name`, `name2`, `name3`, …
pub fn username_candidates(base: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(base.to_owned()).chain((2..).map(move |n| format!("{base}{n}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_get_disjoint_ranges_of_a_thousand() {
        assert_eq!(research_uid(0, 0), Some(5000));
        assert_eq!(research_uid(0, 999), Some(5999));
        assert_eq!(research_uid(0, 1000), None);
        assert_eq!(research_uid(1, 0), Some(6000));
        assert_eq!(research_uid(2, 1), Some(7001));
        assert_eq!(research_uid(u32::MAX, 0), None);
    }

    #[test]
    fn usernames_are_unix_safe() {
        let cases = [
            ("Dr. Sarah Lee", "dr_sarah_lee"),
            ("sarah.lee", "sarah_lee"),
            ("michael.johnson", "michael_johnson"),
            ("42", "u42"),
            ("", "u"),
            ("Ünïcode Näme", "n_code_n_me"),
            (
                "a-very-long-display-name-that-goes-on-and-on",
                "a_very_long_display_name_tha",
            ),
        ];
        for (hint, expected) in cases {
            let name = research_username(hint);
            assert_eq!(name, expected, "{hint}");
            assert!(name.len() <= 32);
        }
    }

    #[test]
    fn candidates_number_from_two() {
        let names: Vec<String> = username_candidates("sarah_lee").take(3).collect();
        assert_eq!(names, ["sarah_lee", "sarah_lee2", "sarah_lee3"]);
    }
}
