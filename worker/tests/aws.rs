//! The AWS adapters against a real AWS API (moto): a workspace's whole life cycle on EC2, each
//! call repeated where a user may repeat it; statements in S3; Cost Explorer's groups.

use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use domain::command::Launch;
use domain::job::JobKey;
use domain::launch::{Attribution, LaunchPlan, plan_launch};
use domain::network::NetworkSettings;
use domain::ports::{
    BilledCost, Billing, Cloud, InstanceState, LaunchedInstance, ObjectStore, PortError,
};
use domain::pricing::PricingTable;
use domain::settings::AwsSettings;
use domain::template::Catalog;
use worker::adapters::aws::sdk_config;
use worker::adapters::cost_explorer::CostExplorer;
use worker::adapters::ec2::Ec2Cloud;
use worker::adapters::s3::S3Store;

/// How long an instance may take to reach the state a call asked for.
const SETTLE: Duration = Duration::from_secs(10);

/// A moto server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    async fn start() -> Moto {
        let program = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/standins/moto_server.py"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .arg(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} must be installed (pip install 'moto[server]'): {e}")
            });
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        loop {
            let ready = http.get(format!("{}/moto-api/", moto.url)).send().await;
            if matches!(ready, Ok(ref r) if r.status().is_success()) {
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SDK takes credentials from the SDK's default chain, so they go in the
/// environment: once, before any test reads it.
fn test_credentials() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        // SAFETY: every test calls this before anything else, and `Once` holds the others back
        // until it returns, so no thread reads the environment while it is written.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
    });
}

/// An instance someone started outside cws, without its tags.
async fn moto_untagged_instance(moto: &Moto) {
    aws_sdk_ec2::Client::new(&config(moto).await)
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
}

async fn config(moto: &Moto) -> aws_config::SdkConfig {
    sdk_config(&AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(moto.url.clone()),
        network: NetworkSettings::default(),
        external_id: None,
    })
    .await
}

/// The workstation policy the deploy/ stacks make, made here as they would.
const POLICY: &str = "cws-workstation";

async fn cloud(moto: &Moto) -> Ec2Cloud {
    cloud_with(moto, NetworkSettings::default()).await
}

/// EC2 in us-east-1 with `network`, whose workstation policy (if it names one) exists.
async fn cloud_with(moto: &Moto, network: NetworkSettings) -> Ec2Cloud {
    let config = config(moto).await;
    aws_sdk_iam::Client::new(&config)
        .create_policy()
        .policy_name(POLICY)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:UpdateInstanceInformation","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let network = NetworkSettings {
        workstation_policy: network.workstation_policy.or(Some(POLICY.to_owned())),
        ..network
    };
    Ec2Cloud::new(&config, std::sync::Arc::new(network))
}

/// Places and launches `plan` for the project of the tests.
async fn launch(cloud: &Ec2Cloud, plan: &LaunchPlan) -> Result<LaunchedInstance, PortError> {
    let placement = cloud
        .place("nih-neuro-consortium", plan.workspace.as_str(), &plan.image)
        .await?;
    cloud.run_instance(plan, &placement).await
}

fn plan(template: &str, job: &str) -> LaunchPlan {
    plan_sized(template, job, None)
}

fn plan_sized(template: &str, job: &str, size: Option<domain::template::Size>) -> LaunchPlan {
    let launch = Launch {
        template: template.to_owned(),
        name: job.parse().unwrap(),
        size,
        region: None,
        project: None,
    };
    let attribution = Attribution {
        project: "nih-neuro-consortium".into(),
        user: "ada".into(),
        institution: "mit".into(),
        invitation: "mit-collaboration".into(),
    };
    plan_launch(
        &launch,
        &JobKey::try_from(format!("test:{job}")).unwrap(),
        &attribution,
        "us-east-1",
        Catalog::builtin(),
        PricingTable::builtin(),
    )
    .unwrap()
}

