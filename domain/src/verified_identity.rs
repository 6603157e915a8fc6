//! A verified research identity: who a person is according to their home institution's login,
//! as Globus Auth (an OpenID Connect provider) vouches for it after checking the ID token. A
//! chat display name proves nothing; this does, so invitations may require it and reports
//! mark an institution as verified or self-declared.
//!
//! The verification itself is a round trip through the person's browser: `profiles verify`
//! stores a [`PendingVerification`] under a random `state`, the provider redirects back with
//! that `state`, and the callback takes the pending record exactly once.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::job::Requester;

/// Where the bot serves the provider's redirect, under `CWS_PUBLIC_URL`.
pub const CALLBACK_PATH: &str = "/oauth/globus/callback";

/// Where the link `profiles verify` answers with leads: a page on the bot that names the chat
/// account the login will be bound to, and goes on to the provider only when the person
/// presses Continue.
pub const START_PATH: &str = "/oauth/globus/start";

/// The link `profiles verify` answers with: the bot's confirmation page for `state`.
pub fn start_link(public_url: &str, state: &str) -> String {
    format!(
        "{}{START_PATH}?state={state}",
        public_url.trim_end_matches('/')
    )
}

/// Where a verification waits for its callback. A `state` is text from a query string: hashed,
/// it cannot shape the key.
pub fn pending_key(state: &str) -> String {
    format!(
        "cws:verification:{}",
        hex::encode(Sha256::digest(state.as_bytes()))
    )
}

/// Who used `state`, kept for a day so that a replay can be told apart from a made-up one.
pub fn used_key(state: &str) -> String {
    format!("{}:used", pending_key(state))
}

/// What is known of a `state` a browser brought to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// `profiles verify` issued it and its callback has not come yet.
    Pending(Box<PendingVerification>),
    /// Its callback came already (within the last day).
    Used,
    /// Never issued, or older than the verification window.
    Unknown,
}

impl SignInState {
    /// From the records under [`pending_key`] and [`used_key`], as stored. A record that does
    /// not parse is not a verification anyone can finish.
    pub fn from_records(pending: Option<&str>, used: Option<&str>) -> SignInState {
        match (
            pending.map(serde_json::from_str::<PendingVerification>),
            used,
        ) {
            (Some(Ok(pending)), _) => SignInState::Pending(Box::new(pending)),
            (_, Some(_)) => SignInState::Used,
            _ => SignInState::Unknown,
        }
    }
}

/// How long the link `profiles verify` answers with stays usable.
pub const VERIFICATION_WINDOW: Duration = Duration::minutes(10);

/// The identity the provider vouched for, from a checked ID token and the user info.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    /// The provider's stable id for the person (`sub`).
    pub subject: String,
    /// The institutional login, e.g. `sarah.lee@berkeley.edu`.
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The institution, e.g. `University of California, Berkeley`.
    pub organization: Option<String>,
    /// Who authenticated the person, e.g. `University of California Berkeley`.
    pub identity_provider: Option<String>,
    /// Other identities the person linked to this one at the provider.
    #[serde(default)]
    pub linked: Vec<LinkedIdentity>,
    #[serde(with = "time::serde::rfc3339")]
    pub verified_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedIdentity {
    pub subject: String,
    pub username: String,
    pub organization: Option<String>,
}

