//! Homes on a volume (issue 20 item 5): the owner names a project volume for homes; each
//! research user's `/home/USER` is then their own EFS access point on it, with their UID and
//! GID, made at their first launch and found again at every later one, so their work outlives
//! a terminated workspace. A collaborator cannot name the homes volume.

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;

use crate::harness::{JOHNSON, LEE, Person, SMITH, Slash, TestEnv, button_value};

const WAIT: Duration = Duration::from_secs(30);

async fn launch(env: &TestEnv, person: Person, name: &str) {
    let text = format!(r#"launch "Python Machine Learning" {name} --size M"#);
    env.launched(person, &text, name).await;
}

async fn terminate(env: &TestEnv, person: Person, name: &str) {
    env.slash(&Slash::new(&format!("terminate {name}")).by(person))
        .await;
    let confirm = env.reply_containing(&format!("Terminate *{name}* (")).await;
    let value = button_value(&confirm, "cws_confirm_terminate");
    env.click(person, "cws_confirm_terminate", &value, None)
        .await;
    env.slack
        .expect(name, WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains(&format!("terminated *{name}*"))
        })
        .await;
    env.settles(name, InstanceStateName::Terminated).await;
}

/// The user data's EFS home lines for this file system and access point.
fn mounts_home(user_data: &str, file_system: &str, access_point: &str) -> bool {
    user_data.contains(&format!("EFS_HOME_FILE_SYSTEM='{file_system}'\n"))
        && user_data.contains(&format!(
            "EFS_HOME_OPTIONS='_netdev,tls,iam,accesspoint={access_point}'\n"
        ))
        && user_data.contains(r#"mount "$RESEARCH_HOME""#)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_research_users_home_is_their_own_access_point_and_outlives_a_workspace() {
    let mut env = TestEnv::start("homes", 92).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    for (person, invitation, institution) in [
        (JOHNSON, "mit-collaboration", "mit-csail"),
        (LEE, "berkeley-collaboration", "berkeley-neuroscience"),
    ] {
        env.join(
            SMITH,
            person,
            &format!("{invitation} --type read_write --valid-days 540 --institution {institution}"),
            "stanford-collab",
        )
        .await;
    }
    env.slash(&Slash::new("volume create lab-homes --size 1000").by(SMITH))
        .await;
    env.reply_containing("EFS created: lab-homes").await;

    // Before a homes volume is named, homes stay on the instance's disk.
    launch(&env, LEE, "berkeley-before").await;
    assert!(
        !env.user_data_of("berkeley-before")
            .await
            .contains("EFS_HOME")
    );

    env.slash(&Slash::new("volume homes lab-homes").by(JOHNSON))
        .await;
    env.reply_containing(
        "As *read_write* in project *nih-neuro-consortium* you may not create shared volumes",
    )
    .await;
    env.slash(&Slash::new("volume homes no-such-volume").by(SMITH))
        .await;
    env.reply_containing("nih-neuro-consortium has no volume named `no-such-volume`")
        .await;
    env.slash(&Slash::new("volume homes lab-homes").by(SMITH))
        .await;
    env.reply_containing("Research users' homes in nih-neuro-consortium are now on lab-homes")
        .await;

    launch(&env, JOHNSON, "mit-dev-1").await;
    terminate(&env, JOHNSON, "mit-dev-1").await;
    launch(&env, JOHNSON, "mit-dev-2").await;
    launch(&env, LEE, "berkeley-after").await;

    let efs = aws_sdk_efs::Client::new(&env.moto.sdk_config().await);
    let systems = efs.describe_file_systems().send().await.unwrap();
    assert_eq!(systems.file_systems().len(), 1);
    let file_system = systems.file_systems()[0].file_system_id();
    let points = efs
        .describe_access_points()
        .file_system_id(file_system)
        .send()
        .await
        .unwrap();
    let mut homes: Vec<(String, i64, i64, i64, i64, String, String)> = points
        .access_points()
        .iter()
        .map(|point| {
            let user = point.posix_user().unwrap();
            let root = point.root_directory().unwrap();
            let made = root.creation_info().unwrap();
            (
                root.path().unwrap().to_owned(),
                user.uid(),
                user.gid(),
                made.owner_uid(),
                made.owner_gid(),
                made.permissions().to_owned(),
                point.access_point_id().unwrap().to_owned(),
            )
        })
        .collect();
    homes.sort();
    let ids: Vec<String> = homes.iter().map(|home| home.6.clone()).collect();
    let without_ids: Vec<_> = homes
        .into_iter()
        .map(|(path, uid, gid, owner_uid, owner_gid, permissions, _)| {
            (path, uid, gid, owner_uid, owner_gid, permissions)
        })
        .collect();
    // One each, with their own UID/GID (the owner is 5000), though Johnson launched twice.
    assert_eq!(
        without_ids,
        [
            (
                "/home/michael_johnson".to_owned(),
                5001,
                5001,
                5001,
                5001,
                "0750".to_owned()
            ),
            (
                "/home/sarah_lee".to_owned(),
                5002,
                5002,
                5002,
                5002,
                "0750".to_owned()
            ),
        ]
    );
    let (johnson_home, lee_home) = (&ids[0], &ids[1]);
    for workspace in ["mit-dev-1", "mit-dev-2"] {
        let user_data = env.user_data_of(workspace).await;
        assert!(
            mounts_home(&user_data, file_system, johnson_home),
            "{workspace}: {user_data}"
        );
        assert!(user_data.contains("RESEARCH_USER='michael_johnson'"));
    }
    let lee_data = env.user_data_of("berkeley-after").await;
    assert!(mounts_home(&lee_data, file_system, lee_home), "{lee_data}");
    assert!(!lee_data.contains(johnson_home.as_str()));

    let targets = efs
        .describe_mount_targets()
        .file_system_id(file_system)
        .send()
        .await
        .unwrap();
    let subnets: Vec<&str> = targets
        .mount_targets()
        .iter()
        .map(|target| target.subnet_id())
        .collect();
    for workspace in ["mit-dev-2", "berkeley-after"] {
        let instance = env.instances_named(workspace).await.remove(0);
        let subnet = instance.subnet_id().unwrap();
        assert!(
            subnets.contains(&subnet),
            "{workspace}'s subnet {subnet} has a mount target: {subnets:?}"
        );
    }
    env.finish();
}
