//! Ack latency and throughput of the bot: unique, correctly signed `/cws launch` commands against
//! the real router, each one verified, parsed, checked against the catalog and queued in Redis.
//!
//!     cargo bench -p cws-bot --bench ack_latency            (Redis at CWS_BENCH_REDIS,
//!                                                            default redis://127.0.0.1:6390/72)
//!
//! Prints p50/p99/max of 1,000 sequential commands, throughput at 64 in flight, and p99 at a
//! fixed 1,000 requests/s. The load generator shares the machine's cores with the bot.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use domain::slack_signature;
use futures::StreamExt;

const SECRET: &str = "bench-signing-secret";
static NEXT: AtomicU64 = AtomicU64::new(0);

fn signed_request(client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let body = format!(
        "team_id=T0BENCH&team_domain=bench&channel_id=C0BENCH&user_id=U0BENCH&user_name=bench&command=%2Fcws&text=launch+%22Python+Machine+Learning%22+box-{n}+--size+M&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=bench.{n}"
    );
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let signature = slack_signature::sign(SECRET.as_bytes(), &timestamp, body.as_bytes());
    client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature)
        .body(body)
}

async fn timed(client: &reqwest::Client, url: &str) -> Duration {
    let started = Instant::now();
    let response = signed_request(client, url)
        .send()
        .await
        .expect("bot answers");
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.bytes().await.unwrap();
    assert!(
        body.windows(9).any(|w| w == b"Launching"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label}: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let redis_url =
        std::env::var("CWS_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6390/72".to_owned());
    let connection = apalis_redis::connect(redis_url.as_str())
        .await
        .expect("Redis for the benchmark");
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection.clone())
        .await
        .unwrap();
    let bot = bot::Bot::new(
        SECRET,
        Arc::new(queue::RedisJobQueue::new(connection.clone())),
        Arc::new(queue::RedisSignIns::new(connection.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack/commands", listener.local_addr().unwrap());
    tokio::spawn(bot::serve(listener, bot));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    for _ in 0..200 {
        timed(&client, &url).await;
    }
    let mut sequential = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        sequential.push(timed(&client, &url).await);
    }
    report("sequential, 1,000 signed commands", sequential);

    let total = 20_000;
    let started = Instant::now();
    let samples: Vec<Duration> = futures::stream::iter(0..total)
        .map(|_| timed(&client, &url))
        .buffer_unordered(64)
        .collect()
        .await;
    let elapsed = started.elapsed();
    println!(
        "throughput, 64 in flight: {:.0} signed commands/s ({total} in {elapsed:.2?})",
        total as f64 / elapsed.as_secs_f64()
    );
    report("latency under that load", samples);

    let rate = 1_000u64;
    let seconds = 5;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut fixed = Vec::new();
    for _ in 0..rate * seconds {
        ticker.tick().await;
        let client = client.clone();
        let url = url.clone();
        in_flight.push(tokio::spawn(async move { timed(&client, &url).await }));
        while let Some(Some(done)) = futures::FutureExt::now_or_never(in_flight.next()) {
            fixed.push(done.unwrap());
        }
    }
    while let Some(done) = in_flight.next().await {
        fixed.push(done.unwrap());
    }
    report(&format!("fixed rate {rate} req/s for {seconds} s"), fixed);

    let queued: usize = redis::cmd("HLEN")
        .arg("cws:queue:launch:data")
        .query_async(&mut connection.clone())
        .await
        .unwrap();
    println!("jobs queued in Redis: {queued}");
}
