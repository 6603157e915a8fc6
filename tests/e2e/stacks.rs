//! The shipped CloudFormation stacks (deploy/) deployed in moto, and the product configured
//! from nothing but their outputs: the workers act as the stack's worker role, a collaborator's
//! workspace launches in their account through the role their stack made (with its external
//! id) and its workstation profile, the lead's volume mounts there, and the collaboration's end
//! stops it and archives to the stack's bucket.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;

use crate::harness::{JOHNSON, SMITH, Slash, TestEnv, eventually, tag};

const WAIT: Duration = Duration::from_secs(30);
const PROJECT: &str = "nih-neuro-consortium";
/// The external id `deploy/check-in-moto.py` gives the collaborator stack.
const EXTERNAL_ID: &str = "cws-check-external-id";

/// Deploys both stacks as `deploy/check-in-moto.py` does and returns every output by name,
/// the collaborator's after the lead's (they share `WorkstationPolicyName`).
async fn deploy_stacks(env: &TestEnv) -> BTreeMap<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/check-in-moto.py");
    let endpoint = env.moto.url();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs deploy/check-in-moto.py");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
        .lines()
        .filter_map(|line| line.strip_prefix("     "))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// Credentials of the stack's worker role: what the workers run as on EC2 or ECS.
async fn as_worker_role(env: &TestEnv, role_arn: &str) -> (String, String, String) {
    let assumed = aws_sdk_sts::Client::new(&env.moto.sdk_config().await)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("cws-worker")
        .send()
        .await
        .unwrap();
    let credentials = assumed.credentials().unwrap();
    (
        credentials.access_key_id().to_owned(),
        credentials.secret_access_key().to_owned(),
        credentials.session_token().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_only_from_the_stacks_outputs_it_launches_mounts_and_ends_a_collaboration() {
    let mut env = TestEnv::start_without_aws_setup("stacks", 109).await;
    let outputs = deploy_stacks(&env).await;
    let output = |key: &str| {
        outputs
            .get(key)
            .unwrap_or_else(|| panic!("no output {key}: {outputs:#?}"))
            .clone()
    };
    let accounts = output("CwsAccountsEntry");
    let account_name = accounts.split('=').next().unwrap().to_owned();
    let role_arn = output("RoleArn");
    let collaborator_account = role_arn.split(':').nth(4).unwrap().to_owned();
    let (key_id, secret, token) = as_worker_role(&env, &output("WorkerRoleArn")).await;
    let settings = [
        ("AWS_REGION", output("Region")),
        ("AWS_ACCESS_KEY_ID", key_id),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", token),
        ("CWS_WORKSTATION_POLICY", output("WorkstationPolicyName")),
        ("CWS_ARCHIVE_BUCKET", output("ArchiveBucketName")),
        ("CWS_ACCOUNTS", accounts.clone()),
        ("CWS_ROLE_EXTERNAL_ID", EXTERNAL_ID.to_owned()),
    ];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.start_worker_with_env(&settings);

    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.join(
        SMITH,
        JOHNSON,
        &format!(
            "mit-collaboration --type read_write --valid-days 540 --institution {account_name} \
             --launch-account {account_name}"
        ),
        "stanford-collab",
    )
    .await;
    env.slash(&Slash::new(r#"launch "R Research Environment" mit-box --size M"#).by(JOHNSON))
        .await;
    env.slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *mit-box*")
        })
        .await;

    let mit = crate::volumes::config_as(&env, &role_arn).await;
    let ec2_at_mit = aws_sdk_ec2::Client::new(&mit);
    let instance = || async {
        ec2_at_mit
            .describe_instances()
            .send()
            .await
            .unwrap()
            .reservations()
            .iter()
            .flat_map(|r| r.instances().to_vec())
            .next()
    };
    let launched = instance()
        .await
        .expect("the workspace runs in MIT's account");
    assert_eq!(tag(&launched, "cws:project"), Some(PROJECT));
    let profile = launched
        .iam_instance_profile()
        .and_then(|p| p.arn())
        .expect("the workspace has an instance profile");
    assert_eq!(
        profile,
        format!(
            "arn:aws:iam::{collaborator_account}:instance-profile/cws/workstations/cws-ws-{PROJECT}"
        ),
        "the project's own profile, in MIT's account"
    );
    let role = crate::harness::Moto::workstation_role_as(&mit, profile).await;
    assert_eq!(
        role.boundary,
        Some(output("WorkstationPolicyArn")),
        "bounded by the collaborator stack's workstation policy"
    );
    assert_eq!(role.project_tag.as_deref(), Some(PROJECT));

    env.slash(
        &Slash::new(&format!(
            "volume create neuro-dataset --size 50000 --read-only-for {account_name}"
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("EFS created: neuro-dataset").await;
    env.slash(&Slash::new("volume mount neuro-dataset mit-box").by(JOHNSON))
        .await;
    env.reply_containing("(read-only, cross-account)").await;

    env.slash(&Slash::new("stop mit-box").by(JOHNSON)).await;
    env.slack
        .expect("the stop", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("stopped *mit-box*")
        })
        .await;
    env.slash(&Slash::new("start mit-box").by(JOHNSON)).await;
    env.slack
        .expect("the start", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("started *mit-box*")
        })
        .await;

    let end = (time::OffsetDateTime::now_utc() + time::Duration::days(10))
        .date()
        .to_string();
    env.slash(
        &Slash::new(&format!(
            "collaboration end {PROJECT} --date {end} --archive-collaborator-work"
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("collaboration ends").await;
    let mut past_end = settings.clone();
    past_end.push(("CWS_CLOCK_OFFSET", "+11d"));
    env.run_once("expiry-sweep", &past_end).await;
    eventually("stopped in MIT's account", WAIT, || async {
        let state = instance().await?.state()?.name()?.clone();
        (state == InstanceStateName::Stopped).then_some(())
    })
    .await;
    let manifest: serde_json::Value = serde_json::from_str(
        &env.moto
            .s3_text(
                &output("ArchiveBucketName"),
                &format!("collaboration/{PROJECT}/mit-collaboration/manifest.json"),
            )
            .await,
    )
    .unwrap();
    assert_eq!(manifest["workspaces"].as_array().unwrap().len(), 1);
    env.slack
        .expect("the end in the channel", WAIT, |p| {
            p.text().contains("mit-collaboration ended in")
        })
        .await;
    env.slack
        .expect_dm(JOHNSON.user_id, "access ended", WAIT)
        .await;
    env.finish();
}
