//! A real moto server (AWS APIs over HTTP) on a free loopback port, one per test.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::Credentials;

/// moto, refusing what AWS refuses where moto alone would not (images per region) and
/// carrying the public image parameters the templates name: `tests/standins/moto_server.py`.
const STANDIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standins/moto_server.py");

/// The workstation policy every test deployment names (`CWS_WORKSTATION_POLICY`), as the
/// shipped stacks create it.
pub const WORKSTATION_POLICY: &str = "cws-workstation";

/// The heart of the stacks' workstation policy: mounts of the role's own project's volumes.
const WORKSTATION_POLICY_DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"MountOwnProjectsVolumesThroughAccessPoints","Effect":"Allow","Action":["elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/cws:project":"${aws:PrincipalTag/cws:project}"}}}]}"#;

/// The Canvas policy every test deployment names (`CWS_CANVAS_POLICY`): the operator writes
/// one; this one stands for it.
pub const CANVAS_POLICY: &str = "cws-canvas";

/// A Canvas policy's heart, as an operator might scope it: Canvas's jobs, in the role's own
/// project only.
const CANVAS_POLICY_DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"CanvasJobsOfTheProject","Effect":"Allow","Action":["sagemaker:CreateAutoMLJobV2","sagemaker:DescribeAutoMLJobV2"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/cws:project":"${aws:PrincipalTag/cws:project}"}}}]}"#;

/// A workstation role as IAM has it.
#[derive(Debug)]
pub struct WorkstationRole {
    pub name: String,
    pub path: String,
    pub project_tag: Option<String>,
    pub boundary: Option<String>,
    pub attached: Vec<String>,
}

pub struct Moto {
    child: Child,
    port: u16,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// A moto server that answers. The free port is only free when it was picked: if another
    /// process takes it first, moto exits, and it is started again on another port.
    pub async fn start() -> Moto {
        let program = STANDIN;
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        loop {
            let mut moto = Moto::spawn(program);
            loop {
                let ready = http.get(format!("{}/moto-api/", moto.url())).send().await;
                if matches!(ready, Ok(ref r) if r.status().is_success()) {
                    return moto;
                }
                assert!(
                    Instant::now() < deadline,
                    "moto_server did not start on port {}",
                    moto.port
                );
                if moto.child.try_wait().unwrap().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    fn spawn(program: &str) -> Moto {
        let port = free_port();
        let child = Command::new("python3")
            .arg(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} must be installed (pip install 'moto[server]'): {e}")
            });
        Moto { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(self.url())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "e2e"))
            .load()
            .await
    }

    /// The workstation policy in the lead account, as the deploy/ stack makes it, and the
    /// operator's Canvas policy.
    pub async fn create_workstation_policy(&self) {
        let config = self.sdk_config().await;
        Moto::create_workstation_policy_as(&config).await;
        aws_sdk_iam::Client::new(&config)
            .create_policy()
            .policy_name(CANVAS_POLICY)
            .policy_document(CANVAS_POLICY_DOCUMENT)
            .send()
            .await
            .expect("moto makes the policy");
    }

    /// The workstation policy in the account `config` acts in, as the collaborator stack
    /// makes it there.
    pub async fn create_workstation_policy_as(config: &aws_config::SdkConfig) {
        aws_sdk_iam::Client::new(config)
            .create_policy()
            .policy_name(WORKSTATION_POLICY)
            .policy_document(WORKSTATION_POLICY_DOCUMENT)
            .send()
            .await
            .expect("moto makes the policy");
    }

    /// The role of `profile` (an instance profile's name or ARN) in the account `config`
    /// acts in: its tags, its permissions boundary and the policies attached to it.
    pub async fn workstation_role_as(
        config: &aws_config::SdkConfig,
        profile: &str,
    ) -> WorkstationRole {
        let iam = aws_sdk_iam::Client::new(config);
        let name = profile.rsplit('/').next().expect("a name");
        let profile = iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .expect("the instance profile exists")
            .instance_profile
            .expect("a profile");
        let role_name = profile.roles()[0].role_name().to_owned();
        Moto::role_as(config, &role_name).await
    }

    /// The role `role_name` in the account `config` acts in.
    pub async fn role_as(config: &aws_config::SdkConfig, role_name: &str) -> WorkstationRole {
        let iam = aws_sdk_iam::Client::new(config);
        let role = iam
            .get_role()
            .role_name(role_name)
            .send()
            .await
            .expect("the role exists")
            .role
            .expect("a role");
        let attached = iam
            .list_attached_role_policies()
            .role_name(role_name)
            .send()
            .await
            .expect("attached policies")
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect();
        WorkstationRole {
            name: role_name.to_owned(),
            path: role.path().to_owned(),
            project_tag: role
                .tags()
                .iter()
                .find(|t| t.key() == "cws:project")
                .map(|t| t.value().to_owned()),
            boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
            attached,
        }
    }

    pub async fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk_config().await)
    }

    /// CloudWatch's `AWS/EC2` `metric` for `instance_id`: `value` every 5 minutes over
    /// `[from, to]`, as EC2 would have published it (`CPUUtilization` in percent,
    /// `NetworkIn` in bytes per period).
    pub async fn put_metric(
        &self,
        instance_id: &str,
        metric: &str,
        value: f64,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let client = aws_sdk_cloudwatch::Client::new(&self.sdk_config().await);
        let mut at = from;
        let mut data = Vec::new();
        while at <= to {
            data.push(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(
                        Dimension::builder()
                            .name("InstanceId")
                            .value(instance_id)
                            .build(),
                    )
                    .timestamp(DateTime::from_secs(at.unix_timestamp()))
                    .value(value)
                    .build(),
            );
            at += time::Duration::minutes(5);
        }
        for chunk in data.chunks(500) {
            client
                .put_metric_data()
                .namespace("AWS/EC2")
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .expect("moto takes the metrics");
        }
    }

    /// Snapshots carrying the tag `key=value`, each with the accounts it is shared with.
    pub async fn snapshots_tagged(
        &self,
        key: &str,
        value: &str,
    ) -> Vec<(aws_sdk_ec2::types::Snapshot, Vec<String>)> {
        let ec2 = self.ec2().await;
        let snapshots = ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build(),
            )
            .send()
            .await
            .expect("moto lists snapshots")
            .snapshots
            .unwrap_or_default();
        let mut shared = Vec::new();
        for snapshot in snapshots {
            let accounts = ec2
                .describe_snapshot_attribute()
                .snapshot_id(snapshot.snapshot_id().unwrap_or_default())
                .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
                .send()
                .await
                .expect("moto describes the snapshot")
                .create_volume_permissions
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.user_id)
                .collect();
            shared.push((snapshot, accounts));
        }
        shared
    }

    /// The object `key` in `bucket`, as text.
    pub async fn s3_text(&self, bucket: &str, key: &str) -> String {
        let s3 = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        let object = aws_sdk_s3::Client::from_conf(s3)
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("s3://{bucket}/{key}: {e:?}"));
        let bytes = object.body.collect().await.unwrap().into_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The size of the object `key` in `bucket`, if it exists (HeadObject).
    pub async fn s3_size(&self, bucket: &str, key: &str) -> Option<i64> {
        let s3 = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(s3)
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()
            .and_then(|head| head.content_length())
    }

    /// Queues Cost Explorer's answer to the next GetCostAndUsage with new parameters (moto's
    /// way of seeding billing data): one group per (user, institution, amount).
    pub async fn seed_cost_explorer(&self, groups: &[(&str, &str, &str)]) {
        let groups: Vec<serde_json::Value> = groups
            .iter()
            .map(|(user, institution, amount)| {
                serde_json::json!({
                    "Keys": [format!("cws:user${user}"), format!("cws:institution${institution}")],
                    "Metrics": { "UnblendedCost": { "Amount": amount, "Unit": "USD" } }
                })
            })
            .collect();
        let seeded = reqwest::Client::new()
            .post(format!("{}/moto-api/static/ce/cost-and-usage-results", self.url()))
            .json(&serde_json::json!({
                "results": [{ "ResultsByTime": [{ "Total": {}, "Groups": groups, "Estimated": false }] }]
            }))
            .send()
            .await
            .expect("moto answers");
        assert_eq!(seeded.status().as_u16(), 201);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
