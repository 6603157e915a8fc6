//! Dead letters against a real Redis: a job a worker aborts lands in the dead set, where the
//! operator's list shows it with its reference and error; a replay puts it back exactly as a
//! fresh push left it, off the dead set, and a worker then runs it.

use std::collections::HashMap;
use std::time::Duration;

use apalis_core::error::AbortError;
use apalis_core::task::data::Data;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_redis::{ConnectionManager, RedisStorage};
use domain::job::{Job, JobKey, JobKind, ProviderAnswer, VerificationCallbackJob};
use domain::ports::JobQueue;
use queue::DeadLetterError;
use redis::AsyncCommands;

const KEY: &str = "oauth:dead-letter-check";

fn job() -> VerificationCallbackJob {
    VerificationCallbackJob {
        key: JobKey::try_from(KEY.to_owned()).unwrap(),
        state: "s".to_owned(),
        answer: ProviderAnswer::Code("c".to_owned()),
    }
}

/// What the test's worker does with the job: give up on it for good, or run it.
#[derive(Clone, Copy)]
enum Outcome {
    Abort,
    Succeed,
}

async fn handle(_job: VerificationCallbackJob, outcome: Data<Outcome>) -> Result<(), AbortError> {
    match *outcome {
        Outcome::Abort => Err(AbortError::new("the provider refused the code")),
        Outcome::Succeed => Ok(()),
    }
}

/// Runs one worker on the verification queue until the job is in `set`.
async fn work_until(connection: &ConnectionManager, outcome: Outcome, set: &str) {
    let storage = RedisStorage::<VerificationCallbackJob>::new(connection.clone())
        .with_config(queue::redis_config::<VerificationCallbackJob>());
    let mut redis = connection.clone();
    let set = set.to_owned();
    // Ends the worker once the job is there, or after 10 s: the caller's assertions tell which.
    let arrived = async move {
        for _ in 0..200 {
            let members: usize = redis.scard(&set).await.unwrap();
            if members == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok::<(), std::io::Error>(())
    };
    let name = match outcome {
        Outcome::Abort => "dead-letter-test-aborts",
        Outcome::Succeed => "dead-letter-test-runs",
    };
    WorkerBuilder::new(name)
        .backend(storage)
        .data(outcome)
        .build(handle)
        .run_until(arrived)
        .await
        .expect("the worker runs");
}

async fn meta(redis: &mut ConnectionManager, id: &str) -> HashMap<String, String> {
    redis
        .hgetall(format!("{}:meta:{id}", VerificationCallbackJob::QUEUE))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_job_is_listed_shown_and_replayed_for_a_worker_to_run() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = apalis_redis::connect(format!("{base}/126"))
        .await
        .expect("Redis is running (see scripts/test)");
    let mut redis = connection.clone();
    redis::cmd("FLUSHDB").exec_async(&mut redis).await.unwrap();
    let config = queue::redis_config::<VerificationCallbackJob>();
    let queue = queue::RedisJobQueue::new(connection.clone());
    queue
        .enqueue(Job::VerificationCallback(job()))
        .await
        .unwrap();
    let ids: Vec<String> = redis.hkeys(config.job_data_hash()).await.unwrap();
    let [id] = ids.as_slice() else {
        panic!("one job queued: {ids:?}")
    };
    let pushed = meta(&mut redis, id).await;

    work_until(&connection, Outcome::Abort, &config.dead_jobs_set()).await;

    let letters = queue::dead_letters(&connection).await.unwrap();
    let [letter] = letters.as_slice() else {
        panic!("one dead letter: {letters:?}")
    };
    assert_eq!(letter.kind, VerificationCallbackJob::NAME);
    assert_eq!(&letter.id, id);
    assert_eq!(letter.key.as_deref(), Some(KEY));
    assert_eq!(
        letter.error.as_deref(),
        Some("the provider refused the code")
    );
    let died = letter.died_at.expect("the death is dated");
    assert!((time::OffsetDateTime::now_utc() - died).abs() < time::Duration::minutes(1));

    let shown = queue::dead_job(&connection, id).await.unwrap();
    assert_eq!(shown.payload, serde_json::to_value(job()).unwrap());
    assert!(matches!(
        queue::dead_job(&connection, "01NOTAJOB").await,
        Err(DeadLetterError::NotFound(_))
    ));

    let replayed = queue::replay(&connection, id).await.unwrap();
    assert_eq!(&replayed, letter);
    let dead: usize = redis.scard(config.dead_jobs_set()).await.unwrap();
    let finished: Option<f64> = redis.zscore(config.finished_jobs_set(), id).await.unwrap();
    let scheduled: Option<f64> = redis.zscore(config.scheduled_jobs_set(), id).await.unwrap();
    assert_eq!(dead, 0, "off the dead set");
    assert_eq!(
        finished, None,
        "not the retention sweep's to forget while it waits"
    );
    assert!(scheduled.is_some(), "due, where a fresh push puts it");
    assert_eq!(meta(&mut redis, id).await, pushed, "as the push left it");
    let claim: Option<String> = redis
        .get(format!("{}:{KEY}", config.idempotency_key_set()))
        .await
        .unwrap();
    assert_eq!(
        claim.as_deref(),
        Some(id.as_str()),
        "its key still names it"
    );
    assert!(queue::dead_letters(&connection).await.unwrap().is_empty());
    assert!(matches!(
        queue::replay(&connection, id).await,
        Err(DeadLetterError::NotFound(_))
    ));

    work_until(&connection, Outcome::Succeed, &config.done_jobs_set()).await;
    let done: bool = redis.sismember(config.done_jobs_set(), id).await.unwrap();
    assert!(done, "a worker ran the replayed job");

    // A dead job whose claim expired, and a later push of the same key since: stand-ins.
    let claim = format!("{}:{KEY}-again", config.idempotency_key_set());
    redis::pipe()
        .sadd(config.dead_jobs_set(), "01OLD")
        .hset(config.job_data_hash(), "01OLD", "{}")
        .hset(
            format!("{}:01OLD", config.job_meta_hash()),
            "idempotency_key",
            format!("{KEY}-again"),
        )
        .set(&claim, "01NEW")
        .exec_async(&mut redis)
        .await
        .unwrap();

    let refused = queue::replay(&connection, "01OLD").await;

    assert!(
        matches!(&refused, Err(DeadLetterError::KeyTaken { other, .. }) if other == "01NEW"),
        "{refused:?}"
    );
    let dead: bool = redis
        .sismember(config.dead_jobs_set(), "01OLD")
        .await
        .unwrap();
    assert!(dead, "left where it was");
}
