//! Safe to install in a real consortium workspace: names are values, CSV cells never run as
//! formulas, the bot can reach only the queues, and workers send nothing to hosts a payload
//! names unless they are the platforms'.

use std::time::Duration;

use redis::AsyncCommands;

use crate::harness::{
    LEE, SIGNING_SECRET, SMITH, Slash, Stranger, TestEnv, TlsRedis, install_tls_provider,
    redis_base, slash_to, to_mid_next_month, token_in,
};

/// Each name is refused at once, with the rule it breaks and the usage line, wherever a
/// project, invitation or profile name is typed; nothing is queued.
#[tokio::test(flavor = "multi_thread")]
async fn names_that_are_not_values_are_refused_with_the_rule_and_queue_nothing() {
    let env = TestEnv::start("names-refused", 64).await;
    let long = "a".repeat(200);
    let names = [
        ("~identity", "`~` is not allowed"),
        ("a:b", "`:` is not allowed"),
        ("=HYPERLINK(1)", "`=` is not allowed"),
        ("UPPER", "`U` is not allowed"),
        (long.as_str(), "200 characters long, at most 63 are allowed"),
        ("identity", "is reserved"),
    ];
    for (name, rule) in names {
        for (text, kind) in [
            (
                format!("project create {name} --budget 5000"),
                "project name",
            ),
            (
                format!("profiles invitations create {name} --type read_only --valid-days 30"),
                "invitation name",
            ),
            (
                format!("profiles invitations accept inv-token {name}"),
                "profile name",
            ),
        ] {
            let answer = env.slash(&Slash::new(&text).by(SMITH)).await;
            assert_eq!(answer.status, 200, "{text}: {}", answer.body);
            let reply = answer.text();
            for expected in [kind, rule, "Usage: /cws"] {
                assert!(reply.contains(expected), "`{text}` answered `{reply}`");
            }
        }
    }
    assert_eq!(env.queued_command_jobs().await, 0);
    env.finish();
}

/// A collaborator whose institution (from the collaborators CSV) is `=1+1` launches; the
/// month's chargeback statement, read back from S3 and opened with Python's csv module, has
/// that institution as text a spreadsheet shows rather than runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_formula_institution_reaches_the_chargeback_csv_as_text() {
    let mut env = TestEnv::start("formula-institution", 65).await;
    let day_one = to_mid_next_month();
    let first = env.start_worker_shifted(&format!("+{day_one}s"));
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let command = "profiles invitations create-collaboration --csv-file collaborators.csv \
                   --project nih-neuro-consortium\n\
                   Name,Institution,Type,ValidDays\n\
                   Dr. Sarah Lee,=1+1,read_write,540\n";
    env.slash(&Slash::new(command).by(SMITH)).await;
    let created = env
        .reply_containing("1 collaboration invitation(s) created")
        .await;
    let blocks = created.body["blocks"].to_string();
    assert!(blocks.contains("1-1-collaboration"), "{blocks}");
    let token = token_in(&blocks);
    env.accept(LEE, &token, "formula-lab").await;
    env.slack
        .expect_dm(LEE.user_id, "the SSH key", Duration::from_secs(30))
        .await;

    env.slash(&Slash::new("launch Bioinformatics formula-box --size S").by(LEE))
        .await;
    env.slack
        .expect("the launch", Duration::from_secs(60), |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *formula-box*")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;
    // An hour later, so the month has a cost to bill.
    env.worker(first).kill();
    env.start_worker_shifted(&format!("+{}s", day_one + 3600));

    env.slash(&Slash::new("project chargeback nih-neuro-consortium --enable").by(SMITH))
        .await;
    env.reply_containing("Chargeback is on").await;
    let day = time::OffsetDateTime::now_utc() + time::Duration::seconds(day_one);
    let month = format!("{:04}-{:02}", day.year(), u8::from(day.month()));
    env.slash(
        &Slash::new(&format!(
            "project chargeback nih-neuro-consortium --month {month}"
        ))
        .by(SMITH),
    )
    .await;
    env.slack
        .expect("the statement's link", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("chargeback statement")
        })
        .await;
    let csv = env
        .moto
        .s3_text(
            "cws-e2e-archive",
            &format!("chargeback/nih-neuro-consortium/{month}.csv"),
        )
        .await;

    let file = std::env::temp_dir().join(format!("cws-e2e-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(&file, &csv).unwrap();
    let python = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, json, sys\n\
             with open(sys.argv[1], newline='') as f:\n\
             \x20   print(json.dumps({r['user']: r['institution'] for r in csv.DictReader(f)}))",
        )
        .arg(&file)
        .output()
        .expect("python3 runs");
    std::fs::remove_file(&file).unwrap();
    assert!(python.status.success(), "{python:?}");
    let institutions: serde_json::Value = serde_json::from_slice(&python.stdout).unwrap();
    let lee = institutions["dr_sarah_lee"].as_str().unwrap_or_else(|| {
        panic!("no row for dr_sarah_lee in {csv}");
    });
    assert_eq!(lee, "'=1+1", "{csv}");
    assert!(!lee.starts_with(['=', '+', '-', '@']), "{csv}");
    env.finish();
}

