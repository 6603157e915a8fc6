//! The end-to-end harness: real Redis, a real moto server as AWS, the real bot router, the real
//! worker binary as a child process, and a fake Slack Web API that records what it receives.
//! Tests wait on explicit signals, never on fixed sleeps, and `finish` fails a test that left a
//! Slack message unexamined.

pub mod aws_front;
pub mod discord;
pub mod inbox;
pub mod moto;
pub mod oidc;
pub mod own_redis;
pub mod slack;
pub mod smtp;
pub mod stranger;
pub mod tls_redis;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_ec2::types::{Filter, Instance, InstanceStateName};
use domain::slack_signature;
use redis::AsyncCommands;

pub use self::aws_front::{AwsFront, Fault};
pub use self::discord::{
    DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN, DISCORD_CHANNEL_ID, DISCORD_GUILD_ID, FakeDiscord,
};
pub use self::moto::Moto;
pub use self::oidc::{FakeOidc, SARAH_AT_BERKELEY, TokenFault};
pub use self::own_redis::OwnRedis;
pub use self::slack::{FakeSlack, Posted, email_of};
pub use self::smtp::SmtpSink;
pub use self::stranger::Stranger;
pub use self::tls_redis::TlsRedis;

pub const SIGNING_SECRET: &str = "e2e-signing-secret-0123456789abcdef";
pub const LAUNCH_QUEUE_DATA: &str = "cws:queue:launch:data";
pub const LAUNCH_QUEUE_DEAD: &str = "cws:queue:launch:dead";
pub const LAUNCH_QUEUE_DONE: &str = "cws:queue:launch:done";

pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Someone in the consortium's Slack, as the seed's personas.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub user_id: &'static str,
    pub user_name: &'static str,
    pub team_domain: &'static str,
}

/// The lead PI, who owns the projects.
pub const SMITH: Person = Person {
    user_id: "U0SMITH",
    user_name: "jennifer.smith",
    team_domain: "stanford-neuroscience",
};
pub const JOHNSON: Person = Person {
    user_id: "U0MITJOHNSON",
    user_name: "michael.johnson",
    team_domain: "mit-csail",
};
pub const LEE: Person = Person {
    user_id: "U0BERKLEE",
    user_name: "sarah.lee",
    team_domain: "berkeley-neuroscience",
};

/// Someone in the consortium's Slack whom nobody invited and the deployment does not know.
pub const STRANGER: Person = Person {
    user_id: "U0STRANGER",
    user_name: "free.loader",
    team_domain: "stanford-neuroscience",
};

/// A PI at the lead institution who may ask the deployment's admins for a project.
pub const CHEN: Person = Person {
    user_id: "U0CHEN",
    user_name: "wei.chen",
    team_domain: "stanford-neuroscience",
};

/// The deployment's admins as `CWS_ADMINS` names them: the lead PIs who own the tests'
/// projects, on Slack and Discord. Tests of who may create projects use other people.
pub const DEPLOYMENT_ADMINS: &str = "slack:T0CONSORTIUM:U0SMITH,slack:T0CONSORTIUM:U0MITJOHNSON,\
slack:T0CONSORTIUM:U0BERKLEE,discord:200000000000000001,discord:200000000000000003";

/// The lead institution of the tests' projects, unless `project create` names another.
pub const LEAD_INSTITUTION: &str = "stanford-neuroscience";

/// Another chat account at Berkeley, for tests that need more devices than personas.
pub const fn colleague(user_id: &'static str) -> Person {
    Person {
        user_id,
        user_name: "colleague",
        team_domain: "berkeley-neuroscience",
    }
}

/// Someone in the consortium's Discord server: a snowflake user id and a username.
#[derive(Debug, Clone, Copy)]
pub struct DiscordPerson {
    pub user_id: &'static str,
    pub username: &'static str,
}

pub const SMITH_ON_DISCORD: DiscordPerson = DiscordPerson {
    user_id: "200000000000000001",
    username: "jennifer.smith",
};
pub const LEE_ON_DISCORD: DiscordPerson = DiscordPerson {
    user_id: "200000000000000002",
    username: "sarah.lee",
};
pub const JOHNSON_ON_DISCORD: DiscordPerson = DiscordPerson {
    user_id: "200000000000000003",
    username: "michael.johnson",
};

/// A slash command as a person types it, before signing.
pub struct Slash<'a> {
    pub text: &'a str,
    pub user_id: &'a str,
    pub user_name: &'a str,
    pub team_domain: &'a str,
    pub trigger_id: String,
}

