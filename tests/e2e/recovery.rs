use std::time::Duration;

use apalis_core::backend::TaskSink;
use apalis_redis::RedisStorage;
use domain::job::LaunchJob;
use domain::launch::client_token;
use redis::AsyncCommands;

use crate::harness::{Fault, JOHNSON, Slash, TestEnv, eventually};

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_launch_is_replaced_and_the_launch_happens_once() {
    let mut env = TestEnv::start("recovery-kill", 12).await;
    env.aws_front.set_fault(Fault::HoldAfterRunInstances);
    let doomed = env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" survivor --size M",
    ))
    .await;
    env.aws_front
        .wait_for_run_instances(1, Duration::from_secs(30))
        .await;
    // EC2 has started the instance, but the worker never hears back: it dies now.
    assert_eq!(env.instances_named("survivor").await.len(), 1);
    env.worker(doomed).kill();

    let moto = env.moto.url();
    env.start_worker_with_endpoint(&moto, &[]);
    let posted = env
        .slack
        .expect(
            "the relaunched job's announcement",
            Duration::from_secs(60),
            |p| p.method == "chat.postMessage",
        )
        .await;

    let instances = env.instances_named("survivor").await;
    assert_eq!(
        instances.len(),
        1,
        "ClientToken must make the re-run return the same instance"
    );
    assert!(posted.text().contains(instances[0].instance_id().unwrap()));
    assert_eq!(env.queued_launch_jobs().await, 1);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_request_delivered_twice_becomes_one_job() {
    let mut env = TestEnv::start("recovery-duplicate-request", 13).await;
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    let request = Slash::new("launch \"R Research Environment\" twice-sent");

    env.slash(&request).await;
    env.slash(&request).await;
    env.slack
        .expect("one announcement", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;

    assert_eq!(env.queued_launch_jobs().await, 1);
    assert_eq!(env.all_instances().await.len(), 1);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_job_run_twice_still_makes_one_instance() {
    let mut env = TestEnv::start("recovery-run-twice", 14).await;
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    env.slash(&Slash::new("launch \"Python Machine Learning\" run-twice"))
        .await;
    env.slack
        .expect("the first run", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;

    let mut redis = env.redis.clone();
    eventually("the first run to finish", Duration::from_secs(10), || {
        let mut redis = redis.clone();
        async move {
            let done: usize = redis
                .scard(crate::harness::LAUNCH_QUEUE_DONE)
                .await
                .unwrap();
            (done == 1).then_some(())
        }
    })
    .await;

    // Run the very same job again with every trace of the first run erased from our state:
    // only the client token stands between this and a second instance.
    let data: std::collections::HashMap<String, Vec<u8>> = redis
        .hgetall(crate::harness::LAUNCH_QUEUE_DATA)
        .await
        .unwrap();
    let job: LaunchJob = serde_json::from_slice(data.values().next().unwrap()).unwrap();
    let keys: Vec<String> = redis.keys("cws:job:*").await.unwrap();
    let _: () = redis.del(keys).await.unwrap();
    let connection = apalis_redis::connect(env.redis_url.as_str()).await.unwrap();
    let mut storage =
        RedisStorage::<LaunchJob>::new(connection).with_config(queue::redis_config::<LaunchJob>());
    storage.push(job.clone()).await.unwrap();

    env.slack
        .expect("the second run", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;
    let instances = env.instances_named("run-twice").await;
    assert_eq!(instances.len(), 1);
    assert_eq!(
        instances[0].client_token(),
        Some(client_token(&job.key).as_str())
    );
    assert_eq!(
        env.aws_front.run_instances_calls(),
        1,
        "the re-run found the instance it had started"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_aws_errors_are_retried_until_the_launch_succeeds() {
    let mut env = TestEnv::start("recovery-transient", 15).await;
    env.aws_front.set_fault(Fault::FailRunInstances {
        times: 2,
        status: 503,
        code: "RequestLimitExceeded",
    });
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" retried-box",
    ))
    .await;
    env.slack
        .expect("the launch", Duration::from_secs(60), |p| {
            p.method == "chat.postMessage"
        })
        .await;

    assert_eq!(env.instances_named("retried-box").await.len(), 1);
    assert!(env.aws_front.run_instances_calls() >= 3);
    assert_eq!(env.dead_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_aws_refuses_is_explained_and_dead_lettered_not_retried() {
    let mut env = TestEnv::start("recovery-permanent", 0).await;
    env.aws_front.set_fault(Fault::FailRunInstances {
        times: 100,
        status: 400,
        code: "InvalidParameterValue",
    });
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" refused-box",
    ))
    .await;
    let reply = env
        .slack
        .expect("the failure", Duration::from_secs(30), |p| {
            p.method == "response_url"
        })
        .await;

    assert!(
        reply
            .text()
            .contains("AWS refused the launch: InvalidParameterValue"),
        "{}",
        reply.text()
    );
    assert!(reply.text().contains("Nothing was started"));
    assert_eq!(env.wait_for_dead_launch_jobs().await, 1);
    assert_eq!(
        env.aws_front.run_instances_calls(),
        1,
        "a permanent error is not retried"
    );
    assert!(env.all_instances().await.is_empty());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_unavailable_through_every_retry_is_explained_and_dead_lettered() {
    let mut env = TestEnv::start("recovery-exhausted", 16).await;
    env.aws_front.set_fault(Fault::FailRunInstances {
        times: 1_000,
        status: 503,
        code: "Unavailable",
    });
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" unlucky-box",
    ))
    .await;
    let reply = env
        .slack
        .expect("the failure", Duration::from_secs(60), |p| {
            p.method == "response_url"
        })
        .await;

    assert!(
        reply
            .text()
            .contains("stayed unavailable through 6 attempts"),
        "{}",
        reply.text()
    );
    assert_eq!(env.wait_for_dead_launch_jobs().await, 1);
    assert!(env.all_instances().await.is_empty());
    env.finish();
}

/// A new AWS account may run no GPU at all: EC2 refuses the launch for the account's vCPU
/// quota, and the person is told which quota, its value, and how an administrator raises it.
#[tokio::test(flavor = "multi_thread")]
async fn a_gpu_launch_past_the_accounts_vcpu_quota_names_the_quota_and_how_to_raise_it() {
    let mut env = TestEnv::start("recovery-vcpu-quota", 60).await;
    env.aws_front.set_fault(Fault::FailRunInstances {
        times: 1,
        status: 400,
        code: "VcpuLimitExceeded",
    });
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new(
        r#"launch "GPU ML Workstation" first-gpu --size M"#,
    ))
    .await;
    let reply = env
        .slack
        .expect("the refusal", Duration::from_secs(30), |p| {
            p.method == "response_url" && p.text().contains("could not launch *first-gpu*")
        })
        .await;
    let text = reply.text();
    for wanted in [
        "Nothing was started",
        "\"Running On-Demand G and VT instances\" (L-DB2E81BA) in us-east-1 is 0 vCPUs",
        "--quota-code L-DB2E81BA",
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    assert_eq!(env.aws_front.run_instances_calls(), 1, "not retried");
    assert!(env.all_instances().await.is_empty());
    env.finish();
}
