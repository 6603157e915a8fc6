//! One contract for the `Records` port, run against Redis and against the in-memory stand-in,
//! so the embedded mode behaves like production.

use std::sync::Arc;

use domain::ports::{LogEntry, Records};
use serde_json::json;
use tokio::sync::Barrier;
use worker::adapters::memory_records::MemoryRecords;
use worker::adapters::redis_records::RedisRecords;

/// Tasks racing on one counter: enough that a lost update would show.
const RACERS: u64 = 20;

#[tokio::test(flavor = "multi_thread")]
async fn memory_records_keep_the_contract() {
    contract(Arc::new(MemoryRecords::default())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_records_keep_the_contract() {
    let base =
        std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(format!("{base}/60")).expect("redis url");
    let mut connection = client
        .get_connection_manager()
        .await
        .expect("Redis is running with 128 databases (see scripts/test)");
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection)
        .await
        .expect("flushdb");
    contract(Arc::new(RedisRecords::new(connection.clone()))).await;
    // Only Redis forgets by itself: the pending key's hour is a real expiry there.
    let ttl: i64 = redis::AsyncCommands::ttl(&mut connection, "cws:t:new-once")
        .await
        .unwrap();
    assert!((1..=3600).contains(&ttl), "TTL {ttl}");
}

async fn contract(records: Arc<dyn Records>) {
    swap_writes_an_absent_key_only_when_absent_was_expected(&*records).await;
    swap_writes_only_over_the_expected_value(&*records).await;
    racing_swap_loops_lose_no_update(records.clone()).await;
    increment_counts_from_zero(&*records).await;
    members_are_sorted_and_removable(&*records).await;
    get_many_answers_in_order_with_absent_keys(&*records).await;
    entries_come_back_oldest_first(&*records).await;
    a_long_log_comes_back_whole(&*records).await;
    delete_removes_records_sets_and_logs(&*records).await;
    take_hands_a_record_to_one_racer_only(records.clone()).await;
    create_expiring_writes_only_an_absent_key(&*records).await;
}

async fn create_expiring_writes_only_an_absent_key(records: &dyn Records) {
    let hour = std::time::Duration::from_secs(3600);
    assert!(
        records
            .create_expiring("cws:t:new-once", "first", hour)
            .await
            .unwrap()
    );
    assert!(
        !records
            .create_expiring("cws:t:new-once", "second", hour)
            .await
            .unwrap()
    );
    assert_eq!(
        records.get("cws:t:new-once").await.unwrap().as_deref(),
        Some("first")
    );
}

async fn take_hands_a_record_to_one_racer_only(records: Arc<dyn Records>) {
    records
        .put_expiring("cws:t:once", "secret", std::time::Duration::from_secs(600))
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(RACERS as usize));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let records = records.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                records.take("cws:t:once").await.unwrap()
            })
        })
        .collect();
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.unwrap());
    }
    assert_eq!(taken, ["secret"]);
    assert_eq!(records.get("cws:t:once").await.unwrap(), None);
}

async fn swap_writes_an_absent_key_only_when_absent_was_expected(records: &dyn Records) {
    assert!(
        !records.swap("cws:t:absent", Some(""), "v1").await.unwrap(),
        "an empty expected value is not the same as an absent key"
    );
    assert_eq!(records.get("cws:t:absent").await.unwrap(), None);
    assert!(records.swap("cws:t:absent", None, "v1").await.unwrap());
    assert_eq!(
        records.get("cws:t:absent").await.unwrap().as_deref(),
        Some("v1")
    );
    assert!(
        !records.swap("cws:t:absent", None, "v2").await.unwrap(),
        "the key exists now"
    );
    assert_eq!(
        records.get("cws:t:absent").await.unwrap().as_deref(),
        Some("v1")
    );
}

async fn swap_writes_only_over_the_expected_value(records: &dyn Records) {
    records.put("cws:t:swap", "old").await.unwrap();
    assert!(
        !records
            .swap("cws:t:swap", Some("stale"), "lost")
            .await
            .unwrap()
    );
    assert_eq!(
        records.get("cws:t:swap").await.unwrap().as_deref(),
        Some("old")
    );
    assert!(
        records
            .swap("cws:t:swap", Some("old"), "new")
            .await
            .unwrap()
    );
    assert_eq!(
        records.get("cws:t:swap").await.unwrap().as_deref(),
        Some("new")
    );
}

