//! A backlog bigger than Lua's unpack limit (~8000) must still drain: apalis-redis 1.0.0 wedged
//! every worker in that case (vendor/apalis-redis/PATCHES.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis_core::backend::TaskSink;
use apalis_core::task::data::Data;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_core::worker::context::WorkerContext;
use apalis_redis::RedisStorage;
use domain::job::{JobKey, JobKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tick {
    key: JobKey,
}

impl JobKind for Tick {
    const NAME: &'static str = "test-tick";
    const QUEUE: &'static str = "cws:queue:test-tick";
    fn key(&self) -> &JobKey {
        &self.key
    }
}

const BACKLOG: usize = 12_000;

async fn tick(_job: Tick, done: Data<Arc<AtomicUsize>>, worker: WorkerContext) {
    if done.fetch_add(1, Ordering::SeqCst) + 1 == BACKLOG {
        worker.stop().expect("stop");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_larger_than_the_lua_unpack_limit_drains() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = apalis_redis::connect(format!("{base}/15"))
        .await
        .expect("Redis is running (see scripts/test)");
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection.clone())
        .await
        .unwrap();
    let mut storage = RedisStorage::<Tick>::new(connection)
        .with_config(queue::redis_config::<Tick>().batch_size(100));
    let jobs: Vec<Tick> = (0..BACKLOG)
        .map(|n| Tick {
            key: JobKey::try_from(format!("tick:{n}")).unwrap(),
        })
        .collect();
    for chunk in jobs.chunks(1_000) {
        storage.push_bulk(chunk.to_vec()).await.unwrap();
    }

    let done = Arc::new(AtomicUsize::new(0));
    let worker = WorkerBuilder::new("backlog-test")
        .backend(storage)
        .concurrency(32)
        .data(done.clone())
        .build(tick)
        .run();
    tokio::time::timeout(Duration::from_secs(120), worker)
        .await
        .expect("the backlog drained in time")
        .expect("the worker never failed to fetch");
    assert_eq!(done.load(Ordering::SeqCst), BACKLOG);
}
