//! A no-cost grant extension: `profiles invitations extend` moves an invitation's end later,
//! the collaborator hears of it, and the expiry sweep re-plans for the new end (nothing happens
//! on the old date; the new date's warnings go out, even those the old date already had). Who
//! may extend what: never a collaborator, never an admin beyond their own invitation, nobody
//! past the collaboration's end; and `collaboration end` moving that end later.

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;
use redis::AsyncCommands;
use time::OffsetDateTime;

use crate::harness::slack::email_of;
use crate::harness::{JOHNSON, LEE, Person, SMITH, Slash, TestEnv};

const PROJECT: &str = "nih-neuro-consortium";
const WAIT: Duration = Duration::from_secs(30);

/// `June 2, 2027`, `days` from now, as the replies write dates.
fn date_in(days: i64) -> String {
    let at = OffsetDateTime::now_utc() + time::Duration::days(days);
    format!("{} {}, {}", at.month(), at.day(), at.year())
}

/// The invitation's record as the workers keep it.
async fn invitation(env: &TestEnv, name: &str) -> serde_json::Value {
    let mut redis = env.redis.clone();
    let id: String = redis
        .get(format!("cws:project:{PROJECT}:invitation-name:{name}"))
        .await
        .unwrap();
    let json: String = redis.get(format!("cws:invitation:{id}")).await.unwrap();
    serde_json::from_str(&json).unwrap()
}

fn mail_to(env: &TestEnv, person: Person) -> Vec<crate::harness::smtp::ReceivedMail> {
    let address = email_of(person.user_id);
    env.smtp
        .received()
        .into_iter()
        .filter(|mail| mail.to.contains(&address))
        .collect()
}

