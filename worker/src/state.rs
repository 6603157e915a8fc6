//! The collaboration state — projects, invitations, profiles, research users, exception
//! requests — as typed records over the `Records` port. Keys:
//!
//! - `cws:project:{name}` → project; `cws:projects` → set of names
//! - `cws:project:{p}:invitation-name:{name}` → invitation id (claimed once per project)
//! - `cws:project:{p}:invitations` → set of invitation ids; `cws:invitation:{id}` → invitation
//! - `cws:profile:{identity}:{name}` → profile; `cws:profiles:{identity}` → set of names
//! - `cws:active-profile:{identity}` → profile name; `cws:member:{p}:{identity}` → profile name
//! - `cws:verified-identity:{identity}` → the identity `profiles verify` proved
//! - `cws:verification:{sha256 of state}` → a verification awaiting its callback (10 min TTL);
//!   `…:used` → who used it (a day), to answer a replay
//! - `cws:research-user:{collaborator}` → research user; `…:pending-key` → key awaiting its DM
//!   (an hour at most)
//! - `cws:account-index:{account}`, `cws:account-count`, `cws:uid-seq:{account}` → UID ranges
//! - `cws:username:{account}:{username}` → collaborator holding the username
//! - `cws:reserved-uid:{account}:{holder}` → a UID of the account's range held for a volume grant
//! - `cws:volume:{project}:{name}` → shared volume; `cws:project:{p}:volumes` → set of names
//! - `cws:volume:{project}:{name}:mount:{workspace}` → a mount; `…:{name}:mounts` → set of workspaces
//! - `cws:exception:{id}` → request; `…:requested` → set once sent; `…:decision` → the decision
//! - `cws:project-request:{id}` → a project asked of the deployment's admins (`project_requests`)
//! - `cws:token-key` → the generated token key, when `CWS_TOKEN_KEY` is not set
//! - `cws:schedule:{job}` → the last round of a scheduled job that some worker claimed
//! - `cws:ledger:{project}` → stream of lifecycle events (the usage ledger)
//! - `cws:project:{p}:reservations` → budget held by launches not yet in the ledger
//! - `cws:audit:{project}` → the audit hash chain, a stream with ids `0-{seq}`;
//!   `cws:audit-head:{project}` → its newest link's place and hash;
//!   `cws:audit-archived:{project}` → the last day (`YYYY-MM-DD`) archived to object storage
//! - `cws:expiry-schedule` → invitations by when the expiry sweep next looks at them;
//!   `cws:expiry:{invitation}` → the stages and end steps done for its current end (a record
//!   kept for an earlier end counts as empty); `…:shares` → snapshots shared
//! - `cws:idle:{workspace}` → when its owner was warned that it is idle, or told to keep it
//! - `cws:job-finished:{job key}` → set once a command or click job ran to its end (kept for
//!   the job retention period)
//! - `cws:notice:{kind}:{project}:{period}…` → `taken:{unix time}` or `done`: notices sent once

mod named_snapshots;
mod project_requests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::audit::AuditEvent;
use domain::audit::chain::{Head, Link};
use domain::budget::{Reservations, month_bounds};
use domain::exception::{Decision, ExceptionRequest, RequestId};
use domain::expiry::{ExpiryRecord, Stage, Timeline};
use domain::identity::ChatIdentity;
use domain::idle::IdleWatch;
use domain::invitation::Invitation;
use domain::job::{JobKey, Requester};
use domain::ledger::LedgerEvent;
use domain::ports::{PortError, Records};
use domain::pricing::Money;
use domain::profile::{Collaborator, Profile, ResearchUser, research_uid, username_candidates};
use domain::project::Project;
use domain::token::{InvitationId, TokenKey};
use domain::verified_identity::{
    PendingVerification, VERIFICATION_WINDOW, VerifiedIdentity, pending_key, used_key,
};
use domain::volume::{Volume, VolumeMount};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use tokio::sync::OnceCell;

/// How long a taken notice stays with its taker before another worker may send it.
pub const NOTICE_LEASE: time::Duration = time::Duration::minutes(10);
const NOTICE_DONE: &str = "done";

/// One project's turn to write its audit chain in this process.
type AuditTurn = Arc<tokio::sync::Mutex<()>>;

/// Invitations by the time the expiry sweep should next look at them.
const EXPIRY_SCHEDULE: &str = "cws:expiry-schedule";

/// How archive days are stored: `2026-03-02`, as `Date` displays them.
const DAY_FORMAT: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");

/// How many times an audit writer looks for the chain's next free place before giving up.
const AUDIT_ATTEMPTS: usize = 100;

/// How long a new research user's private key waits for its direct message: a job retrying
/// the message is done well within it, and a key nobody could deliver is not kept.
pub const PENDING_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// How many usernames to try before giving up on a busy name (`sarah_lee`, `sarah_lee2`, …).
const USERNAME_ATTEMPTS: usize = 1000;

#[derive(Clone)]
pub struct State {
    records: Arc<dyn Records>,
    configured_key: Option<String>,
    key: Arc<OnceCell<TokenKey>>,
    ledgers: Arc<Mutex<HashMap<String, Arc<CachedLedger>>>>,
    /// Per project, a turn to write the audit chain: this process's writers take turns
    /// instead of racing each other through Redis (other processes still race, safely).
    audit_turns: Arc<Mutex<HashMap<String, AuditTurn>>>,
    /// What each closed month cost, per project and month start: the rollover's inputs, kept
    /// until an event dated inside or before that month arrives.
    month_totals: Arc<Mutex<HashMap<(String, OffsetDateTime), Money>>>,
}

/// A project's ledger as far as this process has read it.
struct CachedLedger {
    last_id: Option<String>,
    events: Arc<Vec<LedgerEvent>>,
}

fn corrupt(key: &str, error: impl std::fmt::Display) -> PortError {
    PortError::Rejected {
        code: "CorruptRecord".to_owned(),
        message: format!("{key}: {error}"),
    }
}

fn volume_key(project: &str, name: &str) -> String {
    format!("cws:volume:{project}:{name}")
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("state records serialize")
}

