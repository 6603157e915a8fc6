//! Redis memory per retained job and per idempotency key, and after retention: 100,000 signed
//! `/cws profiles list` commands as the bot queues them (`queue::RedisJobQueue`), drained by an
//! apalis worker with production's queue configuration that records each as finished the way
//! `cws-worker` does (`cws:job-finished:{key}`, expiring with the retention period), then the
//! retention sweep with the clock moved past the period.
//!
//!     cargo bench -p cws-queue --bench retention   (Redis at CWS_BENCH_REDIS,
//!                                                   default redis://127.0.0.1:6390/81)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apalis::layers::WorkerBuilderExt;
use apalis_core::task::data::Data;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_core::worker::context::WorkerContext;
use apalis_redis::{ConnectionManager, RedisStorage};
use domain::job::{CommandJob, Job, JobKey, Platform, ReplyTo, Requester};
use domain::ports::{FinishedJobs, JobQueue};
use tokio::task::JoinSet;

const JOBS: usize = 100_000;
const RETENTION: Duration = Duration::from_secs(7 * 86_400);

fn command(n: usize) -> CommandJob {
    let trigger = format!("1767225600.{n:08}.b7c3f1e2d4a5968778695a4b3c2d1e0f");
    CommandJob {
        key: JobKey::for_slack("T0CONSORTIUM", &trigger).unwrap(),
        requester: Requester {
            platform: Platform::Slack,
            team_id: "T0CONSORTIUM".to_owned(),
            team_domain: "berkeley-neuroscience".to_owned(),
            user_id: "U0BERKLEE".to_owned(),
            user_name: "sarah.lee".to_owned(),
        },
        reply: ReplyTo::slack(
            "C0NEURO",
            Some(format!(
                "https://hooks.slack.com/commands/T0CONSORTIUM/{n}/Xy7pQ2bZr9LmN4kT8vWcJ3sD"
            )),
        ),
        command: domain::command::parse("profiles list").unwrap(),
    }
}

/// Redis's `used_memory` without the buffers of connected clients (the benchmark's own
/// pipelines grow those for a while): what the data takes.
async fn used_memory(redis: &mut ConnectionManager) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(redis)
        .await
        .unwrap();
    let field = |name: &str| -> i64 {
        info.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|bytes| bytes.trim().parse().ok())
            .unwrap_or_else(|| panic!("INFO memory reports {name}"))
    };
    field("used_memory:") - field("mem_clients_normal:")
}

async fn key_count(redis: &mut ConnectionManager) -> i64 {
    redis::cmd("DBSIZE").query_async(redis).await.unwrap()
}

/// The mean `MEMORY USAGE` of `keys`, in bytes.
async fn memory_usage(redis: &mut ConnectionManager, keys: &[String]) -> f64 {
    let mut total = 0i64;
    for key in keys {
        let bytes: Option<i64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(redis)
            .await
            .unwrap();
        total += bytes.expect("the key exists");
    }
    total as f64 / keys.len() as f64
}

/// What `cws-worker` does when a command ran to its end, then nothing else: the queue's own
/// bookkeeping is what is measured.
async fn finish(
    job: CommandJob,
    redis: Data<ConnectionManager>,
    done: Data<Arc<AtomicUsize>>,
    worker: WorkerContext,
) {
    let mut redis = (*redis).clone();
    redis::cmd("SET")
        .arg(format!("cws:job-finished:{}", job.key))
        .arg("1")
        .arg("EX")
        .arg(RETENTION.as_secs())
        .exec_async(&mut redis)
        .await
        .unwrap();
    if done.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
        worker.stop().expect("stop the worker");
    }
}

