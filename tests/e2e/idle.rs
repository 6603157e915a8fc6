//! Idle workspaces: CloudWatch (moto) shows CPU near zero, the owner is warned by DM with
//! **Keep running** and **Hibernate now**, a kept workspace runs on, one nobody answered for is
//! hibernated once when the grace period is over, and one moving data at low CPU is left alone.

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;

use crate::harness::{SMITH, Slash, TestEnv, button_value, to_mid_next_month};

const WAIT: Duration = Duration::from_secs(30);

fn scheduled(offset: i64) -> Vec<(&'static str, String)> {
    vec![
        ("CWS_CLOCK_OFFSET", format!("+{offset}s")),
        ("CWS_SCHEDULE", "* * * * * *".to_owned()),
    ]
}

fn as_env<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_workspace_is_kept_on_request_and_the_unanswered_one_hibernated_once() {
    let mut env = TestEnv::start("idle", 41).await;
    let day_one = to_mid_next_month();
    let first = env.start_worker_shifted(&format!("+{day_one}s"));
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    env.slash(
        &Slash::new(
            "project idle nih-neuro-consortium --cpu-below 5 --after-minutes 60 --grace-minutes 30 --action hibernate",
        )
        .by(SMITH),
    )
    .await;
    let policy = env.reply_containing("CPU below 5% for 60 minutes").await;
    assert!(policy.text().contains("hibernate"), "{}", policy.text());
    for name in ["idle-kept", "idle-forgotten", "downloading"] {
        let text = format!(r#"launch "Python Machine Learning" {name} --size M"#);
        env.slash(&Slash::new(&text).by(SMITH)).await;
        env.slack
            .expect(name, WAIT, |p| {
                p.method == "chat.postMessage" && p.text().contains(&format!("launched *{name}*"))
            })
            .await;
    }
    env.wait_for_done_launch_jobs(3).await;
    env.wait_for_finished_commands(2).await;
    env.worker(first).kill();

    // All three sat at 1 % CPU from launch on, as EC2 would report it; one was downloading
    // 60 MB every 5 minutes all along.
    let launched = time::OffsetDateTime::now_utc() + time::Duration::seconds(day_one);
    let (from, to) = (
        launched - time::Duration::minutes(10),
        launched + time::Duration::hours(4),
    );
    for name in ["idle-kept", "idle-forgotten", "downloading"] {
        let id = env.instances_named(name).await[0]
            .instance_id()
            .unwrap()
            .to_owned();
        env.moto
            .put_metric(&id, "CPUUtilization", 1.0, from, to)
            .await;
        if name == "downloading" {
            env.moto
                .put_metric(&id, "NetworkIn", 60_000_000.0, from, to)
                .await;
        }
    }

    // Two hours later the scheduler finds two idle and warns their owner.
    let two_hours = day_one + 2 * 3600;
    let warned = env.start_worker_with_env(&as_env(&scheduled(two_hours)));
    let mut warnings = Vec::new();
    for _ in 0..2 {
        warnings.push(
            env.slack
                .expect_dm(SMITH.user_id, "an idle warning", WAIT)
                .await,
        );
    }
    let kept = warnings
        .iter()
        .find(|w| w.text().contains("idle-kept"))
        .expect("a warning about idle-kept");
    assert!(kept.text().contains("peak 1.0%"), "{}", kept.text());
    let keep = button_value(kept, "cws_idle_keep");
    env.click(SMITH, "cws_idle_keep", &keep, None).await;
    env.reply_containing("idle-kept keeps running").await;
    env.wait_for_finished_commands(3).await;
    env.worker(warned).kill();

    // Thirty-one minutes on, the unanswered warning's grace period is over.
    env.start_worker_with_env(&as_env(&scheduled(two_hours + 31 * 60)));
    let acted = env
        .slack
        .expect("the hibernation in the channel", WAIT, |p| {
            p.method == "chat.postMessage"
                && p.body["channel"] == "C0NEURO"
                && p.text().contains("idle-forgotten")
        })
        .await;
    assert!(acted.text().contains("hibernated"), "{}", acted.text());
    env.settles("idle-forgotten", InstanceStateName::Stopped)
        .await;
    env.wait_for_ticks(3).await;
    for busy in ["idle-kept", "downloading"] {
        assert_eq!(
            env.instance_state(busy).await,
            InstanceStateName::Running,
            "{busy}"
        );
    }
    let kinds = env.ledger_kinds("nih-neuro-consortium").await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "hibernated").count(),
        1,
        "{kinds:?}"
    );
    env.finish();
}
