//! How long `/cws project cost` takes on a consortium's 18-month ledger (DESIGN: "the 18-month
//! consortium cost report (≈ 50,000 ledger events) < 100 ms"), for every command: the month's
//! first anywhere (which brings the whole ledger to a checkpoint in Redis), a worker's first
//! (the checkpoint and the entries after it), and a worker's later ones (what was appended
//! since), each through the real state layer, then `domain::ledger::cost_report`. Prints
//! figures; checks only that the report equals a report per month over the whole ledger.
//!
//!     cargo bench -p cws-worker --bench cost_report   (Redis at CWS_BENCH_REDIS, else
//!                                                      CWS_TEST_REDIS, else
//!                                                      redis://127.0.0.1:6390; database 76, its own)

use std::sync::Arc;
use std::time::{Duration as Elapsed, Instant};

use domain::budget::month_bounds;
use domain::ledger::{LedgerEvent, LedgerEventKind, cost_report};
use domain::ports::Records;
use domain::pricing::{Money, PricingTable};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use worker::adapters::redis_records::RedisRecords;
use worker::state::{MonthLedger, State};

const PROJECT: &str = "nih-neuro-consortium";
/// The project began on the first of month 1; `NOW` is in month 18.
const SINCE: OffsetDateTime = datetime!(2025-06-01 00:00 UTC);
const NOW: OffsetDateTime = datetime!(2026-11-20 15:00 UTC);
const WORKSPACES: usize = 850;
const MIN_EVENTS: usize = 50_000;
const WARM_UPS: usize = 2;
const RUNS: usize = 20;
/// Appends in flight at once while storing the ledger.
const IN_FLIGHT: usize = 64;

const USERS: [(&str, &str); 10] = [
    ("smith", "Stanford"),
    ("garcia", "Stanford"),
    ("chen", "Stanford"),
    ("johnson", "MIT"),
    ("patel", "MIT"),
    ("nguyen", "MIT"),
    ("kim", "MIT"),
    ("lee", "Berkeley"),
    ("brown", "Berkeley"),
    ("wilson", "Berkeley"),
];

/// Instance type, hourly rate, and how many in 20 workspaces use it.
const TYPES: [(&str, &str, u64); 5] = [
    ("t3.medium", "0.0416", 6),
    ("t3.large", "0.0832", 6),
    ("r5.xlarge", "0.252", 4),
    ("g4dn.xlarge", "0.526", 3),
    ("p3.2xlarge", "3.06", 1),
];

const PURPOSES: [&str; 6] = [
    "analysis",
    "pipeline",
    "viz",
    "algorithm-dev",
    "validation",
    "test",
];

