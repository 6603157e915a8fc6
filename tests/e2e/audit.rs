//! The audit trail: `/cws audit verify` names the one event someone edited, removed or inserted
//! in Redis; `/cws audit collaboration --export` writes 10,000 events as CSV and JSON that
//! Python's standard library opens; and each closed day lands in S3 as JSON lines, once.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use domain::audit::chain::{Head, Link};
use domain::audit::{AuditAction, AuditEvent};
use domain::identity::ChatIdentity;
use redis::AsyncCommands;
use time::macros::datetime;
use worker::adapters::redis_records::RedisRecords;
use worker::state::State;

use crate::harness::{JOHNSON, SMITH, Slash, TestEnv, eventually};

const PROJECT: &str = "nih-neuro-consortium";
const TRAIL: &str = "cws:audit:nih-neuro-consortium";
const HEAD: &str = "cws:audit-head:nih-neuro-consortium";
const BUCKET: &str = "cws-e2e-archive";
const WAIT: Duration = Duration::from_secs(30);

/// The stored links, oldest first, as the JSON the worker wrote.
async fn links(env: &TestEnv) -> Vec<serde_json::Value> {
    env.stream(TRAIL)
        .await
        .iter()
        .map(|entry| serde_json::from_str(entry).unwrap())
        .collect()
}

