//! Shared data across accounts: the seed's `volume create` in moto, with MIT read-only and
//! Berkeley read-write, each through its own access point; the policy documents read back and
//! parsed; MIT's mount policy created in MIT's account through its role; bad input refused
//! with nothing created.

use std::time::Duration;

use aws_sdk_iam::config::Credentials;

use crate::harness::{Fault, JOHNSON, LEE, Person, SMITH, Slash, TestEnv, eventually, tag};

const PROJECT: &str = "nih-neuro-consortium";
const ACCOUNTS: (&str, &str) = (
    "CWS_ACCOUNTS",
    "mit-csail=arn:aws:iam::111111111111:role/cws,berkeley-neuroscience=222222222222",
);

/// The SDK configuration of the role in MIT's account: clients act in that account.
async fn config_in_mits_account(env: &TestEnv) -> aws_config::SdkConfig {
    config_as(env, "arn:aws:iam::111111111111:role/cws").await
}

/// The SDK configuration of `role_arn`: clients act in its account.
pub async fn config_as(env: &TestEnv, role_arn: &str) -> aws_config::SdkConfig {
    let config = env.moto.sdk_config().await;
    let assumed = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn(role_arn)
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
    config
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build()
}

/// IAM as the role in MIT's account sees it.
async fn iam_in_mits_account(env: &TestEnv) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config_in_mits_account(env).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_volume_grants_mit_read_only_and_berkeley_read_write_and_nothing_more() {
    let mut env = TestEnv::start("volumes", 52).await;
    env.start_worker_with_env(&[ACCOUNTS]);
    env.project_with_mit(PROJECT).await;

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

/// The seed's volume, in the spelling with modes attached to the accounts.
const SEED_VOLUME: &str = "volume create neuro-dataset --size 50000 --cross-account-access \
                           mit-csail:read-only,berkeley-neuroscience:read-write";

/// A researcher from an institution the volume was not shared with.
const HARVARD: Person = Person {
    user_id: "U0HARVARD",
    user_name: "jane.doe",
    team_domain: "harvard-med",
};

const WAIT: Duration = Duration::from_secs(30);

/// A visiting student at MIT, in the lead's Slack workspace.
const MIT_VISITOR: Person = Person {
    user_id: "U0VISITOR",
    user_name: "visiting.student",
    team_domain: "stanford-neuroscience",
};

async fn launch(env: &TestEnv, person: Person, name: &str) {
    let text = format!(r#"launch "R Research Environment" {name} --size M"#);
    env.launched(person, &text, name).await;
}

/// The scripts SSM was asked to run, with the comment naming the workspace. (moto lists every
/// command with the instance ids of the last one sent, so the comment tells them apart.)
async fn mount_scripts(env: &TestEnv) -> Vec<(String, String)> {
    mount_scripts_in(&env.moto.sdk_config().await).await
}

/// The scripts sent through SSM in the account and region `config` acts in.
async fn mount_scripts_in(config: &aws_config::SdkConfig) -> Vec<(String, String)> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let listed = ssm.list_commands().send().await.unwrap();
    listed
        .commands()
        .iter()
        .map(|command| {
            let script = command.parameters().unwrap()["commands"].join("\n");
            (command.comment().unwrap().to_owned(), script)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn mit_mounts_read_only_berkeley_read_write_and_neither_more_nor_the_uninvited() {
    let mut env = TestEnv::start("volume-mounts", 53).await;
    env.start_worker_with_env(&[ACCOUNTS]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    for (person, invitation, institution) in [
        (JOHNSON, "mit-collaboration", "mit-csail"),
        (LEE, "berkeley-collaboration", "berkeley-neuroscience"),
        (HARVARD, "harvard-collaboration", "harvard-med"),
        (MIT_VISITOR, "mit-visitor", "mit-csail"),
    ] {
        env.join(
            SMITH,
            person,
            &format!("{invitation} --type read_write --valid-days 540 --institution {institution}"),
            "stanford-collab",
        )
        .await;
    }
    env.slash(&Slash::new(SEED_VOLUME).by(SMITH)).await;
    env.reply_containing("EFS created: neuro-dataset").await;
    for (person, workspace) in [
        (JOHNSON, "mit-algorithm-dev"),
        (LEE, "berkeley-analysis"),
        (HARVARD, "harvard-notebook"),
        (SMITH, "stanford-pipeline"),
        (MIT_VISITOR, "visitor-notebook"),
    ] {
        launch(&env, person, workspace).await;
    }
    env.wait_for_done_launch_jobs(5).await;

    // In the owner's own Slack workspace, but invited for MIT: MIT's grant, nothing more.
    env.slash(&Slash::new("volume mount neuro-dataset visitor-notebook").by(MIT_VISITOR))
        .await;
    env.reply_containing(
        "Mounted neuro-dataset on visitor-notebook at /mnt/neuro-dataset (read-only, cross-account)",
    )
    .await;
    env.slash(
        &Slash::new("volume mount neuro-dataset visitor-notebook --mode read-write")
            .by(MIT_VISITOR),
    )
    .await;
    env.reply_containing("Not mounted: mit-csail has read-only access to neuro-dataset")
        .await;

    env.slash(&Slash::new("volume mount neuro-dataset mit-algorithm-dev").by(JOHNSON))
        .await;
    env.reply_containing(
        "Mounted neuro-dataset on mit-algorithm-dev at /mnt/neuro-dataset (read-only, cross-account)",
    )
    .await;
    env.slash(
        &Slash::new("volume mount neuro-dataset mit-algorithm-dev --mode read-write").by(JOHNSON),
    )
    .await;
    env.reply_containing(
        "Not mounted: mit-csail has read-only access to neuro-dataset; a read-write mount needs \
         a read-write grant",
    )
    .await;
    env.slash(&Slash::new("volume mount neuro-dataset berkeley-analysis").by(LEE))
        .await;
    env.reply_containing(
        "Mounted neuro-dataset on berkeley-analysis at /mnt/neuro-dataset (read-write, cross-account)",
    )
    .await;
    env.slash(&Slash::new("volume mount neuro-dataset harvard-notebook").by(HARVARD))
        .await;
    env.reply_containing("Not mounted: harvard-med has no grant on neuro-dataset")
        .await;
    env.slash(&Slash::new("volume mount neuro-dataset stanford-pipeline").by(SMITH))
        .await;
    env.reply_containing(
        "Mounted neuro-dataset on stanford-pipeline at /mnt/neuro-dataset (read-write).",
    )
    .await;

    // What reached the instances: each through its own account's access point, MIT's `ro`.
    let efs = aws_sdk_efs::Client::new(&env.moto.sdk_config().await);
    let fs_id = efs
        .describe_file_systems()
        .send()
        .await
        .unwrap()
        .file_systems()[0]
        .file_system_id()
        .to_owned();
    let points = efs
        .describe_access_points()
        .file_system_id(&fs_id)
        .send()
        .await
        .unwrap();
    let point_of = |account: &str| {
        let key = format!("{PROJECT}:neuro-dataset:{account}");
        points
            .access_points()
            .iter()
            .find(|p| p.tags().iter().any(|t| t.value() == key))
            .unwrap_or_else(|| panic!("no access point for {account}"))
            .access_point_id()
            .unwrap()
            .to_owned()
    };
    assert_eq!(points.access_points().len(), 3, "two grants and the lead's");
    let scripts = mount_scripts(&env).await;
    assert_eq!(scripts.len(), 4, "refused mounts run nothing");
    let script_on = |name: &str| {
        let comment = format!("cws volume mount neuro-dataset {name} ({PROJECT})");
        scripts
            .iter()
            .find(|(said, _)| *said == comment)
            .unwrap_or_else(|| panic!("no script ran on {name}: {scripts:?}"))
            .1
            .clone()
    };
    let mit = script_on("mit-algorithm-dev");
    assert!(
        mit.contains(&format!(
            "OPTIONS='_netdev,tls,iam,accesspoint={},ro'",
            point_of("mit-csail")
        )),
        "{mit}"
    );
    assert!(mit.contains(&format!("FILE_SYSTEM='{fs_id}'")), "{mit}");
    let berkeley = script_on("berkeley-analysis");
    assert!(
        berkeley.contains(&format!(
            "OPTIONS='_netdev,tls,iam,accesspoint={}'",
            point_of("berkeley-neuroscience")
        )),
        "{berkeley}"
    );

    // A stopped workspace is not mounted on.
    env.slash(&Slash::new("stop mit-algorithm-dev").by(JOHNSON))
        .await;
    env.slack
        .expect("the stop", WAIT, |p| p.text().contains("stopped"))
        .await;
    env.slash(&Slash::new("volume mount neuro-dataset mit-algorithm-dev").by(JOHNSON))
        .await;
    env.reply_containing(
        "mit-algorithm-dev is stopped: a volume is mounted on a running workspace",
    )
    .await;

    env.slash(&Slash::new("volume status neuro-dataset").by(SMITH))
        .await;
    let status = env
        .reply_containing("neuro-dataset: 50TB, 4 active mount(s)")
        .await;
    let blocks = status.body["blocks"].to_string();
    for line in [
        "mit-csail: 2 read-only (mit-algorithm-dev, visitor-notebook)",
        "berkeley-neuroscience: 1 read-write (berkeley-analysis)",
        "stanford-neuroscience: 1 read-write (stanford-pipeline)",
    ] {
        assert!(blocks.contains(line), "{line}: {blocks}");
    }
    env.slash(&Slash::new("volume list").by(LEE)).await;
    env.reply_containing(
        "Shared volumes of nih-neuro-consortium: neuro-dataset (50TB, 4 mount(s));",
    )
    .await;
    env.slash(&Slash::new(&format!("project status {PROJECT} --detail")).by(SMITH))
        .await;
    let status = env.reply_containing("nih-neuro-consortium Status").await;
    let blocks = status.body["blocks"].to_string();
    assert!(
        blocks.contains("*Shared Data Access:*\\n- neuro-dataset: 4 active mount(s)"),
        "{blocks}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_dying_between_file_system_and_access_points_leaves_one_file_system() {
    let mut env = TestEnv::start("volume-crash", 54).await;
    env.aws_front.set_fault(Fault::HoldAfterCreateFileSystem);
    let doomed = env.start_worker_with_env(&[ACCOUNTS]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.slash(&Slash::new(SEED_VOLUME).by(SMITH)).await;
    let efs = aws_sdk_efs::Client::new(&env.moto.sdk_config().await);
    let fs_id = eventually("EFS made the file system", WAIT, || async {
        let systems = efs.describe_file_systems().send().await.unwrap();
        systems
            .file_systems()
            .first()
            .map(|fs| fs.file_system_id().to_owned())
    })
    .await;
    // The worker never heard the file system's id, and made no access point: it dies now.
    env.worker(doomed).kill();
    let points = |efs: aws_sdk_efs::Client, fs_id: String| async move {
        efs.describe_access_points()
            .file_system_id(fs_id)
            .send()
            .await
            .unwrap()
            .access_points()
            .len()
    };
    assert_eq!(points(efs.clone(), fs_id.clone()).await, 0);

    let moto = env.moto.url();
    env.start_worker_with_endpoint(&moto, &[ACCOUNTS]);
    env.slack
        .expect("the re-run's answer", Duration::from_secs(90), |p| {
            p.text().contains("EFS created: neuro-dataset")
        })
        .await;
    let systems = efs.describe_file_systems().send().await.unwrap();
    assert_eq!(
        systems.file_systems().len(),
        1,
        "the re-run found the file system by its creation token"
    );
    assert_eq!(systems.file_systems()[0].file_system_id(), fs_id);
    assert_eq!(points(efs.clone(), fs_id.clone()).await, 2);
    let policy = efs
        .describe_file_system_policy()
        .file_system_id(&fs_id)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 2);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn mits_invitation_launches_in_mits_own_account_still_attributed_to_the_project() {
    let mut env = TestEnv::start("launch-account", 59).await;
    env.start_worker_with_env(&[ACCOUNTS]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    // Berkeley's account has no role: workers cannot launch there.
    env.slash(
        &Slash::new(
            "profiles invitations create berkeley-collaboration --type read_write \
             --valid-days 540 --launch-account berkeley-neuroscience",
        )
        .by(SMITH),
    )
    .await;
    env.reply_containing("account `berkeley-neuroscience` has no role in CWS_ACCOUNTS")
        .await;
    env.join(
        SMITH,
        JOHNSON,
        "mit-collaboration --type read_write --valid-days 540 --institution mit-csail --launch-account mit-csail",
        "stanford-collab",
    )
    .await;
    // MIT deployed the collaborator stack: the role and the workstation policy.
    let mit = config_in_mits_account(&env).await;
    crate::harness::Moto::create_workstation_policy_as(&mit).await;
    launch(&env, JOHNSON, "mit-algorithm-dev").await;
    env.wait_for_done_launch_jobs(1).await;

    let ec2_at_mit = aws_sdk_ec2::Client::new(&mit);
    let in_mit = |ec2: aws_sdk_ec2::Client| async move {
        let found = ec2.describe_instances().send().await.unwrap();
        found
            .reservations()
            .iter()
            .flat_map(|r| r.instances().to_vec())
            .collect::<Vec<_>>()
    };
    let instances = in_mit(ec2_at_mit.clone()).await;
    assert_eq!(instances.len(), 1, "the workspace runs in MIT's account");
    for (key, value) in [
        ("cws:project", PROJECT),
        ("cws:user", "michael_johnson"),
        ("Name", "mit-algorithm-dev"),
    ] {
        assert_eq!(tag(&instances[0], key), Some(value), "{key}");
    }
    assert!(tag(&instances[0], "cws:invitation").is_some());
    assert_eq!(
        instances[0].iam_instance_profile().and_then(|p| p.arn()),
        Some(
            "arn:aws:iam::111111111111:instance-profile/cws/workstations/cws-ws-nih-neuro-consortium"
        ),
        "the project's workstation profile, in MIT's own account"
    );
    assert!(
        env.all_instances().await.is_empty(),
        "nothing runs in the project's own account"
    );

    // The lead's volume, mounted from MIT's account: through a mount target's address, since
    // the file system's DNS name does not resolve there.
    env.slash(
        &Slash::new("volume create neuro-dataset --size 50000 --read-only-for mit-csail").by(SMITH),
    )
    .await;
    env.reply_containing("EFS created: neuro-dataset").await;
    env.slash(&Slash::new("volume mount neuro-dataset mit-algorithm-dev").by(JOHNSON))
        .await;
    env.reply_containing("(read-only, cross-account)").await;
    let efs = aws_sdk_efs::Client::new(&env.moto.sdk_config().await);
    let fs_id = efs
        .describe_file_systems()
        .send()
        .await
        .unwrap()
        .file_systems()[0]
        .file_system_id()
        .to_owned();
    let targets = efs
        .describe_mount_targets()
        .file_system_id(fs_id)
        .send()
        .await
        .unwrap();
    let ips: Vec<&str> = targets
        .mount_targets()
        .iter()
        .filter_map(|t| t.ip_address())
        .collect();
    let scripts = mount_scripts_in(&mit).await;
    assert_eq!(scripts.len(), 1);
    assert!(
        ips.iter()
            .any(|ip| scripts[0].1.contains(&format!(",ro,mounttargetip={ip}'"))),
        "{ips:?}: {}",
        scripts[0].1
    );

    // Lifecycle commands and the reconcile round reach it there.
    env.slash(&Slash::new("stop mit-algorithm-dev").by(JOHNSON))
        .await;
    env.slack
        .expect("the stop", WAIT, |p| p.text().contains("stopped"))
        .await;
    let state = in_mit(ec2_at_mit.clone()).await[0]
        .state()
        .unwrap()
        .name()
        .unwrap()
        .clone();
    assert_eq!(state, aws_sdk_ec2::types::InstanceStateName::Stopped);
    env.run_once("reconcile", &[ACCOUNTS]).await;
    assert_eq!(
        env.ledger_kinds(PROJECT).await,
        ["launched", "stopped"],
        "reconcile saw the instance in MIT's account, so did not take it for terminated"
    );
    env.finish();
}
