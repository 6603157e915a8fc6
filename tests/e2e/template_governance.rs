//! Template governance (seed 001, Epic 7.2): Smith proposes her lab's template from a YAML file
//! shared in the channel; the deployment's other admins see its cost range, risks and text;
//! one approves, once; the deployment's key signs it and every worker offers it at once. A
//! record changed in Redis afterwards is no longer offered. On Discord the file is a channel
//! attachment read from the CDN, and the approval a button with its reason modal.

use std::time::Duration;

use domain::template_trust::TemplateSigner;
use redis::AsyncCommands;

use crate::harness::{
    CHEN, DISCORD_CHANNEL_ID, JOHNSON, JOHNSON_ON_DISCORD, LEE, SMITH, SMITH_ON_DISCORD, Slash,
    TestEnv, button_value, tag,
};

const WAIT: Duration = Duration::from_secs(30);

pub(crate) const GENOMICS: &str = "\
name: Stanford Genomics
slug: stanford-genomics
description: GATK, plink and bedtools for the Stanford genomics core.
os: ubuntu-22.04
image:
  parameter: /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id
regions: [us-east-1]
default_size: S
sizes:
  S: m5.large
  M: r5.4xlarge
hibernation: false
packages: [plink1.9, bedtools, tabix]
ports: [22]
version: \"1.0\"
changelog:
  - version: \"1.0\"
    changes: First release for the genomics core.
";

/// The deployment's admins on Slack: every test sees each one's DMs.
const ADMINS: (&str, &str) = (
    "CWS_ADMINS",
    "slack:T0CONSORTIUM:U0SMITH,slack:T0CONSORTIUM:U0MITJOHNSON,slack:T0CONSORTIUM:U0BERKLEE",
);

