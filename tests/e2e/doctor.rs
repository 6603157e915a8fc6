//! `cws doctor` against moto and the fakes: a healthy deployment passes every check, and a
//! deliberately broken one names each missing piece with its fix and exits 1. Templates the
//! admins published (kept in Redis) are checked with the shipped ones.

use domain::exception::RequestId;
use domain::template_trust::TemplateSigner;
use redis::AsyncCommands;

use crate::harness::TestEnv;
use crate::template_governance::{GENOMICS, deployment_key};

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

/// A template the deployment's admins approved, as the workers keep it in Redis: signed by
/// `signer`, whose entry the doctor must be given to trust it.
async fn publish(env: &TestEnv, signer: &TemplateSigner, text: &str) {
    let record = domain::template_review::PublishedTemplate {
        slug: "stanford-genomics".to_owned(),
        text: text.to_owned(),
        signature: signer.sign(text),
        proposal: RequestId::for_template_proposal(&"slack:T0:1.2".to_owned().try_into().unwrap()),
        approved_by: domain::identity::ChatIdentity::slack("T0CONSORTIUM", "U0MITJOHNSON"),
        approved_at: time::OffsetDateTime::now_utc(),
    };
    let mut redis = env.redis.clone();
    let _: () = redis
        .set(
            "cws:template:published:stanford-genomics",
            serde_json::to_string(&record).unwrap(),
        )
        .await
        .unwrap();
    let _: () = redis
        .sadd("cws:templates:published", "stanford-genomics")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_deployment_passes_every_check() {
    let env = TestEnv::start("doctor-healthy", 107).await;
    activate_cost_tags(&env).await;
    // A published template's image is checked like a shipped one's.
    let signer = deployment_key();
    publish(&env, &signer, GENOMICS).await;
    let publishers = signer.publisher_entry();
    let (passed, report) = env
        .run_cws_with(&["doctor"], &[("CWS_TEMPLATE_PUBLISHERS", &publishers)])
        .await;
    assert!(passed, "{report}");
    for requirement in [
        "✅ Redis",
        "✅ Slack bot token",
        "✅ Discord application",
        "✅ AWS credentials",
        "✅ workstation policy in 123456789012: arn:aws:iam::123456789012:policy/cws-workstation exists",
        "✅ subnets in 123456789012 us-east-1",
        "✅ Canvas policy in 123456789012: arn:aws:iam::123456789012:policy/cws-canvas exists",
        "✅ image of Python Machine Learning",
        "✅ image of GPU ML Workstation",
        "✅ image of Stanford Genomics",
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
                ("CWS_CANVAS_POLICY", ""),
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
            "❌ Canvas policy in 123456789012",
            "no Canvas policy is configured: set CWS_CANVAS_POLICY",
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
    assert!(report.ends_with("6 requirement(s) not met.\n"), "{report}");
    env.finish();
}

/// Studio and Canvas apps in the operator's subnets run `VpcOnly`, with no public address: the
/// doctor says when those subnets reach SageMaker neither through its endpoints nor out of the
/// VPC (the apps would never start), and passes once the VPC has the endpoints.
#[tokio::test(flavor = "multi_thread")]
async fn studio_in_the_operators_subnets_needs_a_way_to_sagemaker() {
    let env = TestEnv::start("doctor-studio-network", 116).await;
    activate_cost_tags(&env).await;
    let (vpc, subnet) = crate::network::operators_vpc(&env).await;
    let ec2 = env.moto.ec2().await;
    // A public subnet: its default route is an internet gateway, useless without an address.
    let gateway = ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&gateway)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let main_table = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .route_tables()[0]
        .route_table_id()
        .unwrap()
        .to_owned();
    ec2.create_route()
        .route_table_id(&main_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&gateway)
        .send()
        .await
        .unwrap();
    let env_vars = [("CWS_SUBNETS", subnet.as_str())];

    let (passed, report) = env.run_cws_with(&["doctor"], &env_vars).await;
    assert!(!passed, "{report}");
    let line = report
        .lines()
        .find(|line| line.starts_with("❌ SageMaker from the subnets in 123456789012 us-east-1"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains(&subnet), "{line}");
    assert!(
        report.contains("com.amazonaws.us-east-1.sagemaker.api"),
        "the fix names the endpoints:\n{report}"
    );

    for service in ["sagemaker.api", "sagemaker.runtime"] {
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc)
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
            .service_name(format!("com.amazonaws.us-east-1.{service}"))
            .subnet_ids(&subnet)
            .send()
            .await
            .unwrap();
    }
    let (passed, report) = env.run_cws_with(&["doctor"], &env_vars).await;
    assert!(
        report.contains("✅ SageMaker from the subnets in 123456789012 us-east-1"),
        "{report}"
    );
    assert!(passed, "{report}");
    env.finish();
}
