//! The embedded mode's queue: concurrent pushes while the worker consumes must neither panic
//! nor leave a job unrun.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis_core::task::data::Data;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_core::worker::context::WorkerContext;
use domain::command::{Command, parse};
use domain::job::{Job, JobKey, LaunchJob, Platform, ReplyTo, Requester};
use domain::ports::JobQueue;

const JOBS: usize = 2_000;

fn job(n: usize) -> Job {
    let Ok(Command::Launch(launch)) = parse(&format!("launch Bioinformatics box-{n}")) else {
        panic!("the launch parses")
    };
    Job::Launch(LaunchJob {
        key: JobKey::try_from(format!("memory-test:{n}")).unwrap(),
        requester: Requester {
            platform: Platform::Slack,
            team_id: "T".into(),
            team_domain: "t".into(),
            user_id: "U".into(),
            user_name: "u".into(),
        },
        reply: ReplyTo::slack("C", None),
        launch,
    })
}

async fn count(_job: LaunchJob, done: Data<Arc<AtomicUsize>>, worker: WorkerContext) {
    if done.fetch_add(1, Ordering::SeqCst) + 1 == JOBS {
        worker.stop().expect("stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_all_reach_a_running_worker() {
    let (producer, storages) = queue::memory_queues();
    let done = Arc::new(AtomicUsize::new(0));
    let worker = tokio::spawn(
        WorkerBuilder::new("memory-test")
            .backend(storages.launch)
            .concurrency(8)
            .data(done.clone())
            .build(count)
            .run(),
    );
    let pushes: Vec<_> = (0..JOBS)
        .map(|n| {
            let producer = producer.clone();
            tokio::spawn(async move { producer.enqueue(job(n)).await })
        })
        .collect();
    for push in pushes {
        push.await.expect("no push panicked").expect("pushed");
    }

    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("every job ran")
        .unwrap()
        .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), JOBS);
}
