//! Dead letters: the jobs a worker gave up on (refused for good, or out of attempts), as
//! apalis-redis keeps them: the task id in the queue's dead set, the payload in its data hash,
//! and the last attempt's end and error in the task's metadata hash. Operators list them, read
//! one's payload, and put them back on their queue once the cause is fixed.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use apalis_redis::{Config, ConnectionManager};
use time::OffsetDateTime;

use crate::IDEMPOTENCY_TTL;

static REPLAY_DEAD: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("replay_dead.lua")));

/// A dead-lettered job, as an operator sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The job kind's name (`launch`, `command`, …).
    pub kind: &'static str,
    /// apalis' task id: what `cws jobs dead show|replay` take.
    pub id: String,
    /// The job key: the "Reference" the person was shown, and the `key` of the job's log span.
    pub key: Option<String>,
    /// When its last attempt ended, by the clock of the worker that ran it.
    pub died_at: Option<OffsetDateTime>,
    /// The error the last attempt ended with.
    pub error: Option<String>,
}

/// A dead-lettered job with what it was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadJob {
    pub letter: DeadLetter,
    /// The job as queued (the job kind's JSON encoding).
    pub payload: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead-lettered job has the id `{0}` (`cws jobs dead list` shows them)")]
    NotFound(String),
    #[error("job `{0}` is dead-lettered but its payload is gone: there is nothing to replay")]
    PayloadGone(String),
    #[error("job `{id}`: its payload is not JSON: {source}")]
    Payload {
        id: String,
        source: serde_json::Error,
    },
    #[error(
        "job `{id}`: its key `{key}` now names another job, `{other}`, queued after this one \
         died; replaying it would do the request twice"
    )]
    KeyTaken {
        id: String,
        key: String,
        other: String,
    },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Every dead-lettered job, by kind (in registration order), oldest death first.
pub async fn dead_letters(
    connection: &ConnectionManager,
) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let mut letters = Vec::new();
    for &(kind, queue) in domain::job::REGISTERED {
        let config = Config::default().queue(queue);
        let mut redis = connection.clone();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(config.dead_jobs_set())
            .query_async(&mut redis)
            .await?;
        // Redis refuses an empty pipeline.
        if ids.is_empty() {
            continue;
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(format!("{}:{id}", config.job_meta_hash()));
        }
        let metas: Vec<HashMap<String, String>> = pipe.query_async(&mut redis).await?;
        let mut of_kind: Vec<DeadLetter> = ids
            .into_iter()
            .zip(metas)
            .map(|(id, meta)| letter(kind, id, &meta))
            .collect();
        of_kind.sort_by(|a, b| (a.died_at, &a.id).cmp(&(b.died_at, &b.id)));
        letters.extend(of_kind);
    }
    Ok(letters)
}

/// The dead-lettered job `id`, with its payload.
pub async fn dead_job(
    connection: &ConnectionManager,
    id: &str,
) -> Result<DeadJob, DeadLetterError> {
    Ok(read_dead(connection, id).await?.0)
}

/// The dead-lettered job `id`, and the configuration of the queue it died in.
async fn read_dead(
    connection: &ConnectionManager,
    id: &str,
) -> Result<(DeadJob, Config), DeadLetterError> {
    let (kind, config) = locate(connection, id).await?;
    let mut redis = connection.clone();
    let (payload, meta): (Option<Vec<u8>>, HashMap<String, String>) = redis::pipe()
        .hget(config.job_data_hash(), id)
        .hgetall(format!("{}:{id}", config.job_meta_hash()))
        .query_async(&mut redis)
        .await?;
    let payload = payload.ok_or_else(|| DeadLetterError::PayloadGone(id.to_owned()))?;
    let payload = serde_json::from_slice(&payload).map_err(|source| DeadLetterError::Payload {
        id: id.to_owned(),
        source,
    })?;
    let job = DeadJob {
        letter: letter(kind, id.to_owned(), &meta),
        payload,
    };
    Ok((job, config))
}

