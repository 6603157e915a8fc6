//! Preserving work on demand (seed 000, month 17): Johnson snapshots his workspace, transfers
//! it to MIT's account and downloads his results, each checked in moto; a collaborator cannot
//! do any of it to someone else's workspace; and the cost report charges the snapshot's storage.

use std::time::Duration;

use crate::harness::{JOHNSON, LEE, SMITH, Slash, TestEnv, to_mid_next_month};

const PROJECT: &str = "nih-neuro-consortium";
const WORKSPACE: &str = "mit-algorithm-dev";
const WAIT: Duration = Duration::from_secs(30);
/// MIT has two accounts: the lab's (`mit-csail`) and Johnson's own (`my-account`).
const ACCOUNTS: (&str, &str) = (
    "CWS_ACCOUNTS",
    "mit-csail=111111111111,my-account=333333333333@mit-csail,\
     berkeley-neuroscience=222222222222",
);

/// Smith's project, Johnson (MIT) invited and his workspace launched.
async fn johnsons_workspace(env: &mut TestEnv, extra: &[(&str, &str)]) -> usize {
    let worker = env.start_worker_with_env(extra);
    env.project_with_mit(PROJECT).await;
    let text = format!(r#"launch "R Research Environment" {WORKSPACE} --size M"#);
    env.launched(JOHNSON, &text, WORKSPACE).await;
    env.wait_for_done_launch_jobs(1).await;
    worker
}

fn tag<'a>(snapshot: &'a aws_sdk_ec2::types::Snapshot, key: &str) -> Option<&'a str> {
    snapshot
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test(flavor = "multi_thread")]
async fn johnson_snapshots_transfers_and_downloads_his_workspace() {
    let mut env = TestEnv::start("snapshots-johnson", 69).await;
    johnsons_workspace(&mut env, &[ACCOUNTS]).await;

    env.slash(&Slash::new(&format!("snapshot create {WORKSPACE} before-rerun")).by(JOHNSON))
        .await;
    let created = env.reply_containing("before-rerun").await;
    assert!(
        created.text().contains("/month until deleted"),
        "{}",
        created.text()
    );
    let snapshots = env
        .moto
        .snapshots_tagged("cws:snapshot-name", "before-rerun")
        .await;
    assert_eq!(snapshots.len(), 1, "one per disk: {snapshots:#?}");
    let (snapshot, shared) = &snapshots[0];
    assert!(shared.is_empty());
    for (key, value) in [
        ("cws:project", PROJECT),
        ("cws:institution", "mit-csail"),
        ("cws:invitation", "mit-collaboration"),
        ("cws:user", "michael_johnson"),
        ("cws:workspace", WORKSPACE),
    ] {
        assert_eq!(tag(snapshot, key), Some(value), "{key}: {snapshot:?}");
    }

    // The seed's own line: MIT's account, by institution and name.
    env.slash(&Slash::new(&format!("transfer {WORKSPACE} mit-csail:my-account")).by(JOHNSON))
        .await;
    let transferred = env.reply_containing("shared with my-account").await;
    assert!(
        transferred.text().contains("333333333333"),
        "{}",
        transferred.text()
    );
    let shared = env.moto.snapshots_tagged("cws:purpose", "transfer").await;
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(shared[0].1, ["333333333333"]);
    assert_eq!(tag(&shared[0].0, "cws:institution"), Some("mit-csail"));

    env.slash(&Slash::new("snapshot list").by(JOHNSON)).await;
    let listed = env.reply_containing("2 snapshot(s)").await;
    let blocks = listed.body["blocks"].to_string();
    assert!(blocks.contains("`before-rerun`"), "{blocks}");
    assert!(blocks.contains("shared with `my-account`"), "{blocks}");

    // The link goes by DM; the channel only hears that it did.
    env.slash(&Slash::new(&format!("download {WORKSPACE} ~/results")).by(JOHNSON))
        .await;
    let dm = env
        .slack
        .expect_dm(JOHNSON.user_id, "the download link", WAIT)
        .await;
    let sent = env.reply_containing("sent to you by direct message").await;
    assert!(!sent.body.to_string().contains("X-Amz"), "{}", sent.body);
    let link = dm
        .text()
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("the DM carries the link")
        .replace("&amp;", "&");
    assert!(
        link.contains("X-Amz-Expires=86400"),
        "valid for a day: {link}"
    );
    let key = link
        .split('?')
        .next()
        .and_then(|path| path.split_once("/cws-e2e-archive/"))
        .map(|(_, key)| key.to_owned())
        .expect("the link names an object of the archive bucket");
    assert!(
        key.starts_with(&format!("downloads/{PROJECT}/{WORKSPACE}/")),
        "{key}"
    );
    assert!(env.moto.s3_size("cws-e2e-archive", &key).await.unwrap_or(0) > 0);
    let archive = reqwest::get(&link).await.unwrap();
    assert!(archive.status().is_success(), "{}", archive.status());
    let bytes = archive.bytes().await.unwrap();
    assert_eq!(&bytes[..2], [0x1f, 0x8b], "a gzip'd tar");
    for posted in env.slack.all() {
        let private = posted.body["channel"]
            .as_str()
            .is_some_and(|c| c.starts_with('D'));
        assert!(
            private || !posted.body.to_string().contains("X-Amz-Signature"),
            "a download link outside a DM: {posted:?}"
        );
    }

    env.slash(&Slash::new("snapshot delete before-rerun").by(JOHNSON))
        .await;
    env.reply_containing("Snapshot before-rerun of mit-algorithm-dev deleted")
        .await;
    assert!(
        env.moto
            .snapshots_tagged("cws:snapshot-name", "before-rerun")
            .await
            .is_empty()
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collaborator_cannot_snapshot_transfer_or_download_someone_elses_workspace() {
    let mut env = TestEnv::start("snapshots-refused", 70).await;
    johnsons_workspace(&mut env, &[ACCOUNTS]).await;
    env.join(
        SMITH,
        LEE,
        "berkeley-collaboration --type read_write --valid-days 540 --institution berkeley-neuroscience",
        "stanford-collab",
    )
    .await;

    for command in [
        format!("snapshot create {WORKSPACE} lees-copy"),
        format!("transfer {WORKSPACE} berkeley-neuroscience"),
        format!("download {WORKSPACE}"),
    ] {
        env.slash(&Slash::new(&command).by(LEE)).await;
        let refused = env.reply_containing("you may not").await;
        assert!(
            refused.text().contains("read_write"),
            "{command}: {}",
            refused.text()
        );
    }
    assert!(
        env.moto
            .snapshots_tagged("cws:project", PROJECT)
            .await
            .is_empty()
    );

    // Not even the project's owner may send Johnson's work to another institution.
    env.slash(&Slash::new(&format!("transfer {WORKSPACE} berkeley-neuroscience")).by(SMITH))
        .await;
    let refused = env
        .reply_containing("belongs to berkeley-neuroscience")
        .await;
    assert!(
        refused.text().contains("not to mit-csail"),
        "{}",
        refused.text()
    );
    // Nor name an account nobody configured.
    let answer = env
        .slash(&Slash::new(&format!("transfer {WORKSPACE} 444444444444")).by(SMITH))
        .await;
    assert!(
        answer.body.contains("ACCOUNT expects an account name"),
        "{}",
        answer.body
    );
    assert!(
        env.moto
            .snapshots_tagged("cws:project", PROJECT)
            .await
            .is_empty()
    );

    // The owner may snapshot it, as they may stop it.
    env.slash(&Slash::new(&format!("snapshot create {WORKSPACE} smiths-copy")).by(SMITH))
        .await;
    env.reply_containing("smiths-copy").await;
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cost_report_charges_a_snapshot_at_the_snapshot_storage_rate() {
    let mut env = TestEnv::start("snapshots-cost", 71).await;
    let day_one = to_mid_next_month();
    let offset = format!("+{day_one}s");
    let first = johnsons_workspace(&mut env, &[("CWS_CLOCK_OFFSET", &offset)]).await;
    env.slash(&Slash::new(&format!("snapshot create {WORKSPACE} before-rerun")).by(JOHNSON))
        .await;
    env.reply_containing("before-rerun").await;
    let size_gb = env
        .moto
        .snapshots_tagged("cws:snapshot-name", "before-rerun")
        .await[0]
        .0
        .volume_size()
        .unwrap();

    // Fifteen days later the snapshot has cost half a month of its size at $0.05/GB-month,
    // not at the volume price ($0.08).
    env.worker(first).kill();
    env.start_worker_shifted(&format!("+{}s", day_one + 15 * 86_400));
    env.slash(&Slash::new(&format!("project cost {PROJECT}")).by(SMITH))
        .await;
    let report = env.reply_containing("Cost Attribution").await;
    let text = report.body["blocks"].to_string();
    let snapshots = text
        .split("of which named snapshots: $")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| c != '.' && !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("no snapshot storage in {text}"));
    let charged: f64 = snapshots.parse().unwrap();
    let expected = f64::from(size_gb) * 0.05 / 2.0;
    assert!(
        (charged - expected).abs() <= 0.011,
        "{charged} vs {expected}: {text}"
    );
    env.finish();
}
