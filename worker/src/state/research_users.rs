//! Research users, their POSIX identities and SSH keys:
//! `cws:research-user:{collaborator}` → research user; `…:pending-key` → key awaiting its DM (an
//! hour at most); `cws:account-index:{account}`, `cws:account-count`, `cws:uid-seq:{account}` →
//! UID ranges; `cws:username:{account}:{username}` → collaborator holding the username;
//! `cws:reserved-uid:{account}:{holder}` → a UID of the account's range held for a volume grant.

use domain::ports::PortError;
use domain::profile::{Collaborator, ResearchUser, research_uid, username_candidates};
use serde::{Deserialize, Serialize};

use super::{State, Updated, corrupt, to_json};

/// How long a new research user's private key waits for its direct message: a job retrying
/// the message is done well within it, and a key nobody could deliver is not kept.
pub const PENDING_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// How many usernames to try before giving up on a busy name (`sarah_lee`, `sarah_lee2`, …).
const USERNAME_ATTEMPTS: usize = 1000;

fn user_key(collaborator: &Collaborator) -> String {
    format!("cws:research-user:{}", collaborator.key())
}

fn pending_key(collaborator: &Collaborator) -> String {
    format!("{}:pending-key", user_key(collaborator))
}

/// An SSH key pair in OpenSSH text form.
#[derive(Serialize, Deserialize)]
pub struct KeyPair {
    pub public: String,
    pub private: String,
}

impl State {
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
        let key = user_key(collaborator);
        let pending = pending_key(collaborator);
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
        self.read(&user_key(collaborator)).await
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

    /// The private key of `user` still waiting for its direct message. A pending key that does
    /// not belong to the user (left by a worker that lost a race) is dropped, never sent.
    pub async fn pending_private_key(
        &self,
        collaborator: &Collaborator,
        user: &ResearchUser,
    ) -> Result<Option<String>, PortError> {
        let key = pending_key(collaborator);
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
        let key = user_key(collaborator);
        let pending = pending_key(collaborator);
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
        self.records.delete(&pending_key(collaborator)).await
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
}
