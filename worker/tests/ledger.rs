//! The state layer's ledger: a worker reads a project's ledger once, then only what is new.

use std::sync::Arc;

use domain::ledger::{LedgerEvent, LedgerEventKind};
use time::OffsetDateTime;
use time::macros::datetime;
use worker::adapters::memory_records::MemoryRecords;
use worker::state::State;

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

#[tokio::test]
async fn closed_months_are_computed_once_until_an_event_lands_in_them() {
    let state = State::new(Arc::new(MemoryRecords::default()), None);
    let january = (
        datetime!(2026-01-01 00:00 UTC),
        datetime!(2026-02-01 00:00 UTC),
    );
    let february = (
        datetime!(2026-02-01 00:00 UTC),
        datetime!(2026-03-01 00:00 UTC),
    );
    let computed = std::cell::RefCell::new(Vec::new());
    let total = |missing: &[(OffsetDateTime, OffsetDateTime)]| {
        computed.borrow_mut().extend_from_slice(missing);
        missing
            .iter()
            .map(|_| domain::pricing::Money::from_cents(100))
            .collect()
    };

    state.ledger("nih").await.unwrap();
    state.closed_month_totals("nih", &[january, february], total);
    state.closed_month_totals("nih", &[january, february], total);
    assert_eq!(*computed.borrow(), [january, february], "computed once");

    // A late event dated in February changes February (and later months), not January.
    state
        .append_ledger(&event(
            datetime!(2026-02-10 00:00 UTC),
            LedgerEventKind::Launched,
        ))
        .await
        .unwrap();
    state.ledger("nih").await.unwrap();
    state.closed_month_totals("nih", &[january, february], total);
    assert_eq!(*computed.borrow(), [january, february, february]);
}
