//! Money notices and enforcement: budget alerts and the weekly digest reach the owner by Slack
//! and by e-mail through a real SMTP server, exactly once however many workers notice them; a
//! project at its hard limit has its running workspaces hibernated within one check.

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;
use domain::digest::{DigestTime, last_due};

use crate::harness::{LEE, SMITH, Slash, TestEnv, email_of, to_mid_next_month};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn two_launches_crossing_the_alert_threshold_together_alert_the_owner_once() {
    let mut env = TestEnv::start("budget-alert", 38).await;
    let day_one = format!("+{}s", to_mid_next_month());
    env.start_worker_shifted(&day_one);
    env.start_worker_shifted(&day_one);
    // A t3.large from the 10th to the end of any month commits $38 to $46 of $100: one stays
    // under the 50 % alert, two together cross it (and stay under 100 %).
    env.create_project(
        SMITH,
        "nih-neuro-consortium --budget 100 --alert-threshold 50",
    )
    .await;
    let first = Slash::new(r#"launch "Python Machine Learning" alert-one --size M"#).by(SMITH);
    let second = Slash::new(r#"launch "Python Machine Learning" alert-two --size M"#).by(SMITH);
    tokio::join!(env.slash(&first), env.slash(&second));
    for name in ["alert-one", "alert-two"] {
        env.slack
            .expect(name, WAIT, |p| {
                p.method == "chat.postMessage" && p.text().contains(&format!("launched *{name}*"))
            })
            .await;
    }
    let dm = env
        .slack
        .expect_dm(SMITH.user_id, "the budget alert", WAIT)
        .await;
    assert!(
        dm.text().contains("nih-neuro-consortium has committed"),
        "{}",
        dm.text()
    );
    let mail = env
        .smtp
        .expect("with the budget alert", 1, WAIT, |m| {
            m.subject.contains("50% budget alert")
        })
        .await;
    assert_eq!(mail[0].to, email_of(SMITH.user_id));
    assert!(
        mail[0].body.contains("Committed by month end"),
        "{}",
        mail[0].body
    );

    // Both launch jobs, and so both alert checks, have finished: still one of each.
    env.wait_for_done_launch_jobs(2).await;
    assert_eq!(env.smtp.received().len(), 1, "{:#?}", env.smtp.received());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_scheduled_workers_send_one_weekly_digest_by_channel_and_by_email() {
    let mut env = TestEnv::start("weekly-digest", 39).await;
    let today = env.start_worker();
    env.create_project(
        SMITH,
        "nih-neuro-consortium --budget 5000 --timezone America/Los_Angeles",
    )
    .await;
    let token = env
        .invite(
            SMITH,
            "berkeley-collaboration --type read_write --valid-days 540 --institution berkeley-neuroscience",
        )
        .await;
    env.accept(LEE, &token, "stanford-collab").await;
    env.slack.expect_dm(LEE.user_id, "the SSH key", WAIT).await;
    env.slash(&Slash::new("launch Bioinformatics berkeley-analysis --size M").by(LEE))
        .await;
    env.slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *berkeley-analysis*")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;
    env.worker(today).kill();

    // Five minutes after the next Monday 09:00 in Los Angeles, two workers run the schedule.
    let now = time::OffsetDateTime::now_utc();
    let los_angeles = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
    let due = last_due(
        now + time::Duration::weeks(1),
        &los_angeles,
        DigestTime::default(),
    );
    let offset = (due - now).whole_seconds() + 300;
    let shifted = [
        ("CWS_CLOCK_OFFSET", format!("+{offset}s")),
        ("CWS_SCHEDULE", "* * * * * *".to_owned()),
    ];
    let shifted: Vec<(&str, &str)> = shifted.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.start_worker_with_env(&shifted);
    env.start_worker_with_env(&shifted);

    let post = env
        .slack
        .expect("the digest in the channel", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("weekly digest")
        })
        .await;
    assert_eq!(post.body["channel"], "C0NEURO");
    let blocks = post.body["blocks"].to_string();
    assert!(blocks.contains("sarah_lee"), "{blocks}");
    assert!(blocks.contains("berkeley-neuroscience"), "{blocks}");
    assert!(blocks.contains("berkeley-analysis"), "{blocks}");
    let mail = env
        .smtp
        .expect("with the digest", 1, WAIT, |m| {
            m.subject.contains("weekly digest")
        })
        .await;
    assert_eq!(mail[0].to, email_of(SMITH.user_id));
    // The channel and the e-mail give the same week's total.
    let total = post
        .text()
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the week's total")
        .to_owned();
    assert!(total.starts_with('$'), "{}", post.text());
    assert!(
        mail[0].subject.contains(&total),
        "{} vs {total}",
        mail[0].subject
    );
    assert!(mail[0].body.contains("sarah_lee"), "{}", mail[0].body);

    // Three more ticks, on both workers: nothing more goes out.
    env.wait_for_ticks(3).await;
    assert_eq!(env.smtp.received().len(), 1, "{:#?}", env.smtp.received());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn hibernate_all_at_the_hard_limit_hibernates_every_running_workspace_within_one_check() {
    let mut env = TestEnv::start("hard-limit", 40).await;
    let day_one = to_mid_next_month();
    let first = env.start_worker_shifted(&format!("+{day_one}s"));
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    for name in ["limit-one", "limit-two"] {
        let text = format!(r#"launch "Python Machine Learning" {name} --size M"#);
        env.slash(&Slash::new(&text).by(SMITH)).await;
        env.slack
            .expect(name, WAIT, |p| {
                p.method == "chat.postMessage" && p.text().contains(&format!("launched *{name}*"))
            })
            .await;
    }
    env.slash(
        &Slash::new("project budget nih-neuro-consortium --hard-limit 2 --action hibernate_all")
            .by(SMITH),
    )
    .await;
    let settings = env.reply_containing("hard limit $2.00").await;
    assert!(
        settings.text().contains("hibernate_all"),
        "{}",
        settings.text()
    );
    env.wait_for_done_launch_jobs(2).await;
    env.wait_for_finished_commands(2).await;
    env.worker(first).kill();

    // Twenty hours on, two t3.large have cost $3.46 with their disks: past the $2 limit.
    let later = [
        ("CWS_CLOCK_OFFSET", format!("+{}s", day_one + 20 * 3600)),
        ("CWS_SCHEDULE", "* * * * * *".to_owned()),
    ];
    let later: Vec<(&str, &str)> = later.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.start_worker_with_env(&later);
    let notice = env
        .slack
        .expect("the enforcement notice in the channel", WAIT, |p| {
            p.method == "chat.postMessage"
                && p.body["channel"] == "C0NEURO"
                && p.text().contains("reached its hard limit")
        })
        .await;
    assert!(
        notice.text().contains("hibernated limit-one")
            && notice.text().contains("hibernated limit-two"),
        "{}",
        notice.text()
    );
    env.slack
        .expect_dm(SMITH.user_id, "the enforcement notice", WAIT)
        .await;
    let mail = env
        .smtp
        .expect("about the hard limit", 1, WAIT, |m| {
            m.subject.contains("hard limit")
        })
        .await;
    assert_eq!(mail[0].to, email_of(SMITH.user_id));
    for name in ["limit-one", "limit-two"] {
        env.settles(name, InstanceStateName::Stopped).await;
    }
    let kinds = env.ledger_kinds("nih-neuro-consortium").await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "hibernated").count(),
        2,
        "{kinds:?}"
    );

    // The owner lifts the limit for the month: a workspace started again keeps running.
    env.slash(&Slash::new("project budget nih-neuro-consortium --lift").by(SMITH))
        .await;
    env.reply_containing("lifted for").await;
    env.slash(&Slash::new("start limit-one").by(SMITH)).await;
    env.slack
        .expect("the start", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("limit-one")
        })
        .await;
    env.settles("limit-one", InstanceStateName::Running).await;
    env.wait_for_ticks(3).await;
    assert_eq!(
        env.instance_state("limit-one").await,
        InstanceStateName::Running
    );
    assert_eq!(env.smtp.received().len(), 1, "{:#?}", env.smtp.received());
    env.finish();
}
