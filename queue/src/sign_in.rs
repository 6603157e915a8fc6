//! The bot's read-only view of pending verifications (`profiles verify`): one lookup of the
//! pending record and its "used" marker, nothing written.

use std::sync::Arc;

use apalis_redis::ConnectionManager;
use async_trait::async_trait;
use domain::ports::{PortError, Records, SignIns};
use domain::verified_identity::{SignInState, pending_key, used_key};

/// Pending verifications in Redis, where the workers keep them.
#[derive(Clone)]
pub struct RedisSignIns {
    connection: ConnectionManager,
}

impl RedisSignIns {
    pub fn new(connection: ConnectionManager) -> RedisSignIns {
        RedisSignIns { connection }
    }
}

#[async_trait]
impl SignIns for RedisSignIns {
    async fn sign_in(&self, state: &str) -> Result<SignInState, PortError> {
        let mut redis = self.connection.clone();
        let (pending, used): (Option<String>, Option<String>) = redis::cmd("MGET")
            .arg(pending_key(state))
            .arg(used_key(state))
            .query_async(&mut redis)
            .await
            .map_err(|error| PortError::Transient(format!("redis: {error}")))?;
        Ok(SignInState::from_records(
            pending.as_deref(),
            used.as_deref(),
        ))
    }
}

/// Pending verifications in the embedded mode's records, which the worker in the same process
/// writes.
pub struct RecordsSignIns(pub Arc<dyn Records>);

#[async_trait]
impl SignIns for RecordsSignIns {
    async fn sign_in(&self, state: &str) -> Result<SignInState, PortError> {
        let found = self
            .0
            .get_many(&[pending_key(state), used_key(state)])
            .await?;
        Ok(SignInState::from_records(
            found.first().and_then(Option::as_deref),
            found.get(1).and_then(Option::as_deref),
        ))
    }
}
