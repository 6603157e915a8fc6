//! The reconcile job and idle detection over 5,000 tagged instances in moto: how long one round
//! of each takes through the real worker environment (Redis state, EC2 and CloudWatch through
//! the AWS SDK), and how many AWS calls it makes (counted by moto's request recorder).
//!
//!     cargo bench -p cws-worker --bench scheduled_checks   (moto_server on PATH or in
//!                                                          MOTO_SERVER; Redis as for
//!                                                          cost_report, database 79)

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use base64::Engine;
use domain::command::IdleAction;
use domain::identity::ChatIdentity;
use domain::idle::IdlePolicy;
use domain::job::JobKey;
use domain::launch::{Attribution, TAG_INSTITUTION, TAG_PROJECT, TAG_USER};
use domain::ledger::LedgerEventKind;
use domain::ports::{InstanceState, WorkspaceStore};
use domain::pricing::Money;
use domain::project::Project;
use domain::settings::{Settings, Sources};
use domain::template::Size;
use domain::workspace::Workspace;
use futures::{StreamExt, TryStreamExt};
use worker::adapters::redis_store::RedisStore;

const INSTANCES: usize = 5_000;
/// RunInstances takes at most this many at once in moto without trouble.
const PER_CALL: usize = 1_000;
const RUNS: usize = 3;
const PROJECT: &str = "nih-neuro-consortium";
const IN_FLIGHT: usize = 64;

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Moto {
    let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let recording = std::env::temp_dir().join(format!("cws-bench-moto-{port}.jsonl"));
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ENABLE_RECORDING", "True")
        .env("MOTO_RECORDER_FILEPATH", &recording)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server runs (pip install 'moto[server]')");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/moto-api/", moto.url))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start");
}

