//! The audit chain when writers race: two worker processes (two `State`s over one Redis), each
//! with many writers, append to one project's chain at once. Each process remembers the head it
//! last wrote so it need not read it back; the other process moving the head meanwhile must
//! cost a retry, never a fork, a lost event or a broken chain.

use std::sync::Arc;

use domain::audit::chain::verify;
use domain::audit::{AuditAction, AuditEvent};
use domain::identity::ChatIdentity;
use time::macros::datetime;
use worker::adapters::redis_records::RedisRecords;
use worker::state::State;

fn event(writer: usize, n: usize) -> AuditEvent {
    AuditEvent {
        action: AuditAction::Command,
        who: ChatIdentity::slack("T1", &format!("U{writer}")),
        institution: "mit-csail".into(),
        resource: format!("event-{writer}-{n}"),
        outcome: "ran".into(),
        detail: None,
        at: datetime!(2026-12-04 12:00 UTC),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_writing_one_chain_at_once_keep_it_whole() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(format!("{base}/91")).expect("redis url");
    let mut connection = client
        .get_connection_manager()
        .await
        .expect("Redis is running with 128 databases (see scripts/test)");
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection)
        .await
        .expect("flushdb");
    let processes = [
        State::new(Arc::new(RedisRecords::new(connection.clone())), None),
        State::new(Arc::new(RedisRecords::new(connection.clone())), None),
    ];
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let state = processes[writer % 2].clone();
        writers.push(tokio::spawn(async move {
            for n in 0..EACH {
                state.audit("nih", &event(writer, n)).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let (links, head) = processes[0].audit_chain("nih").await.unwrap();
    assert_eq!(links.len(), WRITERS * EACH);
    assert_eq!(
        verify(&links, head.as_ref()),
        Ok((WRITERS * EACH) as u64),
        "every link follows the one before it, and the head is the last"
    );
    let mut written: Vec<String> = processes[1]
        .audit_events("nih")
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.resource)
        .collect();
    written.sort();
    written.dedup();
    assert_eq!(
        written.len(),
        WRITERS * EACH,
        "no event lost or written twice"
    );
}