/// xorshift64*: fixed seed, so every run builds the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[low, high]`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One workspace's lifetime: launched somewhere in the 18 months, then cycles of running and
/// stopping (now and then hibernating), and perhaps terminated.
fn workspace_history(rng: &mut Rng, n: usize) -> Vec<LedgerEvent> {
    let (user, institution) = USERS[rng.between(0, USERS.len() as i64 - 1) as usize];
    let mut pick = rng.between(0, 19) as u64;
    let (instance_type, hourly, _) = *TYPES
        .iter()
        .find(|(_, _, share)| {
            let here = pick < *share;
            pick = pick.saturating_sub(*share);
            here
        })
        .expect("the shares add up to 20");
    let region = if rng.chance(80) {
        "us-east-1"
    } else {
        "us-west-2"
    };
    let purpose = PURPOSES[rng.between(0, PURPOSES.len() as i64 - 1) as usize];
    let storage_gb = [20, 50, 100, 250, 500][rng.between(0, 4) as usize];
    let template = |at: OffsetDateTime, kind: LedgerEventKind| LedgerEvent {
        at,
        kind,
        workspace: format!("{}-{purpose}-{n}", institution.to_lowercase()),
        instance_id: format!("i-{:017x}", 0x0c0f_fee0_0000_u64 + n as u64),
        instance_type: instance_type.to_owned(),
        region: region.to_owned(),
        hourly: hourly.parse().expect("a rate"),
        storage_gb,
        project: PROJECT.to_owned(),
        user: user.to_owned(),
        institution: institution.to_owned(),
        storage_rate: None,
    };

    let span = (NOW - SINCE).whole_minutes();
    // Launches lean towards the project's first months so that most workspaces live long.
    let launched = SINCE + Duration::minutes(rng.between(0, span) * rng.between(1, 3) / 4);
    let terminated = rng.chance(30).then(|| {
        launched
            + Duration::minutes(rng.between(
                (NOW - launched).whole_minutes() / 4,
                (NOW - launched).whole_minutes(),
            ))
    });
    let end = terminated.unwrap_or(NOW);
    let cycles = rng.between(12, 50);
    let cycle = (end - launched).whole_minutes() / cycles;

    let mut events = vec![template(launched, LedgerEventKind::Launched)];
    let mut at = launched;
    for _ in 0..cycles - 1 {
        let length = cycle * rng.between(50, 150) / 100;
        let paused = at + Duration::minutes(length * rng.between(10, 60) / 100);
        let resumed = at + Duration::minutes(length);
        if resumed >= end {
            break;
        }
        let pause = if rng.chance(15) {
            LedgerEventKind::Hibernated
        } else {
            LedgerEventKind::Stopped
        };
        events.push(template(paused, pause));
        events.push(template(resumed, LedgerEventKind::Resumed));
        at = resumed;
    }
    match terminated {
        Some(end) => events.push(template(end, LedgerEventKind::Terminated)),
        // Workspaces that live on are left stopped now and then, not always running.
        None if rng.chance(60) => {
            let stopped = at + (NOW - at) / 2;
            events.push(template(stopped, LedgerEventKind::Stopped));
        }
        None => {}
    }
    events
}

fn history() -> Vec<LedgerEvent> {
    let mut rng = Rng(0x5EED_C0DE_2025_0601);
    let mut events: Vec<LedgerEvent> = (0..WORKSPACES)
        .flat_map(|n| workspace_history(&mut rng, n))
        .collect();
    // The ledger is appended as things happen.
    events.sort_by_key(|event| event.at);
    assert!(
        events.len() >= MIN_EVENTS,
        "only {} events: tune the history",
        events.len()
    );
    events
}