async fn audited(env: &TestEnv, wanted: &[&str]) -> usize {
    env.stream(&format!("cws:audit:{PROJECT}"))
        .await
        .iter()
        .filter(|link| wanted.iter().all(|w| link.contains(w)))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extended_invitation_is_warned_and_ended_at_its_new_end_only() {
    let mut env = TestEnv::start("extension-replanned", 111).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.join(
        SMITH,
        JOHNSON,
        "mit-collaboration --type read_write --valid-days 10 --institution mit-csail",
        "stanford-collab",
    )
    .await;
    env.slash(
        &Slash::new(r#"launch "R Research Environment" mit-algorithm-dev --size M"#).by(JOHNSON),
    )
    .await;
    env.slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *mit-algorithm-dev*")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;

    // Three days on, the old end's 7-day warning goes out.
    env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+3d")])
        .await;
    let warned = env
        .slack
        .expect_dm(JOHNSON.user_id, "the old 7-day warning", WAIT)
        .await;
    assert!(
        warned.text().contains("expires in 7 days"),
        "{}",
        warned.text()
    );

    // Ten days from its end, the grant is extended by 90: from the current end, not from today.
    env.slash(
        &Slash::new("profiles invitations extend mit-collaboration --valid-days 90").by(SMITH),
    )
    .await;
    let reply = env.reply_containing("now ends on").await;
    let (old_end, new_end) = (date_in(10), date_in(100));
    assert!(
        reply.text().contains(&format!(
            "now ends on *{new_end}* (was {old_end}: 90 days more)"
        )),
        "{}",
        reply.text()
    );
    assert_eq!(
        invitation(&env, "mit-collaboration").await["extensions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let told = env
        .slack
        .expect_dm(JOHNSON.user_id, "the extension", WAIT)
        .await;
    assert!(
        told.text()
            .contains(&format!("now ends on {new_end} (was {old_end})")),
        "{}",
        told.text()
    );
    let mail = mail_to(&env, JOHNSON);
    assert!(
        mail.iter()
            .any(|m| m.subject.ends_with(&format!("extended to {new_end}"))),
        "{:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(
        audited(
            &env,
            &[r#""action":"invitation_extend""#, r#""outcome":"extended""#]
        )
        .await,
        1
    );

    // Past the old end, twice: nothing is revoked, stopped or announced.
    for _ in 0..2 {
        env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+11d")])
            .await;
    }
    assert_eq!(
        env.instance_state("mit-algorithm-dev").await,
        InstanceStateName::Running
    );
    assert!(invitation(&env, "mit-collaboration").await["revoked_at"].is_null());
    assert_eq!(
        audited(&env, &[r#""action":"expiry""#, r#""outcome":"revoke""#]).await,
        0
    );

    // The new end's warnings: 30 days before it, and 7 days before it although the old end's
    // 7-day warning went out already.
    for (offset, left) in [("+70d", "30 days"), ("+93d", "7 days")] {
        for _ in 0..2 {
            env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", offset)])
                .await;
        }
        let dm = env.slack.expect_dm(JOHNSON.user_id, left, WAIT).await;
        assert!(
            dm.text()
                .contains(&format!("expires in {left}, on {new_end}")),
            "{}",
            dm.text()
        );
    }
    let subjects: Vec<String> = mail_to(&env, JOHNSON)
        .into_iter()
        .map(|m| m.subject)
        .collect();
    for left in ["7 days", "30 days"] {
        let warnings = subjects
            .iter()
            .filter(|s| s.ends_with(&format!("expiring in {left}")))
            .count();
        let expected = if left == "7 days" { 2 } else { 1 };
        assert_eq!(warnings, expected, "{left}: {subjects:?}");
    }
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn who_may_extend_what_and_the_collaboration_end_moves_later() {
    let mut env = TestEnv::start("extension-refused", 112).await;
    env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 5000"))
        .await;
    env.join(
        SMITH,
        JOHNSON,
        "mit-collaboration --type read_write --valid-days 10",
        "stanford-collab",
    )
    .await;
    env.join(
        SMITH,
        LEE,
        "berkeley-admin --type admin --valid-days 30 --can-invite true",
        "berkeley",
    )
    .await;
    let before = invitation(&env, "mit-collaboration").await;

    // The collaborator may not extend their own invitation: refused, audited, nothing changed.
    env.slash(
        &Slash::new("profiles invitations extend mit-collaboration --valid-days 90").by(JOHNSON),
    )
    .await;
    let refused = env.reply_containing("may not extend invitations").await;
    assert!(refused.text().contains("read_write"), "{}", refused.text());
    assert_eq!(invitation(&env, "mit-collaboration").await, before);
    assert_eq!(
        audited(&env, &[r#""action":"refused""#, "extend invitations"]).await,
        1
    );

    // An admin holds a 30-day invitation: neither their own, nor another past theirs.
    env.slash(&Slash::new("profiles invitations extend berkeley-admin --valid-days 90").by(LEE))
        .await;
    let own = env.reply_containing("cannot extend invitation").await;
    assert!(
        own.text().contains("it is your own invitation"),
        "{}",
        own.text()
    );
    env.slash(&Slash::new("profiles invitations extend mit-collaboration --valid-days 90").by(LEE))
        .await;
    let beyond = env.reply_containing("cannot extend invitation").await;
    assert!(
        beyond
            .text()
            .contains(&format!("yours ends on {}", date_in(30))),
        "{}",
        beyond.text()
    );
    assert_eq!(invitation(&env, "mit-collaboration").await, before);
    assert_eq!(
        audited(
            &env,
            &[r#""action":"invitation_extend""#, r#""outcome":"refused""#]
        )
        .await,
        2
    );

    // Within their own end it is theirs to grant, and the collaborator hears of it.
    env.slash(&Slash::new("profiles invitations extend mit-collaboration --valid-days 15").by(LEE))
        .await;
    let extended = env.reply_containing("now ends on").await;
    assert!(
        extended.text().contains(&date_in(25)),
        "{}",
        extended.text()
    );
    env.slack
        .expect_dm(JOHNSON.user_id, "the extension", WAIT)
        .await;

    // The owner ends the collaboration in 20 days, cutting both invitations short; nobody
    // extends past that date, the owner neither.
    let (cut, later) = (date_in(20), date_in(60));
    let day = |days: i64| (OffsetDateTime::now_utc() + time::Duration::days(days)).date();
    env.slash(&Slash::new(&format!("collaboration end {PROJECT} --date {}", day(20))).by(SMITH))
        .await;
    let scheduled = env.reply_containing("collaboration ends").await;
    let text = scheduled.body.to_string();
    assert!(
        text.contains(&format!(
            "`mit-collaboration`: ends {cut} (was {})",
            date_in(25)
        )),
        "{text}"
    );
    env.slash(
        &Slash::new("profiles invitations extend mit-collaboration --valid-days 30").by(SMITH),
    )
    .await;
    let bounded = env.reply_containing("cannot extend invitation").await;
    assert!(
        bounded
            .text()
            .contains(&format!("the collaboration ends on {cut}")),
        "{}",
        bounded.text()
    );

    // A no-cost extension of the grant: the date moves later, and with it every invitation
    // that ended with the collaboration; their collaborators are told.
    env.slash(&Slash::new(&format!("collaboration end {PROJECT} --date {}", day(60))).by(SMITH))
        .await;
    let moved = env.reply_containing("collaboration ends").await;
    let text = moved.body.to_string();
    for wanted in [
        format!("collaboration ends {later}* (was {cut})"),
        format!("`mit-collaboration`: ends {later} (was {cut})"),
        format!("`berkeley-admin`: ends {later} (was {cut})"),
    ] {
        assert!(text.contains(&wanted), "{wanted}: {text}");
    }
    for person in [JOHNSON, LEE] {
        let told = env
            .slack
            .expect_dm(person.user_id, "the moved end", WAIT)
            .await;
        assert!(
            told.text()
                .contains(&format!("now ends on {later} (was {cut})")),
            "{}",
            told.text()
        );
    }
    let extensions = &invitation(&env, "mit-collaboration").await["extensions"];
    assert_eq!(extensions.as_array().unwrap().len(), 2, "{extensions}");
    env.finish();
}