/// What someone with access to Redis does: the trail rewritten as `links`, numbered 0-1, 0-2, …
/// as the worker numbers it, and the head put back as it was.
async fn rewrite(env: &TestEnv, links: &[serde_json::Value], head: &str) {
    let mut redis = env.redis.clone();
    let _: () = redis.del(TRAIL).await.unwrap();
    for (n, link) in links.iter().enumerate() {
        let _: String = redis
            .xadd(
                TRAIL,
                format!("0-{}", n + 1),
                &[("entry", link.to_string())],
            )
            .await
            .unwrap();
    }
    let _: () = redis.set(HEAD, head).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_names_the_event_that_was_edited_removed_or_inserted() {
    let mut env = TestEnv::start("audit-verify", 42).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    for _ in 0..3 {
        env.slash(&Slash::new("list").by(SMITH)).await;
        env.reply_containing("Workspaces of project").await;
    }
    let verify = format!("audit verify {PROJECT}");
    env.slash(&Slash::new(&verify).by(SMITH)).await;
    // The project's creation, three lists and this verify.
    env.reply_containing("5 events, chain intact").await;

    let original = links(&env).await;
    let mut redis = env.redis.clone();
    let head: String = redis.get(HEAD).await.unwrap();
    assert_eq!(original[2]["event"]["action"], "command", "{original:#?}");

    let edited = {
        let mut links = original.clone();
        links[2]["event"]["outcome"] = "refused".into();
        links
    };
    let removed = {
        let mut links = original.clone();
        links.remove(2);
        links
    };
    // A forgery made the way the worker makes links: numbered 3 and pointing at link 2.
    let inserted = {
        let mut event: AuditEvent = serde_json::from_value(original[2]["event"].clone()).unwrap();
        event.resource = "terminate".to_owned();
        let before = Head {
            seq: 2,
            hash: original[1]["hash"].as_str().unwrap().to_owned(),
        };
        let forged = Link::after(Some(&before), &event);
        let mut links = original.clone();
        links.insert(2, serde_json::to_value(forged).unwrap());
        links
    };
    let by_smith = "Command by slack:T0CONSORTIUM:U0SMITH";
    let cases = [
        (
            edited,
            "event #3 was edited after it was written",
            Some(by_smith),
        ),
        (removed, "event #3 was removed", None),
        (
            inserted,
            "inserted at position 3 (it claims to be #3)",
            Some(by_smith),
        ),
    ];
    for (links, finding, who) in cases {
        rewrite(&env, &links, &head).await;
        env.slash(&Slash::new(&verify).by(SMITH)).await;
        let reply = env.reply_containing(finding).await;
        let text = reply.text();
        assert!(!text.contains("intact"), "{text}");
        if let Some(who) = who {
            assert!(text.contains(&format!("Event #3: {who}")), "{text}");
        } else {
            // A removed event is gone; the events around the gap say when.
            assert!(text.contains("Before it: #2,") && text.contains("After it: #4,"));
        }
    }

    // Put back as written, the trail verifies again: the verify that found nothing wrong and
    // the four that followed are in it too.
    rewrite(&env, &original, &head).await;
    env.slash(&Slash::new(&verify).by(SMITH)).await;
    env.reply_containing("6 events, chain intact").await;
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_of_ten_thousand_events_opens_with_pythons_csv_and_json() {
    let mut env = TestEnv::start("audit-export", 43).await;
    env.start_worker();
    env.project_with_mit(PROJECT).await;

    // Switching profile and launching are audited as such.
    env.slash(&Slash::new("profiles use stanford-collab").by(JOHNSON))
        .await;
    env.reply_containing("Now using profile").await;
    env.slash(
        &Slash::new(r#"launch "Python Machine Learning" mit-algorithm-dev --size M"#).by(JOHNSON),
    )
    .await;
    env.slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *mit-algorithm-dev*")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;
    let trail = links(&env).await;
    let by_johnson = |action: &str| {
        trail.iter().any(|link| {
            link["event"]["action"] == action
                && link["event"]["who"] == "slack:T0CONSORTIUM:U0MITJOHNSON"
        })
    };
    assert!(by_johnson("profile_switch"), "{trail:#?}");
    assert!(
        trail.iter().any(|link| link["event"]["action"] == "launch"
            && link["event"]["resource"] == "mit-algorithm-dev"),
        "{trail:#?}"
    );

    // Half a year of MIT's activity in 2025, through the worker's own audit writer, so every
    // event is a real link of the chain.
    let connection = redis::Client::open(env.redis_url.as_str())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let state = State::new(Arc::new(RedisRecords::new(connection)), None);
    let johnson = ChatIdentity::slack("T0CONSORTIUM", JOHNSON.user_id);
    let actions = [
        AuditAction::Launch,
        AuditAction::ProfileSwitch,
        AuditAction::Command,
        AuditAction::Launch,
        AuditAction::Refused,
    ];
    for n in 0..10_000_i64 {
        let event = AuditEvent {
            action: actions[n as usize % actions.len()],
            who: johnson.clone(),
            institution: "mit-csail".to_owned(),
            resource: format!("mit-algorithm-dev-{n}"),
            outcome: "ok".to_owned(),
            detail: Some(format!("row {n}, with a comma and a \"quote\"")),
            at: datetime!(2025-01-01 00:00 UTC) + time::Duration::minutes(25 * n),
        };
        state.audit(PROJECT, &event).await.unwrap();
    }

    // A read_write member may not read the trail.
    let period = "--start-date 2025-01-01 --end-date 2025-06-30";
    env.slash(&Slash::new(&format!("audit collaboration {PROJECT} {period}")).by(JOHNSON))
        .await;
    env.reply_containing("may not read the audit trail").await;

    env.slash(
        &Slash::new(&format!(
            "audit collaboration {PROJECT} {period} --export csv"
        ))
        .by(SMITH),
    )
    .await;
    let report = env.reply_containing("CSV export").await;
    let text = report.text();
    assert!(text.contains("X-Amz-Signature"), "{text}");
    assert!(
        text.contains("2,000 unauthorized access attempts"),
        "{text}"
    );
    let blocks = report.body["blocks"].to_string();
    assert!(
        blocks.contains("mit-collaboration: 2,000 profile switches, 4,000 workspace launches"),
        "{blocks}"
    );
    assert!(blocks.contains("3,980 more are in the export"), "{blocks}");
    assert!(report.body["blocks"].as_array().unwrap().len() <= 50);

    let csv = env
        .moto
        .s3_text(
            BUCKET,
            &format!("audit/{PROJECT}/exports/{PROJECT}_2025-01-01_2025-06-30.csv"),
        )
        .await;
    let checked = python(
        "import csv, json, sys\n\
         rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
         print(json.dumps({'rows': len(rows), 'columns': list(rows[0].keys()),\n\
                           'launches': sum(r['action'] == 'Workspace Launch' for r in rows),\n\
                           'users': sorted({r['user'] for r in rows}),\n\
                           'detail': rows[1]['detail']}))",
        &csv,
    );
    assert_eq!(checked["rows"], 10_000, "{checked}");
    assert_eq!(
        checked["columns"],
        serde_json::json!([
            "seq",
            "at",
            "user",
            "identity",
            "institution",
            "institution_check",
            "invitation",
            "action",
            "resource",
            "outcome",
            "detail",
            "hash"
        ])
    );
    assert_eq!(checked["launches"], 4_000, "{checked}");
    assert_eq!(checked["users"], serde_json::json!(["michael_johnson"]));
    assert_eq!(checked["detail"], "row 1, with a comma and a \"quote\"");

    env.slash(
        &Slash::new(&format!(
            "audit collaboration {PROJECT} {period} --export compliance_audit_h1_2025.json"
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("JSON export").await;
    let json = env
        .moto
        .s3_text(
            BUCKET,
            &format!("audit/{PROJECT}/exports/compliance_audit_h1_2025.json"),
        )
        .await;
    let checked = python(
        "import json, sys\n\
         doc = json.load(open(sys.argv[1]))\n\
         print(json.dumps({'events': len(doc['events']), 'keys': sorted(doc['events'][0]),\n\
                           'summary': doc['summary'], 'period': [doc['start_date'], doc['end_date']]}))",
        &json,
    );
    assert_eq!(checked["events"], 10_000, "{checked}");
    assert_eq!(
        checked["keys"],
        serde_json::json!([
            "action",
            "at",
            "detail",
            "hash",
            "identity",
            "institution",
            "institution_check",
            "invitation",
            "outcome",
            "resource",
            "seq",
            "user"
        ])
    );
    assert_eq!(checked["summary"]["data_access_events"], 4_000);
    assert_eq!(checked["summary"]["unauthorized_attempts"], 2_000);
    assert_eq!(
        checked["period"],
        serde_json::json!(["2025-01-01", "2025-06-30"])
    );

    // Both exports are in the trail.
    let exports = links(&env)
        .await
        .iter()
        .filter(|link| link["event"]["action"] == "export")
        .count();
    assert_eq!(exports, 2);
    env.finish();
}

/// Runs `script` with python3 on a file holding `content`; returns what it printed, as JSON.
fn python(script: &str, content: &str) -> serde_json::Value {
    let file = std::env::temp_dir().join(format!("cws-e2e-audit-{}", uuid::Uuid::new_v4()));
    std::fs::write(&file, content).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs");
    std::fs::remove_file(&file).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The UTC date of a stored link's event.
fn day_of(link: &serde_json::Value) -> time::Date {
    let at = link["event"]["at"].as_str().unwrap();
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .date()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_closed_day_is_archived_to_s3_once_and_missed_days_are_caught_up() {
    let mut env = TestEnv::start("audit-archive", 44).await;
    let today = env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.slash(&Slash::new("list").by(SMITH)).await;
    env.reply_containing("Workspaces of project").await;
    env.wait_for_finished_commands(2).await;
    env.worker(today).kill();

    // A day later, one more command.
    let tomorrow = env.start_worker_shifted("+86400s");
    env.slash(&Slash::new("list").by(SMITH)).await;
    env.reply_containing("Workspaces of project").await;
    env.wait_for_finished_commands(3).await;
    env.worker(tomorrow).kill();

    let stored = links(&env).await;
    let days: Vec<time::Date> = {
        let mut days: Vec<time::Date> = stored.iter().map(day_of).collect();
        days.dedup();
        days
    };
    assert!(days.len() >= 2, "{stored:#?}");

    // The schedule runs two days after the last of them, at 02:00 UTC: every day is closed,
    // the first one long ago. The digest is set for a weekday outside the whole span.
    let last = *days.last().unwrap();
    let at = last
        .next_day()
        .unwrap()
        .next_day()
        .unwrap()
        .with_hms(2, 0, 0)
        .unwrap()
        .assume_utc();
    let offset = (at - time::OffsetDateTime::now_utc()).whole_seconds();
    let digest_day = (last + time::Duration::days(4)).weekday();
    let scheduled = [
        ("CWS_CLOCK_OFFSET", format!("+{offset}s")),
        ("CWS_SCHEDULE", "* * * * * *".to_owned()),
        ("CWS_DIGEST_AT", format!("{digest_day} 09:00")),
    ];
    let scheduled: Vec<(&str, &str)> = scheduled.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.start_worker_with_env(&scheduled);

    let key = |day: time::Date| format!("audit/{PROJECT}/{day}.jsonl");
    let puts = |day: time::Date| {
        env.aws_front
            .requests_to(Method::PUT, &format!("/{BUCKET}/{}", key(day)))
    };
    for &day in &days {
        eventually(&format!("the archive of {day}"), WAIT, || async move {
            (puts(day) > 0).then_some(())
        })
        .await;
        let archived = env.moto.s3_text(BUCKET, &key(day)).await;
        let archived: Vec<serde_json::Value> = archived
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let expected: Vec<&serde_json::Value> =
            stored.iter().filter(|link| day_of(link) == day).collect();
        assert_eq!(archived.iter().collect::<Vec<_>>(), expected, "{day}");
    }

    // More rounds write nothing again.
    env.wait_for_ticks(3).await;
    for &day in &days {
        assert_eq!(puts(day), 1, "{day} was archived once");
    }
    env.finish();
}
