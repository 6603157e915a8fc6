//! Bounded state: what anyone can send without a signature leaves nothing behind, and the
//! unsigned routes are limited per client address.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::harness::{SMITH, Slash, TestEnv};

/// Requests in flight at once: a busy client, on loopback.
const IN_FLIGHT: usize = 64;

/// What the bot answered to `count` callbacks with made-up states, by status; `forwarded`
/// gives the `X-Forwarded-For` of request `n`, if any.
async fn made_up_callbacks(
    env: &TestEnv,
    count: usize,
    forwarded: impl Fn(usize) -> Option<String>,
) -> Statuses {
    let client = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let statuses = Arc::new(Statuses::default());
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..count {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let state = uuid::Uuid::new_v4().simple().to_string();
        let mut request = client.get(format!(
            "{}/oauth/globus/callback?code=c0de&state={state}",
            env.bot_url
        ));
        if let Some(address) = forwarded(n) {
            request = request.header("x-forwarded-for", address);
        }
        let statuses = statuses.clone();
        requests.spawn(async move {
            let response = request.send().await.expect("the bot answers");
            statuses.count(&response);
            drop(permit);
        });
    }
    while let Some(done) = requests.join_next().await {
        done.unwrap();
    }
    Arc::into_inner(statuses).unwrap()
}

#[derive(Default)]
struct Statuses {
    unknown: AtomicUsize,
    limited: AtomicUsize,
    other: AtomicUsize,
}

