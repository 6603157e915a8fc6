//! Workspace lifecycle from chat: list, status, stop, start, hibernate, terminate with its
//! confirming click, each changing the instance in moto, posting one message and writing the
//! ledger.

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;

use crate::harness::{JOHNSON, LEE, Posted, SMITH, Slash, TestEnv, button_value, eventually};

/// The channel message a lifecycle command posts.
async fn announced(env: &TestEnv, wanted: &str) -> Posted {
    env.slack
        .expect(wanted, Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains(wanted)
        })
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_lifecycle_command_changes_the_instance_and_posts_once() {
    let mut env = TestEnv::start("lifecycle", 33).await;
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    env.launched(
        JOHNSON,
        r#"launch "Python Machine Learning" mit-dev --size M"#,
        "mit-dev",
    )
    .await;

    env.slash(&Slash::new("list").by(JOHNSON)).await;
    let listed = env.reply_containing("Workspaces of project").await;
    assert!(
        listed.text().contains("mit-dev (running"),
        "{}",
        listed.text()
    );

    env.slash(&Slash::new("stop mit-dev").by(JOHNSON)).await;
    announced(&env, "stopped *mit-dev*").await;
    env.settles("mit-dev", InstanceStateName::Stopped).await;
    env.slash(&Slash::new("stop mit-dev").by(JOHNSON)).await;
    env.reply_containing("already stopped").await;

    env.slash(&Slash::new("start mit-dev").by(JOHNSON)).await;
    announced(&env, "started *mit-dev*").await;
    env.settles("mit-dev", InstanceStateName::Running).await;

    env.slash(&Slash::new("hibernate mit-dev").by(JOHNSON))
        .await;
    announced(&env, "hibernated *mit-dev*").await;
    env.settles("mit-dev", InstanceStateName::Stopped).await;
    env.slash(&Slash::new("resume mit-dev").by(JOHNSON)).await;
    announced(&env, "started *mit-dev*").await;

    env.slash(&Slash::new("status mit-dev").by(JOHNSON)).await;
    let status = env.reply_containing("mit-dev: running").await;
    assert!(
        status.body["blocks"]
            .to_string()
            .contains("ssh -i ~/.ssh/cws-nih-neuro-consortium -o ProxyCommand="),
        "{}",
        status.body
    );

    env.slash(&Slash::new("terminate mit-dev").by(JOHNSON))
        .await;
    let confirm = env.reply_containing("Terminate *mit-dev* (").await;
    assert_eq!(
        env.instance_state("mit-dev").await,
        InstanceStateName::Running,
        "nothing happens without the click"
    );
    let value = button_value(&confirm, "cws_confirm_terminate");
    env.click(JOHNSON, "cws_confirm_terminate", &value, None)
        .await;
    announced(&env, "terminated *mit-dev*").await;
    env.settles("mit-dev", InstanceStateName::Terminated).await;

    assert_eq!(
        env.ledger_kinds("nih-neuro-consortium").await,
        [
            "launched",
            "stopped",
            "resumed",
            "hibernated",
            "resumed",
            "terminated"
        ]
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_cannot_stop_someone_elses_workspace() {
    let mut env = TestEnv::start("lifecycle-rights", 34).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = env
        .invite(SMITH, "berkeley --type read_write --valid-days 30")
        .await;
    env.accept(LEE, &token, "stanford-collab").await;
    env.slack
        .expect_dm(LEE.user_id, "the SSH key", Duration::from_secs(30))
        .await;
    env.launched(
        SMITH,
        r#"launch "R Research Environment" smith-box"#,
        "smith-box",
    )
    .await;

    env.slash(&Slash::new("stop smith-box").by(LEE)).await;
    env.reply_containing("may not manage other members' workspaces")
        .await;
    env.slash(&Slash::new("terminate smith-box").by(LEE)).await;
    env.reply_containing("may not manage other members' workspaces")
        .await;
    env.slash(&Slash::new("stop nowhere-box").by(LEE)).await;
    env.reply_containing("no workspace called *nowhere-box*")
        .await;
    assert_eq!(
        env.instance_state("smith-box").await,
        InstanceStateName::Running
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_stopped_outside_chat_is_noticed_and_stops_accruing() {
    let mut env = TestEnv::start("lifecycle-reconcile", 37).await;
    env.start_worker_with_env(&[("CWS_RECONCILE_SECS", "1")]);
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    env.launched(
        JOHNSON,
        r#"launch "Python Machine Learning" console-box --size M"#,
        "console-box",
    )
    .await;

    // Someone stops it in the AWS console.
    let id = env.instances_named("console-box").await[0]
        .instance_id()
        .unwrap()
        .to_owned();
    env.moto
        .ec2()
        .await
        .stop_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();

    let kinds = eventually("the reconcile job", Duration::from_secs(15), || async {
        let kinds = env.ledger_kinds("nih-neuro-consortium").await;
        (kinds.len() >= 2).then_some(kinds)
    })
    .await;
    assert_eq!(kinds, ["launched", "stopped"]);
    // The reconcile round writes the ledger, then the audit chain.
    eventually(
        "the reconcile's audit event",
        Duration::from_secs(15),
        || async {
            let audit = env.stream("cws:audit:nih-neuro-consortium").await;
            audit
                .iter()
                .any(|entry| entry.contains("system:reconcile"))
                .then_some(())
        },
    )
    .await;

    env.slash(&Slash::new("list").by(JOHNSON)).await;
    let listed = env.reply_containing("Workspaces of project").await;
    assert!(
        listed.text().contains("console-box (stopped"),
        "{}",
        listed.text()
    );
    env.finish();
}
