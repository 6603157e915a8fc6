//! The end of a collaboration, with time moved by the workers' clock: warnings 30, 7 and 1
//! days before an invitation expires (each once, however often the sweep runs), then the end
//! itself in moto (stopped, never terminated; snapshotted; archived; shared), a collaborator
//! refused afterwards, and an end that survives its worker dying halfway.

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;
use time::OffsetDateTime;

use crate::harness::aws_front::Fault;
use crate::harness::slack::email_of;
use crate::harness::{JOHNSON, SMITH, Slash, TestEnv, eventually};

pub(crate) const PROJECT: &str = "nih-neuro-consortium";
pub(crate) const WAIT: Duration = Duration::from_secs(30);
const ACCOUNTS: (&str, &str) = (
    "CWS_ACCOUNTS",
    "mit-csail=111111111111,berkeley-neuroscience=222222222222",
);

/// A project with Johnson (MIT) invited for 540 days and two running workspaces of his.
pub(crate) async fn johnson_at_work(env: &mut TestEnv, extra: &[(&str, &str)]) -> usize {
    let worker = env.start_worker_with_env(extra);
    env.project_with_mit(PROJECT).await;
    for name in ["mit-algorithm-dev", "mit-validation"] {
        let text = format!(r#"launch "R Research Environment" {name} --size M"#);
        env.launched(JOHNSON, &text, name).await;
    }
    env.wait_for_done_launch_jobs(2).await;
    worker
}

pub(crate) fn johnsons_mail(env: &TestEnv) -> Vec<crate::harness::smtp::ReceivedMail> {
    let address = email_of(JOHNSON.user_id);
    env.smtp
        .received()
        .into_iter()
        .filter(|mail| mail.to.contains(&address))
        .collect()
}

fn dms_to_johnson_containing(env: &TestEnv, wanted: &str) -> usize {
    let channel = format!("D{}", JOHNSON.user_id);
    env.slack
        .all()
        .iter()
        .filter(|p| p.body["channel"] == channel.as_str() && p.text().contains(wanted))
        .count()
}

/// `YYYY-MM-DD`, `days` from today (UTC).
pub(crate) fn date_in(days: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::days(days))
        .date()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_is_warned_three_times_once_each_with_its_workspaces() {
    let mut env = TestEnv::start("expiry-warnings", 48).await;
    johnson_at_work(&mut env, &[]).await;

    for (day, left) in [(510, "30 days"), (533, "7 days"), (539, "1 day")] {
        let offset = format!("+{day}d");
        // Twice, as a sweep run by two workers or run again by an operator would.
        for _ in 0..2 {
            env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", &offset)])
                .await;
        }
        let dm = env.slack.expect_dm(JOHNSON.user_id, left, WAIT).await;
        assert!(
            dm.text().contains(&format!("expires in {left}")),
            "{}",
            dm.text()
        );
        let blocks = dm.body["blocks"].to_string();
        for name in ["mit-algorithm-dev", "mit-validation"] {
            assert!(blocks.contains(&format!("`{name}`")), "{name}: {blocks}");
        }
        assert!(blocks.contains("2 running workspaces"), "{blocks}");
        assert!(
            blocks.contains("/cws collaboration export stanford-collab"),
            "{blocks}"
        );
    }

    assert_eq!(dms_to_johnson_containing(&env, "expires in"), 3);
    let mails = johnsons_mail(&env);
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(mails.len(), 3, "{subjects:?}");
    for left in ["30 days", "7 days", "1 day"] {
        let mail = mails
            .iter()
            .find(|m| m.subject.ends_with(&format!("expiring in {left}")))
            .unwrap_or_else(|| panic!("no {left} mail in {subjects:?}"));
        assert!(
            mail.body.contains("mit-algorithm-dev, mit-validation"),
            "{}",
            mail.body
        );
    }
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_end_stops_snapshots_archives_and_shares_and_the_collaborator_is_refused() {
    let mut env = TestEnv::start("expiry-end", 49).await;
    let first = johnson_at_work(&mut env, &[ACCOUNTS]).await;

    env.slash(
        &Slash::new(&format!(
            "collaboration end {PROJECT} --date {} --archive-collaborator-work \
             --transfer-snapshots mit-csail",
            date_in(10)
        ))
        .by(SMITH),
    )
    .await;
    let scheduled = env.reply_containing("collaboration ends").await;
    let text = scheduled.body.to_string();
    assert!(text.contains("`mit-collaboration`"), "{text}");
    assert!(
        text.contains("(was "),
        "the 540-day invitation ends sooner: {text}"
    );
    assert!(text.contains("`mit-csail`"), "{text}");

    // Eleven days on; the sweep missed the 7- and 1-day warnings and sends neither now.
    let past_end = [("CWS_CLOCK_OFFSET", "+11d"), ACCOUNTS];
    for _ in 0..2 {
        env.run_once("expiry-sweep", &past_end).await;
    }
    assert_eq!(dms_to_johnson_containing(&env, "expires in"), 0);

    for name in ["mit-algorithm-dev", "mit-validation"] {
        assert_eq!(env.instance_state(name).await, InstanceStateName::Stopped);
    }
    let snapshots = env.moto.snapshots_tagged("cws:project", PROJECT).await;
    assert_eq!(snapshots.len(), 2, "one per workspace disk: {snapshots:#?}");
    for (snapshot, shared_with) in &snapshots {
        assert_eq!(shared_with, &["111111111111"], "{snapshot:?}");
    }
    let manifest: serde_json::Value = serde_json::from_str(
        &env.moto
            .s3_text(
                "cws-e2e-archive",
                &format!("collaboration/{PROJECT}/mit-collaboration/manifest.json"),
            )
            .await,
    )
    .unwrap();
    assert_eq!(manifest["workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(manifest["snapshots"].as_array().unwrap().len(), 2);

    let ended = env
        .slack
        .expect_dm(JOHNSON.user_id, "access ended", WAIT)
        .await;
    assert!(ended.text().contains("ended on"), "{}", ended.text());
    assert_eq!(dms_to_johnson_containing(&env, "ended on"), 1);
    let mails = johnsons_mail(&env);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(
        mails[0].subject.contains("has ended"),
        "{}",
        mails[0].subject
    );
    let posted = env
        .slack
        .expect("the end in the channel", WAIT, |p| {
            p.text().contains("mit-collaboration ended in")
        })
        .await;
    assert!(
        posted.text().contains("2 workspace(s) stopped"),
        "{}",
        posted.text()
    );

    // Johnson's commands are refused, and each refusal is audited.
    env.worker(first).kill();
    env.start_worker_with_env(&past_end);
    env.slash(&Slash::new("list").by(JOHNSON)).await;
    let refused = env.reply_containing("no longer gives access").await;
    assert!(refused.text().contains("expired"), "{}", refused.text());
    env.slash(&Slash::new("collaboration export stanford-collab --include-snapshots").by(JOHNSON))
        .await;
    env.reply_containing("no longer gives access").await;
    env.slash(&Slash::new("profiles use stanford-collab").by(JOHNSON))
        .await;
    let switch = env.reply_containing("no longer gives access").await;
    assert!(switch.text().contains("expired on"), "{}", switch.text());
    let refusals = env
        .stream(&format!("cws:audit:{PROJECT}"))
        .await
        .iter()
        .filter(|link| link.contains(r#""action":"refused""#))
        .count();
    assert_eq!(refusals, 3);
    assert_eq!(
        env.moto
            .snapshots_tagged("cws:project", PROJECT)
            .await
            .len(),
        2,
        "a refused export makes no snapshot"
    );

    // A week before the grace period ends, a last warning; a week later the clean-up, which
    // keeps the shared snapshots: they count as claimed.
    env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+102d"), ACCOUNTS])
        .await;
    let warning = env
        .slack
        .expect_dm(JOHNSON.user_id, "the last warning", WAIT)
        .await;
    assert!(
        warning.text().contains("0 snapshot(s) are archived"),
        "{}",
        warning.text()
    );
    env.slack
        .expect("the owner's note", WAIT, |p| {
            p.text()
                .contains("the grace period of mit-collaboration ends")
        })
        .await;
    env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+109d"), ACCOUNTS])
        .await;
    let cleaned = env
        .slack
        .expect("the clean-up", WAIT, |p| p.text().contains("grace period"))
        .await;
    assert!(
        cleaned
            .text()
            .contains("0 unclaimed snapshot(s) deleted, 2 transferred ones kept"),
        "{}",
        cleaned.text()
    );
    assert_eq!(
        env.moto
            .snapshots_tagged("cws:purpose", "collaboration-end")
            .await
            .len(),
        2
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_end_interrupted_by_a_dead_worker_resumes_without_duplicate_snapshots() {
    let mut env = TestEnv::start("expiry-crash", 50).await;
    johnson_at_work(&mut env, &[]).await;
    env.slash(
        &Slash::new(&format!(
            "collaboration end {PROJECT} --date {}",
            date_in(1)
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("collaboration ends").await;

    // The sweep stops both workspaces, makes the first snapshot, and dies before it learns
    // the snapshot's id.
    env.aws_front.set_fault(Fault::HoldAfterCreateSnapshot);
    let sweeper = env.start_run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+2d")]);
    eventually("the first snapshot", WAIT, || async {
        (env.moto
            .snapshots_tagged("cws:project", PROJECT)
            .await
            .len()
            == 1)
            .then_some(())
    })
    .await;
    env.worker(sweeper).kill();
    env.aws_front.set_fault(Fault::None);

    // Its lease on the end runs out after 10 minutes; the next sweep resumes the end.
    let later = format!("+{}s", 2 * 86_400 + 11 * 60);
    for _ in 0..2 {
        env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", &later)])
            .await;
    }
    let snapshots = env.moto.snapshots_tagged("cws:project", PROJECT).await;
    let mut workspaces: Vec<String> = snapshots
        .iter()
        .filter_map(|(s, _)| {
            s.tags()
                .iter()
                .find(|t| t.key() == Some("cws:workspace"))
                .and_then(|t| t.value().map(str::to_owned))
        })
        .collect();
    workspaces.sort();
    assert_eq!(workspaces, ["mit-algorithm-dev", "mit-validation"]);
    for name in ["mit-algorithm-dev", "mit-validation"] {
        assert_eq!(env.instance_state(name).await, InstanceStateName::Stopped);
    }
    let manifest = env
        .moto
        .s3_text(
            "cws-e2e-archive",
            &format!("collaboration/{PROJECT}/mit-collaboration/manifest.json"),
        )
        .await;
    assert!(manifest.contains("mit-validation"), "{manifest}");
    env.slack
        .expect_dm(JOHNSON.user_id, "access ended", WAIT)
        .await;
    assert_eq!(dms_to_johnson_containing(&env, "ended on"), 1);
    let posted = env
        .slack
        .expect("the end in the channel", WAIT, |p| {
            p.text().contains("mit-collaboration ended in")
        })
        .await;
    assert!(posted.text().contains("2 snapshot(s)"), "{}", posted.text());
    let steps: Vec<String> = env
        .stream(&format!("cws:audit:{PROJECT}"))
        .await
        .into_iter()
        .filter(|link| link.contains(r#""action":"expiry""#))
        .collect();
    for step in [
        "revoke", "stop", "snapshot", "archive", "transfer", "notify",
    ] {
        let done = steps
            .iter()
            .filter(|link| link.contains(&format!(r#""outcome":"{step}""#)))
            .count();
        assert_eq!(done, 1, "{step} recorded once: {steps:#?}");
    }
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collaborator_exports_and_transfers_their_work_and_the_owner_reads_the_final_report() {
    let mut env = TestEnv::start("expiry-export", 51).await;
    johnson_at_work(&mut env, &[ACCOUNTS]).await;

    env.slash(
        &Slash::new(
            "collaboration export stanford-collab --output ~/mit-final/ --include-snapshots",
        )
        .by(JOHNSON),
    )
    .await;
    let export = env.reply_containing("Export of stanford-collab").await;
    let blocks = export.body["blocks"].to_string();
    assert!(blocks.contains("Workspaces: 2 found"), "{blocks}");
    assert!(blocks.contains("~/mit-final/mit-validation/"), "{blocks}");
    let exported = env.moto.snapshots_tagged("cws:purpose", "export").await;
    assert_eq!(exported.len(), 2);
    let link = blocks
        .split('<')
        .find_map(|part| {
            part.split_once("|Export manifest>")
                .map(|(url, _)| url.replace("&amp;", "&"))
        })
        .unwrap_or_else(|| panic!("no manifest link in {blocks}"));
    let manifest: serde_json::Value = reqwest::get(&link).await.unwrap().json().await.unwrap();
    assert_eq!(
        manifest["workspaces"].as_array().unwrap().len(),
        2,
        "{manifest}"
    );

    // Berkeley's account is not MIT's: refused, and the attempt audited.
    env.slash(
        &Slash::new("collaboration transfer-snapshots stanford-collab berkeley-neuroscience")
            .by(JOHNSON),
    )
    .await;
    let refused = env.reply_containing("not to your institution").await;
    assert!(
        refused.text().contains("berkeley-neuroscience"),
        "{}",
        refused.text()
    );
    env.slash(
        &Slash::new("collaboration transfer-snapshots stanford-collab mit-csail").by(JOHNSON),
    )
    .await;
    env.reply_containing("2 snapshot(s) of stanford-collab shared with mit-csail")
        .await;
    for (snapshot, shared_with) in env.moto.snapshots_tagged("cws:purpose", "export").await {
        assert_eq!(shared_with, ["111111111111"], "{snapshot:?}");
    }

    env.slash(&Slash::new(&format!("collaboration report {PROJECT} --final")).by(SMITH))
        .await;
    let report = env.reply_containing("- final report").await;
    let report = report.body["blocks"].to_string();
    for wanted in [
        "mit-collaboration (mit-csail) - read_write [active until",
        "Workspaces launched: 2",
        "Snapshots: 2 created (2 transferred to collaborators)",
        "Unauthorized attempts: 1",
        "Policy violations: 0 ✅",
    ] {
        assert!(report.contains(wanted), "{wanted}: {report}");
    }
    env.finish();
}
