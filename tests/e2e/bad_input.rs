use crate::harness::{Slash, TestEnv};

/// Each line is answered at once with what was wrong, and nothing is queued.
#[tokio::test(flavor = "multi_thread")]
async fn bad_launch_requests_are_explained_and_queue_nothing() {
    let env = TestEnv::start("bad-input", 9).await;
    let cases = [
        (
            "launch Matlab my-box",
            "there is no template called \"Matlab\"",
        ),
        ("launch Matlab my-box", "Python Machine Learning"),
        (
            "launch \"Python Machine Learning\" my-box --size XXL",
            "XXL",
        ),
        (
            "launch \"Python Machine Learning\" my-box --size XXL",
            "Usage: /cws launch",
        ),
        ("launch \"Python Machine Learning my-box", "quote"),
        (
            "launch \"Python Machine Learning my-box",
            "Usage: /cws launch",
        ),
        ("launch \"Python Machine Learning\"", "Usage: /cws launch"),
        ("launch \"Python Machine Learning\" My_Box", "My_Box"),
        ("lunch \"Python Machine Learning\" my-box", "lunch"),
    ];
    for (text, expected) in cases {
        let answer = env.slash(&Slash::new(text)).await;
        assert_eq!(answer.status, 200, "{text}: {}", answer.body);
        let reply = answer.text();
        assert!(
            reply.contains(expected),
            "`{text}` answered `{reply}`, expected it to mention `{expected}`"
        );
    }
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn help_answers_from_the_grammar() {
    let env = TestEnv::start("help", 10).await;

    let all = env.slash(&Slash::new("help")).await.text();
    let launch = env.slash(&Slash::new("help launch")).await.text();

    for command in [
        "/cws launch",
        "/cws project create",
        "/cws profiles invitations accept",
        "/cws volume create",
    ] {
        assert!(all.contains(command), "help lacks {command}: {all}");
    }
    assert!(launch.contains("--size"), "{launch}");
    assert!(!launch.contains("/cws volume create"), "{launch}");
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_not_yet_served_say_so_and_queue_nothing() {
    let env = TestEnv::start("not-available", 11).await;
    let answer = env
        .slash(&Slash::new("project status nih-neuro-consortium --detail"))
        .await;
    assert!(
        answer.text().contains("/cws project status"),
        "{}",
        answer.body
    );
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}
