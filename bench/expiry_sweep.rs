//! The expiry sweep over 100,000 invitations in Redis, through the real worker environment:
//! each invitation has one device, so every warning is a Slack DM (`conversations.open` and
//! `chat.postMessage` at a local Slack stand-in that answers at once), an e-mail (`users.info`,
//! then the mail folder) and an audit link; each end also revokes, writes its manifest and
//! posts in the channel. The 540-day invitations were created evenly over the last 540 days,
//! so about 185 of them reach each stage every day.
//!
//! Three sweeps, each at its own clock: the first ever (catching up the 30 days of warnings
//! that came due before the schedule existed), the next day's (the daily work), and a tick
//! with nothing due (what most ticks are).
//!
//!     cargo bench -p cws-worker --bench expiry_sweep   (Redis as for cost_report, database 78)

use std::time::{Duration, Instant};

use domain::identity::{ChatIdentity, Role};
use domain::invitation::Invitation;
use domain::pricing::Money;
use domain::project::Project;
use domain::settings::{Settings, Sources};
use domain::token::InvitationId;
use futures::{StreamExt, TryStreamExt};
use worker::CommandEnv;

const INVITATIONS: usize = 100_000;
const VALID_DAYS: i64 = 540;
const PROJECT: &str = "nih-neuro-consortium";
const IN_FLIGHT: usize = 64;

fn redis_url() -> String {
    let base = std::env::var("CWS_BENCH_REDIS")
        .or_else(|_| std::env::var("CWS_TEST_REDIS"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6390".to_owned());
    format!("{base}/78")
}

/// Answers every Slack Web API method with one document that satisfies each of them.
async fn slack_stand_in() -> String {
    let answer = serde_json::json!({
        "ok": true,
        "channel": { "id": "D0BENCH" },
        "ts": "1.0",
        "user": { "profile": { "email": "collaborator@consortium.example" } },
    });
    let app = axum::Router::new().fallback(move || {
        let answer = answer.clone();
        async move { axum::Json(answer) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn env_at(redis: &str, slack: &str, offset: &str) -> CommandEnv {
    let pairs = [
        ("REDIS_URL", redis.to_owned()),
        ("SLACK_SIGNING_SECRET", "bench".to_owned()),
        ("SLACK_BOT_TOKEN", "xoxb-bench".to_owned()),
        ("SLACK_API_URL", slack.to_owned()),
        ("CWS_CLOCK_OFFSET", offset.to_owned()),
    ];
    let env_var = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let settings = Settings::load(&Sources::new(&env_var, None).unwrap()).unwrap();
    let connection = apalis_redis::connect(redis).await.unwrap();
    worker::command_env(&settings, Some(connection))
        .await
        .unwrap()
}

async fn timed_sweep(name: &str, env: &CommandEnv) -> Duration {
    let started = Instant::now();
    let due = worker::run_once(env, worker::Round::ExpirySweep)
        .await
        .unwrap();
    let took = started.elapsed();
    println!("{name}: {took:.1?} ({due})");
    took
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Mail and archives go to folders under the working directory: a scratch one.
    let scratch = std::env::temp_dir().join(format!("cws-bench-expiry-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    std::env::set_current_dir(&scratch).unwrap();
    let redis = redis_url();
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut connection = client.get_connection_manager().await.unwrap();
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection)
        .await
        .unwrap();
    let slack = slack_stand_in().await;
    let env = env_at(&redis, &slack, "").await;

    let now = time::OffsetDateTime::now_utc();
    let owner = ChatIdentity::slack("T1", "USMITH");
    let project = Project {
        name: PROJECT.into(),
        owner: owner.clone(),
        owner_user_id: "USMITH".into(),
        owner_name: "Dr. Smith".into(),
        institution: "stanford".into(),
        monthly_budget: Money::from_cents(500_000),
        description: None,
        alert_threshold: 80,
        kind: None,
        duration: None,
        account: "lead".into(),
        channel_id: "C1".into(),
        created_at: now - time::Duration::days(VALID_DAYS),
        time_zone: None,
        chargeback: None,
        limit: Default::default(),
        idle: None,
        collaboration_end: None,
        approvers: Vec::new(),
        archived_at: None,
    };
    env.state.create_project(&project).await.unwrap().unwrap();

    let started = Instant::now();
    futures::stream::iter(0..INVITATIONS)
        .map(|n| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
            // Spread evenly over the last 540 days, to the second.
            let age =
                time::Duration::seconds((n as i64 * VALID_DAYS * 86_400) / INVITATIONS as i64 + 60);
            let created_at = now - age;
            let invitation = Invitation {
                id: InvitationId::from_bytes(id),
                name: format!("collaborator-{n:06}"),
                project: PROJECT.into(),
                role: Role::ReadWrite,
                created_by: owner.clone(),
                created_at,
                expires_at: created_at + time::Duration::days(VALID_DAYS),
                can_invite: false,
                device_bound: true,
                max_devices: 3,
                restrictions: None,
                institution: Some("mit".into()),
                invitee: Some(format!("Collaborator {n}")),
                require_verified_identity: false,
                require_domain: None,
                launch_account: None,
                revoked_at: None,
                devices: vec![ChatIdentity::slack("T2", &format!("U{n:06}"))],
                extensions: Vec::new(),
            };
            let state = &env.state;
            async move { state.create_invitation(&invitation).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<bool>>()
        .await
        .unwrap();
    println!(
        "setup: {INVITATIONS} invitations of {VALID_DAYS} days in Redis, each in the expiry \
         schedule, in {:.1?}",
        started.elapsed()
    );

    timed_sweep("first sweep ever (catch-up of 30 days)", &env).await;
    let next_day = env_at(&redis, &slack, "+1d").await;
    timed_sweep("the next day's sweep", &next_day).await;
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(timed_sweep("  a tick with nothing due", &next_day).await);
    }
    idle.sort();
    println!(
        "a tick with nothing due: median {:.2?}",
        idle[idle.len() / 2]
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
