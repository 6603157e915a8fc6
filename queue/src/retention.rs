//! Retention: finished jobs are forgotten once they are older than the retention period, so
//! the queues' Redis footprint follows the recent load instead of every job ever run.

use std::sync::LazyLock;

use apalis_redis::{Config, ConnectionManager};
use async_trait::async_trait;
use domain::job::{ActionJob, CommandJob, JobKey, LaunchJob, VerificationCallbackJob};
use domain::ports::{FinishedJobs, PortError};
use time::OffsetDateTime;

use crate::redis_config;

static FORGET_FINISHED: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("forget_finished.lua")));

/// Tasks forgotten per script call: a bounded pause for Redis, like the vendored fetch's.
const BATCH: usize = 1_000;

/// The finished jobs of every queue in Redis.
#[derive(Clone)]
pub struct RedisFinishedJobs {
    connection: ConnectionManager,
}

impl RedisFinishedJobs {
    pub fn new(connection: ConnectionManager) -> RedisFinishedJobs {
        RedisFinishedJobs { connection }
    }

    async fn forget_in(&self, config: Config, cutoff: i64) -> Result<Vec<JobKey>, PortError> {
        let mut forgotten = Vec::new();
        loop {
            let mut redis = self.connection.clone();
            let keys: Vec<String> = FORGET_FINISHED
                .key(config.finished_jobs_set())
                .key(config.job_data_hash())
                .key(config.done_jobs_set())
                .key(config.dead_jobs_set())
                .arg(cutoff)
                .arg(BATCH)
                .arg(config.job_meta_hash())
                .arg(config.idempotency_key_set())
                .invoke_async(&mut redis)
                .await
                .map_err(|error| PortError::Transient(format!("redis: {error}")))?;
            let last = keys.len() < BATCH;
            // A key that is not a job key was not pushed by cws: nothing of ours to forget.
            forgotten.extend(
                keys.into_iter()
                    .filter_map(|key| JobKey::try_from(key).ok()),
            );
            if last {
                return Ok(forgotten);
            }
        }
    }
}

#[async_trait]
impl FinishedJobs for RedisFinishedJobs {
    async fn forget_finished(&self, before: OffsetDateTime) -> Result<Vec<JobKey>, PortError> {
        let cutoff = before.unix_timestamp();
        let mut forgotten = self.forget_in(redis_config::<LaunchJob>(), cutoff).await?;
        forgotten.extend(self.forget_in(redis_config::<CommandJob>(), cutoff).await?);
        forgotten.extend(self.forget_in(redis_config::<ActionJob>(), cutoff).await?);
        forgotten.extend(
            self.forget_in(redis_config::<VerificationCallbackJob>(), cutoff)
                .await?,
        );
        Ok(forgotten)
    }
}

/// The embedded mode's queues keep nothing once a job has run.
pub struct NothingRetained;

#[async_trait]
impl FinishedJobs for NothingRetained {
    async fn forget_finished(&self, _before: OffsetDateTime) -> Result<Vec<JobKey>, PortError> {
        Ok(Vec::new())
    }
}
