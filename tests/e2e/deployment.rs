//! Who may spend the lead account's money: strangers in the workspace are refused before any
//! AWS call, an allowed requester's project waits for a deployment admin's click, and nobody
//! decides their own request (four eyes).

use std::time::Duration;

use redis::AsyncCommands;

use crate::harness::{CHEN, JOHNSON, LEE, Posted, SMITH, STRANGER, Slash, TestEnv, button_value};

const WAIT: Duration = Duration::from_secs(30);

/// Only Smith and Lee run this deployment: the tests see every admin's DM.
const TWO_ADMINS: (&str, &str) = (
    "CWS_ADMINS",
    "slack:T0CONSORTIUM:U0SMITH,slack:T0CONSORTIUM:U0BERKLEE",
);

async fn exists(env: &TestEnv, key: &str) -> bool {
    let mut redis = env.redis.clone();
    redis.exists(key).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_can_neither_create_a_project_nor_launch_and_nothing_starts() {
    let mut env = TestEnv::start("stranger", 96).await;
    env.start_worker();

    let answer = env
        .slash(&Slash::new("project create freeloader --budget 9999").by(STRANGER))
        .await;
    assert!(answer.text().contains("Working on"), "{}", answer.body);
    let refused = env
        .reply_containing("Only the deployment's admins can create projects")
        .await;
    assert!(refused.text().contains("<@U0SMITH>"), "{}", refused.text());

    env.slash(&Slash::new(r#"launch "GPU ML Workstation" free-gpu --size XL"#).by(STRANGER))
        .await;
    env.reply_containing("You are not a member of any project")
        .await;
    env.slash(&Slash::new("volume create loot --size 100").by(STRANGER))
        .await;
    env.reply_containing("You are not a member of any project")
        .await;

    assert_eq!(env.aws_front.run_instances_calls(), 0);
    assert!(env.all_instances().await.is_empty());
    assert!(!exists(&env, "cws:project:freeloader").await);
    let audit = env.stream("cws:audit:~deployment").await;
    assert!(
        audit
            .iter()
            .any(|e| e.contains("U0STRANGER") && e.contains("refused")),
        "the refusal is audited: {audit:#?}"
    );
    env.finish();
}

/// Chen asks for a project; returns the request as it reached Smith.
async fn chen_asks(env: &TestEnv) -> Posted {
    env.slash(
        &Slash::new(r#"project create chen-lab --budget 2000 --description "Two-photon imaging""#)
            .by(CHEN),
    )
    .await;
    let requested = env
        .reply_containing("went to the deployment's admins")
        .await;
    assert!(
        requested.text().contains("$2,000.00"),
        "{}",
        requested.text()
    );
    let asked = env
        .slack
        .expect_dm(SMITH.user_id, "the request", WAIT)
        .await;
    env.slack.expect_dm(LEE.user_id, "the request", WAIT).await;
    assert!(
        asked.text().contains("asks for a new project *chen-lab*"),
        "{}",
        asked.text()
    );
    asked
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_requesters_project_exists_only_after_an_admin_approves() {
    let mut env = TestEnv::start("project-request", 97).await;
    env.slack.add_user_group("S0PIS", &[CHEN.user_id]);
    env.start_worker_with_env(&[TWO_ADMINS, ("CWS_PROJECT_REQUESTERS", "slack-group:S0PIS")]);

    let asked = chen_asks(&env).await;
    assert!(!exists(&env, "cws:project:chen-lab").await);
    let approve = button_value(&asked, "cws_approve_project");

    // The requester holding the button decides nothing: he is no deployment admin.
    env.click(CHEN, "cws_approve_project", &approve, None).await;
    env.reply_containing("Only the deployment's admins decide project requests")
        .await;
    assert!(!exists(&env, "cws:project:chen-lab").await);

    // An edited value is not a button we posted.
    let forged = approve.replace("project-request:", "project-request:0");
    env.click(SMITH, "cws_approve_project", &forged, None).await;
    env.reply_containing("not one this deployment posted").await;

    // Two admins click at once: one decision, one project.
    let (first, second) = tokio::join!(
        env.click(SMITH, "cws_approve_project", &approve, Some("R01 funded")),
        env.click(
            LEE,
            "cws_approve_project",
            &approve,
            Some("R01 funded, per Berkeley")
        ),
    );
    assert_eq!((first.status, second.status), (200, 200));
    env.slack
        .expect("the approval recorded", WAIT, |p| {
            p.method == "response_url" && p.text().contains("You approved project *chen-lab*")
        })
        .await;
    env.reply_containing("was already approved").await;
    let told = env
        .slack
        .expect_dm(CHEN.user_id, "the approval", WAIT)
        .await;
    assert!(
        told.text().contains("approved your project"),
        "{}",
        told.text()
    );
    // Whichever click came first decided; both gave the funding as the reason.
    assert!(told.text().contains("R01 funded"), "{}", told.text());
    let decider = ["U0SMITH", "U0BERKLEE"]
        .into_iter()
        .find(|admin| told.text().contains(&format!("<@{admin}> approved")))
        .unwrap_or_else(|| panic!("the DM names the admin who decided: {}", told.text()));
    for (what, wanted) in [
        ("the project created", "Project *chen-lab* created"),
        ("Chen's SSH key", "SSH private key"),
    ] {
        env.slack
            .expect(what, WAIT, |p| {
                p.method == "chat.postMessage"
                    && p.body["channel"] == "DU0CHEN"
                    && p.text().contains(wanted)
            })
            .await;
    }

    let project: serde_json::Value = {
        let mut redis = env.redis.clone();
        let json: String = redis.get("cws:project:chen-lab").await.unwrap();
        serde_json::from_str(&json).unwrap()
    };
    assert_eq!(project["owner"], "slack:T0CONSORTIUM:U0CHEN");
    assert_eq!(project["institution"], "stanford-neuroscience");
    let decisions = env.stream("cws:audit:~deployment").await;
    assert!(
        decisions
            .iter()
            .any(|e| e.contains("project_request_decision") && e.contains(decider)),
        "{decisions:#?}"
    );
    let chain = env.stream("cws:audit:chen-lab").await;
    assert!(
        chain.iter().any(|e| e.contains(&format!(
            "approved by deployment admin slack:T0CONSORTIUM:{decider}"
        ))),
        "{chain:#?}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_project_request_creates_nothing() {
    let mut env = TestEnv::start("project-request-denied", 98).await;
    env.start_worker_with_env(&[
        TWO_ADMINS,
        ("CWS_PROJECT_REQUESTERS", "slack:T0CONSORTIUM:U0CHEN"),
    ]);
    let asked = chen_asks(&env).await;
    let deny = button_value(&asked, "cws_deny_project");
    env.click(
        LEE,
        "cws_deny_project",
        &deny,
        Some("Use the department's project"),
    )
    .await;
    env.reply_containing("You denied project *chen-lab*").await;
    let told = env.slack.expect_dm(CHEN.user_id, "the denial", WAIT).await;
    assert!(
        told.text().contains("Use the department's project"),
        "{}",
        told.text()
    );
    assert!(!exists(&env, "cws:project:chen-lab").await);
    env.finish();
}

const JOHNSON_ADMIN: &str = r#"mit-admins --type admin --valid-days 540 --institution mit-csail --template-whitelist "Python Machine Learning" --max-hourly-cost 0.50"#;
const LEE_ADMIN: &str =
    "berkeley-admins --type admin --valid-days 540 --institution berkeley-neuroscience";

/// `person`'s GPU launch is refused, and they ask for an exception; returns the request as
/// it reached `asked` by DM.
async fn gpu_exception(
    env: &TestEnv,
    person: crate::harness::Person,
    name: &str,
    asked: crate::harness::Person,
) -> Posted {
    env.slash(&Slash::new(&format!(r#"launch "GPU ML Workstation" {name} --size XL"#)).by(person))
        .await;
    let violation = env.reply_containing("Policy violation").await;
    let request = button_value(&violation, "cws_request_exception");
    env.click(person, "cws_request_exception", &request, None)
        .await;
    env.reply_containing("Your exception request").await;
    env.slack
        .expect("the request in the channel", WAIT, |p| {
            p.method == "chat.postMessage" && p.body["channel"] == "C0NEURO"
        })
        .await;
    env.slack
        .expect_dm(asked.user_id, "the request", WAIT)
        .await
}

/// After an approval: the requester hears it by DM and the channel hears the launch, once.
async fn approved_and_launched(env: &TestEnv, requester: crate::harness::Person, name: &str) {
    env.slack
        .expect_dm(requester.user_id, "the approval", WAIT)
        .await;
    env.launch_announced(name).await;
    assert_eq!(env.instances_named(name).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restricted_admin_cannot_approve_his_own_exception_but_another_admin_can_once() {
    let mut env = TestEnv::start("four-eyes-admin", 99).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 20000")
        .await;
    env.join(SMITH, JOHNSON, JOHNSON_ADMIN, "stanford-collab")
        .await;
    env.join(SMITH, LEE, LEE_ADMIN, "stanford-collab").await;

    let asked = gpu_exception(&env, JOHNSON, "johnson-gpu", SMITH).await;
    let approve = button_value(&asked, "cws_approve_exception");
    env.click(JOHNSON, "cws_approve_exception", &approve, None)
        .await;
    env.reply_containing("You cannot decide your own exception request")
        .await;
    assert_eq!(env.aws_front.run_instances_calls(), 0);

    let (first, second) = tokio::join!(
        env.click(LEE, "cws_approve_exception", &approve, Some("Deadline")),
        env.click(LEE, "cws_approve_exception", &approve, Some("Deadline")),
    );
    assert_eq!((first.status, second.status), (200, 200));
    env.reply_containing("You approved").await;
    env.reply_containing("already approved").await;
    approved_and_launched(&env, JOHNSON, "johnson-gpu").await;
    let audit = env.stream("cws:audit:nih-neuro-consortium").await;
    assert!(
        audit
            .iter()
            .any(|e| e.contains("approval of their own exception request")
                && e.contains("U0MITJOHNSON")),
        "the refused self-approval is audited: {audit:#?}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_cannot_approve_her_own_exception_a_deployment_admin_can() {
    let mut env = TestEnv::start("four-eyes-owner", 100).await;
    env.start_worker_with_env(&[TWO_ADMINS]);
    // One alert threshold (100 %): the approved launch crosses it once.
    env.create_project(
        SMITH,
        "nih-neuro-consortium --budget 50 --alert-threshold 100",
    )
    .await;

    // Only the budget refuses the owner; the request goes to the other deployment admin.
    let asked = gpu_exception(&env, SMITH, "smith-gpu", LEE).await;
    assert!(
        asked.text().contains("asks for an exception"),
        "{}",
        asked.text()
    );
    let approve = button_value(&asked, "cws_approve_exception");
    env.click(SMITH, "cws_approve_exception", &approve, None)
        .await;
    let refused = env
        .reply_containing("You cannot decide your own exception request")
        .await;
    assert!(
        refused
            .text()
            .contains("project budget nih-neuro-consortium --amount"),
        "{}",
        refused.text()
    );
    assert_eq!(env.aws_front.run_instances_calls(), 0);

    // Lee is no member of the project, but runs the deployment.
    env.click(LEE, "cws_approve_exception", &approve, Some("One-off"))
        .await;
    env.reply_containing("You approved").await;
    for (what, wanted) in [
        ("the approval", "approved your exception"),
        ("the budget alert", "budget"),
    ] {
        env.slack
            .expect(what, WAIT, |p| {
                p.method == "chat.postMessage"
                    && p.body["channel"] == "DU0SMITH"
                    && p.text().contains(wanted)
            })
            .await;
    }
    env.slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *smith-gpu*")
        })
        .await;
    assert_eq!(env.instances_named("smith-gpu").await.len(), 1);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_approver_decides_without_being_a_member() {
    let mut env = TestEnv::start("named-approver", 101).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 20000")
        .await;
    env.join(SMITH, JOHNSON, JOHNSON_ADMIN, "stanford-collab")
        .await;

    // Only the owner names approvers.
    env.slash(&Slash::new("project approvers nih-neuro-consortium --add <@U0CHEN>").by(JOHNSON))
        .await;
    env.reply_containing("may not change the project").await;
    env.slash(
        &Slash::new("project approvers nih-neuro-consortium --add <@U0CHEN|wei.chen>").by(SMITH),
    )
    .await;
    let named = env.reply_containing("Exception requests in").await;
    assert!(named.text().contains("<@U0CHEN>"), "{}", named.text());

    let asked = gpu_exception(&env, JOHNSON, "johnson-gpu", SMITH).await;
    let to_chen = env.slack.expect_dm(CHEN.user_id, "Chen's copy", WAIT).await;
    assert_eq!(
        button_value(&to_chen, "cws_approve_exception"),
        button_value(&asked, "cws_approve_exception")
    );
    env.click(
        CHEN,
        "cws_approve_exception",
        &button_value(&to_chen, "cws_approve_exception"),
        Some("Covered by the equipment grant"),
    )
    .await;
    env.reply_containing("You approved").await;
    approved_and_launched(&env, JOHNSON, "johnson-gpu").await;
    let audit = env.stream("cws:audit:nih-neuro-consortium").await;
    assert!(
        audit.iter().any(|e| e.contains("exception_decision")
            && e.contains("U0CHEN")
            && e.contains("named approver")),
        "{audit:#?}"
    );
    env.finish();
}
