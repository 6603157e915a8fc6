//! The clean-up after the 90-day grace period, with time moved by the workers' clock: a last
//! warning a week before, then, with `--archive-collaborator-work`, each disk archived to the
//! EBS archive tier before the collaborator's workspaces are terminated (their volumes with
//! them) and their unclaimed snapshots deleted, each step done once.

use aws_sdk_ec2::types::{Filter, InstanceStateName};

use crate::expiry::{PROJECT, WAIT, date_in, johnson_at_work, johnsons_mail};
use crate::harness::{JOHNSON, SMITH, Slash, TestEnv};

const WORKSPACES: [&str; 2] = ["mit-algorithm-dev", "mit-validation"];

/// The volumes attached to the instance named `name`.
async fn volumes_of(env: &TestEnv, name: &str) -> Vec<String> {
    env.instances_named(name).await[0]
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs()?.volume_id().map(str::to_owned))
        .collect()
}

/// Which of `ids` moto still holds.
async fn volumes_left(env: &TestEnv, ids: &[String]) -> Vec<String> {
    let filter = Filter::builder()
        .name("volume-id")
        .set_values(Some(ids.to_vec()))
        .build();
    env.moto
        .ec2()
        .await
        .describe_volumes()
        .filters(filter)
        .send()
        .await
        .unwrap()
        .volumes()
        .iter()
        .filter_map(|v| v.volume_id().map(str::to_owned))
        .collect()
}

