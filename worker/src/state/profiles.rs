//! Profiles, memberships and verified identities: `cws:profile:{identity}:{name}` → profile;
//! `cws:profiles:{identity}` → set of names; `cws:active-profile:{identity}` → profile name;
//! `cws:member:{p}:{identity}` → profile name; `cws:verified-identity:{identity}` → the identity
//! `profiles verify` proved; `cws:verification:{sha256 of state}` → a verification awaiting its
//! callback (10 min TTL); `…:used` → who used it (a day), to answer a replay.

use domain::identity::ChatIdentity;
use domain::job::Requester;
use domain::ports::PortError;
use domain::profile::Profile;
use domain::verified_identity::{
    PendingVerification, VERIFICATION_WINDOW, VerifiedIdentity, pending_key, used_key,
};

use super::{State, corrupt, to_json};

fn profile_key(identity: &ChatIdentity, name: &str) -> String {
    format!("cws:profile:{identity}:{name}")
}

fn names_key(identity: &ChatIdentity) -> String {
    format!("cws:profiles:{identity}")
}

fn active_key(identity: &ChatIdentity) -> String {
    format!("cws:active-profile:{identity}")
}

fn verified_key(identity: &ChatIdentity) -> String {
    format!("cws:verified-identity:{identity}")
}

impl State {
    pub async fn profile(
        &self,
        identity: &ChatIdentity,
        name: &str,
    ) -> Result<Option<Profile>, PortError> {
        self.read(&profile_key(identity, name)).await
    }

    /// Stores a new profile unless the person already has one by that name; returns it then.
    pub async fn create_profile(
        &self,
        profile: &Profile,
    ) -> Result<Result<(), Profile>, PortError> {
        let identity = &profile.identity;
        let created = self
            .create(&profile_key(identity, &profile.name), profile)
            .await?;
        if created.is_ok() {
            self.records
                .add_member(&names_key(identity), &profile.name)
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
        let names = self.records.members(&names_key(identity)).await?;
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
        self.records.get(&active_key(identity)).await
    }

    pub async fn set_active_profile(
        &self,
        identity: &ChatIdentity,
        name: &str,
    ) -> Result<(), PortError> {
        self.records.put(&active_key(identity), name).await
    }

    /// Makes `name` active only if the identity has no active profile yet; says whether it did.
    pub async fn activate_if_none(
        &self,
        identity: &ChatIdentity,
        name: &str,
    ) -> Result<bool, PortError> {
        self.claim(&active_key(identity), name).await
    }

    // Verified identities.

    /// The identity `profiles verify` proved for this chat identity, if any.
    pub async fn verified_identity(
        &self,
        identity: &ChatIdentity,
    ) -> Result<Option<VerifiedIdentity>, PortError> {
        self.read(&verified_key(identity)).await
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
            .put(&verified_key(identity), &to_json(verified))
            .await?;
        for name in self.records.members(&names_key(identity)).await? {
            self.update(&profile_key(identity, &name), |profile: &Profile| {
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
            })
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
}