/// Describes until the instance is in `expected`: EC2 (and moto) may report a transition first.
async fn wait_for(cloud: &Ec2Cloud, instance_id: &str, expected: InstanceState) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let status = cloud.describe(instance_id).await.unwrap();
        let state = status.as_ref().map(|s| s.state);
        if state == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{instance_id} is {state:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn code(error: PortError) -> String {
    match error {
        PortError::Rejected { code, .. } => code,
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test]
async fn a_workspace_runs_stops_starts_and_terminates() {
    test_credentials();
    let moto = Moto::start().await;
    let cloud = cloud(&moto).await;
    let plan = plan("GPU ML Workstation", "gpu-lifecycle");
    let id = launch(&cloud, &plan).await.unwrap().instance_id;
    wait_for(&cloud, &id, InstanceState::Running).await;
    let status = cloud.describe(&id).await.unwrap().unwrap();
    assert_eq!(status.instance_type, plan.instance_type);
    assert!(status.private_ip.is_some());
    assert!(status.launched_at.is_some());

    cloud.stop(&id, false).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Stopped).await;
    cloud.stop(&id, false).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Stopped).await;
    // The reconcile job's view: every tagged instance in one call, untagged ones left out.
    moto_untagged_instance(&moto).await;
    let tagged = cloud.describe_tagged().await.unwrap();
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(
        (tagged[0].instance_id.as_str(), tagged[0].state),
        (id.as_str(), InstanceState::Stopped)
    );
    cloud.start(&id, &[]).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Running).await;

    cloud.terminate(&id).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Terminated).await;
    cloud.terminate(&id).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Terminated).await;
    assert_eq!(
        code(cloud.stop(&id, false).await.unwrap_err()),
        "IncorrectInstanceState"
    );
    assert_eq!(
        code(cloud.start(&id, &[]).await.unwrap_err()),
        "IncorrectInstanceState"
    );
    wait_for(&cloud, &id, InstanceState::Terminated).await;
}

#[tokio::test]
async fn a_workspace_is_snapshotted_once_per_key_shared_and_its_snapshot_deleted() {
    test_credentials();
    let moto = Moto::start().await;
    let cloud = cloud(&moto).await;
    let id = launch(&cloud, &plan("Python Machine Learning", "snap-me"))
        .await
        .unwrap()
        .instance_id;
    wait_for(&cloud, &id, InstanceState::Running).await;
    let tags = [
        ("cws:collaborator".to_owned(), "invitation:abc".to_owned()),
        ("cws:workspace".to_owned(), "snap-me".to_owned()),
    ];
    let first = cloud
        .snapshot_volumes(&id, "end:abc:snap-me", &tags)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "one root volume: {first:?}");
    assert_eq!(first[0].tags["cws:workspace"], "snap-me");
    assert!(first[0].volume_id.starts_with("vol-"), "{first:?}");
    // The same key again (a job run after a crash) finds the snapshot instead of making one.
    let again = cloud
        .snapshot_volumes(&id, "end:abc:snap-me", &tags)
        .await
        .unwrap();
    assert_eq!(again[0].snapshot_id, first[0].snapshot_id);
    let other = cloud
        .snapshot_volumes(&id, "export:job-1:snap-me", &tags)
        .await
        .unwrap();
    assert_ne!(other[0].snapshot_id, first[0].snapshot_id);
    let theirs = cloud
        .snapshots_tagged("cws:collaborator", "invitation:abc")
        .await
        .unwrap();
    assert_eq!(theirs.len(), 2);

    cloud
        .share_snapshot(&first[0].snapshot_id, "111111111111")
        .await
        .unwrap();
    let permissions = aws_sdk_ec2::Client::new(&config(&moto).await)
        .describe_snapshot_attribute()
        .snapshot_id(&first[0].snapshot_id)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap();
    let accounts: Vec<&str> = permissions
        .create_volume_permissions()
        .iter()
        .filter_map(|p| p.user_id())
        .collect();
    assert_eq!(accounts, ["111111111111"]);

    cloud.delete_snapshot(&other[0].snapshot_id).await.unwrap();
    cloud.delete_snapshot(&other[0].snapshot_id).await.unwrap();
    let left = cloud
        .snapshots_tagged("cws:collaborator", "invitation:abc")
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
}

