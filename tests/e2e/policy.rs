//! The launch policy and one-click exceptions, from signed Slack requests and clicks.

use std::time::Duration;

use crate::harness::{JOHNSON, LEE, Posted, SMITH, Slash, TestEnv, button_value, tag};

const BERKELEY_INVITATION: &str = r#"berkeley-collaboration --type read_write --valid-days 540 --institution berkeley-neuroscience --template-whitelist "R Research Environment,Python Machine Learning" --max-instance-types "t3.large,r5.xlarge" --max-hourly-cost 0.50 --forbidden-regions "us-west-1,eu-west-1""#;

/// Dr. Smith's consortium with Dr. Lee (Berkeley) on the seed's restricted invitation. The
/// budget is large enough that only the invitation's restrictions refuse the GPU.
async fn consortium_with_berkeley(env: &TestEnv) {
    env.create_project(
        SMITH,
        "nih-neuro-consortium --budget 20000 --alert-threshold 75",
    )
    .await;
    let token = env.invite(SMITH, BERKELEY_INVITATION).await;
    let accepted = env.accept(LEE, &token, "stanford-collab").await;
    assert!(
        accepted.text().contains("Profile created"),
        "{}",
        accepted.text()
    );
    env.slack
        .expect_dm(LEE.user_id, "Berkeley's SSH key", Duration::from_secs(30))
        .await;
}

/// Lee tries the seed's GPU launch and gets the violation with its button.
async fn gpu_refused(env: &TestEnv, name: &str) -> Posted {
    let text = format!(r#"launch "GPU ML Workstation" {name} --size XL"#);
    let answer = env.slash(&Slash::new(&text).by(LEE)).await;
    assert_eq!(answer.status, 200);
    env.reply_containing("Policy violation").await
}

/// Lee's GPU launch is refused, she asks for an exception, and the request reaches Dr. Smith
/// (by DM, which is returned) and the project channel.
async fn exception_asked(env: &TestEnv, name: &str) -> Posted {
    let violation = gpu_refused(env, name).await;
    let request = button_value(&violation, "cws_request_exception");
    env.click(LEE, "cws_request_exception", &request, None)
        .await;
    env.reply_containing("Your exception request").await;
    let asked = env
        .slack
        .expect_dm(SMITH.user_id, "the request", Duration::from_secs(30))
        .await;
    env.slack
        .expect("the request in the channel", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.body["channel"] == "C0NEURO"
        })
        .await;
    asked
}