fn redis_url() -> String {
    let url = std::env::var("CWS_BENCH_REDIS")
        .or_else(|_| std::env::var("CWS_TEST_REDIS"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6390".to_owned());
    // The other benchmarks' CWS_BENCH_REDIS names a database; this one always uses 76, so it never wipes theirs.
    let url = url.trim_end_matches('/');
    let server = match url.rsplit_once('/') {
        Some((server, db)) if !db.is_empty() && db.bytes().all(|b| b.is_ascii_digit()) => server,
        _ => url,
    };
    format!("{server}/76")
}

/// p50, p95 and max of the samples, nearest rank.
fn summary(samples: &mut [Elapsed]) -> String {
    samples.sort();
    let rank = |percent: usize| samples[(samples.len() * percent).div_ceil(100) - 1];
    let ms = |elapsed: Elapsed| elapsed.as_secs_f64() * 1_000.0;
    format!(
        "p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(rank(50)),
        ms(rank(95)),
        ms(rank(100))
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut connection = redis::Client::open(redis_url())?
        .get_connection_manager()
        .await?;
    redis::cmd("FLUSHDB").exec_async(&mut connection).await?;
    let records: Arc<RedisRecords> = Arc::new(RedisRecords::new(connection));
    let state = State::new(records.clone(), None);

    let events = history();
    let started = Instant::now();
    for batch in events.chunks(IN_FLIGHT) {
        for appended in
            futures::future::join_all(batch.iter().map(|e| state.append_ledger(e))).await
        {
            appended?;
        }
    }
    println!(
        "stored {} ledger events in {:.1?} ({IN_FLIGHT} appends in flight)",
        events.len(),
        started.elapsed()
    );

    let pricing = PricingTable::builtin();
    let storage = |region: &str| pricing.ebs_gb_month(region).unwrap_or_default();
    let budget: Money = "25000".parse()?;
    // As `/cws project cost` does: the month in progress counts up to now.
    let this_month = (month_bounds(NOW).0, NOW);
    let months = {
        let mut months = vec![month_bounds(SINCE)];
        while months.last().expect("one month").1 <= NOW {
            let next = month_bounds(months.last().expect("one month").1);
            months.push(next);
        }
        *months.last_mut().expect("one month") = this_month;
        months
    };
    // What `/cws project cost` computes for the month in progress: the month's ledger (from
    // this process's copy, else the stored checkpoint and the entries after it, else the whole
    // ledger), then the report with the checkpoint's rollover.
    let command = |month: &MonthLedger| {
        cost_report(
            &month.events,
            this_month,
            budget,
            month.checkpoint.rollover(this_month.0, budget),
            storage,
        )
    };
    // The same figures, a full report per month over the whole ledger, to check the checkpoint.
    let month_by_month = |events: &[LedgerEvent]| {
        let mut rollover = Money::ZERO;
        let mut report = None;
        for &month in &months {
            let this = cost_report(events, month, budget, rollover, storage);
            rollover = Money::from_micros(rollover.micros() + this.available.micros().max(0));
            report = Some(this);
        }
        report.expect("18 months")
    };
    assert_eq!(
        command(
            &State::new(records.clone(), None)
                .month_ledger(PROJECT, SINCE, NOW, storage)
                .await?
        ),
        month_by_month(&events)
    );

    let (mut making, mut cold, mut warm) = (vec![], vec![], vec![]);
    let mut last = None;
    for run in 0..WARM_UPS + RUNS {
        // The month's first command anywhere: no checkpoint yet, the whole ledger is read.
        records
            .delete(&format!("cws:ledger-checkpoint:{PROJECT}"))
            .await?;
        let first_ever = State::new(records.clone(), None);
        let started = Instant::now();
        command(
            &first_ever
                .month_ledger(PROJECT, SINCE, NOW, storage)
                .await?,
        );
        let making_took = started.elapsed();
        // A worker that has not read this project yet: the checkpoint and the entries after it.
        let fresh = State::new(records.clone(), None);
        let started = Instant::now();
        command(&fresh.month_ledger(PROJECT, SINCE, NOW, storage).await?);
        let cold_took = started.elapsed();
        // The same worker on the next command: only what was appended since.
        let started = Instant::now();
        let this = command(&fresh.month_ledger(PROJECT, SINCE, NOW, storage).await?);
        let warm_took = started.elapsed();
        if run >= WARM_UPS {
            making.push(making_took);
            cold.push(cold_took);
            warm.push(warm_took);
        }
        last = Some(this);
    }
    let last = last.expect("runs");
    let workspaces = events
        .iter()
        .map(|event| event.workspace.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();

    println!(
        "/cws project cost over {} events ({workspaces} workspaces, {} months), {RUNS} runs \
         (target < 100 ms):",
        group(events.len()),
        months.len(),
    );
    println!(
        "  the month's first read anywhere (makes the checkpoint; the first scheduled check of the month does it before anyone asks): {}",
        summary(&mut making)
    );
    println!("  a worker's first command:  {}", summary(&mut cold));
    println!("  every later command:       {}", summary(&mut warm));
    println!(
        "month {} so far: {} workspaces existed, total {}, compute {} h, rollover {}",
        &this_month.0.date().to_string()[..7],
        last.by_user.iter().map(|u| u.instances).sum::<usize>(),
        last.total,
        group(last.compute_hours as usize),
        last.rollover,
    );
    Ok(())
}

/// `51234` as `51,234`.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
