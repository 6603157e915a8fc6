//! The seeds' own spellings, end to end: the owner's `cws profile use stanford-neuroscience`
//! and month-1 `project create … --type collaboration --duration 18-months` (seed 000), the
//! policy views and filtered templates a restricted collaborator reads (seed 001),
//! `info`/`connect` (seed 001) and `project archive` (seed 000's last step).

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;
use domain::project::Project;
use redis::AsyncCommands;

use crate::harness::{JOHNSON, LEE, SMITH, Slash, TestEnv};

const PROJECT: &str = "nih-neuro-consortium";

/// The project's record as the workers keep it.
async fn project(env: &TestEnv) -> Project {
    let mut redis = env.redis.clone();
    let json: String = redis.get(format!("cws:project:{PROJECT}")).await.unwrap();
    serde_json::from_str(&json).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_uses_the_account_profile_and_the_collaboration_lasts_its_duration() {
    let mut env = TestEnv::start("seed-owner-profile", 73).await;
    env.start_worker_with_env(&[("CWS_AWS_ACCOUNT", "stanford-neuroscience")]);

    // The seed's first line, before Dr. Smith owns anything in the account.
    env.slash(&Slash::new("profile use stanford-neuroscience").by(SMITH))
        .await;
    env.reply_containing("you own no project in it yet").await;

    env.create_project(
        SMITH,
        r#"nih-neuro-consortium --budget 5000 --type collaboration --duration 18-months --description "NIH R01: Multi-site neuroimaging analysis""#,
    )
    .await;
    let created = project(&env).await;
    let plan = created
        .collaboration_end
        .expect("the duration plans the collaboration's end");
    let days = (plan.ends_at - created.created_at).whole_days();
    assert!((545..=549).contains(&days), "{days} days");
    assert_eq!((plan.ends_at.hour(), plan.ends_at.minute()), (0, 0));

    // An invitation asked for longer than the collaboration ends with it.
    env.slash(
        &Slash::new("profiles invitations create mit-collaboration --type admin --valid-days 600")
            .by(SMITH),
    )
    .await;
    let invited = env.reply_containing("Invitation created").await;
    // Made moments after the project: a day fewer if midnight fell in between.
    let capped = [days, days - 1]
        .iter()
        .any(|days| invited.text().contains(&format!("valid for {days} days")));
    assert!(capped, "{}", invited.text());

    env.slash(&Slash::new("profile use stanford-neuroscience").by(SMITH))
        .await;
    env.reply_containing("your personal profile of AWS account *stanford-neuroscience*")
        .await;
    env.slash(&Slash::new("profiles list").by(SMITH)).await;
    let listed = env.reply_containing("Profiles:").await;
    assert!(
        listed
            .text()
            .contains("nih-neuro-consortium (personal, account stanford-neuroscience, active)"),
        "{}",
        listed.text()
    );
    env.slash(&Slash::new("profiles current").by(SMITH)).await;
    let current = env
        .reply_containing("Policy of profile nih-neuro-consortium")
        .await;
    assert!(
        current.text().contains("no launch restrictions"),
        "{}",
        current.text()
    );
    assert!(
        env.stream(&format!("cws:audit:{PROJECT}"))
            .await
            .iter()
            .any(|event| event.contains("named by its account stanford-neuroscience")),
        "the switch is audited"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restricted_collaborator_reads_their_policy_and_the_templates_it_allows() {
    let mut env = TestEnv::start("seed-policy-views", 74).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 20000")
        .await;
    env.join(
        SMITH,
        LEE,
        r#"berkeley-collaboration --type read_write --valid-days 540 --template-whitelist "R Research Environment,Python Machine Learning" --max-instance-types "t3.large,r5.xlarge" --max-hourly-cost 0.50 --forbidden-regions "us-west-1,eu-west-1""#,
        "stanford-collab",
    )
    .await;

    for line in ["profiles current", "profiles policy show"] {
        env.slash(&Slash::new(line).by(LEE)).await;
        let shown = env
            .reply_containing("Policy of profile stanford-collab")
            .await;
        let blocks = shown.body["blocks"].to_string();
        assert!(
            blocks.contains("Max hourly cost: $0.50/hour")
                && blocks.contains("Forbidden regions: us-west-1, eu-west-1")
                && blocks.contains("Access ends"),
            "{line}: {blocks}"
        );
    }

    env.slash(&Slash::new(r#"profiles policy test "GPU ML Workstation" --size XL"#).by(LEE))
        .await;
    let gpu = env.reply_containing("would be refused").await;
    assert!(gpu.text().contains("(3 rule(s) broken)"), "{}", gpu.text());
    env.slash(
        &Slash::new(r#"profiles policy test "R Research Environment" --size M --region us-west-1"#)
            .by(LEE),
    )
    .await;
    let region = env.reply_containing("would be refused").await;
    assert!(
        region.text().contains("(1 rule(s) broken)"),
        "{}",
        region.text()
    );

    env.slash(&Slash::new("templates list --profile-filtered").by(LEE))
        .await;
    let filtered = env
        .reply_containing("Templates profile stanford-collab may launch (2 of 8)")
        .await;
    let blocks = filtered.body["blocks"].to_string();
    assert!(
        blocks.contains("R Research Environment")
            && blocks.contains("r5.xlarge")
            && !blocks.contains("r5.2xlarge")
            && !blocks.contains("GPU ML Workstation")
            && !blocks.contains("eu-west-1, ")
            && blocks.contains("us-east-1, us-east-2, us-west-2"),
        "{blocks}"
    );
    env.slash(&Slash::new("templates list --profile-filtered").by(SMITH))
        .await;
    env.reply_containing("Templates profile nih-neuro-consortium may launch (8 of 8)")
        .await;

    assert_eq!(env.aws_front.run_instances_calls(), 0, "nothing launched");
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_and_info_then_an_archived_project_is_read_only() {
    let mut env = TestEnv::start("seed-archive", 75).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    env.join(
        SMITH,
        JOHNSON,
        "mit-collaboration --type admin --valid-days 540",
        "stanford-collab",
    )
    .await;
    env.slash(&Slash::new(r#"launch "Python Machine Learning" mit-dev --size M"#).by(JOHNSON))
        .await;
    env.slack
        .expect("the launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *mit-dev*")
        })
        .await;

    env.slash(&Slash::new("info mit-dev").by(JOHNSON)).await;
    env.reply_containing("mit-dev: running").await;
    env.slash(&Slash::new("connect mit-dev").by(JOHNSON)).await;
    let connect = env.reply_containing("mit-dev: running").await;
    assert!(
        connect.body["blocks"]
            .to_string()
            .contains("ssh -i ~/.ssh/cws-stanford-collab -o ProxyCommand="),
        "{}",
        connect.body
    );
    // Python ML is a web template: its Jupyter's port forward and password come by DM.
    let web = env
        .slack
        .expect_dm(
            JOHNSON.user_id,
            "Jupyter's password",
            Duration::from_secs(30),
        )
        .await;
    assert!(
        web.text().contains("How to open Jupyter on mit-dev"),
        "{}",
        web.text()
    );
    env.reply_containing("came to you by direct message").await;

    // Only the owner archives.
    env.slash(&Slash::new("project archive nih-neuro-consortium").by(JOHNSON))
        .await;
    env.reply_containing("may not end the collaboration").await;
    env.slash(&Slash::new("stop mit-dev").by(JOHNSON)).await;
    env.slack
        .expect("the stop", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("stopped *mit-dev*")
        })
        .await;
    env.settles("mit-dev", InstanceStateName::Stopped).await;

    env.slash(&Slash::new("project archive nih-neuro-consortium").by(SMITH))
        .await;
    let archived = env.reply_containing("is archived").await;
    assert!(
        archived.text().contains("it is read-only") && !archived.text().contains("Still running"),
        "{}",
        archived.text()
    );
    assert!(project(&env).await.archived_at.is_some());

    // Nothing launches or starts in it; reports still answer.
    env.slash(&Slash::new(r#"launch "Python Machine Learning" late-box --size M"#).by(JOHNSON))
        .await;
    let refused = env.reply_containing("is archived").await;
    assert!(
        refused.text().contains("you may not launch workspaces"),
        "{}",
        refused.text()
    );
    env.slash(&Slash::new("start mit-dev").by(JOHNSON)).await;
    env.reply_containing("you may not start workspaces").await;
    env.slash(&Slash::new("project status nih-neuro-consortium").by(SMITH))
        .await;
    env.reply_containing("nih-neuro-consortium Status").await;
    env.slash(&Slash::new("project archive nih-neuro-consortium").by(SMITH))
        .await;
    env.reply_containing("was already archived").await;

    assert!(env.instances_named("late-box").await.is_empty());
    assert_eq!(
        env.instance_state("mit-dev").await,
        InstanceStateName::Stopped
    );
    let audit = env.stream(&format!("cws:audit:{PROJECT}")).await;
    assert!(audit.iter().any(|e| e.contains("archived")), "{audit:#?}");
    assert!(
        audit.iter().any(|e| e.contains("the project is archived")),
        "{audit:#?}"
    );
    env.finish();
}
