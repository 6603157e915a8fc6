//! What an orchestrator and Prometheus read (issue 19): a worker's `/healthz` and `/readyz`
//! on `CWS_WORKER_LISTEN`, and the bot's and the workers' `/metrics`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{JOHNSON, OwnRedis, Slash, TestEnv, eventually};

/// A loopback address nothing listens on yet.
fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// The status and body of `GET url`; `None` while nothing answers there.
async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// Waits until `GET url` answers `status`.
async fn answers(url: &str, status: u16) {
    eventually(
        &format!("{url} to answer {status}"),
        Duration::from_secs(30),
        || async { get(url).await.filter(|(s, _)| *s == status).map(drop) },
    )
    .await
}

/// The samples of a scrape in the Prometheus text format, by name and labels as written
/// (`cws_worker_jobs_total{kind="launch",outcome="ok"}`); panics, naming the line, on anything
/// that is not a comment of the format or a sample with a number for its value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(comment) = line.strip_prefix("# ") {
            let word = comment.split(' ').next().unwrap_or_default();
            assert!(
                ["HELP", "TYPE", "UNIT", "EOF"].contains(&word),
                "an unknown comment: {line}"
            );
            if word == "EOF" {
                assert!(lines.peek().is_none(), "lines after # EOF:\n{text}");
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a sample without a value: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "a bad metric name: {line}"
        );
        let labels = &series[name_end..];
        if !labels.is_empty() {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("unclosed labels: {line}"));
            for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                let (key, quoted) = pair
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("a label without a quoted value: {line}"));
                assert!(
                    key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "a bad label name: {line}"
                );
                assert!(!quoted.contains('"') || quoted.ends_with('"'), "{line}");
            }
        }
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("a value that is not a number: {line}")),
        };
        samples.insert(series.to_owned(), value);
    }
    assert!(text.ends_with("# EOF\n"), "no closing # EOF:\n{text}");
    samples
}

