//! How fast one worker process drains a queue of 50,000 no-op jobs through apalis-redis, with
//! the queue configuration production uses (`queue::redis_config`; production's worker runs
//! concurrency 8 with batch 8), and how fast jobs are pushed.
//!
//!     cargo bench -p cws-queue --bench queue_drain   (Redis at CWS_BENCH_REDIS,
//!                                                     default redis://127.0.0.1:6390/80)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use apalis::layers::WorkerBuilderExt;
use apalis_core::backend::TaskSink;
use apalis_core::task::data::Data;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_core::worker::context::WorkerContext;
use apalis_redis::RedisStorage;
use domain::job::{JobKey, JobKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Noop {
    key: JobKey,
}

impl JobKind for Noop {
    const NAME: &'static str = "bench-noop";
    const QUEUE: &'static str = "cws:queue:bench-noop";
    fn key(&self) -> &JobKey {
        &self.key
    }
}

const JOBS: usize = 50_000;

async fn noop(_job: Noop, done: Data<Arc<AtomicUsize>>, worker: WorkerContext) {
    if done.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
        worker.stop().expect("stop the worker");
    }
}

#[tokio::main]
async fn main() {
    let redis_url =
        std::env::var("CWS_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6390/80".to_owned());
    for (concurrency, batch) in [(8, 8), (8, 100), (64, 200)] {
        let connection = apalis_redis::connect(redis_url.as_str())
            .await
            .expect("Redis for the benchmark");
        redis::cmd("FLUSHDB")
            .exec_async(&mut connection.clone())
            .await
            .unwrap();
        let config = queue::redis_config::<Noop>().batch_size(batch);
        let mut storage = RedisStorage::<Noop>::new(connection).with_config(config);

        let jobs: Vec<Noop> = (0..JOBS)
            .map(|n| Noop {
                key: JobKey::try_from(format!("bench:{n}")).unwrap(),
            })
            .collect();
        let started = Instant::now();
        for chunk in jobs.chunks(1_000) {
            storage.push_bulk(chunk.to_vec()).await.expect("push");
        }
        let pushed = started.elapsed();

        let done = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        WorkerBuilder::new(format!("bench-drain-{concurrency}-{batch}"))
            .backend(storage)
            .concurrency(concurrency)
            .data(done.clone())
            .build(noop)
            .run()
            .await
            .expect("worker ran");
        let drained = started.elapsed();
        println!(
            "concurrency {concurrency:>2}, batch {batch:>3}: pushed {JOBS} jobs at {:.0}/s, drained at {:.0} jobs/s ({drained:.2?})",
            JOBS as f64 / pushed.as_secs_f64(),
            JOBS as f64 / drained.as_secs_f64(),
        );
    }
}
