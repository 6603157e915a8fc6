//! The collaboration state — projects, invitations, profiles, research users, volumes, exception
//! requests, the ledger and the audit trail — as typed records over the `Records` port. Each
//! submodule owns one aggregate and its keys (its own doc lists them):
//!
//! - `projects`: `cws:project:{name}`, `cws:projects`
//! - `project_requests`: `cws:project-request:{id}` (and its decision)
//! - `invitations`: `cws:invitation:{id}`, `cws:project:{p}:invitations`,
//!   `cws:project:{p}:invitation-name:{name}`
//! - `expiry`: `cws:expiry-schedule`, `cws:expiry:{invitation}` (and its shares)
//! - `profiles`: `cws:profile:{identity}:{name}`, `cws:profiles:{identity}`,
//!   `cws:active-profile:{identity}`, `cws:member:{p}:{identity}`,
//!   `cws:verified-identity:{identity}`, `cws:verification:{…}` (and `…:used`)
//! - `research_users`: `cws:research-user:{collaborator}` (and its pending key),
//!   `cws:account-index:{account}`, `cws:account-count`, `cws:uid-seq:{account}`,
//!   `cws:username:{account}:{username}`, `cws:reserved-uid:{account}:{holder}`
//! - `volumes`: `cws:volume:{project}:{name}` (and its mounts), `cws:project:{p}:volumes`
//! - `exceptions`: `cws:exception:{id}` (and `…:requested`, `…:decision`)
//! - `ledger`: `cws:ledger:{project}`, `cws:project:{p}:reservations`
//! - `month_ledger`: `cws:ledger-checkpoint:{project}`
//! - `named_snapshots`: `cws:named-snapshot:{name}`, `cws:named-snapshots`
//! - `audit`: `cws:audit:{project}`, `cws:audit-head:{project}`, `cws:audit-archived:{project}`
//! - `job_runs`: `cws:schedule:{job}`, `cws:job-finished:{job key}`
//! - `notices`: `cws:notice:{kind}:{project}:{period}…`
//! - `idle`: `cws:idle:{workspace}`
//! - `templates`: `cws:template-proposal:{id}` (and its decision), `cws:templates:published`,
//!   `cws:template:published:{slug}`
//! - `service_secrets`: `cws:service-secret:{launch job key}`
//! - `token_key`: `cws:token-key`
//!
//! This module holds what they share: the `State` handle and the read, create, claim and update
//! loops every aggregate builds on.

mod audit;
mod exceptions;
mod expiry;
mod idle;
mod invitations;
mod job_runs;
mod ledger;
mod month_ledger;
mod named_snapshots;
mod notices;
mod profiles;
mod project_requests;
mod projects;
mod research_users;
mod service_secrets;
mod templates;
mod token_key;
mod volumes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::ports::{PortError, Records};
use domain::token::TokenKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

pub use month_ledger::MonthLedger;
pub use notices::NOTICE_LEASE;
pub use research_users::{KeyPair, PENDING_KEY_TTL};

use audit::AuditTurn;
use ledger::CachedLedger;
use month_ledger::CachedMonth;

#[derive(Clone)]
pub struct State {
    records: Arc<dyn Records>,
    configured_key: Option<String>,
    key: Arc<OnceCell<TokenKey>>,
    ledgers: Arc<Mutex<HashMap<String, Arc<CachedLedger>>>>,
    /// Per project, a turn to write the audit chain: this process's writers take turns
    /// instead of racing each other through Redis (other processes still race, safely).
    audit_turns: Arc<Mutex<HashMap<String, AuditTurn>>>,
    /// Per project, the month in progress as far as this process has read it.
    months: Arc<Mutex<HashMap<String, Arc<CachedMonth>>>>,
}

fn corrupt(key: &str, error: impl std::fmt::Display) -> PortError {
    PortError::Rejected {
        code: "CorruptRecord".to_owned(),
        message: format!("{key}: {error}"),
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("state records serialize")
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
            months: Arc::default(),
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