#[tokio::test(flavor = "multi_thread")]
async fn berkeley_cannot_launch_gpu_outside_policy() {
    let mut env = TestEnv::start("policy-violation", 20).await;
    env.start_worker();
    consortium_with_berkeley(&env).await;

    let violation = gpu_refused(&env, "expensive-gpu").await;

    let text = violation.text();
    assert!(
        text.contains(r#"Template: "GPU ML Workstation" ❌ (not in allowed list)"#),
        "{text}"
    );
    assert!(
        text.contains("Workspace type: p3.8xlarge ❌ (exceeds max)"),
        "{text}"
    );
    assert!(
        text.contains("Hourly cost: $12.24/hour ❌ (exceeds $0.50 limit)"),
        "{text}"
    );
    assert_eq!(text.matches("❌ (").count(), 3, "{text}");
    assert!(
        text.contains(r#"Allowed templates: "R Research Environment", "Python Machine Learning""#),
        "{text}"
    );
    assert!(
        text.contains("Contact jennifer.smith (stanford-neuroscience)"),
        "{text}"
    );
    button_value(&violation, "cws_request_exception");
    assert_eq!(env.aws_front.run_instances_calls(), 0, "no EC2 call");
    assert!(env.all_instances().await.is_empty());
    assert!(
        env.stream("cws:audit:nih-neuro-consortium")
            .await
            .iter()
            .any(|e| e.contains("policy_violation"))
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_test_and_show_answer_from_the_same_engine() {
    let mut env = TestEnv::start("policy-test", 21).await;
    env.start_worker();
    consortium_with_berkeley(&env).await;

    env.slash(&Slash::new(r#"policy test "GPU ML Workstation" x --size XL"#).by(LEE))
        .await;
    let tested = env.reply_containing("would be refused").await;
    assert!(
        tested.text().contains("(3 rule(s) broken)"),
        "{}",
        tested.text()
    );
    env.slash(&Slash::new(r#"policy test "R Research Environment" x --size M"#).by(LEE))
        .await;
    env.reply_containing("would be allowed").await;
    env.slash(&Slash::new("policy show").by(LEE)).await;
    let shown = env.reply_containing("Policy of profile").await;
    assert!(shown.text().contains("restricted"), "{}", shown.text());
    assert!(env.all_instances().await.is_empty());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owner_approves_and_a_double_click_launches_once() {
    let mut env = TestEnv::start("policy-approve", 22).await;
    // Two worker processes: the double click's two jobs may land on different machines.
    env.start_worker();
    env.start_worker();
    consortium_with_berkeley(&env).await;
    let mit = env
        .invite(
            SMITH,
            "mit-collaboration --type read_write --valid-days 540",
        )
        .await;
    env.accept(JOHNSON, &mit, "stanford-collab").await;
    env.slack
        .expect_dm(JOHNSON.user_id, "MIT's SSH key", Duration::from_secs(30))
        .await;

    let violation = gpu_refused(&env, "approved-gpu").await;
    let request = button_value(&violation, "cws_request_exception");

    // Someone else cannot ask on Lee's behalf.
    env.click(JOHNSON, "cws_request_exception", &request, None)
        .await;
    env.reply_containing("Only <@U0BERKLEE>").await;

    let clicked = env
        .click(LEE, "cws_request_exception", &request, None)
        .await;
    assert_eq!(clicked.status, 200, "{}", clicked.body);
    env.reply_containing("Your exception request").await;
    let asked = env
        .slack
        .expect_dm(SMITH.user_id, "the request", Duration::from_secs(30))
        .await;
    assert!(
        asked.text().contains("asks for an exception"),
        "{}",
        asked.text()
    );
    env.slack
        .expect("the request in the channel", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
                && p.body["channel"] == "C0NEURO"
                && p.text().contains("asks for an exception")
        })
        .await;
    let approve = button_value(&asked, "cws_approve_exception");

    // A read_write member is refused and nothing is launched.
    env.click(JOHNSON, "cws_approve_exception", &approve, None)
        .await;
    let refused = env.reply_containing("may not approve").await;
    assert!(refused.text().contains("read_write"), "{}", refused.text());
    assert_eq!(env.aws_front.run_instances_calls(), 0);

    // The owner clicks twice at once: one decision, one instance.
    let (first, second) = tokio::join!(
        env.click(
            SMITH,
            "cws_approve_exception",
            &approve,
            Some("Grant deadline")
        ),
        env.click(
            SMITH,
            "cws_approve_exception",
            &approve,
            Some("Grant deadline")
        ),
    );
    assert_eq!((first.status, second.status), (200, 200));
    env.reply_containing("You approved").await;
    env.reply_containing("already approved").await;
    let told = env
        .slack
        .expect_dm(LEE.user_id, "the approval", Duration::from_secs(30))
        .await;
    assert!(
        told.text().contains("approved your exception"),
        "{}",
        told.text()
    );
    assert!(told.text().contains("Grant deadline"), "{}", told.text());
    let launched = env
        .slack
        .expect("the launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *approved-gpu*")
        })
        .await;
    assert_eq!(launched.body["channel"], "C0NEURO");

    let instances = env.instances_named("approved-gpu").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(instances[0].instance_type().unwrap().as_str(), "p3.8xlarge");
    assert_eq!(tag(&instances[0], "cws:user"), Some("sarah_lee"));
    assert_eq!(
        tag(&instances[0], "cws:invitation"),
        Some("berkeley-collaboration")
    );
    assert_eq!(
        tag(&instances[0], "cws:institution"),
        Some("berkeley-neuroscience")
    );
    let audit = env.stream("cws:audit:nih-neuro-consortium").await;
    assert!(
        audit
            .iter()
            .any(|e| e.contains("refused") && e.contains("U0MITJOHNSON")),
        "the refused approval is audited: {audit:#?}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_exception_tells_the_requester_why_and_cannot_be_approved_later() {
    let mut env = TestEnv::start("policy-deny", 23).await;
    env.start_worker();
    consortium_with_berkeley(&env).await;

    let asked = exception_asked(&env, "denied-gpu").await;
    let deny = button_value(&asked, "cws_deny_exception");
    let approve = button_value(&asked, "cws_approve_exception");

    env.click(
        SMITH,
        "cws_deny_exception",
        &deny,
        Some("Use the shared GPU queue"),
    )
    .await;
    env.reply_containing("You denied").await;
    let told = env
        .slack
        .expect_dm(LEE.user_id, "the denial", Duration::from_secs(30))
        .await;
    assert!(
        told.text().contains("denied your exception request"),
        "{}",
        told.text()
    );
    assert!(
        told.text().contains("Use the shared GPU queue"),
        "{}",
        told.text()
    );

    env.click(SMITH, "cws_approve_exception", &approve, None)
        .await;
    env.reply_containing("already denied").await;
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exception_request_expires_undecided() {
    let mut env = TestEnv::start("policy-expired-request", 32).await;
    let first = env.start_worker();
    consortium_with_berkeley(&env).await;
    let asked = exception_asked(&env, "late-gpu").await;

    // Three days and an hour later (requests wait 72 hours by default).
    env.worker(first).kill();
    env.start_worker_shifted("+73h");
    let approve = button_value(&asked, "cws_approve_exception");
    env.click(SMITH, "cws_approve_exception", &approve, None)
        .await;
    env.reply_containing("expired on").await;
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_button_value_does_nothing() {
    let mut env = TestEnv::start("policy-forged-button", 24).await;
    env.start_worker();
    consortium_with_berkeley(&env).await;
    let violation = gpu_refused(&env, "forged-gpu").await;
    let request = button_value(&violation, "cws_request_exception");
    // Flip the first character of the id, so the edit never leaves it as it was.
    let first = if request.starts_with('0') { '1' } else { '0' };
    let forged = format!("{first}{}", &request[1..]);

    env.click(LEE, "cws_approve_exception", &forged, None).await;
    env.reply_containing("not one this deployment posted").await;
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_launch_carries_the_research_user_in_its_user_data() {
    let mut env = TestEnv::start("policy-user-data", 25).await;
    env.start_worker();
    consortium_with_berkeley(&env).await;

    env.slash(&Slash::new(r#"launch "R Research Environment" berkeley-analysis"#).by(LEE))
        .await;
    env.slack
        .expect("the launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("berkeley-analysis")
        })
        .await;
    let script = env.user_data_of("berkeley-analysis").await;
    assert!(script.starts_with("#!/bin/bash"), "{script}");
    assert!(script.contains("sarah_lee"), "{script}");
    assert!(script.contains("5001"), "{script}");
    env.finish();
}
