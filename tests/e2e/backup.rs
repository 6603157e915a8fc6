//! The runbook's backup and restore (docs/operations.md), done as an operator would: a backup
//! taken while the deployment runs, Redis lost, the backup restored into a fresh Redis, and
//! the deployment started on it. The audit chain still verifies, the ledger every cost figure
//! comes from is the same entry for entry, and people carry on.

use std::time::Duration;

use crate::harness::{OwnRedis, SMITH, Slash, TestEnv, eventually};

const PROJECT: &str = "nih-neuro-consortium";

async fn launched(env: &TestEnv, name: &str) {
    let text = format!(r#"launch "Python Machine Learning" {name}"#);
    env.launched(SMITH, &text, name).await;
}

/// Every entry of the project's ledger stream, ids included.
async fn ledger(env: &TestEnv) -> Vec<(String, Vec<(String, String)>)> {
    let mut redis = env.redis.clone();
    redis::cmd("XRANGE")
        .arg(format!("cws:ledger:{PROJECT}"))
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap()
}

/// `audit verify`'s answer: how many events, and whether the chain holds. The bot lost its
/// Redis with the old one, and answers "busy" until it has reconnected: asked again then.
async fn verified(env: &TestEnv) -> String {
    let text = format!("audit verify {PROJECT}");
    let command = Slash::new(&text).by(SMITH);
    eventually(
        "the bot to queue again",
        Duration::from_secs(15),
        || async {
            let answer = env.slash(&command).await;
            (!answer.text().contains("try again in a minute")).then_some(())
        },
    )
    .await;
    env.reply_containing("events, chain")
        .await
        .text()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restored_into_a_fresh_redis_keeps_the_audit_chain_and_the_ledger() {
    let mut redis = OwnRedis::start().await;
    let mut env = TestEnv::start_on("backup-restore", redis.url()).await;
    let worker = env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    launched(&env, "kept-box").await;
    launched(&env, "other-box").await;
    env.slash(&Slash::new("stop other-box").by(SMITH)).await;
    env.slack
        .expect("the stop", Duration::from_secs(30), |p| {
            p.text().contains("stopped *other-box*")
        })
        .await;
    let before = verified(&env).await;
    assert!(before.contains("chain intact"), "{before}");
    let ledger_before = ledger(&env).await;
    assert!(ledger_before.len() >= 3, "{ledger_before:?}");

    let backup = redis.backup().await;
    env.worker(worker).kill();
    redis.restore(&backup).await;
    env.redis = redis::Client::open(redis.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    env.start_worker();

    assert_eq!(
        ledger(&env).await,
        ledger_before,
        "the ledger, entry for entry"
    );
    let events = |text: &str| -> u64 {
        text.split_whitespace()
            .find_map(|word| word.trim_start_matches('*').parse().ok())
            .unwrap_or_else(|| panic!("no count in {text}"))
    };
    let after = verified(&env).await;
    assert!(after.contains("chain intact"), "{after}");
    assert_eq!(
        events(&after),
        events(&before) + 1,
        "every event kept, and this verify added: {before} / {after}"
    );
    // People carry on: the restored records serve the next launch.
    launched(&env, "after-restore").await;
    env.finish();
}
