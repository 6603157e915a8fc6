//! A job's idempotency key is not kept forever: it expires with the queue's TTL (and the
//! retention sweep forgets it with its job when that comes first).

use domain::job::{Job, JobKey, ProviderAnswer, VerificationCallbackJob};
use domain::ports::JobQueue;
use redis::AsyncCommands;

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_expires() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = apalis_redis::connect(format!("{base}/84"))
        .await
        .expect("Redis is running (see scripts/test)");
    let mut redis = connection.clone();
    redis::cmd("FLUSHDB").exec_async(&mut redis).await.unwrap();
    let queue = queue::RedisJobQueue::new(connection);
    let job = || {
        Job::VerificationCallback(VerificationCallbackJob {
            key: JobKey::try_from("oauth:ttl-check".to_owned()).unwrap(),
            state: "s".to_owned(),
            answer: ProviderAnswer::Code("c".to_owned()),
        })
    };
    queue.enqueue(job()).await.unwrap();
    queue.enqueue(job()).await.unwrap();
    let data: usize = redis.hlen("cws:queue:verification:data").await.unwrap();
    assert_eq!(data, 1, "the second push of the same key is no new job");
    let ttl: i64 = redis
        .ttl("cws:queue:verification:idempotency:oauth:ttl-check")
        .await
        .unwrap();
    let most = queue::IDEMPOTENCY_TTL.as_secs() as i64;
    assert!((most - 60..=most).contains(&ttl), "TTL {ttl}");
}