/// Scrapes `url` and parses what it answers.
async fn scrape(url: &str) -> BTreeMap<String, f64> {
    let (status, text) = get(url).await.expect("the metrics endpoint answers");
    assert_eq!(status, 200, "{text}");
    samples(&text)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_is_ready_while_its_redis_answers_and_alive_when_it_does_not() {
    let mut redis = OwnRedis::start().await;
    let mut env = TestEnv::start_on("worker-probes", redis.url()).await;
    let listen = free_address();
    let worker = env.start_worker_with_env(&[("CWS_WORKER_LISTEN", &listen)]);
    let base = format!("http://{listen}");

    answers(&format!("{base}/healthz"), 200).await;
    answers(&format!("{base}/readyz"), 200).await;
    assert!(
        env.worker_log(worker)
            .contains(&format!("worker health, readiness and metrics on {base}")),
        "{}",
        env.worker_log(worker)
    );

    redis.kill();
    answers(&format!("{base}/readyz"), 503).await;
    answers(&format!("{base}/healthz"), 200).await;
    assert!(
        env.worker(worker).is_running(),
        "{}",
        env.worker_log(worker)
    );

    redis.restart().await;
    answers(&format!("{base}/readyz"), 200).await;
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_counts_once_on_the_worker_and_its_command_on_the_bot() {
    let mut env = TestEnv::start("metrics-launch", 120).await;
    let listen = free_address();
    let worker = env.start_worker_with_env(&[("CWS_WORKER_LISTEN", &listen)]);
    let worker_metrics = format!("http://{listen}/metrics");
    answers(&worker_metrics, 200).await;
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    const LAUNCHES_OK: &str = "cws_worker_jobs_total{kind=\"launch\",outcome=\"ok\"}";
    let before = scrape(&worker_metrics).await;
    assert_eq!(
        before.get("cws_worker_queue_depth{queue=\"launch\"}"),
        Some(&0.0),
        "{before:#?}"
    );

    let launch = Slash::new("launch \"R Research Environment\" metered");
    let answer = env.slash(&launch).await;
    assert!(
        answer.text().contains("Launching *metered*"),
        "{}",
        answer.body
    );
    env.slack
        .expect("the announcement", Duration::from_secs(60), |p| {
            p.method == "chat.postMessage" && p.text().contains("metered")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;

    let after = eventually(
        "the launch to be counted",
        Duration::from_secs(10),
        || async {
            let after = scrape(&worker_metrics).await;
            (after.get(LAUNCHES_OK).copied().unwrap_or(0.0)
                > before.get(LAUNCHES_OK).copied().unwrap_or(0.0))
            .then_some(after)
        },
    )
    .await;
    assert_eq!(
        after[LAUNCHES_OK],
        before.get(LAUNCHES_OK).copied().unwrap_or(0.0) + 1.0,
        "{after:#?}"
    );
    assert_eq!(
        after["cws_worker_job_duration_seconds_count{kind=\"launch\"}"], 1.0,
        "{after:#?}"
    );
    // Every line the job logged carries its span: the kind and the job's key.
    let log = env.worker(worker).log_text();
    let launched = log
        .lines()
        .find(|line| line.contains("instance launched"))
        .unwrap_or_else(|| panic!("no launch logged: {log}"));
    assert!(
        launched.contains("job{kind=\"launch\"") && launched.contains(&launch.trigger_id),
        "{launched}"
    );
    // The launch's answer and announcement went through Slack's Web API.
    let slack_ok = "cws_worker_calls_total{service=\"slack\",outcome=\"ok\"}";
    assert!(
        after.get(slack_ok).copied().unwrap_or(0.0) >= 1.0,
        "{after:#?}"
    );
    // And AWS answered its calls: at least the client-token lookup and RunInstances.
    let aws_ok = "cws_worker_calls_total{service=\"aws\",outcome=\"ok\"}";
    assert!(
        after.get(aws_ok).copied().unwrap_or(0.0) >= 2.0,
        "{after:#?}"
    );
    assert_eq!(
        after.get("cws_worker_dead_letters{queue=\"launch\"}"),
        Some(&0.0),
        "{after:#?}"
    );

    let bot = scrape(&format!("{}/metrics", env.bot_url)).await;
    let accepted =
        "cws_bot_requests_total{route=\"/slack/commands\",outcome=\"accepted\"}".to_owned();
    assert!(
        bot.get(&accepted).copied().unwrap_or(0.0) >= 2.0,
        "{bot:#?}"
    );
    assert!(
        bot.get("cws_bot_ack_seconds_count{route=\"/slack/commands\"}")
            .copied()
            .unwrap_or(0.0)
            >= 2.0,
        "{bot:#?}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bot_counts_what_it_refused() {
    let env = TestEnv::start("metrics-refused", 121).await;
    let unsigned = reqwest::Client::new()
        .post(format!("{}/slack/commands", env.bot_url))
        .body("text=help")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let answer = env.slash(&Slash::new("lauch typo")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let bot = scrape(&format!("{}/metrics", env.bot_url)).await;
    for outcome in ["bad_signature", "parse_error"] {
        let series =
            format!("cws_bot_requests_total{{route=\"/slack/commands\",outcome=\"{outcome}\"}}");
        assert_eq!(bot.get(&series), Some(&1.0), "{series}: {bot:#?}");
    }
    env.finish();
}

/// Asked to stop while it holds a request, the bot answers that request (its job queued), takes
/// no new connection, and exits 0: a rolling deploy loses no slash command.
#[tokio::test(flavor = "multi_thread")]
async fn the_bot_answers_the_request_it_holds_when_asked_to_stop() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut env = TestEnv::start("bot-drain", 122).await;
    let bot = env.start_bot_process().await;
    let address = env.bot_url.trim_start_matches("http://").to_owned();
    let body = Slash::new("profiles list")
        .by(JOHNSON)
        .form(&env.slack.response_url());
    let timestamp = crate::harness::now_unix().to_string();
    let signature = domain::slack_signature::sign(
        crate::harness::SIGNING_SECRET.as_bytes(),
        &timestamp,
        body.as_bytes(),
    );
    let mut held = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    held.write_all(
        format!(
            "POST /slack/commands HTTP/1.1\r\nhost: {address}\r\n\
             content-type: application/x-www-form-urlencoded\r\n\
             x-slack-request-timestamp: {timestamp}\r\nx-slack-signature: {signature}\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{first_half}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // The bot has the request's head: it is in flight when the stop comes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    env.worker(bot).terminate();
    eventually(
        "a draining bot to take no new connection",
        Duration::from_secs(10),
        || async {
            tokio::net::TcpStream::connect(&address)
                .await
                .err()
                .map(drop)
        },
    )
    .await;
    held.write_all(second_half.as_bytes()).await.unwrap();
    let mut answer = String::new();
    held.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = env
        .worker(bot)
        .exited_within(Duration::from_secs(10))
        .await
        .expect("the bot exits once it has answered");
    assert!(status.success(), "{status}");
    env.start_worker();
    env.reply_containing("Profiles: none yet").await;
    env.finish();
}