impl<'a> Slash<'a> {
    pub fn new(text: &'a str) -> Slash<'a> {
        Slash {
            text,
            user_id: "U0MITJOHNSON",
            user_name: "michael.johnson",
            team_domain: "mit-csail",
            trigger_id: format!("{}.{}", now_unix(), uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn by(self, person: Person) -> Self {
        self.sent_by(person.user_id, person.user_name, person.team_domain)
    }

    pub fn sent_by(mut self, user_id: &'a str, user_name: &'a str, team_domain: &'a str) -> Self {
        self.user_id = user_id;
        self.user_name = user_name;
        self.team_domain = team_domain;
        self
    }

    /// The form body Slack posts, byte for byte what gets signed.
    pub fn form(&self, response_url: &str) -> String {
        serde_urlencoded::to_string([
            ("token", "deprecated-verification-token"),
            ("team_id", "T0CONSORTIUM"),
            ("team_domain", self.team_domain),
            ("channel_id", "C0NEURO"),
            ("channel_name", "nih-neuro-consortium"),
            ("user_id", self.user_id),
            ("user_name", self.user_name),
            ("command", "/cws"),
            ("text", self.text),
            ("api_app_id", "A0CWS"),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", &self.trigger_id),
        ])
        .expect("form encodes")
    }
}

/// A fresh Ed25519 key for the test's Discord application.
pub fn discord_signing_key() -> ed25519_dalek::SigningKey {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

/// Discord's signature: Ed25519 over timestamp + body, hex-encoded.
pub fn discord_signature(key: &ed25519_dalek::SigningKey, timestamp: &str, body: &str) -> String {
    use ed25519_dalek::Signer;
    let mut signed = timestamp.as_bytes().to_vec();
    signed.extend_from_slice(body.as_bytes());
    hex::encode(key.sign(&signed).to_bytes())
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The bot's answer to one request.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub elapsed: Duration,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The text of an ephemeral answer.
    pub fn text(&self) -> String {
        let json = self.json();
        assert_eq!(json["response_type"], "ephemeral", "{json}");
        json["text"].as_str().expect("text").to_owned()
    }
}

/// The bot's confirmation page, with the cookie it set and the fields of its form.
pub struct Confirmation {
    pub page: Answer,
    pub cookie: String,
    pub form: Vec<(String, String)>,
}

/// A browser that shows each redirect instead of following it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where a sign-in at the identity provider sent the browser, and what it showed there.
pub struct SignIn {
    pub callback: String,
    pub page: Answer,
}

/// One test's world. Each test takes its own Redis database so tests run in parallel.
pub struct TestEnv {
    pub redis_url: String,
    pub redis: redis::aio::ConnectionManager,
    pub moto: Moto,
    pub aws_front: AwsFront,
    pub slack: FakeSlack,
    pub discord: FakeDiscord,
    /// The Discord application's key: the test signs interactions as Discord does.
    pub discord_key: ed25519_dalek::SigningKey,
    pub smtp: SmtpSink,
    pub bot_url: String,
    http: reqwest::Client,
    workers: Vec<WorkerProcess>,
    name: &'static str,
}

pub struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl WorkerProcess {
    /// The operating system's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (it has not exited, for any reason).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the process has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as an orchestrator asks a process to stop.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM to {}", self.child.id());
    }

    /// How the process ended, waiting for it at most `timeout`; `None` if it still runs.
    pub async fn exited_within(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// SIGKILL: no graceful shutdown, exactly like a machine dying.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Database `redis_db` of the shared test Redis.
fn db_url(redis_db: u8) -> String {
    format!("{}/{redis_db}", redis_base())
}

pub fn redis_base() -> String {
    std::env::var("CWS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

impl TestEnv {
    /// Starts moto, the AWS front, the fake Slack and the bot. Workers start with `start_worker`.
    pub async fn start(name: &'static str, redis_db: u8) -> TestEnv {
        TestEnv::start_with_bot(name, redis_db, |bot| bot).await
    }

    /// Like [`TestEnv::start`], everything on the Redis at `redis_url` (one the test runs
    /// itself, say, to stop and start it).
    pub async fn start_on(name: &'static str, redis_url: String) -> TestEnv {
        TestEnv::start_with(name, redis_url, None, true, |bot| bot).await
    }

    /// Like [`TestEnv::start`], with the bot connecting to Redis at `bot_redis_url` (the same
    /// database, e.g. as a Redis ACL user) while the test and the workers use the default user.
    pub async fn start_with_bot_redis(
        name: &'static str,
        redis_db: u8,
        bot_redis_url: &str,
    ) -> TestEnv {
        TestEnv::start_with(name, db_url(redis_db), Some(bot_redis_url), true, |bot| bot).await
    }

    /// [`TestEnv::start`] with the bot as `configure` makes it (a rate limit, say).
    pub async fn start_with_bot(
        name: &'static str,
        redis_db: u8,
        configure: impl FnOnce(bot::Bot) -> bot::Bot,
    ) -> TestEnv {
        TestEnv::start_with(name, db_url(redis_db), None, true, configure).await
    }

    /// Like [`TestEnv::start`] with an AWS account where nothing is set up yet: no workstation
    /// instance profile (the deploy/ stacks make it).
    pub async fn start_without_aws_setup(name: &'static str, redis_db: u8) -> TestEnv {
        TestEnv::start_with(name, db_url(redis_db), None, false, |bot| bot).await
    }

    async fn start_with(
        name: &'static str,
        redis_url: String,
        bot_redis_url: Option<&str>,
        aws_setup: bool,
        configure: impl FnOnce(bot::Bot) -> bot::Bot,
    ) -> TestEnv {
        install_tls_provider();
        let client = redis::Client::open(redis_url.as_str()).expect("redis url");
        let mut redis = client
            .get_connection_manager()
            .await
            .expect("Redis is running (see .ci/run)");
        redis::cmd("FLUSHDB")
            .exec_async(&mut redis)
            .await
            .expect("flushdb");
        let moto = Moto::start().await;
        if aws_setup {
            moto.create_workstation_policy().await;
        }
        let aws_front = AwsFront::start(moto.url()).await;
        let slack = FakeSlack::start().await;
        let discord = FakeDiscord::start().await;
        let discord_key = discord_signing_key();
        let smtp = SmtpSink::start().await;

        let connection = apalis_redis::connect(bot_redis_url.unwrap_or(&redis_url))
            .await
            .expect("redis");
        let bot = bot::Bot::new(
            SIGNING_SECRET,
            Arc::new(queue::RedisJobQueue::new(connection.clone())),
            Arc::new(queue::RedisSignIns::new(connection)),
        )
        .with_discord(&hex::encode(discord_key.verifying_key().as_bytes()))
        .expect("a valid public key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(bot::serve(listener, configure(bot)));

        TestEnv {
            redis_url,
            redis,
            moto,
            aws_front,
            slack,
            discord,
            discord_key,
            smtp,
            bot_url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            workers: Vec::new(),
            name,
        }
    }

    /// Starts `cws worker` as its own process, reaching AWS through the fault-injecting front.
    pub fn start_worker(&mut self) -> usize {
        let endpoint = self.aws_front.url();
        self.start_worker_with_endpoint(&endpoint, &[])
    }

    /// Starts a worker with extra settings, e.g. `[("CWS_RECONCILE_SECS", "1")]` or
    /// `[("CWS_SCHEDULE", "* * * * * *")]` for a scheduler ticking every second.
    pub fn start_worker_with_env(&mut self, extra: &[(&str, &str)]) -> usize {
        let endpoint = self.aws_front.url();
        self.spawn_worker(&endpoint, extra)
    }

    /// Starts a worker whose clock runs `offset` ahead (`CWS_CLOCK_OFFSET`, e.g. `+2d`).
    pub fn start_worker_shifted(&mut self, offset: &str) -> usize {
        let endpoint = self.aws_front.url();
        self.spawn_worker(&endpoint, &[("CWS_CLOCK_OFFSET", offset)])
    }

    pub fn start_worker_with_endpoint(
        &mut self,
        aws_endpoint: &str,
        extra: &[(&str, &str)],
    ) -> usize {
        self.spawn_worker(aws_endpoint, extra)
    }

    /// The `cws` binary with the settings every worker here gets, then `extra`.
    fn cws_command(&self, aws_endpoint: &str, extra: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cws"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("REDIS_URL", &self.redis_url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-e2e-token")
            .env("SLACK_API_URL", self.slack.api_url())
            .env("SLACK_HOOKS_URL", self.slack.hooks_url())
            .env("SLACK_FILES_URL", self.slack.files_url())
            .env("DISCORD_CDN_URL", self.discord.cdn_url())
            .env(
                "DISCORD_PUBLIC_KEY",
                hex::encode(self.discord_key.verifying_key().as_bytes()),
            )
            .env("DISCORD_BOT_TOKEN", DISCORD_BOT_TOKEN)
            .env("DISCORD_APPLICATION_ID", DISCORD_APPLICATION_ID)
            .env("DISCORD_API_URL", self.discord.api_url())
            .env("CWS_WORKER_HEARTBEAT_SECS", "1")
            .env("CWS_WORKER_MISSED_HEARTBEATS", "4")
            .env("CWS_RETRY_FIRST_DELAY_MS", "100")
            .env("CWS_CONFIG", "/dev/null")
            .env("SMTP_URL", self.smtp.url())
            .env("MAIL_FROM", "cws chat-ops <cws@consortium.example>")
            .env("CWS_ARCHIVE_BUCKET", "cws-e2e-archive")
            .env("CWS_ADMINS", DEPLOYMENT_ADMINS)
            .env("CWS_INSTITUTION", LEAD_INSTITUTION)
            .env("CWS_WORKSTATION_POLICY", moto::WORKSTATION_POLICY)
            .env("CWS_CANVAS_POLICY", moto::CANVAS_POLICY)
            // Scheduled checks run only in the tests that start a worker with a schedule, so
            // no other test meets a digest it did not ask for.
            .env("CWS_SCHEDULE", "off")
            .envs(extra.iter().copied());
        command
    }

    fn spawn_worker(&mut self, aws_endpoint: &str, extra: &[(&str, &str)]) -> usize {
        let index = self.workers.len();
        let log = std::env::temp_dir().join(format!(
            "cws-e2e-{}-worker-{index}-{}.log",
            self.name,
            std::process::id()
        ));
        let out = std::fs::File::create(&log).expect("worker log");
        let child = self
            .cws_command(aws_endpoint, extra)
            .arg("worker")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("the cws binary starts");
        self.workers.push(WorkerProcess { child, log });
        index
    }

    /// Starts `cws bot` as its own process on a free loopback port, as a deployment runs it,
    /// waits until it listens, and sends every later request there instead of to the bot in
    /// the test's process.
    pub async fn start_bot_process(&mut self) -> usize {
        self.start_bot_process_with_env(&[]).await
    }

    /// [`TestEnv::start_bot_process`] with extra settings, e.g. `CWS_TEMPLATES_DIR`.
    pub async fn start_bot_process_with_env(&mut self, extra: &[(&str, &str)]) -> usize {
        let index = self.workers.len();
        let log = std::env::temp_dir().join(format!(
            "cws-e2e-{}-bot-{index}-{}.log",
            self.name,
            std::process::id()
        ));
        let out = std::fs::File::create(&log).expect("bot log");
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let listen_setting = [("CWS_LISTEN", listen.to_string())];
        let settings: Vec<(&str, &str)> = listen_setting
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .chain(extra.iter().copied())
            .collect();
        let child = self
            .cws_command(&self.aws_front.url(), &settings)
            .arg("bot")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("the cws binary starts");
        self.workers.push(WorkerProcess { child, log });
        self.bot_url = format!("http://{listen}");
        eventually(
            "the bot process to listen",
            Duration::from_secs(30),
            || async {
                let alive = self.http.get(format!("{}/healthz", self.bot_url)).send();
                alive.await.ok().filter(|r| r.status() == 200).map(drop)
            },
        )
        .await;
        index
    }

    /// The status of the bot's `/readyz`.
    pub async fn readyz(&self) -> u16 {
        let response = self.http.get(format!("{}/readyz", self.bot_url)).send();
        response.await.expect("the bot answers").status().as_u16()
    }

    /// Starts `cws run-once ROUND` without waiting for it: a process the test may kill in the
    /// middle, like a worker.
    pub fn start_run_once(&mut self, round: &str, extra: &[(&str, &str)]) -> usize {
        let index = self.workers.len();
        let log = std::env::temp_dir().join(format!(
            "cws-e2e-{}-run-once-{index}-{}.log",
            self.name,
            std::process::id()
        ));
        let out = std::fs::File::create(&log).expect("run-once log");
        let child = self
            .cws_command(&self.aws_front.url(), extra)
            .args(["run-once", round])
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("the cws binary starts");
        self.workers.push(WorkerProcess { child, log });
        index
    }

    /// Runs `cws run-once ROUND` to its end, as an operator would, with `extra` settings (a
    /// shifted clock, say); returns what it printed.
    pub async fn run_once(&self, round: &str, extra: &[(&str, &str)]) -> String {
        let mut command = self.cws_command(&self.aws_front.url(), extra);
        command.args(["run-once", round]);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("run-once joins")
            .expect("the cws binary starts");
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "cws run-once {round} failed: {printed}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        printed
    }

    /// Runs `cws ARGS…` to its end with every worker's settings; returns what it printed.
    pub async fn run_cws(&self, args: &[&str]) -> String {
        let mut command = self.cws_command(&self.aws_front.url(), &[]);
        command.args(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("cws joins")
            .expect("the cws binary starts");
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "cws {args:?} failed: {printed}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        printed
    }

    /// Runs `cws ARGS…` to its end with every worker's settings and then `extra`, whatever
    /// its exit; returns whether it succeeded and what it printed.
    pub async fn run_cws_with(&self, args: &[&str], extra: &[(&str, &str)]) -> (bool, String) {
        let mut command = self.cws_command(&self.aws_front.url(), extra);
        command.args(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("cws joins")
            .expect("the cws binary starts");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// What worker `index` has logged so far.
    pub fn worker_log(&self, index: usize) -> String {
        std::fs::read_to_string(&self.workers[index].log).unwrap_or_default()
    }

    pub fn worker(&mut self, index: usize) -> &mut WorkerProcess {
        &mut self.workers[index]
    }

    /// `person` runs `/cws profiles verify` and opens the link: the bot's page, which must name
    /// them. They press Continue, which leads to the provider, which redirects their browser to
    /// the bot's callback. Returns that callback URL (to replay it) and the page the browser
    /// showed there.
    pub async fn sign_in(&self, person: Person) -> SignIn {
        let link = self.sign_in_link(person).await;
        let confirmation = self.open_sign_in_page(&link).await;
        assert_eq!(confirmation.page.status, 200, "{}", confirmation.page.body);
        assert!(
            confirmation.page.body.contains(&format!(
                "<strong>{}</strong> ({})",
                person.user_name, person.user_id
            )),
            "the page names who the login is for: {}",
            confirmation.page.body
        );
        let to_provider = self.press_continue(&confirmation).await;
        assert_eq!(to_provider.status(), 303, "Continue leads on");
        let provider = to_provider.headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        let at_provider = browser()
            .get(&provider)
            .send()
            .await
            .expect("the provider answers");
        assert!(
            at_provider.status().is_redirection(),
            "{}",
            at_provider.status()
        );
        let callback = at_provider.headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(callback.starts_with(&self.bot_url), "{callback}");
        let page = self.open_callback(&callback).await;
        SignIn { callback, page }
    }

    /// `person` runs `/cws profiles verify`; returns the link they were given.
    pub async fn sign_in_link(&self, person: Person) -> String {
        self.slash(&Slash::new("profiles verify").by(person)).await;
        let offered = self.reply_containing("Verify your research identity").await;
        let link = offered
            .text()
            .split_whitespace()
            .find(|word| word.starts_with("http"))
            .expect("a sign-in link")
            .replace("&amp;", "&");
        assert!(
            link.starts_with(&format!("{}/oauth/globus/start?state=", self.bot_url)),
            "the link leads to the bot's page first: {link}"
        );
        link
    }

    /// A browser opens the sign-in link: the page, and the cookie and form it carries.
    pub async fn open_sign_in_page(&self, link: &str) -> Confirmation {
        let response = browser().get(link).send().await.expect("the bot answers");
        let cookie = response
            .headers()
            .get("set-cookie")
            .map(|value| {
                value
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .unwrap_or_default();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let field = |name: &str| {
            let marker = format!(r#"name="{name}" value=""#);
            body.find(&marker).map(|at| {
                body[at + marker.len()..]
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned()
            })
        };
        let form = match (field("state"), field("confirm")) {
            (Some(state), Some(confirm)) => {
                vec![("state".to_owned(), state), ("confirm".to_owned(), confirm)]
            }
            _ => Vec::new(),
        };
        Confirmation {
            page: Answer {
                status,
                body,
                elapsed: Duration::ZERO,
            },
            cookie,
            form,
        }
    }

    /// Presses Continue on the confirmation page, in the browser that opened it.
    pub async fn press_continue(&self, confirmation: &Confirmation) -> reqwest::Response {
        browser()
            .post(format!("{}/oauth/globus/start", self.bot_url))
            .header("cookie", &confirmation.cookie)
            .form(&confirmation.form)
            .send()
            .await
            .expect("the bot answers")
    }

    /// The person's browser opens `url` on the bot; returns the page.
    pub async fn open_callback(&self, url: &str) -> Answer {
        let started = Instant::now();
        let response = self.http.get(url).send().await.expect("the bot answers");
        let status = response.status().as_u16();
        Answer {
            status,
            body: response.text().await.unwrap(),
            elapsed: started.elapsed(),
        }
    }

    /// Sends a correctly signed slash command, as Slack does.
    pub async fn slash(&self, command: &Slash<'_>) -> Answer {
        self.slash_answered_at(command, &self.slack.response_url())
            .await
    }

    /// Sends a signed slash command whose `response_url` is `response_url`.
    pub async fn slash_answered_at(&self, command: &Slash<'_>, response_url: &str) -> Answer {
        slash_to(&self.bot_url, command, response_url).await
    }

    /// Sends a correctly signed `block_actions` click, as Slack does when someone presses a
    /// button; `reason` is what they typed in the message's reason box.
    pub async fn click(
        &self,
        person: Person,
        action_id: &str,
        value: &str,
        reason: Option<&str>,
    ) -> Answer {
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": { "id": person.user_id, "username": person.user_name, "team_id": "T0CONSORTIUM" },
            "api_app_id": "A0CWS",
            "token": "deprecated-verification-token",
            "container": { "type": "message", "message_ts": "1767225600.000100", "channel_id": format!("D{}", person.user_id) },
            "trigger_id": format!("{}.{}", now_unix(), uuid::Uuid::new_v4().simple()),
            "team": { "id": "T0CONSORTIUM", "domain": person.team_domain },
            "channel": { "id": format!("D{}", person.user_id), "name": "directmessage" },
            "state": { "values": { "cws_reason": { "cws_exception_reason": { "type": "plain_text_input", "value": reason } } } },
            "response_url": self.slack.response_url(),
            "actions": [{
                "action_id": action_id,
                "block_id": "actions",
                "text": { "type": "plain_text", "text": "button" },
                "value": value,
                "type": "button",
                "action_ts": "1767225600.000200"
            }]
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let timestamp = now_unix().to_string();
        let signature =
            slack_signature::sign(SIGNING_SECRET.as_bytes(), &timestamp, body.as_bytes());
        self.post_signed("/slack/interactions", body, &timestamp, &signature)
            .await
    }

    /// Sends `text` as `person`, then waits until the channel hears that workspace `name`
    /// launched.
    pub async fn launched(&self, person: Person, text: &str, name: &str) -> Posted {
        self.slash(&Slash::new(text).by(person)).await;
        self.launch_announced(name).await
    }

    /// Waits until the channel hears that workspace `name` launched.
    pub async fn launch_announced(&self, name: &str) -> Posted {
        let wanted = format!("launched *{name}*");
        self.slack
            .expect("the launch", Duration::from_secs(30), |p| {
                p.method == "chat.postMessage" && p.text().contains(&wanted)
            })
            .await
    }

    /// The next ephemeral reply (through `response_url`) whose text contains `wanted`.
    pub async fn reply_containing(&self, wanted: &str) -> Posted {
        self.slack
            .expect(wanted, Duration::from_secs(30), |p| {
                p.method == "response_url" && p.text().contains(wanted)
            })
            .await
    }

    /// `person` creates a project from `args` (`NAME --budget USD ...`); waits for the
    /// confirmation and the direct message carrying their SSH key.
    pub async fn create_project(&self, person: Person, args: &str) -> Posted {
        let text = format!("project create {args}");
        let answer = self.slash(&Slash::new(&text).by(person)).await;
        assert!(answer.text().contains("Working on"), "{}", answer.body);
        let created = self.reply_containing("created").await;
        self.slack
            .expect_dm(person.user_id, "the SSH key", Duration::from_secs(30))
            .await;
        created
    }

    /// `person` creates an invitation from `args`; returns the token shown only to them.
    pub async fn invite(&self, person: Person, args: &str) -> String {
        let text = format!("profiles invitations create {args}");
        self.slash(&Slash::new(&text).by(person)).await;
        let created = self.reply_containing("Invitation created").await;
        token_in(created.text())
    }

    /// `person` accepts `token` as `profile`; returns the reply (created or refused).
    pub async fn accept(&self, person: Person, token: &str, profile: &str) -> Posted {
        let text = format!("profiles invitations accept {token} {profile}");
        self.slash(&Slash::new(&text).by(person)).await;
        self.slack
            .expect("the answer to accepting", Duration::from_secs(30), |p| {
                p.method == "response_url"
                    && (p.text().contains("Profile created") || p.text().contains("accept"))
            })
            .await
    }

    /// `owner` invites `person` with `invitation` (name and flags), `person` accepts it as
    /// `profile`, and the research user's SSH key arrives by DM.
    pub async fn join(&self, owner: Person, person: Person, invitation: &str, profile: &str) {
        let token = self.invite(owner, invitation).await;
        self.accept(person, &token, profile).await;
        self.slack
            .expect_dm(person.user_id, "the SSH key", Duration::from_secs(30))
            .await;
    }

    /// Dr. Smith's `project` ($5,000 a month) with Johnson (MIT CSAIL) as a read_write
    /// collaborator on profile `stanford-collab`.
    pub async fn project_with_mit(&self, project: &str) {
        self.create_project(SMITH, &format!("{project} --budget 5000"))
            .await;
        self.join(
            SMITH,
            JOHNSON,
            "mit-collaboration --type read_write --valid-days 540 --institution mit-csail",
            "stanford-collab",
        )
        .await;
    }

    /// Sends a body with whatever timestamp and signature headers the test chooses.
    pub async fn post_signed(
        &self,
        path: &str,
        body: String,
        timestamp: &str,
        signature: &str,
    ) -> Answer {
        answered(
            self.http
                .post(format!("{}{path}", self.bot_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", timestamp)
                .header("x-slack-signature", signature)
                .body(body),
        )
        .await
    }

    /// How many keys the test's Redis database holds (`DBSIZE`).
    pub async fn key_count(&self) -> usize {
        let mut redis = self.redis.clone();
        redis::cmd("DBSIZE").query_async(&mut redis).await.unwrap()
    }

    /// How many launch jobs were ever queued.
    pub async fn queued_launch_jobs(&self) -> usize {
        let mut redis = self.redis.clone();
        redis.hlen(LAUNCH_QUEUE_DATA).await.unwrap()
    }

    /// How many command jobs (everything but launches and clicks) were ever queued.
    pub async fn queued_command_jobs(&self) -> usize {
        let mut redis = self.redis.clone();
        redis.hlen("cws:queue:command:data").await.unwrap()
    }

    pub async fn dead_launch_jobs(&self) -> usize {
        let mut redis = self.redis.clone();
        redis.scard(LAUNCH_QUEUE_DEAD).await.unwrap()
    }

    /// Waits until `count` launch jobs have finished: a worker stopped after that leaves no
    /// launch half done (one killed earlier has its job run again, and may say so twice).
    pub async fn wait_for_done_launch_jobs(&self, count: usize) {
        self.wait_for_done_jobs("launch", count).await
    }

    /// Waits until `count` jobs of the queue `cws:queue:{queue}` have finished.
    pub async fn wait_for_done_jobs(&self, queue: &str, count: usize) {
        let key = format!("cws:queue:{queue}:done");
        eventually(
            &format!("{queue} jobs done"),
            Duration::from_secs(30),
            || async {
                let mut redis = self.redis.clone();
                let done: usize = redis.scard(&key).await.unwrap();
                (done >= count).then_some(())
            },
        )
        .await
    }

    /// Waits until the scheduler has claimed `count` more ticks: every scheduled check has
    /// had that many chances to act.
    pub async fn wait_for_ticks(&self, count: u64) {
        let mut redis = self.redis.clone();
        let claimed: u64 = redis.get("cws:schedule:tick").await.unwrap_or(0);
        eventually("more scheduler ticks", Duration::from_secs(30), || async {
            let mut redis = self.redis.clone();
            let now: u64 = redis.get("cws:schedule:tick").await.unwrap_or(0);
            (now >= claimed + count).then_some(())
        })
        .await
    }

    /// Waits until `count` command or click jobs have run to their end (the worker's own
    /// record, written before the queue's ack). A worker stopped after that may leave the ack
    /// undone, and the job is delivered again, but it is not run twice.
    pub async fn wait_for_finished_commands(&self, count: usize) {
        eventually("commands finished", Duration::from_secs(30), || async {
            let mut redis = self.redis.clone();
            let finished: Vec<String> = redis.keys("cws:job-finished:*").await.unwrap();
            (finished.len() >= count).then_some(())
        })
        .await
    }

    /// Waits until at least one launch job is dead-lettered and returns how many are.
    pub async fn wait_for_dead_launch_jobs(&self) -> usize {
        eventually(
            "a dead-lettered launch job",
            Duration::from_secs(10),
            || async {
                let dead = self.dead_launch_jobs().await;
                (dead > 0).then_some(dead)
            },
        )
        .await
    }

    /// The entries of a Redis stream (the ledger, the audit trail), oldest first.
    pub async fn stream(&self, key: &str) -> Vec<String> {
        let mut redis = self.redis.clone();
        let entries: Vec<(String, Vec<(String, String)>)> = redis.xrange_all(key).await.unwrap();
        entries
            .into_iter()
            .flat_map(|(_, fields)| fields.into_iter().map(|(_, value)| value))
            .collect()
    }

    /// The kinds of a project's ledger events, oldest first: `launched`, `stopped`, …
    pub async fn ledger_kinds(&self, project: &str) -> Vec<String> {
        self.stream(&format!("cws:ledger:{project}"))
            .await
            .iter()
            .map(|entry| {
                let event: serde_json::Value = serde_json::from_str(entry).unwrap();
                event["kind"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// Instances in moto carrying the given Name tag, in any state.
    pub async fn instances_named(&self, name: &str) -> Vec<Instance> {
        let output = self
            .moto
            .ec2()
            .await
            .describe_instances()
            .filters(Filter::builder().name("tag:Name").values(name).build())
            .send()
            .await
            .expect("describe instances");
        output
            .reservations()
            .iter()
            .flat_map(|r| r.instances().to_vec())
            .collect()
    }

    /// The launch user data of the instance named `name` (the first, if several), decoded.
    pub async fn user_data_of(&self, name: &str) -> String {
        use base64::Engine;
        let instance = self.instances_named(name).await.remove(0);
        let attribute = self
            .moto
            .ec2()
            .await
            .describe_instance_attribute()
            .instance_id(instance.instance_id().unwrap())
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send()
            .await
            .unwrap();
        let encoded = attribute.user_data().and_then(|v| v.value()).unwrap();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap()
    }

    /// The state of the instance named `name` (the first, if several).
    pub async fn instance_state(&self, name: &str) -> InstanceStateName {
        let instances = self.instances_named(name).await;
        instances[0]
            .state()
            .and_then(|s| s.name())
            .cloned()
            .expect("a state")
    }

    /// Waits until the instance named `name` is `wanted`.
    pub async fn settles(&self, name: &str, wanted: InstanceStateName) {
        eventually(
            &format!("{name} {wanted:?}"),
            Duration::from_secs(10),
            || {
                let wanted = wanted.clone();
                async move { (self.instance_state(name).await == wanted).then_some(()) }
            },
        )
        .await;
    }

    /// Every instance in moto.
    pub async fn all_instances(&self) -> Vec<Instance> {
        let output = self
            .moto
            .ec2()
            .await
            .describe_instances()
            .send()
            .await
            .expect("describe");
        output
            .reservations()
            .iter()
            .flat_map(|r| r.instances().to_vec())
            .collect()
    }

    /// Sends a `/cws SUBCOMMAND args: ARGS` interaction signed as Discord signs it; returns
    /// the bot's answer and the interaction's token, on which follow-ups arrive.
    pub async fn discord_slash(
        &self,
        person: DiscordPerson,
        subcommand: &str,
        args: &str,
    ) -> (Answer, String) {
        let options = if args.is_empty() {
            serde_json::json!([])
        } else {
            serde_json::json!([{ "type": 3, "name": "args", "value": args }])
        };
        let data = serde_json::json!({
            "id": "1400000000000000001",
            "name": "cws",
            "type": 1,
            "options": [{ "type": 1, "name": subcommand, "options": options }],
        });
        self.discord_interaction(person, 2, data).await
    }

    /// Presses the button whose `custom_id` is given, as Discord reports the click.
    pub async fn discord_click(&self, person: DiscordPerson, custom_id: &str) -> (Answer, String) {
        let data = serde_json::json!({ "custom_id": custom_id, "component_type": 2 });
        self.discord_interaction(person, 3, data).await
    }

    /// Submits the reason modal a button opened (`custom_id` is the button's), as Discord
    /// reports it; `reason` is what was typed, if anything.
    pub async fn discord_submit(
        &self,
        person: DiscordPerson,
        custom_id: &str,
        reason: Option<&str>,
    ) -> (Answer, String) {
        let data = serde_json::json!({
            "custom_id": custom_id,
            "components": [{ "type": 1, "components": [
                { "type": 4, "custom_id": "cws_exception_reason", "value": reason.unwrap_or_default() }
            ] }],
        });
        self.discord_interaction(person, 5, data).await
    }

    async fn discord_interaction(
        &self,
        person: DiscordPerson,
        kind: u8,
        data: serde_json::Value,
    ) -> (Answer, String) {
        let token = format!("aW50ZXJhY3Rpb24-{}", uuid::Uuid::new_v4().simple());
        let id = 1_500_000_000_000_000_000u64 + u64::from(uuid::Uuid::new_v4().as_fields().0);
        let body = serde_json::json!({
            "type": kind,
            "id": id.to_string(),
            "application_id": DISCORD_APPLICATION_ID,
            "token": token,
            "version": 1,
            "guild_id": DISCORD_GUILD_ID,
            "channel_id": DISCORD_CHANNEL_ID,
            "channel": { "id": DISCORD_CHANNEL_ID, "type": 0 },
            "member": {
                "user": { "id": person.user_id, "username": person.username, "discriminator": "0", "global_name": null, "avatar": null },
                "roles": [], "joined_at": "2026-01-05T12:00:00.000000+00:00", "deaf": false, "mute": false, "permissions": "2248473465835073"
            },
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": "2248473465835073",
        })
        .to_string();
        (
            self.post_discord_signed(body, &self.discord_key).await,
            token,
        )
    }

    /// Signs `body` with `key` now, as Discord signs interactions, and posts it.
    pub async fn post_discord_signed(
        &self,
        body: String,
        key: &ed25519_dalek::SigningKey,
    ) -> Answer {
        let timestamp = now_unix().to_string();
        let signature = discord_signature(key, &timestamp, &body);
        self.post_discord(body, &timestamp, &signature).await
    }

    /// Posts to the Discord endpoint with whatever timestamp and signature the test chooses.
    pub async fn post_discord(&self, body: String, timestamp: &str, signature: &str) -> Answer {
        answered(
            self.http
                .post(format!("{}/discord/interactions", self.bot_url))
                .header("content-type", "application/json")
                .header("x-signature-ed25519", signature)
                .header("x-signature-timestamp", timestamp)
                .body(body),
        )
        .await
    }

    /// Fails the test if Slack or Discord refused a message past its limits, or received
    /// anything it did not examine; prints worker logs on failure.
    pub fn finish(self) {
        let refusals = self.slack.refusals();
        assert!(
            refusals.is_empty(),
            "Slack refused messages past its limits: {refusals:#?}"
        );
        let refusals = self.discord.refusals();
        assert!(
            refusals.is_empty(),
            "Discord refused messages past its limits: {refusals:#?}"
        );
        let unexamined = self.discord.unexamined();
        assert!(
            unexamined.is_empty(),
            "Discord received messages the test never looked at: {unexamined:#?}"
        );
        let unexamined = self.slack.unexamined();
        let all: Vec<String> = self
            .slack
            .all()
            .iter()
            .map(|p| format!("{} {}", p.method, p.text()))
            .collect();
        assert!(
            unexamined.is_empty(),
            "Slack received messages the test never looked at: {unexamined:#?}\nall, in order: {all:#?}"
        );
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for worker in &self.workers {
                let log = std::fs::read_to_string(&worker.log).unwrap_or_default();
                eprintln!("---- {} ----\n{log}", worker.log.display());
            }
        }
    }
}

/// Waits for `check` to return `Some`, polling quickly; panics with `what` after `timeout`.
/// Sends a request to the bot and times its answer.
/// Sends a slash command signed with [`SIGNING_SECRET`] to the bot at `bot_url`.
pub async fn slash_to(bot_url: &str, command: &Slash<'_>, response_url: &str) -> Answer {
    let body = command.form(response_url);
    let timestamp = now_unix().to_string();
    let signature = slack_signature::sign(SIGNING_SECRET.as_bytes(), &timestamp, body.as_bytes());
    answered(
        reqwest::Client::new()
            .post(format!("{bot_url}/slack/commands"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", timestamp)
            .header("x-slack-signature", signature)
            .body(body),
    )
    .await
}

async fn answered(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request.send().await.expect("the bot answers");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    Answer {
        status,
        body,
        elapsed: started.elapsed(),
    }
}

pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Seconds from now to the 10th of next month, 00:00 UTC: the test's day one is always
/// mid-month, so no month boundary falls inside it whatever day CI runs.
pub fn to_mid_next_month() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    let (year, month) = match now.month().next() {
        time::Month::January => (now.year() + 1, time::Month::January),
        next => (now.year(), next),
    };
    let tenth = time::Date::from_calendar_date(year, month, 10)
        .unwrap()
        .with_time(time::Time::MIDNIGHT)
        .assume_utc();
    (tenth - now).whole_seconds()
}

/// The value of the button with `action_id` in a message's blocks.
pub fn button_value(posted: &Posted, action_id: &str) -> String {
    posted.body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "actions")
        .flat_map(|block| block["elements"].as_array().cloned().unwrap_or_default())
        .find(|element| element["action_id"] == action_id)
        .and_then(|element| element["value"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no {action_id} button in {:#}", posted.body))
}

/// The invitation token in a message: `inv-` and its base64url characters.
pub fn token_in(text: &str) -> String {
    let start = text
        .find("inv-")
        .unwrap_or_else(|| panic!("no token in {text}"));
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .trim_end_matches('.')
        .to_owned()
}

pub fn tag<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}