#[tokio::test]
async fn a_workspace_launched_for_hibernation_hibernates() {
    test_credentials();
    let moto = Moto::start().await;
    let cloud = cloud(&moto).await;
    // Size L is an r5.xlarge: 32 GiB of RAM to write to disk beside the OS.
    let plan = plan_sized(
        "Python Machine Learning",
        "ml-hibernates",
        Some(domain::template::Size::L),
    );
    assert!(plan.hibernation);
    let id = launch(&cloud, &plan).await.unwrap().instance_id;
    wait_for(&cloud, &id, InstanceState::Running).await;

    let described = cloud
        .client()
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let instance = &described.reservations()[0].instances()[0];
    assert_eq!(
        instance.hibernation_options().and_then(|h| h.configured()),
        Some(true)
    );
    let volumes = cloud.client().describe_volumes().send().await.unwrap();
    let root = volumes
        .volumes()
        .iter()
        .find(|v| v.attachments().iter().any(|a| a.instance_id() == Some(&id)))
        .expect("the instance's root volume");
    assert_eq!(
        root.size(),
        Some(55),
        "20 GB for the OS and 35 GB (32 GiB) for the RAM image"
    );
    assert_eq!(root.volume_type().map(|t| t.as_str()), Some("gp3"));
    assert_eq!(root.encrypted(), Some(true));

    cloud.stop(&id, true).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Stopped).await;
    cloud.start(&id, &[]).await.unwrap();
    wait_for(&cloud, &id, InstanceState::Running).await;
}

#[tokio::test]
async fn hibernation_is_refused_without_hibernation_at_launch() {
    test_credentials();
    let moto = Moto::start().await;
    let cloud = cloud(&moto).await;
    let plan = plan("GPU ML Workstation", "gpu-no-hibernation");
    assert!(!plan.hibernation);
    let id = launch(&cloud, &plan).await.unwrap().instance_id;
    wait_for(&cloud, &id, InstanceState::Running).await;
    assert_eq!(
        code(cloud.stop(&id, true).await.unwrap_err()),
        "UnsupportedHibernationConfiguration"
    );
    wait_for(&cloud, &id, InstanceState::Running).await;
}

#[tokio::test]
async fn unknown_instances_are_not_found() {
    test_credentials();
    let moto = Moto::start().await;
    let cloud = cloud(&moto).await;
    let unknown = "i-0123456789abcdef0";
    assert_eq!(cloud.describe(unknown).await.unwrap(), None);
    assert_eq!(
        code(cloud.stop(unknown, false).await.unwrap_err()),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        code(cloud.terminate(unknown).await.unwrap_err()),
        "InvalidInstanceID.NotFound"
    );
}

