//! Shared data across accounts: the seed's `volume create` in moto, with MIT read-only and
//! Berkeley read-write, each through its own access point; the policy documents read back and
//! parsed; MIT's mount policy created in MIT's account through its role; bad input refused
//! with nothing created.

use std::time::Duration;

use aws_sdk_iam::config::Credentials;

use crate::harness::{JOHNSON, SMITH, Slash, TestEnv};

const PROJECT: &str = "nih-neuro-consortium";
const ACCOUNTS: (&str, &str) = (
    "CWS_ACCOUNTS",
    "mit-csail=arn:aws:iam::111111111111:role/cws,berkeley-neuroscience=222222222222",
);

/// IAM as the role in MIT's account sees it.
async fn iam_in_mits_account(env: &TestEnv) -> aws_sdk_iam::Client {
    let config = env.moto.sdk_config().await;
    let assumed = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn("arn:aws:iam::111111111111:role/cws")
        .role_session_name("e2e")
        .send()
        .await
        .unwrap();
    let given = assumed.credentials().unwrap();
    let credentials = Credentials::new(
        given.access_key_id(),
        given.secret_access_key(),
        Some(given.session_token().to_owned()),
        None,
        "e2e",
    );
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .credentials_provider(credentials)
            .build(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_volume_grants_mit_read_only_and_berkeley_read_write_and_nothing_more() {
    let mut env = TestEnv::start("volumes", 52).await;
    env.start_worker_with_env(&[ACCOUNTS]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.join(
        SMITH,
        JOHNSON,
        "mit-collaboration --type read_write --valid-days 540",
        "stanford-collab",
    )
    .await;

    env.slash(
        &Slash::new(
            "volume create neuro-dataset --size 50000 --cross-account-access \
             mit-csail,berkeley-neuroscience --read-only-for mit-csail --read-write-for \
             berkeley-neuroscience",
        )
        .by(SMITH),
    )
    .await;
    let created = env.reply_containing("EFS created: neuro-dataset").await;
    let blocks = created.body["blocks"].to_string();
    assert!(blocks.contains("`mit-csail`: Read-only"), "{blocks}");
    assert!(
        blocks.contains("`berkeley-neuroscience`: Read-write"),
        "{blocks}"
    );
    assert!(
        blocks.contains(
            "arn:aws:iam::111111111111:policy/cws-nih-neuro-consortium-neuro-dataset-mount"
        ),
        "{blocks}"
    );
    assert!(
        blocks.contains("send its IT this policy"),
        "Berkeley has no role: {blocks}"
    );

    let efs = aws_sdk_efs::Client::new(&env.moto.sdk_config().await);
    let systems = efs.describe_file_systems().send().await.unwrap();
    assert_eq!(systems.file_systems().len(), 1);
    let fs = &systems.file_systems()[0];
    assert_eq!(fs.encrypted(), Some(true));
    let points = efs
        .describe_access_points()
        .file_system_id(fs.file_system_id())
        .send()
        .await
        .unwrap();
    assert_eq!(points.access_points().len(), 2);
    let mut uids: Vec<i64> = points
        .access_points()
        .iter()
        .map(|p| p.posix_user().unwrap().uid())
        .collect();
    uids.sort();
    // Johnson's research user (the owner is 5000); Berkeley, nobody joined yet, a reserved one.
    assert_eq!(uids, [5001, 5002]);

    let policy = efs
        .describe_file_system_policy()
        .file_system_id(fs.file_system_id())
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{policy}");
    for (account, actions) in [
        ("111111111111", vec!["elasticfilesystem:ClientMount"]),
        (
            "222222222222",
            vec![
                "elasticfilesystem:ClientMount",
                "elasticfilesystem:ClientWrite",
            ],
        ),
    ] {
        let statement = statements
            .iter()
            .find(|s| s["Principal"]["AWS"] == format!("arn:aws:iam::{account}:root"))
            .unwrap_or_else(|| panic!("no statement for {account}: {policy}"));
        assert_eq!(
            statement["Action"],
            serde_json::json!(actions),
            "{statement}"
        );
        assert_eq!(statement["Effect"], "Allow");
        let point = statement["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]
            .as_str()
            .unwrap();
        assert!(
            points
                .access_points()
                .iter()
                .any(|p| p.access_point_arn() == Some(point)),
            "{point}"
        );
    }
    let mits = iam_in_mits_account(&env)
        .await
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = mits
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert_eq!(names, ["cws-nih-neuro-consortium-neuro-dataset-mount"]);

    // An account nobody configured, and a name already taken: refused, nothing made.
    env.slash(
        &Slash::new("volume create more-data --size 10 --cross-account-access harvard:read-only")
            .by(SMITH),
    )
    .await;
    let unknown = env.reply_containing("unknown account(s): harvard").await;
    assert!(
        unknown.text().contains("Nothing was created"),
        "{}",
        unknown.text()
    );
    env.slash(&Slash::new("volume create neuro-dataset --size 10").by(SMITH))
        .await;
    env.reply_containing("already exists").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        efs.describe_file_systems()
            .send()
            .await
            .unwrap()
            .file_systems()
            .len(),
        1
    );
    env.finish();
}
