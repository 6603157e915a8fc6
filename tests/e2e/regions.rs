//! `--region` is honoured: the instance is in that region's EC2, with the image the template's
//! public parameter names there and that region's price, and every later command and the
//! reconcile round act there.

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, Instance, InstanceStateName};

use crate::harness::{SMITH, Slash, TestEnv, eventually};

const WAIT: Duration = Duration::from_secs(30);
const PROJECT: &str = "nih-neuro-consortium";

/// EC2 in us-west-2, as moto serves it.
async fn ec2_in_oregon(env: &TestEnv) -> aws_sdk_ec2::Client {
    let config = env
        .moto
        .sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new("us-west-2"))
        .build();
    aws_sdk_ec2::Client::new(&config)
}

/// What Canonical's Ubuntu 22.04 parameter holds in `region`.
async fn public_image(env: &TestEnv, region: &str) -> String {
    let config = env
        .moto
        .sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    aws_sdk_ssm::Client::new(&config)
        .get_parameter()
        .name("/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id")
        .send()
        .await
        .unwrap()
        .parameter()
        .and_then(|p| p.value())
        .unwrap()
        .to_owned()
}

async fn named(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<Instance> {
    ec2.describe_instances()
        .filters(Filter::builder().name("tag:Name").values(name).build())
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .flat_map(|r| r.instances().to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_in_us_west_2_lives_there_for_every_later_command_and_reconcile() {
    let mut env = TestEnv::start("regions", 102).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.slash(
        &Slash::new(r#"launch "Python Machine Learning" west-box --size M --region us-west-2"#)
            .by(SMITH),
    )
    .await;
    let launched = env
        .slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *west-box*")
        })
        .await;
    assert!(launched.text().contains("us-west-2"), "{}", launched.text());

    let oregon = ec2_in_oregon(&env).await;
    let instances = named(&oregon, "west-box").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    let oregons_ubuntu = public_image(&env, "us-west-2").await;
    assert_ne!(oregons_ubuntu, public_image(&env, "us-east-1").await);
    assert_eq!(
        instances[0].image_id(),
        Some(oregons_ubuntu.as_str()),
        "the image Canonical's parameter names in us-west-2"
    );
    assert!(
        env.instances_named("west-box").await.is_empty(),
        "nothing in us-east-1"
    );

    env.slash(&Slash::new("stop west-box").by(SMITH)).await;
    env.slack
        .expect("the stop", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("stopped *west-box*")
        })
        .await;
    eventually("stopped in us-west-2", WAIT, || async {
        let state = named(&oregon, "west-box").await[0]
            .state()
            .and_then(|s| s.name())
            .cloned();
        (state == Some(InstanceStateName::Stopped)).then_some(())
    })
    .await;

    // Started again in the console: the reconcile round looks in us-west-2 and sees it, rather
    // than taking an instance missing from us-east-1 for terminated.
    let id = named(&oregon, "west-box").await[0]
        .instance_id()
        .unwrap()
        .to_owned();
    oregon
        .start_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    env.run_once("reconcile", &[]).await;
    assert_eq!(
        env.ledger_kinds(PROJECT).await,
        ["launched", "stopped", "resumed"]
    );
    env.finish();
}