impl VerifiedIdentity {
    /// The domain of the institutional login (`berkeley.edu` of `sarah.lee@berkeley.edu`),
    /// lowercase; `None` for a username without one.
    pub fn login_domain(&self) -> Option<String> {
        let (_, domain) = self.username.rsplit_once('@')?;
        (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
    }

    /// The local part of the login (`sarah.lee`): the research user's name hint (seed 002).
    pub fn login_name(&self) -> &str {
        self.username
            .rsplit_once('@')
            .map_or(self.username.as_str(), |(local, _)| local)
    }

    /// The institution to show: the organization, else the identity provider, else the
    /// login's domain.
    pub fn institution(&self) -> String {
        self.organization
            .clone()
            .or_else(|| self.identity_provider.clone())
            .or_else(|| self.login_domain())
            .unwrap_or_else(|| self.username.clone())
    }
}

/// Why a verified identity does not meet an invitation's requirement. Shown as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityShortfall {
    #[error(
        "this invitation requires a verified research identity: run /cws profiles verify, sign in with your institution, then accept again"
    )]
    NotVerified,
    #[error(
        "this invitation requires an identity at {required}, and your verified identity is {username}"
    )]
    WrongDomain { required: String, username: String },
}

/// Whether `identity` meets a requirement of a verified identity at `domain` (any identity
/// when `domain` is `None`). The institutional login decides, not the e-mail address, which
/// a person may choose freely: its domain must be `domain` or one of its subdomains
/// (`csail.mit.edu` is at `mit.edu`; `notmit.edu` is not).
pub fn meets_requirement(
    identity: Option<&VerifiedIdentity>,
    domain: Option<&str>,
) -> Result<(), IdentityShortfall> {
    let identity = identity.ok_or(IdentityShortfall::NotVerified)?;
    let Some(required) = domain else {
        return Ok(());
    };
    let required = required.to_ascii_lowercase();
    let at_domain = identity.login_domain().is_some_and(|login| {
        login == required
            || login
                .strip_suffix(&required)
                .is_some_and(|rest| rest.ends_with('.'))
    });
    if at_domain {
        Ok(())
    } else {
        Err(IdentityShortfall::WrongDomain {
            required,
            username: identity.username.clone(),
        })
    }
}

/// Why a verification did not verify anyone. Shown to the person as written: no token,
/// code or secret ever appears in one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationFailure {
    #[error(
        "identity verification is not configured on this deployment (it needs GLOBUS_CLIENT_ID and GLOBUS_CLIENT_SECRET)"
    )]
    NotConfigured,
    #[error("you cancelled the sign-in at the identity provider")]
    Cancelled,
    #[error("the identity provider refused the sign-in ({0})")]
    Refused(String),
    #[error(
        "this verification link is unknown, already used or older than 10 minutes; run /cws profiles verify for a new one"
    )]
    UnknownState,
    #[error("the identity provider refused the authorization code ({0})")]
    CodeRejected(String),
    #[error("the identity provider's ID token did not check out ({0})")]
    TokenRejected(String),
    #[error("the identity provider could not be reached ({0}); try /cws profiles verify again")]
    Unreachable(String),
}

