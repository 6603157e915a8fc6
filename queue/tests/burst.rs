//! A burst of pushes, as a busy bot makes them: pushes that meet go to Redis together, and
//! every job is still queued exactly once, a repeated request included.

use domain::job::{Job, JobKey, ProviderAnswer, VerificationCallbackJob};
use domain::ports::JobQueue;
use redis::AsyncCommands;

const KEYS: usize = 200;
const COPIES: usize = 3;

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_requests_is_queued_once_each() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = apalis_redis::connect(format!("{base}/116"))
        .await
        .expect("Redis is running (see scripts/test)");
    let mut redis = connection.clone();
    redis::cmd("FLUSHDB").exec_async(&mut redis).await.unwrap();
    let queue = std::sync::Arc::new(queue::RedisJobQueue::new(connection));
    let job = |n: usize| {
        Job::VerificationCallback(VerificationCallbackJob {
            key: JobKey::try_from(format!("oauth:burst-{n}")).unwrap(),
            state: format!("state-{n}"),
            answer: ProviderAnswer::Code("c".to_owned()),
        })
    };
    // Each request three times (a platform retrying), all at once from many tasks.
    let pushes = (0..KEYS * COPIES).map(|n| {
        let queue = queue.clone();
        let job = job(n % KEYS);
        tokio::spawn(async move { queue.enqueue(job).await })
    });
    for pushed in futures::future::join_all(pushes).await {
        pushed.unwrap().unwrap();
    }
    let data: usize = redis.hlen("cws:queue:verification:data").await.unwrap();
    assert_eq!(data, KEYS, "one job per key");
    let waiting: usize = redis
        .zcard("cws:queue:verification:scheduled")
        .await
        .unwrap();
    let due: usize = redis.llen("cws:queue:verification:active").await.unwrap();
    assert_eq!(waiting + due, KEYS, "each job waits once");

    // Alone, a push still goes at once.
    queue.enqueue(job(KEYS)).await.unwrap();
    let data: usize = redis.hlen("cws:queue:verification:data").await.unwrap();
    assert_eq!(data, KEYS + 1);
}