/// An SSH key pair in OpenSSH text form.
#[derive(Serialize, Deserialize)]
pub struct KeyPair {
    pub public: String,
    pub private: String,
}

/// What an atomic update did.
pub enum Updated<T, E> {
    Done(T),
    Refused(E),
    Missing,
}

impl State {
    pub fn new(records: Arc<dyn Records>, configured_key: Option<String>) -> State {
        State {
            records,
            configured_key,
            key: Arc::new(OnceCell::new()),
            ledgers: Arc::default(),
            audit_turns: Arc::default(),
            month_totals: Arc::default(),
        }
    }

    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PortError> {
        match self.records.get(key).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| corrupt(key, e)),
        }
    }

    /// The records under `keys` that exist, in the same order, in one round trip.
    async fn read_many<T: DeserializeOwned>(&self, keys: &[String]) -> Result<Vec<T>, PortError> {
        let mut found = Vec::with_capacity(keys.len());
        for (key, json) in keys.iter().zip(self.records.get_many(keys).await?) {
            if let Some(json) = json {
                found.push(serde_json::from_str(&json).map_err(|e| corrupt(key, e))?);
            }
        }
        Ok(found)
    }

    /// Writes `value` under `key` unless something is there already; returns what is there.
    async fn create<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<Result<(), T>, PortError> {
        if self.records.swap(key, None, &to_json(value)).await? {
            return Ok(Ok(()));
        }
        match self.read(key).await? {
            Some(existing) => Ok(Err(existing)),
            None => Box::pin(self.create(key, value)).await,
        }
    }

    /// The value that stands under `key`: `value` if it is the first written there, else the
    /// one a racing worker (or an earlier run) wrote first.
    async fn first_stored<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        value: T,
    ) -> Result<T, PortError> {
        Ok(self.create(key, &value).await?.err().unwrap_or(value))
    }

    /// Takes `key` for `holder` unless someone else holds it; true if `holder` holds it now
    /// (also when it already did, so a re-run job keeps what it claimed).
    async fn claim(&self, key: &str, holder: &str) -> Result<bool, PortError> {
        Ok(self.records.swap(key, None, holder).await?
            || self.records.get(key).await?.as_deref() == Some(holder))
    }

    /// The text under `key`, writing `candidate` first if there is none.
    async fn text_or_write(&self, key: &str, candidate: &str) -> Result<String, PortError> {
        if self.records.swap(key, None, candidate).await? {
            return Ok(candidate.to_owned());
        }
        match self.records.get(key).await? {
            Some(text) => Ok(text),
            None => Box::pin(self.text_or_write(key, candidate)).await,
        }
    }

    /// Read-modify-write that survives races: `change` sees the current record and returns the
    /// new one or a refusal; a concurrent writer makes it run again on the fresh record.
    async fn update<T, R, E>(
        &self,
        key: &str,
        change: impl Fn(&T) -> Result<(T, R), E>,
    ) -> Result<Updated<R, E>, PortError>
    where
        T: Serialize + DeserializeOwned,
    {
        loop {
            let Some(current) = self.records.get(key).await? else {
                return Ok(Updated::Missing);
            };
            let record: T = serde_json::from_str(&current).map_err(|e| corrupt(key, e))?;
            let (next, result) = match change(&record) {
                Ok(changed) => changed,
                Err(refusal) => return Ok(Updated::Refused(refusal)),
            };
            if self
                .records
                .swap(key, Some(&current), &to_json(&next))
                .await?
            {
                return Ok(Updated::Done(result));
            }
        }
    }

    /// The key that signs tokens: configured, or generated once and shared by every worker.
    pub async fn token_key(&self) -> Result<TokenKey, PortError> {
        self.key
            .get_or_try_init(|| async {
                let text = match &self.configured_key {
                    Some(configured) => configured.clone(),
                    None => {
                        let fresh = hex::encode(random_bytes::<32>());
                        self.text_or_write("cws:token-key", &fresh).await?
                    }
                };
                TokenKey::new(text.into_bytes()).map_err(|e| PortError::Rejected {
                    code: "BadTokenKey".to_owned(),
                    message: format!("CWS_TOKEN_KEY: {e}"),
                })
            })
            .await
            .cloned()
    }

    // Projects.

    /// Creates the project unless the name is taken; returns the holder when it is.
    pub async fn create_project(
        &self,
        project: &Project,
    ) -> Result<Result<(), Project>, PortError> {
        let created = self
            .create(&format!("cws:project:{}", project.name), project)
            .await?;
        if created.is_ok() {
            self.records
                .add_member("cws:projects", &project.name)
                .await?;
        }
        Ok(created)
    }

    pub async fn project(&self, name: &str) -> Result<Option<Project>, PortError> {
        self.read(&format!("cws:project:{name}")).await
    }

    /// Every project, by name.
    pub async fn projects(&self) -> Result<Vec<Project>, PortError> {
        let mut names = self.records.members("cws:projects").await?;
        names.sort();
        let keys: Vec<String> = names.iter().map(|n| format!("cws:project:{n}")).collect();
        self.read_many(&keys).await
    }

    pub async fn update_project<R, E>(
        &self,
        name: &str,
        change: impl Fn(&Project) -> Result<(Project, R), E>,
    ) -> Result<Updated<R, E>, PortError> {
        self.update(&format!("cws:project:{name}"), change).await
    }

    // Invitations.

    /// Claims the name within the project and stores the invitation; `false` if the name is
    /// taken by another invitation.
    pub async fn create_invitation(&self, invitation: &Invitation) -> Result<bool, PortError> {
        let name_key = format!(
            "cws:project:{}:invitation-name:{}",
            invitation.project, invitation.name
        );
        let id = invitation.id.to_string();
        if !self.claim(&name_key, &id).await? {
            return Ok(false);
        }
        self.records
            .put(&format!("cws:invitation:{id}"), &to_json(invitation))
            .await?;
        self.records
            .add_member(
                &format!("cws:project:{}:invitations", invitation.project),
                &id,
            )
            .await?;
        self.schedule_expiry(invitation).await?;
        Ok(true)
    }

    pub async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, PortError> {
        self.read(&format!("cws:invitation:{id}")).await
    }

    pub async fn invitation_named(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<Invitation>, PortError> {
        let id = self
            .records
            .get(&format!("cws:project:{project}:invitation-name:{name}"))
            .await?;
        match id.map(InvitationId::try_from) {
            Some(Ok(id)) => self.invitation(id).await,
            Some(Err(e)) => Err(corrupt(name, e)),
            None => Ok(None),
        }
    }

    pub async fn invitations(&self, project: &str) -> Result<Vec<Invitation>, PortError> {
        let ids = self
            .records
            .members(&format!("cws:project:{project}:invitations"))
            .await?;
        let keys: Vec<String> = ids
            .iter()
            .map(|id| format!("cws:invitation:{id}"))
            .collect();
        let mut invitations: Vec<Invitation> = self.read_many(&keys).await?;
        invitations.sort_by(|a: &Invitation, b| a.name.cmp(&b.name));
        Ok(invitations)
    }

    /// Changes an invitation; a change to when it ends moves its place in the expiry schedule.
    pub async fn update_invitation<R, E>(
        &self,
        id: InvitationId,
        change: impl Fn(&Invitation) -> Result<(Invitation, R), E>,
    ) -> Result<Updated<R, E>, PortError> {
        // The end the successful change started from (the last run of `change`).
        let before = Mutex::new(None);
        let updated = self
            .update(&format!("cws:invitation:{id}"), |current: &Invitation| {
                *before
                    .lock()
                    .expect("never poisoned: nothing panics holding it") = Some(current.ends_at());
                change(current)
            })
            .await?;
        let before = before
            .into_inner()
            .expect("never poisoned: nothing panics holding it");
        if let (Updated::Done(_), Some(invitation)) = (&updated, self.invitation(id).await?) {
            if let Some(before) = before
                && before != invitation.ends_at()
            {
                self.pin_expiry_record(id, before).await?;
            }
            self.schedule_expiry(&invitation).await?;
        }
        Ok(updated)
    }

    // Expiry.

    /// What the sweep has done for the invitation's current end.
    pub async fn expiry_record(&self, invitation: &Invitation) -> Result<ExpiryRecord, PortError> {
        let record: ExpiryRecord = self
            .read(&format!("cws:expiry:{}", invitation.id))
            .await?
            .unwrap_or_default();
        Ok(record.for_end(invitation.ends_at()))
    }

    /// Applies `change` to the expiry record of the invitation's end as `invitation` has it
    /// (a record kept for another end starts over), however many workers race on it.
    pub async fn record_expiry(
        &self,
        invitation: &Invitation,
        change: impl Fn(&mut ExpiryRecord),
    ) -> Result<ExpiryRecord, PortError> {
        let key = format!("cws:expiry:{}", invitation.id);
        loop {
            let current = self.records.get(&key).await?;
            let record: ExpiryRecord = match &current {
                Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&key, e))?,
                None => ExpiryRecord::default(),
            };
            let mut record = record.for_end(invitation.ends_at());
            change(&mut record);
            if self
                .records
                .swap(&key, current.as_deref(), &to_json(&record))
                .await?
            {
                return Ok(record);
            }
        }
    }

    /// Ties a record written before records named their end to `ends_at`, the end it was
    /// written for, now that the invitation's end has moved: it then counts for nothing at
    /// the new end, so the new end's warnings go out.
    async fn pin_expiry_record(
        &self,
        id: InvitationId,
        ends_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        let key = format!("cws:expiry:{id}");
        loop {
            let Some(current) = self.records.get(&key).await? else {
                return Ok(());
            };
            let mut record: ExpiryRecord =
                serde_json::from_str(&current).map_err(|e| corrupt(&key, e))?;
            if record.ends_at.is_some() {
                return Ok(());
            }
            record.ends_at = Some(ends_at);
            if self
                .records
                .swap(&key, Some(&current), &to_json(&record))
                .await?
            {
                return Ok(());
            }
        }
    }

    /// Puts the invitation in the expiry schedule at its next stage (counting the clean-up,
    /// which the sweep skips for projects that keep their snapshots), or takes it out.
    pub async fn schedule_expiry(&self, invitation: &Invitation) -> Result<(), PortError> {
        let done = self.expiry_record(invitation).await?.done;
        self.schedule_expiry_after(invitation, done).await
    }

    /// [`State::schedule_expiry`] for a caller that knows the last stage done.
    pub async fn schedule_expiry_after(
        &self,
        invitation: &Invitation,
        done: Option<Stage>,
    ) -> Result<(), PortError> {
        let timeline = Timeline {
            planned_at: invitation.planned_at(),
            ends_at: invitation.ends_at(),
            done,
            cleanup: true,
        };
        let id = invitation.id.to_string();
        match timeline.next() {
            Some((_, at)) => {
                self.records
                    .schedule(EXPIRY_SCHEDULE, &id, at.unix_timestamp())
                    .await
            }
            None => self.records.unschedule(EXPIRY_SCHEDULE, &id).await,
        }
    }

    /// The invitations with a stage due at `now`, earliest first.
    pub async fn due_expiries(&self, now: OffsetDateTime) -> Result<Vec<InvitationId>, PortError> {
        self.records
            .due(EXPIRY_SCHEDULE, now.unix_timestamp())
            .await?
            .into_iter()
            .map(|id| InvitationId::try_from(id).map_err(|e| corrupt(EXPIRY_SCHEDULE, e)))
            .collect()
    }

    /// Records that a collaborator's snapshot was shared with an account: a claimed
    /// snapshot, which the clean-up after the grace period keeps.
    pub async fn record_share(
        &self,
        id: InvitationId,
        snapshot_id: &str,
        account: &str,
    ) -> Result<(), PortError> {
        self.records
            .add_member(
                &format!("cws:expiry:{id}:shares"),
                &format!("{snapshot_id}={account}"),
            )
            .await
    }

    /// The snapshots shared so far, each with the account it went to.
    pub async fn shares(&self, id: InvitationId) -> Result<HashMap<String, String>, PortError> {
        Ok(self
            .records
            .members(&format!("cws:expiry:{id}:shares"))
            .await?
            .into_iter()
            .filter_map(|share| {
                share
                    .split_once('=')
                    .map(|(s, a)| (s.to_owned(), a.to_owned()))
            })
            .collect())
    }

    pub async fn unschedule_expiry(&self, id: InvitationId) -> Result<(), PortError> {
        self.records
            .unschedule(EXPIRY_SCHEDULE, &id.to_string())
            .await
    }

    // Profiles.

    pub async fn profile(
        &self,
        identity: &ChatIdentity,
        name: &str,
    ) -> Result<Option<Profile>, PortError> {
        self.read(&format!("cws:profile:{identity}:{name}")).await
    }

    /// Stores a new profile unless the person already has one by that name; returns it then.
    pub async fn create_profile(
        &self,
        profile: &Profile,
    ) -> Result<Result<(), Profile>, PortError> {
        let identity = &profile.identity;
        let created = self
            .create(&format!("cws:profile:{identity}:{}", profile.name), profile)
            .await?;
        if created.is_ok() {
            self.records
                .add_member(&format!("cws:profiles:{identity}"), &profile.name)
                .await?;
            self.records
                .put(
                    &format!("cws:member:{}:{identity}", profile.project),
                    &profile.name,
                )
                .await?;
        }
        Ok(created)
    }

    pub async fn profiles(&self, identity: &ChatIdentity) -> Result<Vec<Profile>, PortError> {
        let names = self
            .records
            .members(&format!("cws:profiles:{identity}"))
            .await?;
        let mut profiles = Vec::new();
        for name in names {
            if let Some(profile) = self.profile(identity, &name).await? {
                profiles.push(profile);
            }
        }
        Ok(profiles)
    }

    /// The identity's profile in `project`, if they are a member.
    pub async fn member_profile(
        &self,
        project: &str,
        identity: &ChatIdentity,
    ) -> Result<Option<Profile>, PortError> {
        match self
            .records
            .get(&format!("cws:member:{project}:{identity}"))
            .await?
        {
            Some(name) => self.profile(identity, &name).await,
            None => Ok(None),
        }
    }

    pub async fn active_profile(
        &self,
        identity: &ChatIdentity,
    ) -> Result<Option<Profile>, PortError> {
        match self.active_profile_name(identity).await? {
            Some(name) => self.profile(identity, &name).await,
            None => Ok(None),
        }
    }

    pub async fn active_profile_name(
        &self,
        identity: &ChatIdentity,
    ) -> Result<Option<String>, PortError> {
        self.records
            .get(&format!("cws:active-profile:{identity}"))
            .await
    }

    pub async fn set_active_profile(
        &self,
        identity: &ChatIdentity,
        name: &str,
    ) -> Result<(), PortError> {
        self.records
            .put(&format!("cws:active-profile:{identity}"), name)
            .await
    }

    /// Makes `name` active only if the identity has no active profile yet; says whether it did.
    pub async fn activate_if_none(
        &self,
        identity: &ChatIdentity,
        name: &str,
    ) -> Result<bool, PortError> {
        self.claim(&format!("cws:active-profile:{identity}"), name)
            .await
    }

    // Verified identities.

    /// The identity `profiles verify` proved for this chat identity, if any.
    pub async fn verified_identity(
        &self,
        identity: &ChatIdentity,
    ) -> Result<Option<VerifiedIdentity>, PortError> {
        self.read(&format!("cws:verified-identity:{identity}"))
            .await
    }

    /// Records a verified identity for the chat identity and on each of its profiles. A
    /// collaborator's institution becomes the verified one from now on (the ledger's past
    /// events keep theirs); an owner's stays the project's.
    pub async fn set_verified_identity(
        &self,
        identity: &ChatIdentity,
        verified: &VerifiedIdentity,
    ) -> Result<(), PortError> {
        self.records
            .put(
                &format!("cws:verified-identity:{identity}"),
                &to_json(verified),
            )
            .await?;
        for name in self
            .records
            .members(&format!("cws:profiles:{identity}"))
            .await?
        {
            self.update(
                &format!("cws:profile:{identity}:{name}"),
                |profile: &Profile| {
                    Ok::<_, std::convert::Infallible>((
                        Profile {
                            institution: match profile.invitation() {
                                Some(_) => verified.institution(),
                                None => profile.institution.clone(),
                            },
                            verified_identity: Some(verified.clone()),
                            ..profile.clone()
                        },
                        (),
                    ))
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Keeps what the callback of a verification started now will need, under its `state`,
    /// for the verification window.
    pub async fn start_verification(
        &self,
        state: &str,
        pending: &PendingVerification,
    ) -> Result<(), PortError> {
        let window = std::time::Duration::try_from(VERIFICATION_WINDOW)
            .expect("the verification window is positive");
        self.records
            .put_expiring(&pending_key(state), &to_json(pending), window)
            .await
    }

    /// The verification started under `state`, taken so that no second callback finds it.
    pub async fn take_verification(
        &self,
        state: &str,
    ) -> Result<Option<PendingVerification>, PortError> {
        let key = pending_key(state);
        match self.records.take(&key).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| corrupt(&key, e)),
        }
    }

    /// Remembers for a day who used `state`, so that a replayed callback can be refused to
    /// that person's face rather than only in the log.
    pub async fn mark_verification_used(
        &self,
        state: &str,
        requester: &Requester,
    ) -> Result<(), PortError> {
        self.records
            .put_expiring(
                &used_key(state),
                &to_json(requester),
                std::time::Duration::from_secs(24 * 3600),
            )
            .await
    }

    /// Who used `state`, if it was used within the last day.
    pub async fn verification_used_by(&self, state: &str) -> Result<Option<Requester>, PortError> {
        self.read(&used_key(state)).await
    }

    // Research users.

    /// The collaborator's research user in `account`, creating it on first use: the next UID
    /// of the account's range (never reused) and the first free username from `username`.
    /// `new_key` makes an SSH key pair; the first pair stored wins, and its private half waits
    /// under `…:pending-key` until [`State::pending_private_key`] hands it to a direct message.
    pub async fn research_user_or_create(
        &self,
        collaborator: &Collaborator,
        account: &str,
        username: &str,
        new_key: impl FnOnce() -> Result<KeyPair, PortError>,
    ) -> Result<ResearchUser, PortError> {
        if let Some(existing) = self.research_user(collaborator).await? {
            return Ok(existing);
        }
        let key = format!("cws:research-user:{}", collaborator.key());
        let pending = format!("{key}:pending-key");
        let fresh = new_key()?;
        let pair = if self
            .records
            .create_expiring(&pending, &to_json(&fresh), PENDING_KEY_TTL)
            .await?
        {
            fresh
        } else {
            // A racing worker's pair stands; if it expired meanwhile, this one is used unsent.
            self.read(&pending).await?.unwrap_or(fresh)
        };
        let uid = self.next_uid(account).await?;
        let username = self.claim_username(account, username, collaborator).await?;
        let user = ResearchUser {
            username,
            uid,
            gid: uid,
            account: account.to_owned(),
            ssh_public_key: pair.public,
            own_key: false,
            retired_keys: Vec::new(),
        };
        // If another worker created it first, the user that stands is theirs.
        self.first_stored(&key, user).await
    }

    /// The collaborator's research user, if one was created.
    pub async fn research_user(
        &self,
        collaborator: &Collaborator,
    ) -> Result<Option<ResearchUser>, PortError> {
        self.read(&format!("cws:research-user:{}", collaborator.key()))
            .await
    }

    /// A POSIX identity (UID = GID) from `account`'s research-user range, reserved once for
    /// `holder` and never reused: what a volume's access point uses for a collaborating
    /// account none of whose people has joined yet.
    pub async fn reserved_uid(&self, account: &str, holder: &str) -> Result<u32, PortError> {
        let key = format!("cws:reserved-uid:{account}:{holder}");
        if let Some(uid) = self.records.get(&key).await? {
            return uid.parse().map_err(|e| corrupt(&key, e));
        }
        let uid = self.next_uid(account).await?;
        let stands = self.text_or_write(&key, &uid.to_string()).await?;
        stands.parse().map_err(|e| corrupt(&key, e))
    }

    // Volumes.

    /// Stores a new volume unless the project has one by that name; returns that one then.
    pub async fn create_volume(&self, volume: &Volume) -> Result<Result<(), Volume>, PortError> {
        let created = self
            .create(&volume_key(&volume.project, &volume.name), volume)
            .await?;
        if created.is_ok() {
            self.records
                .add_member(
                    &format!("cws:project:{}:volumes", volume.project),
                    &volume.name,
                )
                .await?;
        }
        Ok(created)
    }

    pub async fn put_volume(&self, volume: &Volume) -> Result<(), PortError> {
        self.records
            .put(&volume_key(&volume.project, &volume.name), &to_json(volume))
            .await
    }

    pub async fn volume(&self, project: &str, name: &str) -> Result<Option<Volume>, PortError> {
        self.read(&volume_key(project, name)).await
    }

    /// The project's volumes, by name.
    pub async fn volumes(&self, project: &str) -> Result<Vec<Volume>, PortError> {
        let mut names = self
            .records
            .members(&format!("cws:project:{project}:volumes"))
            .await?;
        names.sort();
        let keys: Vec<String> = names.iter().map(|name| volume_key(project, name)).collect();
        self.read_many(&keys).await
    }

    /// The project's volumes, each with its mounts.
    pub async fn volumes_with_mounts(
        &self,
        project: &str,
    ) -> Result<Vec<(Volume, Vec<VolumeMount>)>, PortError> {
        let mut found = Vec::new();
        for volume in self.volumes(project).await? {
            let mounts = self.mounts(project, &volume.name).await?;
            found.push((volume, mounts));
        }
        Ok(found)
    }

    /// Records a mount, replacing the one of the same volume on the same workspace.
    pub async fn put_mount(&self, project: &str, mount: &VolumeMount) -> Result<(), PortError> {
        let prefix = volume_key(project, &mount.volume);
        self.records
            .put(
                &format!("{prefix}:mount:{}", mount.workspace),
                &to_json(mount),
            )
            .await?;
        self.records
            .add_member(&format!("{prefix}:mounts"), &mount.workspace)
            .await
    }

    /// A volume's mounts, by workspace.
    pub async fn mounts(&self, project: &str, volume: &str) -> Result<Vec<VolumeMount>, PortError> {
        let prefix = volume_key(project, volume);
        let mut workspaces = self.records.members(&format!("{prefix}:mounts")).await?;
        workspaces.sort();
        let keys: Vec<String> = workspaces
            .iter()
            .map(|workspace| format!("{prefix}:mount:{workspace}"))
            .collect();
        self.read_many(&keys).await
    }

    /// The private key of `user` still waiting for its direct message. A pending key that does
    /// not belong to the user (left by a worker that lost a race) is dropped, never sent.
    pub async fn pending_private_key(
        &self,
        collaborator: &Collaborator,
        user: &ResearchUser,
    ) -> Result<Option<String>, PortError> {
        let key = format!("cws:research-user:{}:pending-key", collaborator.key());
        match self.read::<KeyPair>(&key).await? {
            Some(pair) if pair.public == user.ssh_public_key => Ok(Some(pair.private)),
            Some(_) => self.records.delete(&key).await.map(|()| None),
            None => Ok(None),
        }
    }

    /// Puts `public_line` in place of the collaborator's research user's key, the old key
    /// joining the retired ones, and returns the user as it is now; `None` if they have no
    /// research user. `private` is the new pair's
    /// private half, kept for its direct message as a first key is; without one (the person's
    /// own key) any private key still waiting is dropped, since it no longer opens anything.
    pub async fn replace_ssh_key(
        &self,
        collaborator: &Collaborator,
        public_line: &str,
        private: Option<&str>,
    ) -> Result<Option<ResearchUser>, PortError> {
        let key = format!("cws:research-user:{}", collaborator.key());
        let pending = format!("{key}:pending-key");
        match private {
            Some(private) => {
                let pair = KeyPair {
                    public: public_line.to_owned(),
                    private: private.to_owned(),
                };
                self.records
                    .put_expiring(&pending, &to_json(&pair), PENDING_KEY_TTL)
                    .await?;
            }
            None => self.records.delete(&pending).await?,
        }
        let replaced = self
            .update(&key, |user: &ResearchUser| {
                let mut retired_keys = user.retired_keys.clone();
                let new_data = ResearchUser::key_data(public_line);
                retired_keys.retain(|data| Some(data.as_str()) != new_data);
                if let Some(old) = ResearchUser::key_data(&user.ssh_public_key)
                    .filter(|old| Some(*old) != new_data && !retired_keys.iter().any(|r| r == old))
                {
                    retired_keys.push(old.to_owned());
                }
                let next = ResearchUser {
                    ssh_public_key: public_line.to_owned(),
                    own_key: private.is_none(),
                    retired_keys,
                    ..user.clone()
                };
                Ok::<_, std::convert::Infallible>((next.clone(), next))
            })
            .await?;
        Ok(match replaced {
            Updated::Done(user) => Some(user),
            Updated::Missing | Updated::Refused(_) => None,
        })
    }

    /// Called once the private key reached its owner: it is kept nowhere after this.
    pub async fn forget_private_key(&self, collaborator: &Collaborator) -> Result<(), PortError> {
        self.records
            .delete(&format!(
                "cws:research-user:{}:pending-key",
                collaborator.key()
            ))
            .await
    }

    /// The account's next UID, never handed out before.
    async fn next_uid(&self, account: &str) -> Result<u32, PortError> {
        let index = self.account_index(account).await?;
        let sequence = self
            .records
            .increment(&format!("cws:uid-seq:{account}"))
            .await?
            - 1;
        u32::try_from(sequence)
            .ok()
            .and_then(|sequence| research_uid(index, sequence))
            .ok_or_else(|| PortError::Rejected {
                code: "UidRangeExhausted".to_owned(),
                message: format!("account {account} has used all 1,000 of its research-user UIDs"),
            })
    }

    /// The account's place in the order accounts were first seen (0, 1, 2, …).
    async fn account_index(&self, account: &str) -> Result<u32, PortError> {
        let key = format!("cws:account-index:{account}");
        if let Some(index) = self.records.get(&key).await? {
            return index.parse().map_err(|e| corrupt(&key, e));
        }
        let next = self.records.increment("cws:account-count").await? - 1;
        let index = self.text_or_write(&key, &next.to_string()).await?;
        index.parse().map_err(|e| corrupt(&key, e))
    }

    async fn claim_username(
        &self,
        account: &str,
        base: &str,
        collaborator: &Collaborator,
    ) -> Result<String, PortError> {
        let holder = collaborator.key();
        for candidate in username_candidates(base).take(USERNAME_ATTEMPTS) {
            if self
                .claim(&format!("cws:username:{account}:{candidate}"), &holder)
                .await?
            {
                return Ok(candidate);
            }
        }
        Err(PortError::Rejected {
            code: "UsernameExhausted".to_owned(),
            message: format!("no free username like {base} in account {account}"),
        })
    }

    // Exception requests.

    /// Stores the request once; a re-run of the same refused launch finds it again.
    pub async fn save_exception(
        &self,
        request: &ExceptionRequest,
    ) -> Result<ExceptionRequest, PortError> {
        self.first_stored(&format!("cws:exception:{}", request.id), request.clone())
            .await
    }

    pub async fn exception(&self, id: &RequestId) -> Result<Option<ExceptionRequest>, PortError> {
        self.read(&format!("cws:exception:{id}")).await
    }

    /// Marks the request as sent to the owner; `false` if it already was by another job.
    pub async fn mark_exception_requested(
        &self,
        id: &RequestId,
        job: &str,
    ) -> Result<bool, PortError> {
        self.claim(&format!("cws:exception:{id}:requested"), job)
            .await
    }

    pub async fn decision(&self, id: &RequestId) -> Result<Option<Decision>, PortError> {
        self.read(&format!("cws:exception:{id}:decision")).await
    }

    /// Records the decision unless one exists; returns the one that stands.
    pub async fn decide(&self, id: &RequestId, decision: &Decision) -> Result<Decision, PortError> {
        self.first_stored(&format!("cws:exception:{id}:decision"), decision.clone())
            .await
    }

    // Ledger.

    /// Appends a lifecycle event to the project's ledger. Appending the same event twice (a
    /// re-run job) is harmless: the ledger maths treats repeated transitions as one.
    pub async fn append_ledger(&self, event: &LedgerEvent) -> Result<(), PortError> {
        self.records
            .append(&format!("cws:ledger:{}", event.project), &to_json(event))
            .await
    }

    /// The project's whole ledger. Each process keeps what it has read and fetches only the
    /// entries appended since (the log only grows), so a report over an 18-month ledger pays
    /// for reading and parsing it once, not on every command.
    pub async fn ledger(&self, project: &str) -> Result<Arc<Vec<LedgerEvent>>, PortError> {
        let log = format!("cws:ledger:{project}");
        let cached = self
            .ledgers
            .lock()
            .expect("ledger cache lock")
            .get(project)
            .cloned();
        let after = cached.as_ref().and_then(|c| c.last_id.clone());
        let fresh = self.records.entries_after(&log, after.as_deref()).await?;
        let Some(last) = fresh.last().map(|entry| entry.id.clone()) else {
            return Ok(cached.map_or_else(Default::default, |c| c.events.clone()));
        };
        let mut events: Vec<LedgerEvent> = cached.map_or_else(Vec::new, |c| c.events.to_vec());
        let known = events.len();
        for entry in &fresh {
            events.push(serde_json::from_str(&entry.entry).map_err(|e| corrupt(&log, e))?);
        }
        if let Some(earliest) = events[known..].iter().map(|event| event.at).min() {
            // A new event changes its own month and every later one.
            let changed_from = month_bounds(earliest).0;
            self.month_totals
                .lock()
                .expect("month totals lock")
                .retain(|(of, start), _| of != project || *start < changed_from);
        }
        let events = Arc::new(events);
        let mut ledgers = self.ledgers.lock().expect("ledger cache lock");
        // Another task may have read further meanwhile; keep whichever saw more.
        let newer = ledgers
            .get(project)
            .is_none_or(|c| c.events.len() < events.len());
        if newer {
            ledgers.insert(
                project.to_owned(),
                Arc::new(CachedLedger {
                    last_id: Some(last),
                    events: events.clone(),
                }),
            );
        }
        Ok(events)
    }

    /// Claims round `round` of a scheduled job for this worker: exactly one worker wins each
    /// round, however many run the schedule, and a round already run is never run again.
    pub async fn claim_round(&self, job: &str, round: u64) -> Result<bool, PortError> {
        let key = format!("cws:schedule:{job}");
        loop {
            let current = self.records.get(&key).await?;
            let last = match current.as_deref() {
                Some(text) => text.parse::<u64>().map_err(|e| corrupt(&key, e))?,
                None => 0,
            };
            if last >= round {
                return Ok(false);
            }
            if self
                .records
                .swap(&key, current.as_deref(), &round.to_string())
                .await?
            {
                return Ok(true);
            }
        }
    }

    /// Whether the command or click `key` already ran to its end.
    pub async fn job_finished(&self, key: &JobKey) -> Result<bool, PortError> {
        Ok(self
            .records
            .get(&format!("cws:job-finished:{key}"))
            .await?
            .is_some())
    }

    /// Records that the command or click `key` ran to its end, for `retention` (the sweep of
    /// finished jobs forgets it with its job; the expiry is the backstop).
    pub async fn finish_job(
        &self,
        key: &JobKey,
        retention: std::time::Duration,
    ) -> Result<(), PortError> {
        self.records
            .put_expiring(&format!("cws:job-finished:{key}"), "1", retention)
            .await
    }

    /// Forgets that `key` ran: its job is gone from the queue, so it cannot come again.
    pub async fn forget_job(&self, key: &JobKey) -> Result<(), PortError> {
        self.records
            .delete(&format!("cws:job-finished:{key}"))
            .await
    }

    /// Takes the right to send the notice `key` (a budget alert, a week's digest, a month's
    /// statement): true for exactly one caller until it reports [`State::notice_done`]. A
    /// taker that dies before then lets another take it after [`NOTICE_LEASE`], so a crash
    /// delays a notice instead of losing it.
    pub async fn take_notice(&self, key: &str, now: OffsetDateTime) -> Result<bool, PortError> {
        let key = format!("cws:notice:{key}");
        let taken = format!("taken:{}", now.unix_timestamp());
        loop {
            let current = self.records.get(&key).await?;
            let free = match current.as_deref() {
                None => true,
                Some(NOTICE_DONE) => return Ok(false),
                Some(text) => {
                    let since = text
                        .strip_prefix("taken:")
                        .and_then(|t| t.parse::<i64>().ok())
                        .ok_or_else(|| corrupt(&key, text))?;
                    now.unix_timestamp() - since >= NOTICE_LEASE.whole_seconds()
                }
            };
            if !free {
                return Ok(false);
            }
            if self.records.swap(&key, current.as_deref(), &taken).await? {
                return Ok(true);
            }
        }
    }

    /// The notice `key` went out: nobody takes it again.
    pub async fn notice_done(&self, key: &str) -> Result<(), PortError> {
        self.records
            .put(&format!("cws:notice:{key}"), NOTICE_DONE)
            .await
    }

    /// Whether the notice was sent (not merely taken).
    pub async fn notice_sent(&self, key: &str) -> Result<bool, PortError> {
        Ok(self
            .records
            .get(&format!("cws:notice:{key}"))
            .await?
            .as_deref()
            == Some(NOTICE_DONE))
    }

    /// The project's budget reservations, with the exact stored text to swap against.
    pub async fn reservations(
        &self,
        project: &str,
    ) -> Result<(Option<String>, Reservations), PortError> {
        let key = format!("cws:project:{project}:reservations");
        let raw = self.records.get(&key).await?;
        let reservations = match &raw {
            Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&key, e))?,
            None => Reservations::default(),
        };
        Ok((raw, reservations))
    }

    /// What is known of a workspace's idleness, with the exact stored text to swap against.
    pub async fn idle_watch(
        &self,
        workspace: &str,
    ) -> Result<(Option<String>, IdleWatch), PortError> {
        let key = format!("cws:idle:{workspace}");
        let raw = self.records.get(&key).await?;
        let watch = match &raw {
            Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&key, e))?,
            None => IdleWatch::default(),
        };
        Ok((raw, watch))
    }

    /// Stores `next` only if the watch is still `current`: one worker wins each change.
    pub async fn swap_idle_watch(
        &self,
        workspace: &str,
        current: Option<&str>,
        next: &IdleWatch,
    ) -> Result<bool, PortError> {
        self.records
            .swap(&format!("cws:idle:{workspace}"), current, &to_json(next))
            .await
    }

    /// The workspace is busy again, or stopped: a later idle spell starts afresh.
    pub async fn forget_idle_watch(&self, workspace: &str) -> Result<(), PortError> {
        self.records.delete(&format!("cws:idle:{workspace}")).await
    }

    /// Stores `next` only if the reservations are still `current`; `false` means someone else
    /// reserved or released meanwhile, and the caller checks the budget again.
    pub async fn swap_reservations(
        &self,
        project: &str,
        current: Option<&str>,
        next: &Reservations,
    ) -> Result<bool, PortError> {
        self.records
            .swap(
                &format!("cws:project:{project}:reservations"),
                current,
                &to_json(next),
            )
            .await
    }

    /// Drops `job`'s reservation once its launch is in the ledger.
    pub async fn release_reservation(&self, project: &str, job: &str) -> Result<(), PortError> {
        loop {
            let (raw, reservations) = self.reservations(project).await?;
            if raw.is_none()
                || self
                    .swap_reservations(project, raw.as_deref(), &reservations.without(job))
                    .await?
            {
                return Ok(());
            }
        }
    }

    /// The totals of closed months (`windows`, each a whole month), computing with `compute`
    /// only those not known since the ledger last changed them.
    pub fn closed_month_totals(
        &self,
        project: &str,
        windows: &[(OffsetDateTime, OffsetDateTime)],
        compute: impl FnOnce(&[(OffsetDateTime, OffsetDateTime)]) -> Vec<Money>,
    ) -> Vec<Money> {
        let key = |window: &(OffsetDateTime, OffsetDateTime)| (project.to_owned(), window.0);
        let missing: Vec<_> = {
            let known = self.month_totals.lock().expect("month totals lock");
            windows
                .iter()
                .filter(|window| !known.contains_key(&key(window)))
                .copied()
                .collect()
        };
        let computed = compute(&missing);
        let mut known = self.month_totals.lock().expect("month totals lock");
        for (window, total) in missing.iter().zip(computed) {
            known.insert(key(window), total);
        }
        windows
            .iter()
            .map(|window| known.get(&key(window)).copied().unwrap_or_default())
            .collect()
    }

    // Audit.

    /// Appends an event to the project's audit chain. Writers racing on one project each
    /// take the next number in turn; none overwrites another.
    pub async fn audit(&self, project: &str, event: &AuditEvent) -> Result<(), PortError> {
        let log = format!("cws:audit:{project}");
        let head_key = format!("cws:audit-head:{project}");
        let turn = self
            .audit_turns
            .lock()
            .expect("audit turns lock")
            .entry(project.to_owned())
            .or_default()
            .clone();
        let _turn = turn.lock().await;
        for _ in 0..AUDIT_ATTEMPTS {
            let head: Option<Head> = self.read(&head_key).await?;
            let link = Link::after(head.as_ref(), event);
            if self
                .records
                .append_numbered(&log, link.seq, &to_json(&link))
                .await?
            {
                self.advance_audit_head(&head_key, link.head()).await?;
                return Ok(());
            }
            // The number is taken, usually by another writer whose head is not written yet
            // (or who died before writing it): its link says where the chain is.
            let Some(newest) = self.records.last_entry(&log).await? else {
                continue;
            };
            if let Ok(newest) = serde_json::from_str::<Link>(&newest.entry)
                && head.as_ref().is_none_or(|head| newest.seq > head.seq)
            {
                self.advance_audit_head(&head_key, newest.head()).await?;
                continue;
            }
            // The newest entry is no link past the head: entries were inserted or rewritten by
            // hand and the stream's numbers ran ahead of the chain. The link goes after the
            // newest entry, still pointing at the head, so the trail stays writable (`audit
            // verify` included) and `audit verify` names what was done.
            let place = newest
                .id
                .rsplit('-')
                .next()
                .and_then(|number| number.parse::<u64>().ok())
                .ok_or_else(|| corrupt(&log, &newest.id))?;
            let link = Link::after_at(head.as_ref(), place + 1, event);
            if self
                .records
                .append_numbered(&log, link.seq, &to_json(&link))
                .await?
            {
                self.advance_audit_head(&head_key, link.head()).await?;
                return Ok(());
            }
        }
        Err(PortError::Transient(format!(
            "{log}: {AUDIT_ATTEMPTS} writers in a row took the next place"
        )))
    }

    /// Moves the head forward to `to`, never back.
    async fn advance_audit_head(&self, key: &str, to: Head) -> Result<(), PortError> {
        loop {
            let current = self.records.get(key).await?;
            if let Some(json) = &current {
                let head: Head = serde_json::from_str(json).map_err(|e| corrupt(key, e))?;
                if head.seq >= to.seq {
                    return Ok(());
                }
            }
            if self
                .records
                .swap(key, current.as_deref(), &to_json(&to))
                .await?
            {
                return Ok(());
            }
        }
    }

    /// The project's audit chain as stored, and its head.
    pub async fn audit_chain(&self, project: &str) -> Result<(Vec<Link>, Option<Head>), PortError> {
        let log = format!("cws:audit:{project}");
        let links = self
            .records
            .entries_after(&log, None)
            .await?
            .iter()
            .map(|entry| serde_json::from_str(&entry.entry).map_err(|e| corrupt(&log, e)))
            .collect::<Result<Vec<Link>, _>>()?;
        let head = self.read(&format!("cws:audit-head:{project}")).await?;
        Ok((links, head))
    }

    /// The last day of the project's audit trail archived to object storage.
    pub async fn audit_archived_through(&self, project: &str) -> Result<Option<Date>, PortError> {
        let key = format!("cws:audit-archived:{project}");
        match self.records.get(&key).await? {
            Some(text) => Date::parse(&text, DAY_FORMAT)
                .map(Some)
                .map_err(|e| corrupt(&key, e)),
            None => Ok(None),
        }
    }

    /// Records that the project's audit trail is archived through `day`; never moves back.
    pub async fn set_audit_archived_through(
        &self,
        project: &str,
        day: Date,
    ) -> Result<(), PortError> {
        let key = format!("cws:audit-archived:{project}");
        loop {
            let current = self.records.get(&key).await?;
            if let Some(text) = &current
                && Date::parse(text, DAY_FORMAT).map_err(|e| corrupt(&key, e))? >= day
            {
                return Ok(());
            }
            if self
                .records
                .swap(&key, current.as_deref(), &day.to_string())
                .await?
            {
                return Ok(());
            }
        }
    }

    /// The project's audit events, oldest first. A link whose event no longer parses (edited
    /// by hand) is left out here; `audit verify` names it.
    pub async fn audit_events(&self, project: &str) -> Result<Vec<AuditEvent>, PortError> {
        let (links, _) = self.audit_chain(project).await?;
        Ok(links.iter().filter_map(Link::audit_event).collect())
    }
}

/// Random bytes for ids and keys, from the operating system's generator through uuid v4
/// (122 random bits in every 16 bytes).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    for chunk in bytes.chunks_mut(16) {
        let random = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    bytes
}