#[tokio::main]
async fn main() {
    let redis_url =
        std::env::var("CWS_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6390/81".to_owned());
    let connection = apalis_redis::connect(redis_url.as_str())
        .await
        .expect("Redis for the benchmark");
    let mut redis = connection.clone();
    redis::cmd("FLUSHDB").exec_async(&mut redis).await.unwrap();
    let start_memory = used_memory(&mut redis).await;

    let queue = Arc::new(queue::RedisJobQueue::new(connection.clone()));
    let started = Instant::now();
    let mut pushes = JoinSet::new();
    for first in (0..JOBS).step_by(JOBS / 64) {
        let queue = queue.clone();
        pushes.spawn(async move {
            for n in first..(first + JOBS / 64).min(JOBS) {
                queue.enqueue(Job::Command(command(n))).await.unwrap();
            }
        });
    }
    pushes.join_all().await;
    let pushed = started.elapsed();

    let done = Arc::new(AtomicUsize::new(0));
    let storage = RedisStorage::<CommandJob>::new(connection.clone())
        .with_config(queue::redis_config::<CommandJob>().batch_size(200));
    let started = Instant::now();
    WorkerBuilder::new("bench-retention")
        .backend(storage)
        .concurrency(64)
        .data(connection.clone())
        .data(done.clone())
        .build(finish)
        .run()
        .await
        .expect("worker ran");
    let drained = started.elapsed();
    let retained_memory = used_memory(&mut redis).await;
    let retained_keys = key_count(&mut redis).await;

    let sample: Vec<JobKey> = (0..JOBS)
        .step_by(JOBS / 100)
        .map(|n| command(n).key)
        .collect();
    let idempotency: Vec<String> = sample
        .iter()
        .map(|key| format!("cws:queue:command:idempotency:{key}"))
        .collect();
    let finished: Vec<String> = sample
        .iter()
        .map(|key| format!("cws:job-finished:{key}"))
        .collect();
    let per_idempotency_key = memory_usage(&mut redis, &idempotency).await;
    let per_finished_marker = memory_usage(&mut redis, &finished).await;

    // The sweep as the scheduled round runs it, its clock past the retention period.
    let after_retention = time::OffsetDateTime::now_utc() + RETENTION + time::Duration::DAY;
    let finished_jobs = queue::RedisFinishedJobs::new(connection.clone());
    let started = Instant::now();
    let forgotten = finished_jobs
        .forget_finished(after_retention - RETENTION)
        .await
        .unwrap();
    for chunk in forgotten.chunks(1_000) {
        let mut markers = redis::pipe();
        for key in chunk {
            markers.del(format!("cws:job-finished:{key}")).ignore();
        }
        markers.exec_async(&mut redis).await.unwrap();
    }
    let swept = started.elapsed();
    let emptied_memory = used_memory(&mut redis).await;
    // The keyspace's own tables, sized for 300,000 keys, shrink in Redis's background cron, a
    // few databases and a millisecond of rehashing per tick: wait for it, up to 30 s.
    let shrinking = Instant::now();
    let mut end_memory = emptied_memory;
    while end_memory - start_memory > 1_000_000 && shrinking.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        end_memory = used_memory(&mut redis).await;
    }
    let shrunk = shrinking.elapsed();
    let end_keys = key_count(&mut redis).await;

    println!(
        "{JOBS} /cws profiles list commands, queued at {:.0}/s and drained at {:.0}/s",
        JOBS as f64 / pushed.as_secs_f64(),
        JOBS as f64 / drained.as_secs_f64()
    );
    println!(
        "Redis used_memory (without client buffers): {start_memory} B at the start, {retained_memory} B with every job retained ({retained_keys} keys)"
    );
    println!(
        "per retained job (payload, metadata, done and finished entries, idempotency key, finished marker): {:.0} B",
        (retained_memory - start_memory) as f64 / JOBS as f64
    );
    println!(
        "MEMORY USAGE of one idempotency key: {per_idempotency_key:.0} B; of one finished marker: {per_finished_marker:.0} B"
    );
    println!(
        "retention sweep: {} jobs forgotten in {swept:.2?}; used_memory right after: {emptied_memory} B, {shrunk:.1?} later: {end_memory} B ({end_keys} keys), {:+} B from the start",
        forgotten.len(),
        end_memory - start_memory
    );
}
