//! `profiles invitations create-collaboration --output FILE`: the tokens reach the owner as a
//! CSV file in their direct messages and each invitee with an e-mail by mail, once, however
//! often the job runs; the channel never sees a token.

use std::collections::HashMap;
use std::time::Duration;

use apalis_core::backend::TaskSink;
use apalis_redis::RedisStorage;
use domain::command::{Command, ProfilesCommand};
use domain::job::CommandJob;
use redis::AsyncCommands;

use crate::harness::{SMITH, Slash, TestEnv};

const COLLABORATORS: &str = "Name,Institution,Type,ValidDays,Email\n\
    Dr. Michael Johnson,MIT,admin,540,michael.johnson@mit.edu\n\
    Dr. Sarah Lee,Berkeley,read_write,540,sarah.lee@berkeley.edu\n\
    Dr. Wei Chen,Harvard,read_only,180,\n";

/// (e-mail, token) of each row of the tokens file, the header skipped.
fn tokens_in(csv: &str) -> Vec<(String, String)> {
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("name,email,institution,role,invitation,token,expires"),
        "{csv}"
    );
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[1].to_owned(), cells[5].to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn output_sends_the_tokens_file_by_dm_and_each_invitee_one_email() {
    let mut env = TestEnv::start("collaboration-output", 117).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let command = format!(
        "profiles invitations create-collaboration --csv-file collaborators.csv \
         --project nih-neuro-consortium --output invitations.csv\n{COLLABORATORS}"
    );
    env.slash(&Slash::new(&command).by(SMITH)).await;

    let reply = env
        .reply_containing("3 collaboration invitation(s) created")
        .await;
    let shown = reply.body.to_string();
    assert!(shown.contains("invitations.csv"), "{shown}");
    assert!(shown.contains("2 invitation e-mail(s) sent"), "{shown}");
    assert!(
        !shown.contains("inv-"),
        "the reply names the file, not the tokens: {shown}"
    );
    let dm = format!("D{}", SMITH.user_id);
    let file = env
        .slack
        .expect_file(&dm, "the tokens file", Duration::from_secs(30))
        .await;
    assert_eq!(file.body["filename"], "invitations.csv");
    let rows = tokens_in(file.file_content());
    assert_eq!(rows.len(), 3, "{}", file.file_content());
    assert!(rows.iter().all(|(_, token)| token.starts_with("inv-")));

    let mails = env
        .smtp
        .expect("with invitation tokens", 2, Duration::from_secs(30), |_| {
            true
        })
        .await;
    let expected: HashMap<&str, &str> = rows
        .iter()
        .filter(|(email, _)| !email.is_empty())
        .map(|(email, token)| (email.as_str(), token.as_str()))
        .collect();
    assert_eq!(expected.len(), 2);
    for mail in &mails {
        let token = expected[mail.to.as_str()];
        assert!(
            mail.body
                .contains(&format!("/cws profiles invitations accept {token} ")),
            "{}: {}",
            mail.to,
            mail.body
        );
        assert!(
            mail.subject.contains("nih-neuro-consortium"),
            "{}",
            mail.subject
        );
    }

    // The very same job again, as a retry would run it: the owner gets the file again, nobody
    // a second e-mail. Its first run has recorded its end (project create's too) first.
    env.wait_for_finished_commands(2).await;
    let mut redis = env.redis.clone();
    let queued: HashMap<String, Vec<u8>> = redis.hgetall("cws:queue:command:data").await.unwrap();
    let job = queued
        .values()
        .filter_map(|data| serde_json::from_slice::<CommandJob>(data).ok())
        .find(|job| {
            matches!(
                job.command,
                Command::Profiles(ProfilesCommand::InvitationCreateCollaboration(_))
            )
        })
        .expect("the create-collaboration job");
    let _: () = redis
        .del(format!("cws:job-finished:{}", job.key))
        .await
        .unwrap();
    let connection = apalis_redis::connect(env.redis_url.as_str()).await.unwrap();
    let mut storage = RedisStorage::<CommandJob>::new(connection)
        .with_config(queue::redis_config::<CommandJob>());
    storage.push(job).await.unwrap();

    let again = env
        .reply_containing("3 collaboration invitation(s) created")
        .await;
    assert!(
        again
            .body
            .to_string()
            .contains("2 invitation e-mail(s) sent"),
        "{}",
        again.body
    );
    let file_again = env
        .slack
        .expect_file(&dm, "the tokens file again", Duration::from_secs(30))
        .await;
    assert_eq!(
        tokens_in(file_again.file_content()),
        rows,
        "the same invitations"
    );
    assert_eq!(env.smtp.received().len(), 2, "no invitation mailed twice");

    let channel_tokens: Vec<String> = env
        .slack
        .all()
        .into_iter()
        .filter(|posted| {
            !posted.body["channel"]
                .as_str()
                .unwrap_or_default()
                .starts_with('D')
        })
        .filter(|posted| posted.method != "files.completeUploadExternal")
        .map(|posted| posted.body.to_string())
        .filter(|body| body.contains("inv-"))
        .collect();
    assert!(channel_tokens.is_empty(), "{channel_tokens:?}");
    env.finish();
}