fn redis_url() -> String {
    let base = std::env::var("CWS_BENCH_REDIS")
        .or_else(|_| std::env::var("CWS_TEST_REDIS"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6390".to_owned());
    format!("{base}/79")
}

/// The AWS calls moto recorded since the recorder was reset, by action.
async fn recorded_calls(moto: &Moto) -> BTreeMap<String, usize> {
    let text = reqwest::get(format!("{}/moto-api/recorder/download-recording", moto.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut calls = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let raw = entry["body"].as_str().unwrap_or_default();
        let body = if entry["body_encoded"].as_bool() == Some(true) {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap_or_default(),
            )
            .unwrap_or_default()
        } else {
            raw.to_owned()
        };
        let action = body
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .unwrap_or("other")
            .to_owned();
        *calls.entry(action).or_insert(0) += 1;
    }
    calls
}

async fn recorder(moto: &Moto, verb: &str) {
    reqwest::Client::new()
        .post(format!("{}/moto-api/recorder/{verb}", moto.url))
        .send()
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // SAFETY: set before any thread reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let moto = start_moto().await;
    let redis = redis_url();
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut connection = client.get_connection_manager().await.unwrap();
    redis::cmd("FLUSHDB")
        .exec_async(&mut connection)
        .await
        .unwrap();
    let pairs = [
        ("REDIS_URL", redis.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", moto.url.clone()),
    ];
    let env_var = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    let settings = Settings::load(&Sources::new(&env_var, None).unwrap()).unwrap();
    let env = worker::command_env(&settings, Some(connection.clone()))
        .await
        .unwrap();

    // The project, with idle detection on, and 5,000 tagged instances recorded as workspaces.
    let now = time::OffsetDateTime::now_utc();
    let launched_at = now - time::Duration::hours(3);
    let project = Project {
        name: PROJECT.into(),
        owner: ChatIdentity::slack("T1", "USMITH"),
        owner_user_id: "USMITH".into(),
        owner_name: "Dr. Smith".into(),
        institution: "stanford".into(),
        monthly_budget: Money::from_cents(50_000_000),
        description: None,
        alert_threshold: 80,
        kind: None,
        duration: None,
        account: "lead".into(),
        channel_id: "C1".into(),
        created_at: now - time::Duration::days(30),
        time_zone: None,
        chargeback: None,
        limit: Default::default(),
        idle: Some(IdlePolicy {
            action: IdleAction::Hibernate,
            ..IdlePolicy::default()
        }),
        collaboration_end: None,
        approvers: Vec::new(),
        archived_at: None,
    };
    env.state.create_project(&project).await.unwrap().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(
        &worker::adapters::aws::sdk_config(settings.aws.as_ref().unwrap()).await,
    );
    let started = Instant::now();
    let mut ids = Vec::with_capacity(INSTANCES);
    for _ in 0..INSTANCES / PER_CALL {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key(TAG_PROJECT).value(PROJECT).build())
            .tags(Tag::builder().key(TAG_USER).value("sarah_lee").build())
            .tags(
                Tag::builder()
                    .key(TAG_INSTITUTION)
                    .value("berkeley")
                    .build(),
            )
            .build();
        let output = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Large)
            .min_count(PER_CALL as i32)
            .max_count(PER_CALL as i32)
            .tag_specifications(tags)
            .send()
            .await
            .expect("moto launches");
        ids.extend(
            output
                .instances()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_owned)),
        );
    }
    let store = RedisStore::new(
        connection.clone(),
        std::time::Duration::from_secs(7 * 86_400),
    );
    futures::stream::iter(ids.iter().enumerate())
        .map(|(n, id)| {
            let workspace = Workspace {
                name: format!("ws-{n:05}"),
                instance_id: id.clone(),
                job: JobKey::try_from(format!("bench:{n}")).unwrap(),
                template: "Python Machine Learning".into(),
                size: Size::M,
                instance_type: "t3.large".into(),
                region: "us-east-1".into(),
                hourly: "0.0832".parse().unwrap(),
                attribution: Attribution {
                    project: PROJECT.into(),
                    user: "sarah_lee".into(),
                    institution: "berkeley".into(),
                    invitation: "berkeley-collaboration".into(),
                },
                launched_at,
                state: InstanceState::Running,
                hibernation: true,
                owner_user_id: Some("ULEE".into()),
                storage_gb: 30,
                account: None,
                image_id: None,
                platform: domain::template::Platform::Ec2,
            };
            let store = &store;
            let state = &env.state;
            async move {
                store.record(&workspace).await?;
                state
                    .append_ledger(&workspace.ledger_event(LedgerEventKind::Launched, launched_at))
                    .await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    println!(
        "setup: {} instances in moto and recorded as workspaces in {:.1?}",
        ids.len(),
        started.elapsed()
    );

    // Where a round's time goes: the AWS side (moto answering) and our state.
    let started = Instant::now();
    let described = env.launch.cloud.describe_tagged().await.unwrap();
    println!(
        "  DescribeInstances of {} tagged instances alone: {:.1?}",
        described.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let recorded = env.launch.store.all().await.unwrap();
    println!(
        "  reading {} workspace records from Redis alone: {:.1?}",
        recorded.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let peaks = env
        .launch
        .metrics_in(None, "us-east-1")
        .await
        .unwrap()
        .activity(&ids, now - time::Duration::hours(2), now)
        .await
        .unwrap();
    println!(
        "  GetMetricData for {} instances alone: {:.1?} ({} with data)",
        ids.len(),
        started.elapsed(),
        peaks.len()
    );

    for (name, round) in [("reconcile", 0), ("idle detection", 1)] {
        let mut times = Vec::new();
        let mut calls = BTreeMap::new();
        for _ in 0..RUNS {
            recorder(&moto, "reset-recording").await;
            recorder(&moto, "start-recording").await;
            let started = Instant::now();
            match round {
                0 => {
                    worker::reconcile_round(&env).await.unwrap();
                }
                _ => worker::idle_round(&env).await.unwrap(),
            }
            times.push(started.elapsed());
            recorder(&moto, "stop-recording").await;
            calls = recorded_calls(&moto).await;
        }
        times.sort();
        println!(
            "{name} over {} workspaces: median {:.1?} (min {:.1?}, max {:.1?}); AWS calls per round: {calls:?}",
            ids.len(),
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
        );
    }
}
