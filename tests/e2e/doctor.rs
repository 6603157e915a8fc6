//! `cws doctor` against moto and the fakes: a healthy deployment passes every check, and a
//! deliberately broken one names each missing piece with its fix and exits 1.

use crate::harness::TestEnv;

/// What an operator does in Billing once tagged workspaces have run.
async fn activate_cost_tags(env: &TestEnv) {
    let statuses = domain::doctor::COST_TAGS
        .iter()
        .map(|tag| {
            aws_sdk_costexplorer::types::CostAllocationTagStatusEntry::builder()
                .tag_key(*tag)
                .status(aws_sdk_costexplorer::types::CostAllocationTagStatus::Active)
                .build()
                .unwrap()
        })
        .collect();
    aws_sdk_costexplorer::Client::new(&env.moto.sdk_config().await)
        .update_cost_allocation_tags_status()
        .set_cost_allocation_tags_status(Some(statuses))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_deployment_passes_every_check() {
    let env = TestEnv::start("doctor-healthy", 107).await;
    activate_cost_tags(&env).await;
    let (passed, report) = env.run_cws_with(&["doctor"], &[]).await;
    assert!(passed, "{report}");
    for requirement in [
        "✅ Redis",
        "✅ Slack bot token",
        "✅ Discord application",
        "✅ AWS credentials",
        "✅ workstation policy in 123456789012: arn:aws:iam::123456789012:policy/cws-workstation exists",
        "✅ subnets in 123456789012 us-east-1",
        "✅ image of Python Machine Learning",
        "✅ image of GPU ML Workstation",
        "✅ archive bucket",
        "✅ Cost Explorer tags",
        "✅ SMTP",
    ] {
        assert!(report.contains(requirement), "{requirement}:\n{report}");
    }
    assert!(!report.contains('❌'), "{report}");
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_deployment_names_each_missing_piece_and_its_fix() {
    let env = TestEnv::start("doctor-broken", 108).await;
    env.slack.grant_only(&["commands", "chat:write"]);
    let closed = crate::harness::moto::free_port();
    let (passed, report) = env
        .run_cws_with(
            &["doctor"],
            &[
                ("REDIS_URL", &format!("redis://127.0.0.1:{closed}/0")),
                ("CWS_WORKSTATION_POLICY", "cws-typo"),
                ("SMTP_URL", &format!("smtp://127.0.0.1:{closed}")),
            ],
        )
        .await;
    assert!(!passed, "{report}");
    for (requirement, found) in [
        ("❌ Redis", "does not answer"),
        ("❌ Slack bot token", "missing scopes: im:write"),
        (
            "❌ workstation policy in 123456789012",
            "the workstation policy cws-typo (CWS_WORKSTATION_POLICY) does not exist",
        ),
        (
            "❌ Cost Explorer tags",
            "not active: cws:project, cws:user, cws:institution",
        ),
        ("❌ SMTP", "does not answer"),
    ] {
        let line = report
            .lines()
            .find(|line| line.starts_with(requirement))
            .unwrap_or_else(|| panic!("{requirement}:\n{report}"));
        assert!(line.contains(found), "{line}");
    }
    assert_eq!(
        report.matches("   fix: ").count(),
        report.matches('❌').count(),
        "every unmet requirement says how to fix it:\n{report}"
    );
    assert!(report.contains("✅ image of Bioinformatics"), "{report}");
    assert!(report.ends_with("5 requirement(s) not met.\n"), "{report}");
    env.finish();
}
