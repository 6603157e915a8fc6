//! Redis goes away and comes back (issue 19): the bot and the workers ride through it in the
//! same processes, the bot asks people to try again meanwhile, and every launch acknowledged
//! before the outage runs exactly once after it.

use std::time::Duration;

use crate::harness::{JOHNSON, OwnRedis, Slash, TestEnv, eventually};

const LAUNCHES: [&str; 5] = [
    "outage-one",
    "outage-two",
    "outage-three",
    "outage-four",
    "outage-five",
];

/// `/cws launch` of a workspace called `name`.
fn launch(name: &str) -> String {
    format!("launch \"R Research Environment\" {name}")
}

/// Waits until the bot's `/readyz` answers `status`.
async fn ready_becomes(env: &TestEnv, status: u16) {
    eventually(
        &format!("/readyz to answer {status}"),
        Duration::from_secs(15),
        || async { (env.readyz().await == status).then_some(()) },
    )
    .await
}

/// The bot's answer to a command while Redis is away: a chat reply, not an error page, and
/// nothing queued.
async fn busy_answer(env: &TestEnv, text: &str) {
    let answer = env.slash(&Slash::new(text)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let reply = answer.text();
    assert!(reply.contains("try again in a minute"), "{reply}");
    assert!(!reply.contains("Launching"), "{reply}");
}

/// Waits until the instance named `name` exists and the channel heard of it.
async fn launched(env: &TestEnv, name: &str) {
    env.slack
        .expect(
            &format!("the announcement of {name}"),
            Duration::from_secs(90),
            |p| p.method == "chat.postMessage" && p.text().contains(name),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn launches_queued_before_redis_dies_run_once_after_it_comes_back() {
    let mut redis = OwnRedis::start().await;
    let mut env = TestEnv::start_on("redis-outage", redis.url()).await;
    let worker = env.start_worker();
    let bot = env.start_bot_process().await;
    let pids = (env.worker(worker).id(), env.worker(bot).id());
    ready_becomes(&env, 200).await;
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    for name in LAUNCHES {
        let answer = env.slash(&Slash::new(&launch(name))).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(
            answer.text().contains(&format!("Launching *{name}*")),
            "{}",
            answer.body
        );
    }
    redis.kill();

    ready_becomes(&env, 503).await;
    busy_answer(&env, &launch("outage-refused")).await;
    // Keep Redis away until the worker has met the outage: it must pause, not stop.
    eventually(
        "the worker to wait out the outage",
        Duration::from_secs(15),
        || async {
            let log = env.worker_log(worker);
            log.contains("Redis is unavailable, waiting for it")
                .then_some(())
        },
    )
    .await;
    assert!(
        env.worker(worker).is_running(),
        "{}",
        env.worker_log(worker)
    );

    redis.restart().await;
    // The test's own connection broke with the server; the processes under test get none.
    env.redis = redis::Client::open(redis.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    ready_becomes(&env, 200).await;
    for name in LAUNCHES {
        launched(&env, name).await;
    }
    env.wait_for_done_launch_jobs(LAUNCHES.len()).await;

    let answer = env.slash(&Slash::new(&launch("after-outage"))).await;
    assert!(
        answer.text().contains("Launching *after-outage*"),
        "{}",
        answer.body
    );
    launched(&env, "after-outage").await;
    env.wait_for_done_launch_jobs(LAUNCHES.len() + 1).await;

    for name in LAUNCHES.iter().chain(&["after-outage"]) {
        let instances = env.instances_named(name).await;
        assert_eq!(instances.len(), 1, "{name}: {instances:#?}");
    }
    assert!(env.instances_named("outage-refused").await.is_empty());
    assert_eq!(env.queued_launch_jobs().await, LAUNCHES.len() + 1);
    assert_eq!(env.dead_launch_jobs().await, 0);
    for index in [worker, bot] {
        assert!(env.worker(index).is_running(), "{}", env.worker_log(index));
    }
    assert_eq!(
        (env.worker(worker).id(), env.worker(bot).id()),
        pids,
        "the same processes throughout"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_started_while_redis_is_down_answers_busy_until_redis_is_up() {
    let mut redis = OwnRedis::start().await;
    let mut env = TestEnv::start_on("redis-down-at-start", redis.url()).await;
    redis.kill();
    let bot = env.start_bot_process().await;

    assert_eq!(env.readyz().await, 503);
    busy_answer(&env, "profiles list").await;

    redis.restart().await;
    env.redis = redis::Client::open(redis.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    ready_becomes(&env, 200).await;
    let answer = env.slash(&Slash::new("profiles list")).await;
    assert!(answer.text().contains("Working on"), "{}", answer.body);
    assert_eq!(env.queued_command_jobs().await, 1);
    assert!(env.worker(bot).is_running(), "{}", env.worker_log(bot));
    env.finish();
}