/// Puts the dead-lettered job `id` back on its queue, as a fresh push would (same payload,
/// no attempt made yet), for the next worker to take; returns it as it was listed.
pub async fn replay(
    connection: &ConnectionManager,
    id: &str,
) -> Result<DeadLetter, DeadLetterError> {
    let (job, config) = read_dead(connection, id).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut redis = connection.clone();
    let outcome: Vec<String> = REPLAY_DEAD
        .key(config.dead_jobs_set())
        .key(config.finished_jobs_set())
        .key(config.scheduled_jobs_set())
        .key(config.job_data_hash())
        .arg(id)
        .arg(now)
        .arg(config.job_meta_hash())
        .arg(config.idempotency_key_set())
        .arg(IDEMPOTENCY_TTL.as_secs())
        .invoke_async(&mut redis)
        .await?;
    match outcome.as_slice() {
        [replayed] if replayed == "replayed" => Ok(job.letter),
        [no_data] if no_data == "no_data" => Err(DeadLetterError::PayloadGone(id.to_owned())),
        [taken, other] if taken == "key_taken" => Err(DeadLetterError::KeyTaken {
            id: id.to_owned(),
            key: job.letter.key.unwrap_or_default(),
            other: other.clone(),
        }),
        // Replayed or forgotten by someone else since it was read.
        _ => Err(DeadLetterError::NotFound(id.to_owned())),
    }
}

/// Replays every dead-lettered job, oldest death first within each kind; stops at the first
/// that cannot be, and returns those replayed before it with the error.
pub async fn replay_all(
    connection: &ConnectionManager,
) -> Result<Vec<DeadLetter>, (Vec<DeadLetter>, DeadLetterError)> {
    let letters = dead_letters(connection)
        .await
        .map_err(|error| (Vec::new(), error))?;
    let mut replayed = Vec::with_capacity(letters.len());
    for letter in letters {
        match replay(connection, &letter.id).await {
            Ok(letter) => replayed.push(letter),
            Err(error) => return Err((replayed, error)),
        }
    }
    Ok(replayed)
}

/// The kind and queue whose dead set holds `id` (apalis task ids are ULIDs: one queue at most).
async fn locate(
    connection: &ConnectionManager,
    id: &str,
) -> Result<(&'static str, Config), DeadLetterError> {
    let mut redis = connection.clone();
    for &(kind, queue) in domain::job::REGISTERED {
        let config = Config::default().queue(queue);
        let dead: bool = redis::cmd("SISMEMBER")
            .arg(config.dead_jobs_set())
            .arg(id)
            .query_async(&mut redis)
            .await?;
        if dead {
            return Ok((kind, config));
        }
    }
    Err(DeadLetterError::NotFound(id.to_owned()))
}

fn letter(kind: &'static str, id: String, meta: &HashMap<String, String>) -> DeadLetter {
    DeadLetter {
        kind,
        id,
        key: meta
            .get("idempotency_key")
            .filter(|key| !key.is_empty())
            .cloned(),
        died_at: meta
            .get("done_at")
            .and_then(|at| at.parse().ok())
            .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()),
        error: meta.get("result").and_then(|result| last_error(result)),
    }
}

/// The error in apalis' recorded result (`{"Err":"AbortError: …"}`), without apalis' prefix:
/// every dead letter of ours is an abort, so it says nothing.
fn last_error(result: &str) -> Option<String> {
    let result: serde_json::Value = serde_json::from_str(result).ok()?;
    let error = result.get("Err")?.as_str()?;
    Some(
        error
            .strip_prefix("AbortError: ")
            .unwrap_or(error)
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_error_is_read_without_apalis_prefix() {
        assert_eq!(
            last_error(r#"{"Err":"AbortError: AWS refused the launch"}"#).as_deref(),
            Some("AWS refused the launch")
        );
        assert_eq!(
            last_error(r#"{"Err":"worker timed out"}"#).as_deref(),
            Some("worker timed out")
        );
        assert_eq!(last_error(r#"{"Ok":null}"#), None);
        assert_eq!(last_error("not json"), None);
    }
}
