use std::time::Duration;

use crate::harness::{JOHNSON, LEE, Slash, TestEnv, eventually, tag};

#[tokio::test(flavor = "multi_thread")]
async fn mit_launches_python_ml_and_the_channel_hears_the_instance() {
    let mut env = TestEnv::start("launch-happy", 1).await;
    env.start_worker();
    env.create_project(
        JOHNSON,
        "nih-neuro-consortium --budget 5000 --institution mit-csail",
    )
    .await;

    let answer = env
        .slash(&Slash::new(
            "launch \"Python Machine Learning\" mit-algorithm-dev --size M",
        ))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.elapsed < Duration::from_secs(3),
        "ack took {:?}",
        answer.elapsed
    );
    assert!(
        answer.text().contains("Launching *mit-algorithm-dev*"),
        "{}",
        answer.body
    );
    let posted = env
        .slack
        .expect("announcing the instance", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;
    assert_eq!(env.queued_launch_jobs().await, 1);

    let instances = env.instances_named("mit-algorithm-dev").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    let instance = &instances[0];
    let instance_id = instance.instance_id().unwrap();
    assert_eq!(instance.instance_type().unwrap().as_str(), "t3.large");
    assert_eq!(tag(instance, "cws:project"), Some("nih-neuro-consortium"));
    assert_eq!(tag(instance, "cws:user"), Some("michael_johnson"));
    assert_eq!(tag(instance, "cws:institution"), Some("mit-csail"));
    assert_eq!(tag(instance, "cws:invitation"), Some("owner"));
    assert_eq!(
        tag(instance, "cws:template"),
        Some("Python Machine Learning")
    );
    assert_eq!(tag(instance, "Name"), Some("mit-algorithm-dev"));

    assert_eq!(posted.body["channel"], "C0NEURO");
    assert!(posted.text().contains(instance_id), "{}", posted.text());
    assert!(
        posted.text().contains(
            "At the project's current burn ($0.0832/h), this month's budget lasts past the end of the month."
        ),
        "{}",
        posted.text()
    );
    assert!(
        posted
            .text()
            .contains("<@U0MITJOHNSON> launched *mit-algorithm-dev*"),
        "{}",
        posted.text()
    );
    assert_eq!(
        posted.authorization.as_deref(),
        Some("Bearer xoxb-e2e-token")
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn project_flag_and_default_size_reach_the_tags() {
    let mut env = TestEnv::start("launch-project", 2).await;
    env.start_worker();
    env.create_project(
        LEE,
        "nih-neuro-consortium --budget 5000 --institution berkeley-neuroscience",
    )
    .await;

    let answer = env
        .slash(
            &Slash::new("launch Bioinformatics berkeley-analysis --project nih-neuro-consortium")
                .by(LEE),
        )
        .await;
    assert!(answer.text().contains("size M"), "{}", answer.body);

    let posted = env
        .slack
        .expect("the launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;
    let instance = eventually("the instance", Duration::from_secs(5), || async {
        env.instances_named("berkeley-analysis")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(instance.instance_type().unwrap().as_str(), "m5.xlarge");
    assert_eq!(tag(&instance, "cws:project"), Some("nih-neuro-consortium"));
    assert_eq!(
        tag(&instance, "cws:institution"),
        Some("berkeley-neuroscience")
    );
    assert!(posted.text().contains("$0.192/h"), "{}", posted.text());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_launch_with_a_taken_name_is_refused_and_starts_nothing() {
    let mut env = TestEnv::start("launch-name-taken", 3).await;
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;

    env.slash(&Slash::new("launch \"R Research Environment\" shared-box"))
        .await;
    env.slack
        .expect("the first launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;
    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" shared-box --size S",
    ))
    .await;
    let refusal = env
        .slack
        .expect("the refusal", Duration::from_secs(30), |p| {
            p.method == "response_url"
        })
        .await;

    assert!(
        refusal.text().contains("already exists"),
        "{}",
        refusal.text()
    );
    assert_eq!(refusal.body["response_type"], "ephemeral");
    assert_eq!(env.instances_named("shared-box").await.len(), 1);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_rate_limits_are_waited_out_and_nothing_is_dropped() {
    let mut env = TestEnv::start("launch-rate-limited", 4).await;
    env.start_worker();
    env.create_project(JOHNSON, "nih-neuro-consortium --budget 5000")
        .await;
    env.slack.rate_limit_next(2);

    env.slash(&Slash::new(
        "launch \"Python Machine Learning\" patient-box",
    ))
    .await;
    let posted = env
        .slack
        .expect("the launch", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage"
        })
        .await;

    assert!(posted.text().contains("patient-box"));
    assert_eq!(env.slack.rate_limited_answers(), 2);
    env.finish();
}

/// Anyone can see what may be launched before they ask: the bot answers from the catalog the
/// workers launch from, and queues nothing.
#[tokio::test(flavor = "multi_thread")]
async fn templates_list_shows_what_each_template_offers() {
    let env = TestEnv::start("templates-list", 61).await;
    let answer = env.slash(&Slash::new("templates list")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let text = answer.text();
    assert!(
        text.contains("Workspace templates (8)") && text.contains("GPU ML Workstation"),
        "{text}"
    );
    assert!(
        answer.body.contains("Sizes: S `g4dn.xlarge`") && answer.body.contains("rstudio :8787"),
        "{}",
        answer.body
    );
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}
