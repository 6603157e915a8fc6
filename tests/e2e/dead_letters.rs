//! An operator recovers a dead-lettered launch: AWS refused it once, the person was told with
//! a reference and the operations channel with the replay command; `cws jobs dead list` shows
//! it under that reference, `show` gives its payload, and `replay` puts it back, where the
//! running worker launches it.

use std::time::Duration;

use crate::harness::{Fault, JOHNSON, Slash, TestEnv};

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_lettered_launch_is_listed_and_replayed_and_a_worker_launches_it() {
    let mut env = TestEnv::start("dead-letters", 127).await;
    env.aws_front.set_fault(Fault::FailRunInstances {
        times: 1,
        status: 400,
        code: "InvalidParameterValue",
    });
    env.start_worker_with_env(&[("CWS_OPS_CHANNEL", "C0OPS")]);
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" second-chance",
    ))
    .await;
    let refused = env
        .slack
        .expect("the refusal", Duration::from_secs(30), |p| {
            p.method == "response_url"
        })
        .await;
    assert_eq!(env.wait_for_dead_launch_jobs().await, 1);
    // The refusal ends "… Reference KEY." (a key may hold dots itself).
    let reference = refused
        .text()
        .rsplit_once("Reference ")
        .and_then(|(_, rest)| rest.strip_suffix('.'))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("a reference in {}", refused.text()));

    let listed = env.run_cws(&["jobs", "dead", "list"]).await;
    assert!(listed.contains("launch: 1 dead-lettered"), "{listed}");
    assert!(
        listed.contains("command: no dead-lettered jobs"),
        "{listed}"
    );
    let line = listed
        .lines()
        .find(|line| line.contains(&format!("reference {reference} ")))
        .unwrap_or_else(|| panic!("the reference {reference} is listed: {listed}"));
    let id = line.split_whitespace().next().unwrap().to_owned();
    let announced = env
        .slack
        .expect(
            "the operations channel told",
            Duration::from_secs(30),
            |p| p.method == "chat.postMessage" && p.body["channel"] == "C0OPS",
        )
        .await;
    let text = announced.text();
    assert!(text.contains("A launch job failed for good"), "{text}");
    assert!(text.contains(&format!("Reference {reference}")), "{text}");
    assert!(text.contains("InvalidParameterValue"), "{text}");
    assert!(
        text.contains(&format!("cws jobs dead replay {id}")),
        "{text}"
    );
    assert!(
        listed.contains("error: AWS refused the launch")
            || listed.contains("InvalidParameterValue"),
        "{listed}"
    );

    let shown = env.run_cws(&["jobs", "dead", "show", &id]).await;
    let payload: serde_json::Value = serde_json::from_str(&shown).expect("the payload is JSON");
    assert_eq!(payload["key"], reference.as_str(), "{payload:#}");
    assert!(shown.contains("second-chance"), "{shown}");

    let replayed = env.run_cws(&["jobs", "dead", "replay", &id]).await;
    assert!(
        replayed.contains(&format!("replayed launch job {id}")),
        "{replayed}"
    );

    env.slack
        .expect("the instance announced", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("second-chance")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;
    assert_eq!(env.instances_named("second-chance").await.len(), 1);
    assert_eq!(env.dead_launch_jobs().await, 0);
    assert_eq!(env.aws_front.run_instances_calls(), 2);
    let listed = env.run_cws(&["jobs", "dead", "list"]).await;
    assert!(listed.contains("launch: no dead-lettered jobs"), "{listed}");
    env.finish();
}
