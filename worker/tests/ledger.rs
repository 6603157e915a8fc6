//! The state layer's ledger: a worker reads a project's ledger once, then only what is new; the
//! month in progress comes from a checkpoint in Redis that every worker shares.

use std::sync::Arc;

use domain::budget::month_bounds;
use domain::ledger::{CostReport, LedgerEvent, LedgerEventKind, cost_report, totals};
use domain::pricing::Money;
use time::OffsetDateTime;
use time::macros::datetime;
use worker::adapters::memory_records::MemoryRecords;
use worker::adapters::redis_records::RedisRecords;
use worker::state::{MonthLedger, State};

fn event(at: OffsetDateTime, kind: LedgerEventKind) -> LedgerEvent {
    LedgerEvent {
        at,
        kind,
        workspace: "mit-dev".into(),
        instance_id: "i-1".into(),
        instance_type: "t3.large".into(),
        region: "us-east-1".into(),
        hourly: "0.0832".parse().unwrap(),
        storage_gb: 30,
        project: "nih".into(),
        user: "michael_johnson".into(),
        institution: "mit-csail".into(),
        storage_rate: None,
    }
}

#[tokio::test]
async fn a_worker_reads_the_ledger_once_then_only_what_is_new() {
    let records = Arc::new(MemoryRecords::default());
    let worker = State::new(records.clone(), None);
    let launched = event(datetime!(2026-03-01 09:00 UTC), LedgerEventKind::Launched);
    let stopped = event(datetime!(2026-03-01 17:00 UTC), LedgerEventKind::Stopped);
    let resumed = event(datetime!(2026-03-02 09:00 UTC), LedgerEventKind::Resumed);

    assert!(worker.ledger("nih").await.unwrap().is_empty());
    worker.append_ledger(&launched).await.unwrap();
    worker.append_ledger(&stopped).await.unwrap();
    assert_eq!(
        *worker.ledger("nih").await.unwrap(),
        [launched.clone(), stopped.clone()]
    );

    // Another worker process appends; this one sees it on its next read.
    let other = State::new(records.clone(), None);
    other.append_ledger(&resumed).await.unwrap();
    let all = [launched, stopped, resumed];
    assert_eq!(*worker.ledger("nih").await.unwrap(), all);
    assert_eq!(*worker.ledger("nih").await.unwrap(), all);
    assert_eq!(*other.ledger("nih").await.unwrap(), all);
    assert!(worker.ledger("other-project").await.unwrap().is_empty());
}

/// A state layer over one of the test Redis's databases, emptied.
async fn redis_state(db: u8) -> (State, redis::aio::ConnectionManager) {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(format!("{base}/{db}")).expect("redis url");
    let mut connection = client
        .get_connection_manager()
        .await
        .expect("Redis is running with 128 databases (see scripts/test)");
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection)
        .await
        .expect("flushdb");
    let records = Arc::new(RedisRecords::new(connection.clone()));
    (State::new(records, None), connection)
}

fn ebs(_region: &str) -> Money {
    "0.08".parse().unwrap()
}

const SINCE: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const NOW: OffsetDateTime = datetime!(2026-03-20 12:00 UTC);

/// January to March of one workspace: launched, stopped and resumed now and then.
fn three_months() -> Vec<LedgerEvent> {
    let mut events = Vec::new();
    let mut at = datetime!(2026-01-03 09:00 UTC);
    let mut kind = LedgerEventKind::Launched;
    while at < NOW {
        events.push(event(at, kind));
        kind = match kind {
            LedgerEventKind::Stopped => LedgerEventKind::Resumed,
            _ => LedgerEventKind::Stopped,
        };
        at += time::Duration::hours(31);
    }
    events
}

/// March's report, with the rollover of January and February, from the whole ledger.
fn march_from_the_whole(events: &[LedgerEvent]) -> CostReport {
    let budget: Money = "40".parse().unwrap();
    let months = [
        month_bounds(datetime!(2026-01-01 00:00 UTC)),
        month_bounds(datetime!(2026-02-01 00:00 UTC)),
    ];
    let rollover = Money::from_micros(
        totals(events, &months, ebs)
            .iter()
            .map(|spent| (budget.micros() - spent.micros()).max(0))
            .sum(),
    );
    cost_report(events, (month_bounds(NOW).0, NOW), budget, rollover, ebs)
}