/// Each task reads a JSON counter, adds one and swaps it in, retrying when another task got
/// there first: the way handlers modify records.
async fn racing_swap_loops_lose_no_update(records: Arc<dyn Records>) {
    let start = Arc::new(Barrier::new(RACERS as usize));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let records = records.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                loop {
                    let current = records.get("cws:t:race").await.unwrap();
                    let count = current.as_deref().map_or(0, |json| {
                        serde_json::from_str::<serde_json::Value>(json).unwrap()["count"]
                            .as_u64()
                            .unwrap()
                    });
                    let next = json!({ "count": count + 1 }).to_string();
                    if records
                        .swap("cws:t:race", current.as_deref(), &next)
                        .await
                        .unwrap()
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap();
    }
    assert_eq!(
        records.get("cws:t:race").await.unwrap(),
        Some(json!({ "count": RACERS }).to_string())
    );
}

async fn increment_counts_from_zero(records: &dyn Records) {
    assert_eq!(records.increment("cws:t:counter").await.unwrap(), 1);
    assert_eq!(records.increment("cws:t:counter").await.unwrap(), 2);
    assert_eq!(
        records.get("cws:t:counter").await.unwrap().as_deref(),
        Some("2"),
        "a counter is readable as a record"
    );
}

async fn members_are_sorted_and_removable(records: &dyn Records) {
    assert!(records.members("cws:t:set").await.unwrap().is_empty());
    for member in ["mit", "berklee", "harvard", "berklee"] {
        records.add_member("cws:t:set", member).await.unwrap();
    }
    assert_eq!(
        records.members("cws:t:set").await.unwrap(),
        ["berklee", "harvard", "mit"]
    );
    records.remove_member("cws:t:set", "harvard").await.unwrap();
    records.remove_member("cws:t:set", "absent").await.unwrap();
    assert_eq!(
        records.members("cws:t:set").await.unwrap(),
        ["berklee", "mit"]
    );
}

async fn get_many_answers_in_order_with_absent_keys(records: &dyn Records) {
    records.put("cws:t:many:a", "A").await.unwrap();
    records.put("cws:t:many:c", "C").await.unwrap();
    let keys = ["cws:t:many:a", "cws:t:many:b", "cws:t:many:c"].map(str::to_owned);
    assert_eq!(
        records.get_many(&keys).await.unwrap(),
        [Some("A".to_owned()), None, Some("C".to_owned())]
    );
    assert_eq!(
        records.get_many(&keys[1..2]).await.unwrap(),
        [None],
        "one key still answers a list"
    );
    assert!(records.get_many(&[]).await.unwrap().is_empty());
}

async fn entries_come_back_oldest_first(records: &dyn Records) {
    let texts =
        |entries: Vec<LogEntry>| -> Vec<String> { entries.into_iter().map(|e| e.entry).collect() };
    assert!(
        records
            .entries_after("cws:t:log", None)
            .await
            .unwrap()
            .is_empty()
    );
    for entry in ["first", "second", "third"] {
        records.append("cws:t:log", entry).await.unwrap();
    }
    let all = records.entries_after("cws:t:log", None).await.unwrap();
    assert_eq!(texts(all.clone()), ["first", "second", "third"]);
    // A reader that has the first entry asks for what came after it, and gets only that.
    let newer = records
        .entries_after("cws:t:log", Some(&all[0].id))
        .await
        .unwrap();
    assert_eq!(texts(newer), ["second", "third"]);
    let none = records
        .entries_after("cws:t:log", Some(&all[2].id))
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// Longer than a page of the Redis adapter (2,000): all of it, in order, from any entry on.
async fn a_long_log_comes_back_whole(records: &dyn Records) {
    for n in 0..4_500 {
        records
            .append("cws:t:long-log", &n.to_string())
            .await
            .unwrap();
    }
    let all = records.entries_after("cws:t:long-log", None).await.unwrap();
    let numbers: Vec<usize> = all.iter().map(|e| e.entry.parse().unwrap()).collect();
    assert_eq!(numbers, (0..4_500).collect::<Vec<_>>());
    let after = records
        .entries_after("cws:t:long-log", Some(&all[1_999].id))
        .await
        .unwrap();
    assert_eq!(after.len(), 2_500);
    assert_eq!(after[0].entry, "2000");
}

async fn delete_removes_records_sets_and_logs(records: &dyn Records) {
    records.put("cws:t:gone", "value").await.unwrap();
    records
        .add_member("cws:t:gone-set", "member")
        .await
        .unwrap();
    records.append("cws:t:gone-log", "entry").await.unwrap();
    for key in [
        "cws:t:gone",
        "cws:t:gone-set",
        "cws:t:gone-log",
        "cws:t:never",
    ] {
        records.delete(key).await.unwrap();
    }
    assert_eq!(records.get("cws:t:gone").await.unwrap(), None);
    assert!(records.members("cws:t:gone-set").await.unwrap().is_empty());
    assert!(
        records
            .entries_after("cws:t:gone-log", None)
            .await
            .unwrap()
            .is_empty()
    );
}