/// A slash command whose `response_url` is not under `SLACK_HOOKS_URL` is answered through
/// `chat.postEphemeral`; nothing reaches the host it named.
#[tokio::test(flavor = "multi_thread")]
async fn a_response_url_on_another_host_gets_nothing() {
    let mut env = TestEnv::start("foreign-response-url", 66).await;
    env.start_worker();
    let stranger = Stranger::start().await;
    let answer = env
        .slash_answered_at(
            &Slash::new("project create nih-neuro-consortium --budget 5000").by(SMITH),
            &format!("{}/commands/T0CONSORTIUM/1/e2e", stranger.url()),
        )
        .await;
    assert!(answer.text().contains("Working on"), "{}", answer.body);
    let created = env
        .slack
        .expect(
            "the answer, by chat.postEphemeral",
            Duration::from_secs(30),
            |p| p.method == "chat.postEphemeral" && p.text().contains("created"),
        )
        .await;
    assert_eq!(created.body["user"], SMITH.user_id, "{}", created.body);
    env.slack
        .expect_dm(SMITH.user_id, "the SSH key", Duration::from_secs(30))
        .await;
    assert_eq!(stranger.hits(), []);
    env.finish();
}

/// A collaborators CSV that Slack lists at a URL outside `SLACK_FILES_URL` is not downloaded:
/// the bot token never goes to that host, and the owner is told why.
#[tokio::test(flavor = "multi_thread")]
async fn a_shared_file_on_another_host_is_not_downloaded() {
    let mut env = TestEnv::start("foreign-file-url", 67).await;
    env.start_worker();
    let stranger = Stranger::start().await;
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    env.slack.share_file_at(
        "C0NEURO",
        "collaborators.csv",
        &format!("{}/files/collaborators.csv", stranger.url()),
    );
    env.slash(
        &Slash::new("profiles invitations create-collaboration --csv-file collaborators.csv")
            .by(SMITH),
    )
    .await;
    let refused = env
        .reply_containing("not on the chat platform's file server")
        .await;
    assert!(
        refused.text().contains(stranger.host()),
        "{}",
        refused.text()
    );
    assert_eq!(stranger.hits(), []);
    env.finish();
}

/// The Redis ACL docs/operations.md gives the bot: the queues, reading pending verifications,
/// nothing else.
const BOT_ACL: &[&str] = &[
    "resetkeys",
    "~cws:queue:*",
    "%R~cws:verification:*",
    "resetchannels",
    "-@all",
    "+select",
    "+ping",
    "+evalsha",
    "+eval",
    "+script|load",
    "+setnx",
    "+expire",
    "+hsetnx",
    "+hmset",
    "+zadd",
    "+rpush",
    "+del",
    "+lpush",
    "+get",
    "+mget",
    "+exists",
];

/// Removes the ACL user when the test ends, however it ends: users are server-wide.
struct AclUser(String);

impl Drop for AclUser {
    fn drop(&mut self) {
        let client = redis::Client::open(redis_base()).unwrap();
        if let Ok(mut connection) = client.get_connection() {
            let _: redis::RedisResult<()> = redis::cmd("ACL")
                .arg("DELUSER")
                .arg(&self.0)
                .query(&mut connection);
        }
    }
}