fn march_from(month: &MonthLedger) -> CostReport {
    let budget: Money = "40".parse().unwrap();
    let rollover = month.checkpoint.rollover(month.checkpoint.at, budget);
    cost_report(
        &month.events,
        (month.checkpoint.at, NOW),
        budget,
        rollover,
        ebs,
    )
}

#[tokio::test]
async fn a_workers_first_report_reads_the_checkpoint_not_the_whole_ledger() {
    let (first, mut redis) = redis_state(62).await;
    let events = three_months();
    for event in &events {
        first.append_ledger(event).await.unwrap();
    }
    let month = first.month_ledger("nih", SINCE, NOW, ebs).await.unwrap();
    assert_eq!(month.checkpoint.at, datetime!(2026-03-01 00:00 UTC));
    assert_eq!(march_from(&month), march_from_the_whole(&events));

    // Drop every ledger entry the checkpoint was made from: a worker that still reports the
    // same cannot have read them.
    let stored: String = redis::AsyncCommands::get(&mut redis, "cws:ledger-checkpoint:nih")
        .await
        .unwrap();
    let through = serde_json::from_str::<serde_json::Value>(&stored).unwrap()["through"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ms, seq) = through.split_once('-').unwrap();
    let after = format!("{ms}-{}", seq.parse::<u64>().unwrap() + 1);
    let trimmed: u64 = redis::cmd("XTRIM")
        .arg("cws:ledger:nih")
        .arg("MINID")
        .arg(&after)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(trimmed as usize, events.len());

    let late_event = event(NOW - time::Duration::hours(1), LedgerEventKind::Stopped);
    first.append_ledger(&late_event).await.unwrap();
    let all: Vec<LedgerEvent> = events.iter().cloned().chain([late_event]).collect();
    let second = State::new(Arc::new(RedisRecords::new(redis.clone())), None);
    let month = second.month_ledger("nih", SINCE, NOW, ebs).await.unwrap();
    assert_eq!(march_from(&month), march_from_the_whole(&all));
    assert!(month.events.len() < events.len());
}

#[tokio::test]
async fn an_entry_dated_in_a_closed_month_changes_every_workers_rollover() {
    let (first, redis) = redis_state(63).await;
    let mut events = three_months();
    for event in &events {
        first.append_ledger(event).await.unwrap();
    }
    let before = march_from(&first.month_ledger("nih", SINCE, NOW, ebs).await.unwrap());

    // Reconcile finds the workspace was stopped from the console on February 2nd, for good.
    let stopped = event(datetime!(2026-02-02 00:00 UTC), LedgerEventKind::Stopped);
    let other = State::new(Arc::new(RedisRecords::new(redis.clone())), None);
    other.append_ledger(&stopped).await.unwrap();
    events.push(stopped);
    let expected = march_from_the_whole(&events);
    assert_ne!(expected.rollover, before.rollover, "the late entry matters");

    // The worker holding March in memory, and a new one finding the stored checkpoint.
    let cached = march_from(&first.month_ledger("nih", SINCE, NOW, ebs).await.unwrap());
    let fresh = State::new(Arc::new(RedisRecords::new(redis)), None);
    let stored = march_from(&fresh.month_ledger("nih", SINCE, NOW, ebs).await.unwrap());
    assert_eq!(cached, expected);
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn the_checkpoint_moves_to_each_new_month_and_never_back() {
    let (state, mut redis) = redis_state(115).await;
    for event in three_months() {
        state.append_ledger(&event).await.unwrap();
    }
    let april = datetime!(2026-04-02 08:00 UTC);
    let month = state.month_ledger("nih", SINCE, april, ebs).await.unwrap();
    assert_eq!(month.checkpoint.at, datetime!(2026-04-01 00:00 UTC));
    assert_eq!(month.checkpoint.closed.len(), 3);

    // A worker whose clock is still in March uses March, and leaves April's stored.
    let behind = State::new(Arc::new(RedisRecords::new(redis.clone())), None);
    let march = behind.month_ledger("nih", SINCE, NOW, ebs).await.unwrap();
    assert_eq!(march.checkpoint.at, datetime!(2026-03-01 00:00 UTC));
    let stored: String = redis::AsyncCommands::get(&mut redis, "cws:ledger-checkpoint:nih")
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["checkpoint"]["at"], "2026-04-01T00:00:00Z");
}