impl Statuses {
    fn count(&self, response: &reqwest::Response) {
        let counter = match response.status().as_u16() {
            404 => &self.unknown,
            429 => {
                let wait: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "Retry-After: {wait}");
                &self.limited
            }
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    fn get(&self) -> (usize, usize, usize) {
        (
            self.unknown.load(Ordering::SeqCst),
            self.limited.load(Ordering::SeqCst),
            self.other.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_made_up_callbacks_store_and_queue_nothing() {
    // A limit no client reaches here: what keeps Redis clean is the refusal of unknown states.
    let env = TestEnv::start_with_bot("bounded-callbacks", 81, |bot| {
        bot.with_rate_limit(bot::RateLimit {
            per_minute: 1_000_000,
            trusted_proxies: 0,
        })
    })
    .await;
    let keys = env.key_count().await;
    let statuses = made_up_callbacks(&env, 10_000, |_| None).await;
    assert_eq!(statuses.get(), (10_000, 0, 0), "(unknown, limited, other)");
    assert_eq!(env.key_count().await, keys);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_unsigned_routes_are_limited_per_client_address() {
    let env = TestEnv::start_with_bot("bounded-rate-limit", 82, |bot| {
        bot.with_rate_limit(bot::RateLimit {
            per_minute: 30,
            trusted_proxies: 1,
        })
    })
    .await;
    let keys = env.key_count().await;
    let started = Instant::now();

    // One client behind the proxy: its first 30 are answered, the rest wait.
    let one = made_up_callbacks(&env, 5_000, |_| Some("198.51.100.1".to_owned())).await;
    let (unknown, limited, other) = one.get();
    let refilled = (started.elapsed().as_secs_f64() / 2.0).ceil() as usize;
    assert!(
        (30..=30 + refilled).contains(&unknown),
        "{unknown} answered in {:?}",
        started.elapsed()
    );
    assert_eq!((unknown + limited, other), (5_000, 0));

    // A header the client wrote itself does not make it someone else: the proxy's entry counts,
    // so only what the client's bucket refilled meanwhile (one every 2 s) is answered.
    let spoofed =
        made_up_callbacks(&env, 60, |_| Some("203.0.113.7, 198.51.100.1".to_owned())).await;
    let refilled = (started.elapsed().as_secs_f64() / 2.0).ceil() as usize;
    assert!(
        unknown + spoofed.get().0 <= 30 + refilled,
        "{} spoofed answered, {refilled} refilled",
        spoofed.get().0
    );

    // 5,000 other clients each still get their answer.
    let many = made_up_callbacks(&env, 5_000, |n| {
        Some(format!("10.{}.{}.{}", n / 65_536, n / 256 % 256, n % 256))
    })
    .await;
    assert_eq!(many.get(), (5_000, 0, 0));

    // The sign-in page is limited with the callback: a fresh client spends its 30 and 15 more
    // (which absorb half a minute of refill on a busy machine), then opens the page.
    made_up_callbacks(&env, 45, |_| Some("198.51.100.9".to_owned())).await;
    let page = reqwest::Client::new()
        .get(format!("{}/oauth/globus/start?state=x", env.bot_url))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert_eq!(env.key_count().await, keys, "nothing stored or queued");
    env.finish();
}

/// The limit stays off the signed routes: Slack's servers are one client for every member.
#[tokio::test(flavor = "multi_thread")]
async fn the_signed_routes_are_not_limited() {
    let env = TestEnv::start_with_bot("bounded-signed", 83, |bot| {
        bot.with_rate_limit(bot::RateLimit {
            per_minute: 1,
            trusted_proxies: 0,
        })
    })
    .await;
    for _ in 0..3 {
        let answer = env.slash(&crate::harness::Slash::new("help")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let healthz = reqwest::get(format!("{}/healthz", env.bot_url))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
    env.finish();
}

/// Every key of the test's database, sorted.
async fn all_keys(env: &TestEnv) -> Vec<String> {
    let mut redis = env.redis.clone();
    let mut keys: Vec<String> = redis::AsyncCommands::keys(&mut redis, "*").await.unwrap();
    keys.sort();
    keys
}

/// What is kept per job: its payload and metadata in the queue, its idempotency key, the
/// worker's "finished" and notice markers.
fn per_job(key: &str) -> bool {
    key.contains(":meta:")
        || key.contains(":idempotency:")
        || key.starts_with("cws:job-finished:")
        || key.ends_with(":notices")
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_jobs_are_forgotten_after_the_retention_period() {
    let mut env = TestEnv::start("bounded-retention", 85).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    for _ in 0..3 {
        env.slash(&Slash::new("profiles list").by(SMITH)).await;
        env.reply_containing("Profiles:").await;
    }
    env.slash(&Slash::new("launch \"Python Machine Learning\" kept-box --size S").by(SMITH))
        .await;
    env.slack
        .expect("the launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("kept-box")
        })
        .await;
    env.wait_for_done_jobs("command", 4).await;
    env.wait_for_done_jobs("launch", 1).await;
    let before = all_keys(&env).await;
    let jobs = before.iter().filter(|key| key.contains(":meta:")).count();
    assert_eq!(jobs, 5, "{before:#?}");
    assert!(
        before.iter().any(|key| key.ends_with(":notices")),
        "{before:#?}"
    );

    // Within the retention period (7 days) nothing goes.
    let kept = env
        .run_once("retention", &[("CWS_CLOCK_OFFSET", "+6d")])
        .await;
    assert!(kept.contains("retention: 0 finished job(s)"), "{kept}");
    assert_eq!(all_keys(&env).await, before);

    let swept = env
        .run_once("retention", &[("CWS_CLOCK_OFFSET", "+8d")])
        .await;
    assert!(swept.contains("retention: 5 finished job(s)"), "{swept}");
    let after = all_keys(&env).await;
    let left: Vec<&String> = after.iter().filter(|key| per_job(key)).collect();
    assert!(left.is_empty(), "{left:#?}");
    let mut redis = env.redis.clone();
    for queue in ["command", "launch"] {
        let data: usize = redis::AsyncCommands::hlen(&mut redis, format!("cws:queue:{queue}:data"))
            .await
            .unwrap();
        let done: usize =
            redis::AsyncCommands::scard(&mut redis, format!("cws:queue:{queue}:done"))
                .await
                .unwrap();
        assert_eq!((data, done), (0, 0), "{queue}");
    }
    // What must last is all still there.
    for lasting in [
        "cws:project:nih-neuro-consortium",
        "cws:ledger:nih-neuro-consortium",
        "cws:audit:nih-neuro-consortium",
        "cws:workspace:kept-box",
        "cws:profile:slack:T0CONSORTIUM:U0SMITH:nih-neuro-consortium",
    ] {
        assert!(
            after.iter().any(|key| key == lasting),
            "{lasting} kept: {after:#?}"
        );
    }
    // Only the per-job keys went, and the queues' containers they emptied.
    let emptied = |key: &str| {
        key.starts_with("cws:queue:")
            && [":data", ":done", ":finished"]
                .iter()
                .any(|container| key.ends_with(container))
    };
    let forgotten: Vec<&String> = before.iter().filter(|key| !after.contains(key)).collect();
    assert!(
        forgotten.iter().all(|key| per_job(key) || emptied(key)),
        "{forgotten:#?}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_key_that_cannot_be_delivered_is_deleted_and_its_owner_told() {
    let mut env = TestEnv::start("bounded-undelivered-key", 86).await;
    env.start_worker();
    env.slack.refuse_dms_to(SMITH.user_id);
    env.slash(&Slash::new("project create nih-neuro-consortium --budget 5000").by(SMITH))
        .await;
    let created = env.reply_containing("created").await;
    assert!(
        created.text().contains(
            "Your SSH private key could not be sent to you by direct message (user_not_visible), so it was deleted rather than kept"
        ),
        "{}",
        created.text()
    );
    let keys = all_keys(&env).await;
    assert!(
        !keys.iter().any(|key| key.ends_with(":pending-key")),
        "{keys:#?}"
    );
    assert!(
        env.slack
            .all()
            .iter()
            .all(|p| p.method != "chat.postMessage")
    );
    env.finish();
}