/// The deployment's own publisher key: it signs what the admins approve.
pub(crate) fn deployment_key() -> TemplateSigner {
    TemplateSigner::from_seed("consortium-ops".parse().unwrap(), [23; 32])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proposed_template_reaches_the_admins_is_approved_once_and_launches_afterwards() {
    let mut env = TestEnv::start("template-governance", 118).await;
    let key = deployment_key();
    let publishers = key.publisher_entry();
    let secret = key.secret_entry();
    env.start_worker_with_env(&[
        ADMINS,
        ("CWS_TEMPLATE_PUBLISHERS", &publishers),
        ("CWS_TEMPLATE_SIGNING_KEY", &secret),
    ]);
    env.start_bot_process_with_env(&[("CWS_TEMPLATE_PUBLISHERS", &publishers)])
        .await;
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new(r#"launch "Stanford Genomics" g-early"#).by(SMITH))
        .await;
    env.reply_containing(r#"there is no template called "Stanford Genomics""#)
        .await;

    env.slack.share_file("C0NEURO", "genomics.yml", GENOMICS);
    env.slash(&Slash::new("templates propose genomics.yml").by(SMITH))
        .await;
    let proposed = env
        .reply_containing("went to the deployment's admins for approval")
        .await;
    assert!(
        proposed.text().contains("<@U0MITJOHNSON>"),
        "{}",
        proposed.text()
    );
    let asked = env
        .slack
        .expect_dm(JOHNSON.user_id, "the proposal", WAIT)
        .await;
    env.slack.expect_dm(LEE.user_id, "the proposal", WAIT).await;
    assert!(
        asked.text().contains(
            "proposes a new template *Stanford Genomics* (version 1.0): $0.096 to $1.008 an hour"
        ),
        "{}",
        asked.text()
    );
    let blocks = asked.body["blocks"].to_string();
    for wanted in ["plink1.9", "M r5.4xlarge", "changes: First release"] {
        assert!(blocks.contains(wanted), "{wanted}: {blocks}");
    }
    let approve = button_value(&asked, "cws_approve_template");

    // The proposer is an admin too, but four eyes: not on her own proposal.
    env.click(SMITH, "cws_approve_template", &approve, None)
        .await;
    env.reply_containing("You cannot decide your own template proposal")
        .await;

    let (first, second) = tokio::join!(
        env.click(
            JOHNSON,
            "cws_approve_template",
            &approve,
            Some("Reviewed with MIT ops")
        ),
        env.click(
            LEE,
            "cws_approve_template",
            &approve,
            Some("Reviewed with Berkeley ops")
        ),
    );
    assert_eq!((first.status, second.status), (200, 200));
    env.slack
        .expect("the approval recorded", WAIT, |p| {
            p.method == "response_url"
                && p.text()
                    .contains("You approved template *Stanford Genomics*")
                && p.text().contains("signed by consortium-ops")
        })
        .await;
    env.reply_containing("was already approved").await;
    let told = env
        .slack
        .expect("the approval told to Smith", WAIT, |p| {
            p.method == "chat.postMessage"
                && p.body["channel"] == "DU0SMITH"
                && p.text()
                    .contains("approved your template *Stanford Genomics*")
        })
        .await;
    // Whichever click came first decided, with its reason.
    assert!(
        told.text().contains("Reviewed with MIT ops")
            || told.text().contains("Reviewed with Berkeley ops"),
        "{}",
        told.text()
    );

    env.slash(&Slash::new("templates list").by(LEE)).await;
    let listed = env.reply_containing("Workspace templates (9)").await;
    assert!(
        listed.body["blocks"]
            .to_string()
            .contains("Publisher: consortium-ops, approved by slack:T0CONSORTIUM:U0"),
        "{}",
        listed.body
    );

    env.slash(&Slash::new(r#"launch "Stanford Genomics" g-box --size M"#).by(SMITH))
        .await;
    env.slack
        .expect("the launch announced", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *g-box*")
        })
        .await;
    let instances = env.instances_named("g-box").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(instances[0].instance_type().unwrap().as_str(), "r5.4xlarge");
    assert_eq!(
        tag(&instances[0], "cws:template"),
        Some("Stanford Genomics")
    );
    assert!(env.user_data_of("g-box").await.contains("bedtools"));

    let audit = env.stream("cws:audit:~deployment").await;
    for wanted in ["template_proposal", "template_decision"] {
        assert!(
            audit.iter().any(|e| e.contains(wanted)),
            "{wanted} is audited: {audit:#?}"
        );
    }
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.contains("template_decision"))
            .count(),
        1,
        "one decision: {audit:#?}"
    );

    // Someone with Redis access makes the approved template bigger: the signature no longer
    // holds, so no worker offers it.
    let record_key = "cws:template:published:stanford-genomics";
    let mut redis = env.redis.clone();
    let record: String = redis.get(record_key).await.unwrap();
    let bigger = record.replace("M: r5.4xlarge", "M: p3.16xlarge");
    assert_ne!(bigger, record);
    let _: () = redis.set(record_key, bigger).await.unwrap();
    env.slash(&Slash::new(r#"templates show "Stanford Genomics""#).by(SMITH))
        .await;
    env.reply_containing(r#"There is no template called "Stanford Genomics""#)
        .await;
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proposal_is_refused_when_its_file_is_missing_or_unsound_or_nobody_can_sign() {
    let mut env = TestEnv::start("template-proposals-refused", 119).await;
    let key = deployment_key();
    let publishers = key.publisher_entry();
    let secret = key.secret_entry();
    env.start_worker_with_env(&[
        ADMINS,
        ("CWS_TEMPLATE_PUBLISHERS", &publishers),
        ("CWS_TEMPLATE_SIGNING_KEY", &secret),
    ]);
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new("templates propose missing.yml").by(SMITH))
        .await;
    env.reply_containing("no file called missing.yml was shared in this channel")
        .await;

    let unpriced = GENOMICS.replace("M: r5.4xlarge", "M: x9.huge");
    env.slack.share_file("C0NEURO", "unpriced.yml", &unpriced);
    env.slash(&Slash::new("templates propose unpriced.yml").by(SMITH))
        .await;
    let refused = env.reply_containing("cannot be proposed").await;
    assert!(refused.text().contains("x9.huge"), "{}", refused.text());

    // Someone who runs no project, nor the deployment, proposes nothing.
    env.slack.share_file("C0NEURO", "genomics.yml", GENOMICS);
    env.slash(&Slash::new("templates propose genomics.yml").by(CHEN))
        .await;
    env.reply_containing("You are not a member of any project")
        .await;
    assert!(
        env.stream("cws:audit:~deployment")
            .await
            .iter()
            .all(|e| !e.contains("template_proposal")),
        "nothing was proposed"
    );

    // A worker without the deployment's key cannot publish: it says so rather than asking.
    env.worker(0).kill();
    env.start_worker_with_env(&[ADMINS, ("CWS_TEMPLATE_PUBLISHERS", &publishers)]);
    env.slash(&Slash::new("templates propose genomics.yml").by(SMITH))
        .await;
    env.reply_containing("does not take template proposals")
        .await;
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn on_discord_a_template_shared_in_the_channel_is_proposed_approved_and_launched() {
    let mut env = TestEnv::start("template-governance-discord", 62).await;
    let key = deployment_key();
    let publishers = key.publisher_entry();
    let secret = key.secret_entry();
    let admins = format!(
        "discord:{},discord:{}",
        SMITH_ON_DISCORD.user_id, JOHNSON_ON_DISCORD.user_id
    );
    env.start_worker_with_env(&[
        ("CWS_ADMINS", &admins),
        ("CWS_TEMPLATE_PUBLISHERS", &publishers),
        ("CWS_TEMPLATE_SIGNING_KEY", &secret),
    ]);
    env.start_bot_process_with_env(&[("CWS_TEMPLATE_PUBLISHERS", &publishers)])
        .await;
    let (_, token) = env
        .discord_slash(
            SMITH_ON_DISCORD,
            "project",
            "create nih-neuro-consortium --budget 5000",
        )
        .await;
    env.discord.followup_containing(&token, "created").await;
    env.discord
        .expect_dm(SMITH_ON_DISCORD.user_id, "the SSH key")
        .await;

    // The file is an attachment in the channel, read from Discord's CDN.
    env.discord
        .share_file(DISCORD_CHANNEL_ID, "genomics.yml", GENOMICS);
    let (_, token) = env
        .discord_slash(SMITH_ON_DISCORD, "templates", "propose genomics.yml")
        .await;
    env.discord
        .followup_containing(&token, "went to the deployment's admins for approval")
        .await;
    let asked = env
        .discord
        .expect_dm(JOHNSON_ON_DISCORD.user_id, "the proposal")
        .await;
    assert!(
        asked.content().contains("Stanford Genomics") && asked.content().contains("$1.008"),
        "{}",
        asked.content()
    );
    let approve = asked.button("Approve and publish");
    asked.button("Deny");

    // Approve asks for the optional reason first; submitting it decides.
    let (modal, _) = env.discord_click(JOHNSON_ON_DISCORD, &approve).await;
    assert_eq!(modal.json()["type"], 9, "{}", modal.body);
    let (_, token) = env
        .discord_submit(JOHNSON_ON_DISCORD, &approve, Some("Reviewed with MIT ops"))
        .await;
    env.discord
        .followup_containing(&token, "You approved template")
        .await;
    let told = env
        .discord
        .expect_dm(SMITH_ON_DISCORD.user_id, "the approval")
        .await;
    assert!(
        told.content().contains("Reviewed with MIT ops"),
        "{}",
        told.content()
    );

    let (_, token) = env
        .discord_slash(
            SMITH_ON_DISCORD,
            "launch",
            r#""Stanford Genomics" g-box --size M"#,
        )
        .await;
    env.discord
        .followup_containing(&token, "launched **g-box**")
        .await;
    let instances = env.instances_named("g-box").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(instances[0].instance_type().unwrap().as_str(), "r5.4xlarge");
    env.finish();
}