fn tag<'a>(snapshot: &'a aws_sdk_ec2::types::Snapshot, key: &str) -> Option<&'a str> {
    snapshot
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test(flavor = "multi_thread")]
async fn day_540_plus_90_archives_then_terminates_and_deletes_and_reports_the_archives() {
    let mut env = TestEnv::start("grace-cleanup", 88).await;
    johnson_at_work(&mut env, &[]).await;
    env.slash(
        &Slash::new(&format!(
            "collaboration end {PROJECT} --date {} --archive-collaborator-work",
            date_in(540)
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("collaboration ends").await;

    // Day 541: the end stops and snapshots both workspaces.
    env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+541d")])
        .await;
    env.slack
        .expect_dm(JOHNSON.user_id, "access ended", WAIT)
        .await;
    env.slack
        .expect("the end in the channel", WAIT, |p| {
            p.text().contains("mit-collaboration ended in")
        })
        .await;
    let end_snapshots = env
        .moto
        .snapshots_tagged("cws:purpose", "collaboration-end")
        .await;
    assert_eq!(end_snapshots.len(), 2, "{end_snapshots:#?}");
    let mut volumes = Vec::new();
    for name in WORKSPACES {
        assert_eq!(env.instance_state(name).await, InstanceStateName::Stopped);
        volumes.extend(volumes_of(&env, name).await);
    }
    assert_eq!(volumes.len(), 2);

    // Day 624, a week before the grace period ends: the last warning lists what goes.
    for _ in 0..2 {
        env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+624d")])
            .await;
    }
    let warning = env
        .slack
        .expect_dm(JOHNSON.user_id, "the last warning", WAIT)
        .await;
    let blocks = warning.body["blocks"].to_string();
    assert!(
        warning.text().contains("Last warning"),
        "{}",
        warning.text()
    );
    for name in WORKSPACES {
        assert!(blocks.contains(&format!("`{name}`")), "{name}: {blocks}");
    }
    for (snapshot, _) in &end_snapshots {
        let id = snapshot.snapshot_id().unwrap();
        assert!(blocks.contains(id), "{id}: {blocks}");
    }
    assert!(blocks.contains("Archived first"), "{blocks}");
    let note = env
        .slack
        .expect("the owner's note", WAIT, |p| {
            p.text()
                .contains("the grace period of mit-collaboration ends")
        })
        .await;
    assert!(
        note.text().contains("2 workspace(s) and 2 snapshot(s)"),
        "{}",
        note.text()
    );
    let mails = johnsons_mail(&env);
    assert!(
        mails.iter().any(|m| m.subject.contains("(last warning)")),
        "{mails:#?}"
    );
    for name in WORKSPACES {
        assert_eq!(env.instance_state(name).await, InstanceStateName::Stopped);
    }

    // Day 631: the grace period is over. Twice, as two workers or an operator would.
    for _ in 0..2 {
        env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+631d")])
            .await;
    }
    for name in WORKSPACES {
        assert_eq!(
            env.instance_state(name).await,
            InstanceStateName::Terminated
        );
    }
    assert_eq!(volumes_left(&env, &volumes).await, Vec::<String>::new());
    assert!(
        env.moto
            .snapshots_tagged("cws:purpose", "collaboration-end")
            .await
            .is_empty(),
        "unclaimed snapshots deleted"
    );

    // The archives: one per volume, in the archive tier, made from the deleted volumes.
    let archives = env
        .moto
        .snapshots_tagged("cws:purpose", "grace-archive")
        .await;
    assert_eq!(archives.len(), 2, "{archives:#?}");
    let mut archived = env.aws_front.archived_snapshots();
    archived.sort();
    let mut ids: Vec<&str> = archives
        .iter()
        .map(|(s, _)| s.snapshot_id().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(archived, ids, "each archive moved to the archive tier once");
    let mut from: Vec<&str> = archives
        .iter()
        .map(|(s, _)| s.volume_id().unwrap())
        .collect();
    from.sort_unstable();
    volumes.sort();
    assert_eq!(from, volumes);
    let mut of: Vec<&str> = archives
        .iter()
        .filter_map(|(s, _)| tag(s, "cws:workspace"))
        .collect();
    of.sort_unstable();
    assert_eq!(of, WORKSPACES);

    // Archived before anything was deleted, each step once, each deletion audited.
    let audit = env.stream(&format!("cws:audit:{PROJECT}")).await;
    let position = |wanted: &str| {
        audit
            .iter()
            .position(|link| link.contains(wanted))
            .unwrap_or_else(|| panic!("no {wanted} in {audit:#?}"))
    };
    assert!(
        position(r#""outcome":"cleanup-archive""#) < position(r#""outcome":"terminated""#),
        "{audit:#?}"
    );
    for step in [
        "cleanup-archive",
        "cleanup-terminate",
        "cleanup-delete",
        "cleanup-report",
    ] {
        let done = audit
            .iter()
            .filter(|link| link.contains(&format!(r#""outcome":"{step}""#)))
            .count();
        assert_eq!(done, 1, "{step} once: {audit:#?}");
    }
    let count = |outcome: &str| {
        audit
            .iter()
            .filter(|link| link.contains(&format!(r#""outcome":"{outcome}""#)))
            .count()
    };
    assert_eq!(count("archived"), 2);
    assert_eq!(count("terminated"), 2);
    assert_eq!(count("deleted"), 2);
    let ledger = env.stream(&format!("cws:ledger:{PROJECT}")).await;
    let terminated = ledger
        .iter()
        .filter(|event| event.contains(r#""kind":"terminated""#))
        .count();
    assert_eq!(terminated, 2, "costs stop: {ledger:#?}");

    // The owner's report lists each archive, its size and where it is, and how to restore.
    let report = env
        .slack
        .expect("the owner's report", WAIT, |p| {
            p.text()
                .contains("grace period of mit-collaboration is over")
        })
        .await;
    assert!(
        report.text().contains(
            "2 workspace(s) terminated, 2 archive(s) kept, 2 unclaimed snapshot(s) deleted"
        ),
        "{}",
        report.text()
    );
    let blocks = report.body["blocks"].to_string();
    for (snapshot, _) in &archives {
        let line = format!(
            "`{}`: {}, {} GB, us-east-1",
            snapshot.snapshot_id().unwrap(),
            tag(snapshot, "cws:workspace").unwrap(),
            snapshot.volume_size().unwrap()
        );
        assert!(blocks.contains(&line), "{line}: {blocks}");
    }
    assert!(blocks.contains("restore-snapshot-tier"), "{blocks}");
    env.finish();
}
