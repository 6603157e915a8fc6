//! What a worker's `/metrics` reads of the queues: jobs waiting (due or scheduled) and jobs
//! dead-lettered, per job kind, from the keys apalis-redis keeps (its dead set is a set, its
//! scheduled set a sorted set).

use domain::job::{JobKind, LaunchJob};
use queue::depths;

#[tokio::test(flavor = "multi_thread")]
async fn depths_count_waiting_and_dead_jobs_per_kind() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = queue::connect(&format!("{base}/125")).expect("a Redis URL");
    let mut redis = connection.clone();
    redis::cmd("FLUSHDB").exec_async(&mut redis).await.unwrap();
    let config = apalis_redis::Config::default().queue(LaunchJob::QUEUE);
    redis::pipe()
        .rpush(config.active_jobs_list(), "due-1")
        .zadd(config.scheduled_jobs_set(), "retry-1", 1)
        .sadd(config.dead_jobs_set(), "dead-1")
        .sadd(config.dead_jobs_set(), "dead-2")
        .exec_async(&mut redis)
        .await
        .unwrap();

    let depths = depths(&connection).await.expect("the queues are read");
    let launch = depths
        .iter()
        .find(|depth| depth.queue == LaunchJob::NAME)
        .expect("the launch queue is listed");
    assert_eq!((launch.waiting, launch.dead), (2, 2));
    assert!(
        depths
            .iter()
            .filter(|depth| depth.queue != LaunchJob::NAME)
            .all(|depth| depth.waiting == 0 && depth.dead == 0)
    );
}
