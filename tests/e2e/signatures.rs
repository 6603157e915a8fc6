use std::time::Duration;

use domain::slack_signature;

use crate::harness::{SIGNING_SECRET, Slash, TestEnv, now_unix};

fn launch_body(env: &TestEnv) -> String {
    Slash::new("launch \"Python Machine Learning\" forged-box --size M")
        .form(&env.slack.response_url())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_signature_gets_401_and_no_job() {
    let env = TestEnv::start("sig-forged", 5).await;
    let body = launch_body(&env);
    let timestamp = now_unix().to_string();
    let forged = slack_signature::sign(b"not-the-signing-secret", &timestamp, body.as_bytes());

    let answer = env
        .post_signed("/slack/commands", body, &timestamp, &forged)
        .await;

    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_replayed_six_minutes_later_gets_401_and_no_job() {
    let env = TestEnv::start("sig-stale", 6).await;
    let body = launch_body(&env);
    let six_minutes_ago = (now_unix() - 360).to_string();
    let signature =
        slack_signature::sign(SIGNING_SECRET.as_bytes(), &six_minutes_ago, body.as_bytes());

    let answer = env
        .post_signed("/slack/commands", body, &six_minutes_ago, &signature)
        .await;

    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(
        answer.body.contains("outside the 300 s window"),
        "{}",
        answer.body
    );
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_body_gets_401_and_no_job() {
    let env = TestEnv::start("sig-tampered", 7).await;
    let body = launch_body(&env);
    let timestamp = now_unix().to_string();
    let signature = slack_signature::sign(SIGNING_SECRET.as_bytes(), &timestamp, body.as_bytes());
    let tampered = body.replace("size+M", "size+XL");
    assert_ne!(tampered, body);

    let answer = env
        .post_signed("/slack/commands", tampered, &timestamp, &signature)
        .await;

    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_signature_headers_and_unsigned_clicks_get_401() {
    let env = TestEnv::start("sig-missing", 8).await;
    let answer = env
        .post_signed("/slack/commands", launch_body(&env), "", "")
        .await;
    assert_eq!(answer.status, 401);

    let click =
        serde_urlencoded::to_string([("payload", r#"{"type":"block_actions","actions":[]}"#)])
            .unwrap();
    let timestamp = now_unix().to_string();
    let forged = slack_signature::sign(b"wrong", &timestamp, click.as_bytes());
    let answer = env
        .post_signed("/slack/interactions", click.clone(), &timestamp, &forged)
        .await;
    assert_eq!(answer.status, 401);

    let signed = slack_signature::sign(SIGNING_SECRET.as_bytes(), &timestamp, click.as_bytes());
    let answer = env
        .post_signed("/slack/interactions", click, &timestamp, &signed)
        .await;
    assert_eq!(answer.status, 200);
    assert!(answer.elapsed < Duration::from_secs(3));
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}