/// The real bot router, connected as a Redis ACL user limited to the queues, queues a signed
/// slash command and answers "Working on…"; the same user is refused the token key.
#[tokio::test(flavor = "multi_thread")]
async fn the_bot_works_as_a_redis_acl_user_that_cannot_read_the_token_key() {
    let user = AclUser(format!("cws-bot-e2e-{}", uuid::Uuid::new_v4().simple()));
    let password = uuid::Uuid::new_v4().simple().to_string();
    let mut admin = redis::Client::open(redis_base())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user.0)
        .arg("on")
        .arg(format!(">{password}"))
        .arg(BOT_ACL)
        .exec_async(&mut admin)
        .await
        .unwrap();
    let bot_url = format!(
        "{}/68",
        redis_base().replacen("redis://", &format!("redis://{}:{password}@", user.0), 1)
    );

    let env = TestEnv::start_with_bot_redis("bot-acl", 68, &bot_url).await;
    let answer = env
        .slash(&Slash::new("project create nih-neuro-consortium --budget 5000").by(SMITH))
        .await;
    assert!(answer.text().contains("Working on"), "{}", answer.body);
    assert_eq!(env.queued_command_jobs().await, 1);

    redis::cmd("SET")
        .arg("cws:token-key")
        .arg("a-secret-the-bot-must-not-read")
        .exec_async(&mut admin)
        .await
        .unwrap();
    let mut bot = redis::Client::open(bot_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let refused = redis::cmd("GET")
        .arg("cws:token-key")
        .query_async::<Option<String>>(&mut bot)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("NOPERM"), "{refused}");
    let pending: Option<String> = redis::cmd("GET")
        .arg("cws:verification:some-state")
        .query_async(&mut bot)
        .await
        .unwrap();
    assert_eq!(pending, None);
    let write = redis::cmd("SET")
        .arg("cws:verification:some-state")
        .arg("forged")
        .exec_async(&mut bot)
        .await
        .unwrap_err();
    assert_eq!(write.code(), Some("NOPERM"), "{write}");

    // The sign-in routes look pending verifications up (MGET) as this user: a made-up state is
    // refused as unknown, not as a server error.
    let page = env
        .open_callback(&format!(
            "{}/oauth/globus/callback?state=made-up&code=x",
            env.bot_url
        ))
        .await;
    assert_eq!(page.status, 404, "{}", page.body);
    env.finish();
}

/// `rediss://`: the real `cws bot` process, trusting the test's CA through `SSL_CERT_FILE`,
/// reaches a Redis that speaks only TLS and queues a signed command there.
#[tokio::test(flavor = "multi_thread")]
async fn the_bot_queues_through_redis_over_tls() {
    install_tls_provider();
    let redis = TlsRedis::start();
    let (_bot, port) = bot_over_tls(&redis).await;
    let answer = slash_to(
        &format!("http://127.0.0.1:{port}"),
        &Slash::new("project create nih-neuro-consortium --budget 5000").by(SMITH),
        "https://hooks.slack.com/commands/T0CONSORTIUM/1/e2e",
    )
    .await;
    assert!(answer.text().contains("Working on"), "{}", answer.body);
    let queued: usize = redis
        .connection()
        .await
        .hlen("cws:queue:command:data")
        .await
        .unwrap();
    assert_eq!(queued, 1);
}

/// `cws bot` on Redis over TLS, once it answers `/healthz`. A port picked free can be taken by
/// another test's server before the bot binds it; the bot then exits, and starts again on
/// another port.
async fn bot_over_tls(redis: &TlsRedis) -> (ChildProcess, u16) {
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut bot = ChildProcess(
            std::process::Command::new(env!("CARGO_BIN_EXE_cws"))
                .arg("bot")
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("REDIS_URL", redis.url())
                .env("SSL_CERT_FILE", redis.ca_file())
                .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
                .env("CWS_LISTEN", format!("127.0.0.1:{port}"))
                .env("CWS_CONFIG", "/dev/null")
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("cws bot starts"),
        );
        // The bot listens once it is connected to Redis.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if bot.0.try_wait().ok().flatten().is_some() {
                break;
            }
            let health = http.get(format!("http://127.0.0.1:{port}/healthz")).send();
            if health.await.is_ok_and(|r| r.status() == 200) {
                return (bot, port);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("cws bot never listened");
}

/// Kills the process when the test ends, however it ends.
struct ChildProcess(std::process::Child);

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
