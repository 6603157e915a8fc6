//! What a launched workspace stands on, read back from moto: the project's own instance profile
//! under the workstation policy (without one the SSM agent never registers; a shared one would
//! let any workspace mount any project's volumes), the project's own security group with
//! nothing open to the internet, a subnet of the configured or default VPC, and connection
//! lines through Session Manager. A deployment missing a piece refuses launches and says what
//! to set.

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, SecurityGroup};

use crate::harness::moto::WORKSTATION_POLICY;
use crate::harness::{Moto, SMITH, Slash, TestEnv, tag};

const WAIT: Duration = Duration::from_secs(30);
const PROJECT: &str = "nih-neuro-consortium";

async fn launched(env: &TestEnv, template: &str, name: &str) {
    launched_in(env, template, name, PROJECT).await;
}

async fn launched_in(env: &TestEnv, template: &str, name: &str, project: &str) {
    let text = format!(r#"launch "{template}" {name} --size M --project {project}"#);
    env.launched(SMITH, &text, name).await;
}

async fn groups_named(env: &TestEnv, name: &str) -> Vec<SecurityGroup> {
    env.moto
        .ec2()
        .await
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .unwrap()
        .security_groups()
        .to_vec()
}

/// Every range a group lets in, on any port.
fn ingress(group: &SecurityGroup) -> Vec<(Option<i32>, String)> {
    group
        .ip_permissions()
        .iter()
        .flat_map(|p| {
            p.ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip().map(str::to_owned))
                .chain(
                    p.ipv6_ranges()
                        .iter()
                        .filter_map(|r| r.cidr_ipv6().map(str::to_owned)),
                )
                .map(|range| (p.from_port(), range))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_workspace_has_its_projects_instance_profile_closed_group_and_a_default_subnet() {
    let mut env = TestEnv::start("network-default", 103).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    launched(&env, "Python Machine Learning", "ml-box").await;
    launched(&env, "R Research Environment", "r-box").await;

    let groups = groups_named(&env, "cws-nih-neuro-consortium").await;
    assert_eq!(groups.len(), 1, "one group per project: {groups:#?}");
    let group = &groups[0];
    assert_eq!(ingress(group), [], "nothing may come in from anywhere");
    assert_eq!(
        group
            .tags()
            .iter()
            .find(|t| t.key() == Some("cws:project"))
            .and_then(|t| t.value()),
        Some(PROJECT)
    );

    let ec2 = env.moto.ec2().await;
    let default_vpc = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_owned();
    for name in ["ml-box", "r-box"] {
        let instance = env.instances_named(name).await.remove(0);
        assert_eq!(tag(&instance, "cws:project"), Some(PROJECT));
        let profile = instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .unwrap_or_default();
        assert!(
            profile.ends_with(":instance-profile/cws/workstations/cws-ws-nih-neuro-consortium"),
            "{name}: {profile}"
        );
        let groups: Vec<_> = instance
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        assert_eq!(groups, [group.group_id().unwrap()], "{name}");
        assert_eq!(instance.vpc_id(), Some(default_vpc.as_str()), "{name}");
    }

    env.slash(&Slash::new("status ml-box").by(SMITH)).await;
    let status = env.reply_containing("ml-box: running").await;
    let blocks = status.body["blocks"].to_string();
    let instance_id = env.instances_named("ml-box").await[0]
        .instance_id()
        .unwrap()
        .to_owned();
    assert!(
        blocks.contains("AWS-StartSSHSession") && blocks.contains(&format!("@{instance_id}")),
        "{blocks}"
    );
    assert!(
        blocks.contains("AWS-StartPortForwardingSession")
            && blocks.contains(r#"'{\"portNumber\":[\"8888\"]"#)
            && blocks.contains("http://localhost:8888/"),
        "{blocks}"
    );
    env.finish();
}

/// A workspace can mount only what its instance profile's role may: each project's role is
/// its own, tagged with the project (the workstation policy matches volumes on that tag) and
/// bounded by the workstation policy, so nothing the workers attach can widen it.
#[tokio::test(flavor = "multi_thread")]
async fn each_projects_workspaces_run_as_their_own_role_bounded_by_the_workstation_policy() {
    const OTHER: &str = "genomics-core";
    let mut env = TestEnv::start("network-roles", 45).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.create_project(SMITH, &format!("{OTHER} --budget 2000"))
        .await;
    launched(&env, "Python Machine Learning", "neuro-a").await;
    launched(&env, "Python Machine Learning", "neuro-b").await;
    launched_in(&env, "Bioinformatics", "genomics-a", OTHER).await;

    let config = env.moto.sdk_config().await;
    let policy = format!("arn:aws:iam::123456789012:policy/{WORKSTATION_POLICY}");
    let mut roles = Vec::new();
    for (name, project) in [
        ("neuro-a", PROJECT),
        ("neuro-b", PROJECT),
        ("genomics-a", OTHER),
    ] {
        let instance = env.instances_named(name).await.remove(0);
        let profile = instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .expect("every workspace has an instance profile");
        let role = Moto::workstation_role_as(&config, profile).await;
        assert_eq!(role.name, format!("cws-ws-{project}"), "{name}");
        assert_eq!(role.path, "/cws/workstations/", "{name}");
        assert_eq!(role.project_tag.as_deref(), Some(project), "{name}");
        assert_eq!(role.boundary.as_deref(), Some(policy.as_str()), "{name}");
        assert_eq!(
            role.attached,
            std::slice::from_ref(&policy),
            "{name}: only the policy"
        );
        roles.push(role.name);
    }
    assert_eq!(roles[0], roles[1], "one role per project");
    assert_ne!(roles[0], roles[2], "never another project's role");
    env.finish();
}

/// A role of the project's name that cws did not make (here: no boundary, so whatever is
/// attached to it holds) is never put on a workspace.
#[tokio::test(flavor = "multi_thread")]
async fn a_same_named_role_cws_did_not_make_is_refused_not_used() {
    let mut env = TestEnv::start("network-foreign-role", 46).await;
    let iam = aws_sdk_iam::Client::new(&env.moto.sdk_config().await);
    iam.create_role()
        .role_name(format!("cws-ws-{PROJECT}"))
        .assume_role_policy_document(domain::network::WORKSTATION_TRUST_POLICY)
        .send()
        .await
        .expect("moto makes the role");
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.slash(&Slash::new(r#"launch "Python Machine Learning" foreign-box"#).by(SMITH))
        .await;
    let refused = env
        .slack
        .expect("the refusal", WAIT, |p| {
            p.text().contains("could not launch *foreign-box*")
        })
        .await;
    assert!(
        refused.text().contains("is not the workstation role")
            && refused.text().contains("cws-ws-nih-neuro-consortium"),
        "{}",
        refused.text()
    );
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    env.finish();
}

/// A VPC of the operator's with one subnet, as `CWS_SUBNETS` names it: (VPC, subnet).
pub(crate) async fn operators_vpc(env: &TestEnv) -> (String, String) {
    let ec2 = env.moto.ec2().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.20.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    (vpc, subnet)
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_subnets_and_ssh_ranges_are_used_and_nothing_else_is_opened() {
    let mut env = TestEnv::start("network-configured", 104).await;
    let (vpc, subnet) = operators_vpc(&env).await;
    env.start_worker_with_env(&[
        ("CWS_SUBNETS", subnet.as_str()),
        ("CWS_SSH_CIDRS", "171.64.0.0/14, 2607:f6d0::/32"),
    ]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    launched(&env, "Bioinformatics", "bio-box").await;

    let instance = env.instances_named("bio-box").await.remove(0);
    assert_eq!(instance.subnet_id(), Some(subnet.as_str()));
    let groups = groups_named(&env, "cws-nih-neuro-consortium").await;
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(groups[0].vpc_id(), Some(vpc.as_str()));
    let mut allowed = ingress(&groups[0]);
    allowed.sort();
    assert_eq!(
        allowed,
        [
            (Some(22), "171.64.0.0/14".to_owned()),
            (Some(22), "2607:f6d0::/32".to_owned())
        ]
    );
    env.finish();
}

/// In the operator's subnets Studio keeps its traffic in their VPC (`VpcOnly`), where SageMaker
/// requires the apps' security groups: the project's Studio group there, apart from the
/// workstations' and closed to everything, even to the SSH ranges the workstations admit.
#[tokio::test(flavor = "multi_thread")]
async fn studio_in_configured_subnets_stays_in_the_vpc_behind_a_closed_group_of_its_own() {
    let mut env = TestEnv::start("network-studio", 115).await;
    let (vpc, subnet) = operators_vpc(&env).await;
    env.start_worker_with_env(&[
        ("CWS_SUBNETS", subnet.as_str()),
        ("CWS_SSH_CIDRS", "171.64.0.0/14"),
    ]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    launched(&env, "SageMaker Studio", "lab-notebooks").await;

    let sagemaker = aws_sdk_sagemaker::Client::new(&env.moto.sdk_config().await);
    let listed = sagemaker.list_domains().send().await.unwrap();
    let domain_id = listed.domains()[0].domain_id().unwrap();
    let domain = sagemaker
        .describe_domain()
        .domain_id(domain_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        domain.app_network_access_type().map(|a| a.as_str()),
        Some("VpcOnly")
    );
    assert_eq!(domain.vpc_id(), Some(vpc.as_str()));
    assert_eq!(domain.subnet_ids(), std::slice::from_ref(&subnet));
    let groups = groups_named(&env, &format!("cws-studio.{PROJECT}")).await;
    assert_eq!(groups.len(), 1, "{groups:#?}");
    let group = &groups[0];
    assert_eq!(group.vpc_id(), Some(vpc.as_str()));
    assert!(group.ip_permissions().is_empty(), "{group:#?}");
    assert!(
        group
            .tags()
            .iter()
            .any(|t| t.key() == Some("cws:project") && t.value() == Some(PROJECT)),
        "{group:#?}"
    );
    let app_groups = domain
        .default_user_settings()
        .map(|s| s.security_groups().to_vec())
        .unwrap_or_default();
    assert_eq!(app_groups, [group.group_id().unwrap().to_owned()]);
    // The workstations' group, which opens SSH, is nowhere in it.
    assert!(
        groups_named(&env, &format!("cws-{PROJECT}"))
            .await
            .is_empty()
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_without_a_workstation_policy_refuses_launches_and_says_what_to_set() {
    let mut env = TestEnv::start("network-no-profile", 105).await;
    env.start_worker_with_env(&[("CWS_WORKSTATION_POLICY", "")]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.slash(&Slash::new(r#"launch "Python Machine Learning" no-profile"#).by(SMITH))
        .await;
    let refused = env
        .slack
        .expect("the refusal", WAIT, |p| {
            p.text().contains("could not launch *no-profile*")
        })
        .await;
    assert!(
        refused.text().contains("not set up") && refused.text().contains("CWS_WORKSTATION_POLICY"),
        "{}",
        refused.text()
    );
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    assert!(env.instances_named("no-profile").await.is_empty());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_missing_from_the_account_is_named_and_nothing_launches() {
    let mut env = TestEnv::start("network-missing-profile", 106).await;
    env.start_worker_with_env(&[("CWS_WORKSTATION_POLICY", "cws-typo")]);
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.slash(&Slash::new(r#"launch "Python Machine Learning" typo-box"#).by(SMITH))
        .await;
    let refused = env
        .slack
        .expect("the refusal", WAIT, |p| {
            p.text().contains("could not launch *typo-box*")
        })
        .await;
    assert!(
        refused.text().contains("cws-typo") && refused.text().contains("does not exist"),
        "{}",
        refused.text()
    );
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    env.finish();
}
