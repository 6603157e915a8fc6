//! People's own SSH keys: `/cws profiles ssh-key add` puts the person's public key on their
//! running workspaces (through SSM Run Command, read back from moto) and in every later launch's
//! user data, and `rotate` issues a new pair by direct message; every key replaced is removed
//! wherever it remains. A private key pasted by mistake is refused without being echoed.

use std::time::Duration;

use crate::harness::{SMITH, Slash, TestEnv};

const WAIT: Duration = Duration::from_secs(30);
const PROJECT: &str = "nih-neuro-consortium";
/// Jennifer Smith's own key, as `cat ~/.ssh/id_ed25519.pub` prints it.
const OWN_KEY_DATA: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk";

async fn launched(env: &TestEnv, name: &str) {
    let text = format!(r#"launch "Python Machine Learning" {name}"#);
    env.launched(SMITH, &text, name).await;
}

/// The key data of the `SSH_PUBLIC_KEY` a user data script writes.
fn key_data_in(user_data: &str) -> String {
    let line = user_data
        .lines()
        .find_map(|line| line.strip_prefix("SSH_PUBLIC_KEY='"))
        .expect("the user data writes a key");
    line.split_whitespace().nth(1).unwrap().to_owned()
}

/// The key scripts SSM was asked to run, newest last.
async fn key_scripts(env: &TestEnv) -> Vec<String> {
    let ssm = aws_sdk_ssm::Client::new(&env.moto.sdk_config().await);
    let listed = ssm.list_commands().send().await.unwrap();
    let mut commands: Vec<_> = listed
        .commands()
        .iter()
        .filter(|c| {
            c.comment()
                .is_some_and(|c| c.starts_with("cws profiles ssh-key"))
        })
        .map(|c| {
            (
                c.requested_date_time().map(|t| t.secs()),
                c.parameters().unwrap()["commands"].join("\n"),
            )
        })
        .collect();
    commands.sort_by_key(|(at, _)| *at);
    commands.into_iter().map(|(_, script)| script).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_own_key_replaces_the_generated_one_everywhere_and_a_rotation_retires_both() {
    let mut env = TestEnv::start("ssh-keys", 47).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    launched(&env, "first-box").await;
    let generated = key_data_in(&env.user_data_of("first-box").await);

    env.slash(
        &Slash::new(&format!(
            "profiles ssh-key add ssh-ed25519 {OWN_KEY_DATA} jennifer@laptop"
        ))
        .by(SMITH),
    )
    .await;
    let added = env.reply_containing("is now the SSH key").await;
    let blocks = added.body["blocks"].to_string();
    assert!(
        blocks.contains("`ssh-ed25519` key") && blocks.contains("the running first-box"),
        "{blocks}"
    );
    let scripts = key_scripts(&env).await;
    assert_eq!(scripts.len(), 1, "one running workspace, one script");
    assert!(
        scripts[0].contains(&format!(
            "NEW_KEY='ssh-ed25519 {OWN_KEY_DATA} jennifer_smith@cws'"
        )) && scripts[0].contains(&format!("RETIRED_KEYS=('{generated}')")),
        "{}",
        scripts[0]
    );

    launched(&env, "second-box").await;
    assert_eq!(
        key_data_in(&env.user_data_of("second-box").await),
        OWN_KEY_DATA,
        "a later launch gets the person's own key"
    );
    env.slash(&Slash::new("ssh second-box").by(SMITH)).await;
    let ssh = env.reply_containing("second-box: running").await;
    let ssh = ssh.body["blocks"].to_string();
    assert!(
        ssh.contains("AWS-StartSSHSession") && !ssh.contains("ssh -i "),
        "their own key needs no -i: {ssh}"
    );
    // Python ML is a web template: its Jupyter's port forward and password come by DM.
    let web = env
        .slack
        .expect_dm(SMITH.user_id, "Jupyter's password", WAIT)
        .await;
    assert!(
        web.text().contains("How to open Jupyter on second-box"),
        "{}",
        web.text()
    );
    env.reply_containing("came to you by direct message").await;

    env.slash(&Slash::new("profiles ssh-key rotate").by(SMITH))
        .await;
    let dm = env
        .slack
        .expect_dm(SMITH.user_id, "the rotated private key", WAIT)
        .await;
    assert!(dm.text().contains("SSH private key"), "{}", dm.text());
    let rotated = env.reply_containing("A new key pair").await;
    assert!(
        rotated.body["blocks"]
            .to_string()
            .contains("came to you by direct message"),
        "{}",
        rotated.body
    );
    let scripts = key_scripts(&env).await;
    assert_eq!(
        scripts.len(),
        3,
        "the rotation reached both running workspaces"
    );
    for script in &scripts[1..] {
        assert!(
            script.contains(&format!("RETIRED_KEYS=('{generated}' '{OWN_KEY_DATA}')")),
            "every replaced key goes: {script}"
        );
    }
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_private_key_is_refused_and_never_echoed_or_stored() {
    let mut env = TestEnv::start("ssh-keys-private", 58).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    let secret = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwSECRET";
    let answer = env
        .slash(
            &Slash::new(&format!(
                "profiles ssh-key add \"-----BEGIN OPENSSH PRIVATE KEY-----\n{secret}\n-----END OPENSSH PRIVATE KEY-----\""
            ))
            .by(SMITH),
        )
        .await;
    assert!(
        answer.text().contains("that is a private key"),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains(secret), "{}", answer.body);
    assert!(key_scripts(&env).await.is_empty());
    env.finish();
}
