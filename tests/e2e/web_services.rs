//! Web services on EC2: a collaborator launches "RStudio Server" and `connect` sends them, by
//! direct message only, the Session Manager port forward, the local address and the
//! workspace's password; the channel sees no password, the user data holds only its hash, and
//! the project's security group opens nothing for the service. Someone else in the project is
//! refused the password; the project's owner gets it.

use std::process::Command;
use std::time::Duration;

use crate::harness::slack::Posted;
use crate::harness::{JOHNSON, LEE, SMITH, Slash, TestEnv};

const WAIT: Duration = Duration::from_secs(30);
const PROJECT: &str = "nih-neuro-consortium";
const NAME: &str = "mit-rstudio";

/// The word between backquotes after `label`.
fn quoted_after<'a>(text: &'a str, label: &str) -> &'a str {
    let rest = &text[text
        .find(label)
        .unwrap_or_else(|| panic!("no {label}: {text}"))
        + label.len()..];
    rest.split('`').next().unwrap()
}

/// `connect NAME` by `person`, who may have the password: the status, the direct message and
/// the channel's note that it was sent.
async fn connect_with_password(
    env: &TestEnv,
    person: crate::harness::Person,
) -> (Posted, Posted, Posted) {
    env.slash(&Slash::new(&format!("connect {NAME}")).by(person))
        .await;
    let status = env.reply_containing(&format!("{NAME}: running")).await;
    let direct = env
        .slack
        .expect_dm(person.user_id, "the port forward and password", WAIT)
        .await;
    let sent = env.reply_containing("came to you by direct message").await;
    (status, direct, sent)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collaborator_gets_rstudio_s_port_forward_and_password_by_direct_message_only() {
    let mut env = TestEnv::start("web-services", 89).await;
    env.start_worker();
    env.project_with_mit(PROJECT).await;
    env.join(
        SMITH,
        LEE,
        "berkeley-collaboration --type read_write --valid-days 540",
        "berkeley-collab",
    )
    .await;
    let text = format!(r#"launch "RStudio Server" {NAME} --size M"#);
    env.launched(JOHNSON, &text, NAME).await;
    let instance = env.instances_named(NAME).await.remove(0);
    let instance_id = instance.instance_id().unwrap().to_owned();
    let region = instance
        .placement()
        .and_then(|p| p.availability_zone())
        .map(|zone| zone.trim_end_matches(char::is_alphabetic).to_owned())
        .unwrap();

    let (status, direct, sent) = connect_with_password(&env, JOHNSON).await;
    let dm = direct.shown();
    let command = format!(
        "aws ssm start-session --target {instance_id} \
         --document-name AWS-StartPortForwardingSession \
         --parameters '{{\"portNumber\":[\"8787\"],\"localPortNumber\":[\"8787\"]}}' \
         --region {region}"
    );
    assert!(dm.contains(&format!("```{command}```")), "{dm}");
    assert!(dm.contains("http://localhost:8787/"), "{dm}");
    let username = quoted_after(&dm, "sign in with username `");
    let password = quoted_after(&dm, "password `").to_owned();
    assert_eq!(username, "michael_johnson", "{dm}");
    assert_eq!(password.len(), 32, "{dm}");

    // The channel saw how to connect, never the password.
    for posted in [&status, &sent] {
        let text = posted.shown();
        assert!(!text.contains(&password), "{text}");
    }
    assert!(
        sent.shown()
            .contains("RStudio Server on *mit-rstudio* came to you by direct message"),
        "{}",
        sent.shown()
    );

    // The instance holds the password only as the crypt RStudio Server's login checks, and
    // that crypt is the one of the password in the direct message.
    let user_data = env.user_data_of(NAME).await;
    assert!(!user_data.contains(&password));
    assert!(user_data.contains("--www-address=127.0.0.1 --www-port=8787"));
    let crypt = user_data
        .lines()
        .find_map(|line| line.strip_prefix(r#"printf '%s:%s\n' "$RESEARCH_USER" '"#))
        .and_then(|rest| rest.strip_suffix("' | chpasswd -e"))
        .expect("the research user's password is set");
    let salt = crypt.split('$').nth(2).unwrap();
    let openssl = Command::new("openssl")
        .args(["passwd", "-6", "-salt", salt, &password])
        .output()
        .expect("openssl");
    assert_eq!(String::from_utf8_lossy(&openssl.stdout).trim(), crypt);

    // Nothing opens 8787 (or everything) to the network.
    let ec2 = aws_sdk_ec2::Client::new(&env.moto.sdk_config().await);
    let groups: Vec<String> = instance
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_owned))
        .collect();
    assert!(!groups.is_empty());
    let described = ec2
        .describe_security_groups()
        .set_group_ids(Some(groups))
        .send()
        .await
        .unwrap();
    for group in described.security_groups() {
        for rule in group.ip_permissions() {
            let everything = rule.ip_protocol() == Some("-1");
            let (from, to) = (rule.from_port().unwrap_or(0), rule.to_port().unwrap_or(0));
            assert!(
                !everything && !(from..=to).contains(&8787),
                "{:?} opens {rule:?}",
                group.group_id()
            );
        }
    }

    // Lee, in the same project, sees the status but not the password.
    env.slash(&Slash::new(&format!("connect {NAME}")).by(LEE))
        .await;
    let status = env.reply_containing(&format!("{NAME}: running")).await;
    let refused = env
        .reply_containing("goes only to the person who launched it")
        .await;
    for posted in [&status, &refused] {
        assert!(!posted.shown().contains(&password));
    }
    assert!(
        refused
            .shown()
            .contains("(michael_johnson) and to the project's owners and admins"),
        "{}",
        refused.shown()
    );

    // The project's owner gets the same password.
    let (_, direct, _) = connect_with_password(&env, SMITH).await;
    assert_eq!(quoted_after(&direct.shown(), "password `"), password);
    env.finish();
}