/// What `profiles verify` leaves behind for the callback, under its random `state`: whom the
/// answer is for, and the secrets the provider's answer must match. Taken once, then gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingVerification {
    /// Who ran `profiles verify`: the identity is bound to them, whoever's browser comes back,
    /// and the outcome goes to them by direct message (the command's response URL may have
    /// run out by then).
    pub requester: Requester,
    /// The PKCE code verifier: only its hash went to the provider.
    pub pkce_verifier: String,
    /// Must come back inside the ID token, so a token minted for another login is refused.
    pub nonce: String,
    /// The provider's authorization URL, where the confirmation page's Continue leads.
    pub authorization_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl PendingVerification {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::job::Platform;

    fn identity(username: &str) -> VerifiedIdentity {
        VerifiedIdentity {
            subject: "b1f5-sub".into(),
            username: username.into(),
            name: Some("Sarah Lee".into()),
            email: Some("sarah@gmail.com".into()),
            organization: Some("University of California, Berkeley".into()),
            identity_provider: None,
            linked: Vec::new(),
            verified_at: datetime!(2026-01-01 00:00 UTC),
        }
    }

    #[test]
    fn a_domain_requirement_is_met_by_the_login_domain_or_a_subdomain() {
        let cases = [
            ("sarah.lee@mit.edu", Some("mit.edu"), true),
            ("sarah.lee@MIT.EDU", Some("mit.edu"), true),
            ("sarah.lee@csail.mit.edu", Some("mit.edu"), true),
            ("sarah.lee@mit.edu", Some("MIT.edu"), true),
            ("sarah.lee@berkeley.edu", Some("mit.edu"), false),
            ("sarah.lee@notmit.edu", Some("mit.edu"), false),
            ("sarah.lee@mit.edu.evil.org", Some("mit.edu"), false),
            ("sarah.lee", Some("mit.edu"), false),
            ("sarah.lee@berkeley.edu", None, true),
        ];
        for (username, domain, met) in cases {
            assert_eq!(
                meets_requirement(Some(&identity(username)), domain).is_ok(),
                met,
                "{username} at {domain:?}"
            );
        }
    }

    #[test]
    fn the_email_does_not_satisfy_a_domain_requirement() {
        let mut verified = identity("sarah.lee@berkeley.edu");
        verified.email = Some("sarah@mit.edu".into());
        assert_eq!(
            meets_requirement(Some(&verified), Some("mit.edu")),
            Err(IdentityShortfall::WrongDomain {
                required: "mit.edu".into(),
                username: "sarah.lee@berkeley.edu".into(),
            })
        );
    }

    #[test]
    fn no_verified_identity_meets_no_requirement() {
        assert_eq!(
            meets_requirement(None, None),
            Err(IdentityShortfall::NotVerified)
        );
        assert_eq!(
            meets_requirement(None, Some("mit.edu")),
            Err(IdentityShortfall::NotVerified)
        );
    }

    #[test]
    fn the_institution_falls_back_from_organization_to_login_domain() {
        let mut verified = identity("sarah.lee@berkeley.edu");
        assert_eq!(verified.institution(), "University of California, Berkeley");
        verified.organization = None;
        verified.identity_provider = Some("UC Berkeley".into());
        assert_eq!(verified.institution(), "UC Berkeley");
        verified.identity_provider = None;
        assert_eq!(verified.institution(), "berkeley.edu");
        assert_eq!(verified.login_name(), "sarah.lee");
    }

    #[test]
    fn a_pending_verification_expires_after_its_window() {
        let start = datetime!(2026-01-01 00:00 UTC);
        let pending = PendingVerification {
            requester: Requester {
                platform: Platform::Slack,
                team_id: "T".into(),
                team_domain: "berkeley".into(),
                user_id: "U".into(),
                user_name: "sarah.lee".into(),
            },
            pkce_verifier: "v".into(),
            nonce: "n".into(),
            authorization_url: "https://auth.globus.org/v2/oauth2/authorize?state=s".into(),
            expires_at: start + VERIFICATION_WINDOW,
        };
        assert!(!pending.is_expired(start + Duration::minutes(9)));
        assert!(pending.is_expired(start + Duration::minutes(10)));
        let stored = serde_json::to_string(&pending).unwrap();
        assert_eq!(
            SignInState::from_records(Some(&stored), None),
            SignInState::Pending(Box::new(pending))
        );
    }

    #[test]
    fn a_state_without_its_pending_record_is_used_or_unknown() {
        assert_eq!(
            SignInState::from_records(None, Some("{}")),
            SignInState::Used
        );
        assert_eq!(SignInState::from_records(None, None), SignInState::Unknown);
        assert_eq!(
            SignInState::from_records(Some("not json"), None),
            SignInState::Unknown
        );
    }

    #[test]
    fn the_keys_hash_the_state_and_the_link_carries_it() {
        assert_eq!(
            pending_key("abc"),
            "cws:verification:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(used_key("abc"), format!("{}:used", pending_key("abc")));
        assert_eq!(
            start_link("https://cws.example.org/", "s-1_x"),
            "https://cws.example.org/oauth/globus/start?state=s-1_x"
        );
    }
}
