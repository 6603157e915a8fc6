//! Client and credential caching across accounts and regions: 1,000 launches (image, subnet,
//! security group, instance profile, RunInstances) spread over 3 regions and 2 accounts (the
//! lead's and a collaborator's through its role), 32 at a time, through the real adapters
//! against the moto stand-in. Prints how many STS AssumeRole calls moto recorded: the target is
//! at most one per role per credential lifetime (one hour here), however many launches and
//! regions share it.
//!
//!     cargo bench -p cws-worker --bench assume_role

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use domain::account::Account;
use domain::command::Launch;
use domain::job::JobKey;
use domain::launch::{Attribution, plan_launch};
use domain::network::NetworkSettings;
use domain::ports::AccountClouds;
use domain::pricing::PricingTable;
use domain::settings::AwsSettings;
use domain::template::Catalog;
use futures::StreamExt;
use worker::adapters::assume_role::AssumedRoles;
use worker::adapters::aws::sdk_config;
use worker::adapters::ec2::Ec2AccountClouds;

const LAUNCHES: usize = 1_000;
const IN_FLIGHT: usize = 32;
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const ROLE: &str = "arn:aws:iam::222222222222:role/cws";
const POLICY: &str = "cws-workstation";

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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/standins/moto_server.py"
        ))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ENABLE_RECORDING", "True")
        .env(
            "MOTO_RECORDER_FILEPATH",
            std::env::temp_dir().join(format!("cws-bench-sts-{port}.jsonl")),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto[server] (scripts/test installs it)");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if reqwest::get(format!("{}/moto-api/", moto.url))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not start");
}

async fn recorder(moto: &Moto, verb: &str) {
    reqwest::Client::new()
        .post(format!("{}/moto-api/recorder/{verb}", moto.url))
        .send()
        .await
        .unwrap();
}

/// The query-protocol calls moto recorded, by action (EC2, STS, IAM name theirs in the body).
async fn recorded_actions(moto: &Moto) -> BTreeMap<String, usize> {
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
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .unwrap_or_default();
            String::from_utf8(bytes).unwrap_or_default()
        } else {
            raw.to_owned()
        };
        let action = body
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .unwrap_or("other (JSON protocol: SSM)")
            .to_owned();
        *calls.entry(action).or_insert(0) += 1;
    }
    calls
}

async fn create_policy(config: &aws_config::SdkConfig) {
    aws_sdk_iam::Client::new(config)
        .create_policy()
        .policy_name(POLICY)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:UpdateInstanceInformation","Resource":"*"}]}"#,
        )
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
    let config = sdk_config(&AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(moto.url.clone()),
        network: NetworkSettings::default(),
        external_id: None,
    })
    .await;
    // Both accounts deployed their stack: the workstation policy exists in each.
    create_policy(&config).await;
    let setup = Arc::new(AssumedRoles::new(&config, None));
    create_policy(&setup.config_for(ROLE).await.unwrap()).await;

    let clouds = Ec2AccountClouds::new(
        &config,
        Arc::new(AssumedRoles::new(&config, Some("cws-bench".into()))),
        NetworkSettings {
            workstation_policy: Some(POLICY.into()),
            ..NetworkSettings::default()
        },
    );
    let collaborator = Account {
        name: "berkeley-neuroscience".into(),
        id: "222222222222".into(),
        role_arn: Some(ROLE.into()),
        institution: "berkeley-neuroscience".into(),
    };
    recorder(&moto, "reset-recording").await;
    recorder(&moto, "start-recording").await;
    let started = Instant::now();
    let launched = futures::stream::iter(0..LAUNCHES)
        .map(|n| {
            let clouds = &clouds;
            let account = (n % 2 == 1).then_some(&collaborator);
            let region = REGIONS[n % REGIONS.len()];
            async move {
                let launch = Launch {
                    template: "Python Machine Learning".into(),
                    name: format!("bench-{n:04}").parse().unwrap(),
                    size: None,
                    region: Some(region.into()),
                    project: None,
                };
                let plan = plan_launch(
                    &launch,
                    &JobKey::try_from(format!("bench:sts:{n}")).unwrap(),
                    &Attribution {
                        project: "nih-neuro-consortium".into(),
                        user: "sarah_lee".into(),
                        institution: "berkeley-neuroscience".into(),
                        invitation: "berkeley-collaboration".into(),
                    },
                    "us-east-1",
                    Catalog::builtin(),
                    PricingTable::builtin(),
                )
                .unwrap();
                let cloud = clouds
                    .cloud_in(domain::template::Platform::Ec2, account, region)
                    .await
                    .unwrap();
                let placement = cloud
                    .place("nih-neuro-consortium", plan.workspace.as_str(), &plan.image)
                    .await
                    .unwrap();
                cloud.run_instance(&plan, &placement).await.unwrap()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .count()
        .await;
    let elapsed = started.elapsed();
    recorder(&moto, "stop-recording").await;
    let calls = recorded_actions(&moto).await;
    let assume_role = calls.get("AssumeRole").copied().unwrap_or(0);
    println!(
        "{launched} launches over {} regions and 2 accounts, {IN_FLIGHT} at a time: {elapsed:.1?} \
         ({:.0} launches/s against moto)",
        REGIONS.len(),
        launched as f64 / elapsed.as_secs_f64()
    );
    for (action, count) in &calls {
        println!("  {action:<36} {count:>6}");
    }
    println!(
        "STS AssumeRole calls: {assume_role} (target: at most 1 per role per credential \
         lifetime; 1 role here) {}",
        if assume_role <= 1 { "✅" } else { "❌" }
    );
}