#[tokio::test]
async fn a_statement_lands_in_a_bucket_created_on_first_use_and_its_link_downloads_it() {
    test_credentials();
    let moto = Moto::start().await;
    let store = S3Store::new(&config(&moto).await, Some("cws-archive-test"), true);
    let csv = "month,project,user\n2026-10,nih,sarah_lee\n";
    let link = store
        .put(
            "chargeback/nih/2026-10.csv",
            csv.as_bytes().to_vec(),
            "text/csv",
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert!(link.contains("X-Amz-Signature"), "{link}");
    let downloaded = reqwest::get(&link).await.unwrap();
    assert!(downloaded.status().is_success(), "{}", downloaded.status());
    assert_eq!(downloaded.text().await.unwrap(), csv);
    // Written again (a re-run): replaced, and the bucket that already exists is no error.
    let again = S3Store::new(&config(&moto).await, Some("cws-archive-test"), true);
    again
        .put(
            "chargeback/nih/2026-10.csv",
            b"v2".to_vec(),
            "text/csv",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get("chargeback/nih/2026-10.csv")
            .await
            .unwrap()
            .as_deref(),
        Some(b"v2".as_slice())
    );
    assert_eq!(store.get("chargeback/nih/1999-01.csv").await.unwrap(), None);
}

/// `download`: a presigned PUT lets a workstation without credentials store the archive; the
/// worker finds it (HeadObject) and links it for a day, and finds nothing before it arrived.
#[tokio::test]
async fn an_upload_link_stores_an_object_that_a_download_link_then_serves() {
    test_credentials();
    let moto = Moto::start().await;
    let store = S3Store::new(&config(&moto).await, Some("cws-archive-test"), true);
    let key = "downloads/nih/mit-dev/slack-T1-trigger.tar.gz";
    let day = Duration::from_secs(86_400);
    assert_eq!(store.download_link(key, day).await.unwrap(), None);
    let upload = store
        .upload_link(key, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(upload.contains("X-Amz-Signature"), "{upload}");
    let put = reqwest::Client::new()
        .put(&upload)
        .body(b"an archive".to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let (size, link) = store.download_link(key, day).await.unwrap().unwrap();
    assert_eq!(size, 10);
    assert!(link.contains("X-Amz-Expires=86400"), "{link}");
    let downloaded = reqwest::get(&link).await.unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), b"an archive");
}

/// Without `CWS_ARCHIVE_BUCKET` the bucket is named after the worker's account and region, so
/// nobody else can have taken the name.
#[tokio::test]
async fn the_default_bucket_carries_the_account_and_region() {
    test_credentials();
    let moto = Moto::start().await;
    let store = S3Store::new(&config(&moto).await, None, true);
    store
        .put("a.csv", b"x".to_vec(), "text/csv", Duration::from_secs(60))
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config(&moto).await)
            .force_path_style(true)
            .build(),
    );
    let listed = s3
        .list_objects_v2()
        .bucket("cws-archive-123456789012-us-east-1")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(1));
    // A bucket the worker made deletes downloads' archives after a week.
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket("cws-archive-123456789012-us-east-1")
        .send()
        .await
        .unwrap();
    let downloads = lifecycle
        .rules()
        .iter()
        .find(|rule| rule.id() == Some("expire-downloads"))
        .expect("the downloads rule");
    assert_eq!(
        downloads.filter().and_then(|f| f.prefix()),
        Some("downloads/")
    );
    assert_eq!(downloads.expiration().and_then(|e| e.days()), Some(7));
}

