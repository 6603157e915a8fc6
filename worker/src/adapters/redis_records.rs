//! Records in Redis: plain strings for records and counters, sets for memberships, streams for
//! append-only logs. Every key is chosen by the caller.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::ports::{LogEntry, PortError, Records};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

/// Compare-and-set in one server-side step: the connection is multiplexed, so WATCH/MULTI
/// could interleave with other callers' commands. A missing `ARGV[2]` means "expect absent";
/// GET answers `false` for an absent key, so both cases are one comparison.
static SWAP: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local current = redis.call('GET', KEYS[1])
        if current ~= (ARGV[2] or false) then
            return 0
        end
        redis.call('SET', KEYS[1], ARGV[1])
        return 1
        ",
    )
});

/// The one field of each log entry in its stream. Streams are driven with raw XADD/XRANGE
/// because the workspace does not enable the `redis` crate's `streams` feature.
const ENTRY_FIELD: &str = "entry";

/// Log entries read per command.
const LOG_PAGE: usize = 2_000;

#[derive(Clone)]
pub struct RedisRecords {
    connection: ConnectionManager,
}

impl RedisRecords {
    pub fn new(connection: ConnectionManager) -> RedisRecords {
        RedisRecords { connection }
    }
}

fn unavailable(error: redis::RedisError) -> PortError {
    crate::adapters::redis_error(error)
}

#[async_trait]
impl Records for RedisRecords {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        let mut redis = self.connection.clone();
        redis.get(key).await.map_err(unavailable)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, PortError> {
        // MGET without keys is a Redis error, not an empty answer.
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut redis = self.connection.clone();
        redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut redis)
            .await
            .map_err(unavailable)
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.set(key, value).await.map_err(unavailable)
    }

    async fn put_expiring(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis
            .set_ex(key, value, ttl.as_secs().max(1))
            .await
            .map_err(unavailable)
    }

    async fn create_expiring(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, PortError> {
        let mut redis = self.connection.clone();
        let written: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async(&mut redis)
            .await
            .map_err(unavailable)?;
        Ok(written.is_some())
    }

    async fn take(&self, key: &str) -> Result<Option<String>, PortError> {
        let mut redis = self.connection.clone();
        redis.get_del(key).await.map_err(unavailable)
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, PortError> {
        let mut redis = self.connection.clone();
        let mut invocation = SWAP.key(key);
        invocation.arg(value);
        if let Some(expected) = expected {
            invocation.arg(expected);
        }
        let written: u8 = invocation
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        Ok(written == 1)
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.del(key).await.map_err(unavailable)
    }

    async fn increment(&self, key: &str) -> Result<u64, PortError> {
        let mut redis = self.connection.clone();
        redis.incr(key, 1).await.map_err(unavailable)
    }

    async fn add_member(&self, set: &str, member: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.sadd(set, member).await.map_err(unavailable)
    }

    async fn remove_member(&self, set: &str, member: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.srem(set, member).await.map_err(unavailable)
    }

    async fn members(&self, set: &str) -> Result<Vec<String>, PortError> {
        let mut redis = self.connection.clone();
        let mut members: Vec<String> = redis.smembers(set).await.map_err(unavailable)?;
        members.sort();
        Ok(members)
    }

    async fn append(&self, log: &str, entry: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis::cmd("XADD")
            .arg(log)
            .arg("*")
            .arg(ENTRY_FIELD)
            .arg(entry)
            .exec_async(&mut redis)
            .await
            .map_err(unavailable)
    }

    async fn append_numbered(
        &self,
        log: &str,
        number: u64,
        entry: &str,
    ) -> Result<bool, PortError> {
        let mut redis = self.connection.clone();
        // Stream ids only grow, so an explicit id `0-N` is a compare-and-append in one command.
        let added = redis::cmd("XADD")
            .arg(log)
            .arg(format!("0-{number}"))
            .arg(ENTRY_FIELD)
            .arg(entry)
            .exec_async(&mut redis)
            .await;
        match added {
            Ok(()) => Ok(true),
            Err(error) if error.to_string().contains("equal or smaller") => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn schedule(&self, set: &str, member: &str, at: i64) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.zadd(set, member, at).await.map_err(unavailable)
    }

    async fn unschedule(&self, set: &str, member: &str) -> Result<(), PortError> {
        let mut redis = self.connection.clone();
        redis.zrem(set, member).await.map_err(unavailable)
    }

    async fn due(&self, set: &str, until: i64) -> Result<Vec<String>, PortError> {
        let mut redis = self.connection.clone();
        redis
            .zrangebyscore(set, "-inf", until)
            .await
            .map_err(unavailable)
    }

    async fn last_entry(&self, log: &str) -> Result<Option<LogEntry>, PortError> {
        let mut redis = self.connection.clone();
        let newest: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
            .arg(log)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut redis)
            .await
            .map_err(unavailable)?;
        newest
            .into_iter()
            .next()
            .map(|(id, fields)| entry_of(log, id, &fields))
            .transpose()
    }

    async fn entries_after(
        &self,
        log: &str,
        after: Option<&str>,
    ) -> Result<Vec<LogEntry>, PortError> {
        let mut redis = self.connection.clone();
        let mut entries = Vec::new();
        let mut after = after.map(str::to_owned);
        // Page by page: one long log (an 18-month ledger, 50,000 entries) read in one command
        // would hold Redis, and every bot's request behind it, for tens of milliseconds.
        loop {
            // `(id` is an exclusive start (Redis 6.2+). Each entry is `[id, [field, value, ...]]`.
            let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
            let page: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
                .arg(log)
                .arg(start)
                .arg("+")
                .arg("COUNT")
                .arg(LOG_PAGE)
                .query_async(&mut redis)
                .await
                .map_err(unavailable)?;
            let full = page.len() == LOG_PAGE;
            after = page.last().map(|(id, _)| id.clone());
            for (id, fields) in page {
                entries.push(entry_of(log, id, &fields)?);
            }
            if !full {
                return Ok(entries);
            }
        }
    }
}

/// A stream entry as `[id, [field, value, ...]]` → the log entry in its `entry` field.
fn entry_of(log: &str, id: String, fields: &[String]) -> Result<LogEntry, PortError> {
    let entry = fields
        .chunks_exact(2)
        .find(|pair| pair[0] == ENTRY_FIELD)
        .map(|pair| pair[1].clone())
        .ok_or_else(|| PortError::Rejected {
            code: "CorruptRecord".to_owned(),
            message: format!("{log} entry {id} has no `{ENTRY_FIELD}` field"),
        })?;
    Ok(LogEntry { id, entry })
}
