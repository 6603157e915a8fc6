//! Workspace state in Redis. Keys:
//! - `cws:workspace-name:{name}` → job key holding the name (SET NX: one owner across workers)
//! - `cws:workspace:{name}` → the workspace as JSON
//! - `cws:job:{key}:workspace` → workspace name launched by a job
//! - `cws:job:{key}:notices` → hash of the notices posted for the job (kept for the job
//!   retention period)
//! - `cws:workspaces` → set of all workspace names; `cws:instances` → instance id → name
//!
//! Recording a workspace again (a state change) overwrites it: the ledger, not this record,
//! keeps the history.

use async_trait::async_trait;
use domain::job::JobKey;
use domain::ports::{NameClaim, PortError, WorkspaceStore};
use domain::workspace::Workspace;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    /// How long a job's notices are kept: as long as the job itself (the retention sweep
    /// forgets both; the expiry is the backstop).
    retention: std::time::Duration,
}

impl RedisStore {
    pub fn new(connection: ConnectionManager, retention: std::time::Duration) -> RedisStore {
        RedisStore {
            connection,
            retention,
        }
    }
}

fn notices_key(key: &JobKey) -> String {
    format!("cws:job:{key}:notices")
}

fn unavailable(error: redis::RedisError) -> PortError {
    crate::adapters::redis_error(error)
}

fn corrupt(error: serde_json::Error) -> PortError {
    PortError::Rejected {
        code: "CorruptRecord".to_owned(),
        message: error.to_string(),
    }
}

#[async_trait]
impl WorkspaceStore for RedisStore {
    async fn claim_name(&self, name: &str, key: &JobKey) -> Result<NameClaim, PortError> {
        let mut redis = self.connection.clone();
        let name_key = format!("cws:workspace-name:{name}");
        let claimed: bool = redis
            .set_nx(&name_key, key.as_str())
            .await
            .map_err(unavailable)?;
        if claimed {
            return Ok(NameClaim::Claimed);
        }
        let holder: Option<String> = redis.get(&name_key).await.map_err(unavailable)?;
        match holder {
            Some(holder) if holder == key.as_str() => Ok(NameClaim::Claimed),
            Some(holder) => Ok(NameClaim::Taken {
                by: JobKey::try_from(holder).map_err(|e| PortError::Rejected {
                    code: "CorruptRecord".to_owned(),
                    message: e.to_string(),
                })?,
            }),
            // Released between our SETNX and GET: try once more from the top.
            None => Box::pin(self.claim_name(name, key)).await,
        }
    }

    async fn record(&self, workspace: &Workspace) -> Result<(), PortError> {
        let json = serde_json::to_string(workspace).map_err(corrupt)?;
        let mut redis = self.connection.clone();
        redis::pipe()
            .atomic()
            .set(format!("cws:workspace:{}", workspace.name), json)
            .set(
                format!("cws:job:{}:workspace", workspace.job),
                &workspace.name,
            )
            .sadd("cws:workspaces", &workspace.name)
            .hset("cws:instances", &workspace.instance_id, &workspace.name)
            .exec_async(&mut redis)
            .await
            .map_err(unavailable)
    }

    async fn by_job(&self, key: &JobKey) -> Result<Option<Workspace>, PortError> {
        let mut redis = self.connection.clone();
        let name: Option<String> = redis
            .get(format!("cws:job:{key}:workspace"))
            .await
            .map_err(unavailable)?;
        let Some(name) = name else { return Ok(None) };
        let json: Option<String> = redis
            .get(format!("cws:workspace:{name}"))
            .await
            .map_err(unavailable)?;
        json.map(|json| serde_json::from_str(&json).map_err(corrupt))
            .transpose()
    }

    async fn by_name(&self, name: &str) -> Result<Option<Workspace>, PortError> {
        let mut redis = self.connection.clone();
        let json: Option<String> = redis
            .get(format!("cws:workspace:{name}"))
            .await
            .map_err(unavailable)?;
        json.map(|json| serde_json::from_str(&json).map_err(corrupt))
            .transpose()
    }

    async fn all(&self) -> Result<Vec<Workspace>, PortError> {
        let mut redis = self.connection.clone();
        let mut names: Vec<String> = redis
            .smembers("cws:workspaces")
            .await
            .map_err(unavailable)?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        names.sort();
        let keys: Vec<String> = names.iter().map(|n| format!("cws:workspace:{n}")).collect();
        let found: Vec<Option<String>> = redis.mget(&keys).await.map_err(unavailable)?;
        found
            .into_iter()
            .flatten()
            .map(|json| serde_json::from_str(&json).map_err(corrupt))
            .collect()
    }

    async fn notice_sent(&self, key: &JobKey, notice: &str) -> Result<bool, PortError> {
        let mut redis = self.connection.clone();
        redis
            .hexists(notices_key(key), notice)
            .await
            .map_err(unavailable)
    }

    async fn mark_notice_sent(&self, key: &JobKey, notice: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        let notices = notices_key(key);
        redis::pipe()
            .atomic()
            .hset(&notices, notice, 1)
            .ignore()
            .expire(&notices, self.retention.as_secs().max(1) as i64)
            .ignore()
            .exec_async(&mut redis)
            .await
            .map_err(unavailable)
    }

    async fn forget_notices(&self, key: &JobKey) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.del(notices_key(key)).await.map_err(unavailable)
    }
}