/// A bucket of the configured name that another account created first is an error that says
/// so, and nothing is written to it.
#[tokio::test]
async fn a_bucket_another_account_holds_is_refused_and_not_written() {
    test_credentials();
    let moto = Moto::start().await;
    let lead = config(&moto).await;
    let stranger = std::sync::Arc::new(worker::adapters::assume_role::AssumedRoles::new(
        &lead, None,
    ))
    .config_for("arn:aws:iam::111111111111:role/stranger")
    .await
    .unwrap();
    let strangers_s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stranger)
            .force_path_style(true)
            .build(),
    );
    strangers_s3
        .create_bucket()
        .bucket("consortium-archive")
        .send()
        .await
        .unwrap();

    let store = S3Store::new(&lead, Some("consortium-archive"), true);
    let error = store
        .put(
            "chargeback/nih/2026-10.csv",
            b"month,project\n".to_vec(),
            "text/csv",
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    let PortError::Rejected { code, message } = error else {
        panic!("{error:?}");
    };
    assert_eq!(code, "BucketAlreadyExists");
    assert!(
        message.contains("consortium-archive belongs to another AWS account")
            && message.contains("set CWS_ARCHIVE_BUCKET")
            && message.contains("cws-archive-123456789012-us-east-1"),
        "{message}"
    );
    assert!(store.get("chargeback/nih/2026-10.csv").await.is_err());
    let listed = strangers_s3
        .list_objects_v2()
        .bucket("consortium-archive")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn cost_explorer_groups_by_user_and_institution_tags() {
    test_credentials();
    let moto = Moto::start().await;
    let group = |user: &str, institution: &str, amount: &str| {
        serde_json::json!({
            "Keys": [format!("cws:user${user}"), format!("cws:institution${institution}")],
            "Metrics": { "UnblendedCost": { "Amount": amount, "Unit": "USD" } }
        })
    };
    let seeded = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            moto.url
        ))
        .json(&serde_json::json!({
            "results": [{
                "ResultsByTime": [{
                    "TimePeriod": { "Start": "2026-10-01", "End": "2026-11-01" },
                    "Total": {},
                    "Groups": [
                        group("sarah_lee", "berkeley", "514.0812345678"),
                        group("jennifer_smith", "stanford", "13.98"),
                    ],
                    "Estimated": false
                }]
            }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status().as_u16(), 201);
    let billing = CostExplorer::new(&config(&moto).await);
    let october = time::macros::date!(2026 - 10 - 01);
    let november = time::macros::date!(2026 - 11 - 01);
    let costs = billing
        .cost_by_user("nih", october, november)
        .await
        .unwrap();
    assert_eq!(
        costs,
        [
            BilledCost {
                user: "sarah_lee".into(),
                institution: "berkeley".into(),
                cost: "514.081234".parse().unwrap(),
            },
            BilledCost {
                user: "jennifer_smith".into(),
                institution: "stanford".into(),
                cost: "13.98".parse().unwrap(),
            },
        ]
    );
}

#[tokio::test]
async fn a_shared_volume_its_mount_targets_and_access_points_are_made_once() {
    use domain::ports::{AccessPointRoot, FileSystems, PosixIdentity};
    use worker::adapters::efs::Efs;

    test_credentials();
    let moto = Moto::start().await;
    let config = config(&moto).await;
    let efs = Efs::new(&config);
    let tags = [("cws:project".to_owned(), "nih-neuro-consortium".to_owned())];
    let first = efs
        .create_file_system("cws-nih-neuro-dataset", &tags)
        .await
        .unwrap();
    // A retry after a crash between the file system and its access points.
    let again = efs
        .create_file_system("cws-nih-neuro-dataset", &tags)
        .await
        .unwrap();
    assert_eq!(again, first);
    let listed = aws_sdk_efs::Client::new(&config)
        .describe_file_systems()
        .send()
        .await
        .unwrap();
    assert_eq!(listed.file_systems().len(), 1);
    assert_eq!(listed.file_systems()[0].encrypted(), Some(true));

    let targets = efs.ensure_mount_targets(&first.id).await.unwrap();
    assert!(targets >= 1, "one per default subnet");
    assert_eq!(efs.ensure_mount_targets(&first.id).await.unwrap(), targets);

    let owner = PosixIdentity {
        uid: 5000,
        gid: 5000,
    };
    let mit = PosixIdentity {
        uid: 5001,
        gid: 5001,
    };
    let point = efs
        .create_access_point(
            &first.id,
            "nih:neuro-dataset:mit-csail",
            mit,
            AccessPointRoot {
                path: "/neuro-dataset",
                owner,
                permissions: domain::volume::SHARED_ROOT_PERMISSIONS,
            },
            &tags,
        )
        .await
        .unwrap();
    let point_again = efs
        .create_access_point(
            &first.id,
            "nih:neuro-dataset:mit-csail",
            mit,
            AccessPointRoot {
                path: "/neuro-dataset",
                owner,
                permissions: domain::volume::SHARED_ROOT_PERMISSIONS,
            },
            &tags,
        )
        .await
        .unwrap();
    assert_eq!(point_again, point);
    let points = aws_sdk_efs::Client::new(&config)
        .describe_access_points()
        .file_system_id(&first.id)
        .send()
        .await
        .unwrap();
    assert_eq!(points.access_points().len(), 1);
    let user = points.access_points()[0].posix_user().unwrap();
    assert_eq!((user.uid(), user.gid()), (5001, 5001));
    assert_eq!(
        points.access_points()[0]
            .root_directory()
            .and_then(|r| r.path()),
        Some("/neuro-dataset")
    );

    let policy = domain::volume::file_system_policy(
        &first.arn,
        &[domain::volume::BoundGrant {
            account_id: "111111111111",
            access_point_arn: &point.arn,
            mode: domain::command::AccessMode::ReadOnly,
        }],
    );
    efs.put_policy(&first.id, &policy.to_string())
        .await
        .unwrap();
    let stored = aws_sdk_efs::Client::new(&config)
        .describe_file_system_policy()
        .file_system_id(&first.id)
        .send()
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(stored.policy().unwrap()).unwrap();
    assert_eq!(stored, policy);
}

#[tokio::test]
async fn a_mount_policy_is_created_in_the_collaborators_account_through_its_role() {
    use domain::ports::AccountPolicies;
    use worker::adapters::iam::Iam;

    test_credentials();
    let moto = Moto::start().await;
    let config = config(&moto).await;
    let accounts: domain::account::Accounts =
        "mit-csail=arn:aws:iam::111111111111:role/cws@MIT,berkeley-neuroscience=222222222222"
            .parse()
            .unwrap();
    let iam = Iam::new(std::sync::Arc::new(
        worker::adapters::assume_role::AssumedRoles::new(&config, None),
    ));
    let document = domain::volume::mount_policy(
        "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1",
        "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1",
        domain::command::AccessMode::ReadOnly,
    )
    .to_string();
    let mit = accounts.named("mit-csail").unwrap();
    let arn = iam
        .create_policy(mit, "cws-nih-neuro-dataset-mount", &document)
        .await
        .unwrap()
        .expect("the worker has a role in MIT's account");
    assert_eq!(
        arn,
        "arn:aws:iam::111111111111:policy/cws-nih-neuro-dataset-mount"
    );
    // Again, as a retried job would: the same policy, not an error.
    let again = iam
        .create_policy(mit, "cws-nih-neuro-dataset-mount", &document)
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Some(arn.as_str()));
    // Not in the lead account: it went where the role is.
    let lead = aws_sdk_iam::Client::new(&config)
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    assert!(lead.policies().is_empty(), "{:?}", lead.policies());
    // Without a role, the document goes to the account's IT instead.
    let berkeley = accounts.named("berkeley-neuroscience").unwrap();
    assert_eq!(
        iam.create_policy(berkeley, "cws-nih-neuro-dataset-mount", &document)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_script_runs_through_ssm_run_command_and_its_end_is_awaited() {
    use domain::ports::{InstanceCommands, ScriptOutcome};
    use worker::adapters::ssm::Ssm;

    test_credentials();
    let moto = Moto::start().await;
    let config = config(&moto).await;
    let run = Ssm::new(&config)
        .run_script(
            "i-0123456789abcdef0",
            "cws volume mount neuro-dataset mit-algorithm-dev (nih)",
            "#!/bin/bash\nmount /mnt/neuro-dataset\n",
        )
        .await
        .unwrap();
    assert_eq!(run.outcome, ScriptOutcome::Succeeded);
    let sent = aws_sdk_ssm::Client::new(&config)
        .list_commands()
        .command_id(&run.command_id)
        .send()
        .await
        .unwrap();
    let command = &sent.commands()[0];
    assert_eq!(command.document_name(), Some("AWS-RunShellScript"));
    assert_eq!(
        command.parameters().unwrap()["commands"],
        ["#!/bin/bash\nmount /mnt/neuro-dataset\n"]
    );
    assert_eq!(command.parameters().unwrap()["executionTimeout"], ["600"]);
}

#[tokio::test]
async fn a_home_volume_gets_one_mount_target_in_the_launch_subnet_however_often_asked() {
    use domain::ports::FileSystems;
    use worker::adapters::efs::Efs;

    test_credentials();
    let moto = Moto::start().await;
    let config = config(&moto).await;
    let efs = Efs::new(&config);
    let file_system = efs
        .create_file_system("cws-nih-lab-homes", &[])
        .await
        .unwrap();
    let subnets = aws_sdk_ec2::Client::new(&config)
        .describe_subnets()
        .send()
        .await
        .unwrap();
    let subnet = subnets.subnets()[0].subnet_id().unwrap();
    for _ in 0..2 {
        efs.ensure_mount_target_in(&file_system.id, subnet)
            .await
            .unwrap();
    }
    let targets = aws_sdk_efs::Client::new(&config)
        .describe_mount_targets()
        .file_system_id(&file_system.id)
        .send()
        .await
        .unwrap();
    let in_subnets: Vec<&str> = targets
        .mount_targets()
        .iter()
        .map(|target| target.subnet_id())
        .collect();
    assert_eq!(in_subnets, [subnet]);
}
