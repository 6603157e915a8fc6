//! Every message within the platform's limits at any size: a consortium of sixty
//! collaborators gets its invitation list in full, cut into sections Slack takes, and its
//! tokens (too long for one message) as a file; one of five hundred gets both as files, in
//! the requester's direct messages; and the fake Slack provably refuses what the real one
//! would.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::slack::FakeSlack;
use crate::harness::{SMITH, Slash, TestEnv};

const COLLABORATORS: usize = 60;

/// The text of every section of a posted message, in order.
fn section_texts(body: &Value) -> Vec<String> {
    body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "section")
        .map(|block| {
            block["text"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_collaborators_get_every_token_and_the_whole_list_within_slacks_limits() {
    let mut env = TestEnv::start("message-limits", 110).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let rows: String = (0..COLLABORATORS)
        .map(|n| {
            format!(
                "Dr. Collaborator {n:02},Institute {n:02},read_write,540,\"R Research;Bioinformatics\",t3.large,0.50\n"
            )
        })
        .collect();
    env.slack.share_file(
        "C0NEURO",
        "collaborators.csv",
        &format!("Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n{rows}"),
    );

    env.slash(
        &Slash::new("profiles invitations create-collaboration --csv-file collaborators.csv")
            .by(SMITH),
    )
    .await;
    env.reply_containing("60 collaboration invitation(s) created")
        .await;
    // Sixty tokens are past FILE_THRESHOLD_CHARS: they come as a file, only to the requester.
    let tokens = env
        .slack
        .expect_file(
            &format!("D{}", SMITH.user_id),
            "the tokens",
            Duration::from_secs(30),
        )
        .await;
    let tokens = tokens.file_content().matches("inv-").count();
    assert_eq!(tokens, COLLABORATORS, "every token is in the file once");

    env.slash(&Slash::new("profiles invitations list").by(SMITH))
        .await;
    let listed = env.reply_containing("Invitations of project").await;
    let sections = section_texts(&listed.body);
    assert!(sections.len() > 1, "the list is cut into sections");
    let all = sections.join("\n");
    for n in 0..COLLABORATORS {
        assert!(
            all.contains(&format!("institute-{n:02}-collaboration")),
            "invitation {n} is listed: {all}"
        );
    }
    // finish() fails the test had Slack refused any of it.
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fake_slack_refuses_what_slack_refuses() {
    let slack = FakeSlack::start().await;
    let http = reqwest::Client::new();
    let section =
        |text: String| json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } });
    let over_limit = [
        (
            "a section of 3,001 characters",
            json!({ "text": "t", "blocks": [section("x".repeat(3_001))] }),
            "invalid_blocks",
        ),
        (
            "51 blocks",
            json!({ "text": "t", "blocks": vec![section("x".into()); 51] }),
            "invalid_blocks",
        ),
        (
            "a header of 151 characters",
            json!({ "text": "t", "blocks": [{ "type": "header", "text": { "type": "plain_text", "text": "h".repeat(151) } }] }),
            "invalid_blocks",
        ),
        (
            "11 fields",
            json!({ "text": "t", "blocks": [{ "type": "section", "fields": vec![json!({ "type": "mrkdwn", "text": "f" }); 11] }] }),
            "invalid_blocks",
        ),
        (
            "a button value of 2,001 characters",
            json!({ "text": "t", "blocks": [{ "type": "actions", "elements": [{ "type": "button", "text": { "type": "plain_text", "text": "Go" }, "action_id": "cws_go", "value": "v".repeat(2_001) }] }] }),
            "invalid_blocks",
        ),
        (
            "a text of 40,001 characters",
            json!({ "text": "t".repeat(40_001) }),
            "msg_too_long",
        ),
    ];
    for (what, body, error) in &over_limit {
        for method in ["chat.postMessage", "chat.postEphemeral"] {
            let mut body = body.clone();
            body["channel"] = json!("C0NEURO");
            let answer: Value = http
                .post(format!("{}{method}", slack.api_url()))
                .bearer_auth("xoxb-e2e-token")
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(answer["error"], *error, "{method}, {what}: {answer}");
        }
        let answer = http
            .post(slack.response_url())
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "response_url, {what}");
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["error"], *error, "response_url, {what}: {answer}");
    }
    assert_eq!(slack.refusals().len(), over_limit.len() * 3);
    assert!(slack.all().is_empty(), "nothing refused is delivered");

    let within =
        json!({ "channel": "C0NEURO", "text": "t", "blocks": [section("x".repeat(3_000))] });
    let answer: Value = http
        .post(format!("{}chat.postMessage", slack.api_url()))
        .bearer_auth("xoxb-e2e-token")
        .json(&within)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    slack
        .expect("the message at the limit", Duration::from_secs(1), |p| {
            p.text() == "t"
        })
        .await;
}

/// A consortium of 500: the tokens and the invitation list are too long for a message, so
/// each goes as a file with a summary; the summary is ephemeral, so the file goes to the
/// requester's direct messages, never to the channel.
#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_invitations_reach_the_requester_as_files_in_their_direct_messages() {
    const CONSORTIUM: usize = 500;
    let mut env = TestEnv::start("message-limits-file", 123).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let rows: String = (0..CONSORTIUM)
        .map(|n| format!("Dr. Collaborator {n:03},Institute {n:03},read_write,540\n"))
        .collect();
    env.slack.share_file(
        "C0NEURO",
        "collaborators.csv",
        &format!("Name,Institution,Type,ValidDays\n{rows}"),
    );
    let direct = format!("D{}", SMITH.user_id);

    env.slash(
        &Slash::new("profiles invitations create-collaboration --csv-file collaborators.csv")
            .by(SMITH),
    )
    .await;
    let created = env
        .reply_containing("500 collaboration invitation(s) created")
        .await;
    assert!(
        created.text().contains("sent to you in a direct message"),
        "{}",
        created.text()
    );
    let tokens = env
        .slack
        .expect_file(&direct, "the tokens", Duration::from_secs(30))
        .await;
    assert_eq!(tokens.file_content().matches("inv-").count(), CONSORTIUM);

    env.slash(&Slash::new("profiles invitations list").by(SMITH))
        .await;
    let listed = env.reply_containing("Invitations of project").await;
    let list = env
        .slack
        .expect_file(&direct, "the invitation list", Duration::from_secs(30))
        .await;
    let name = list.body["filename"].as_str().unwrap();
    assert_eq!(name, "cws-invitations-of-project-nih-neuro-consortium.txt");
    assert!(
        listed
            .body
            .to_string()
            .contains(&format!("`{name}`, sent to you in a direct message")),
        "the summary names the file and where it is: {}",
        listed.body
    );
    let content = list.file_content();
    for n in 0..CONSORTIUM {
        assert!(
            content.contains(&format!("institute-{n:03}-collaboration")),
            "invitation {n} is in the file"
        );
    }

    let in_channel: Vec<_> = env
        .slack
        .all()
        .into_iter()
        .filter(|p| p.method != "response_url" && p.body["channel"] != direct.as_str())
        .collect();
    assert!(
        in_channel.is_empty(),
        "nothing went to the channel: {in_channel:#?}"
    );
    // finish() fails the test had Slack refused any of it, a file included.
    env.finish();
}
