//! The consortium on Discord: interactions signed with an Ed25519 key the test makes, the same
//! jobs as Slack's, answers through the interaction's webhook, channel messages and DMs at a
//! fake Discord REST API, and instances in moto.

use std::time::Duration;

use domain::digest::{DigestTime, last_due};

use crate::harness::{
    DISCORD_CHANNEL_ID, DISCORD_GUILD_ID, DiscordPerson, JOHNSON_ON_DISCORD, LEE, LEE_ON_DISCORD,
    SMITH, SMITH_ON_DISCORD, TestEnv, discord_signature, discord_signing_key, now_unix, tag,
    to_mid_next_month, token_in,
};

/// The deferred answer Discord shows as "thinking…"; `private` when only the caller sees it.
fn assert_deferred(answer: &crate::harness::Answer, private: bool) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.elapsed < Duration::from_secs(3),
        "ack took {:?}",
        answer.elapsed
    );
    let json = answer.json();
    assert_eq!(json["type"], 5, "{json}");
    assert_eq!(
        json["data"]["flags"].as_u64() == Some(64),
        private,
        "{json}"
    );
}

/// `person` creates a project on Discord: the answer on the interaction, and the SSH key by DM.
async fn project_created(env: &TestEnv, person: DiscordPerson, args: &str) {
    let (answer, token) = env.discord_slash(person, "project", args).await;
    assert_deferred(&answer, true);
    let created = env.discord.followup_containing(&token, "created").await;
    assert!(created.ephemeral(), "{:#?}", created.body);
    env.discord.expect_dm(person.user_id, "the SSH key").await;
}

/// `owner` invites on Discord with `invitation`; `person` accepts it as `profile`; the key
/// arrives by DM.
async fn joined(
    env: &TestEnv,
    owner: DiscordPerson,
    person: DiscordPerson,
    invitation: &str,
    profile: &str,
) {
    let (_, token) = env
        .discord_slash(
            owner,
            "profiles",
            &format!("invitations create {invitation}"),
        )
        .await;
    let created = env
        .discord
        .followup_containing(&token, "Invitation created")
        .await;
    accepted(env, person, &token_in(created.content()), profile).await;
}

/// `person` accepts the invitation `token` on Discord as `profile`; the key arrives by DM.
async fn accepted(env: &TestEnv, person: DiscordPerson, token: &str, profile: &str) {
    let (_, interaction) = env
        .discord_slash(
            person,
            "profiles",
            &format!("invitations accept {token} {profile}"),
        )
        .await;
    env.discord
        .followup_containing(&interaction, "Profile created")
        .await;
    env.discord.expect_dm(person.user_id, "the SSH key").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_ping_gets_pong_and_a_forged_request_401_and_no_job() {
    let env = TestEnv::start("discord-signatures", 17).await;
    let ping = r#"{"type":1,"id":"1500000000000000001","application_id":"1100000000000000001","token":"t","version":1}"#;

    let answer = env
        .post_discord_signed(ping.to_owned(), &env.discord_key)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({ "type": 1 }));

    // Signed by another key, as Discord's own probes are.
    let stranger = discord_signing_key();
    let forged = env.post_discord_signed(ping.to_owned(), &stranger).await;
    assert_eq!(forged.status, 401, "{}", forged.body);

    // A launch: with a stranger's key, with an edited body, and replayed six minutes late.
    let launch = |name: &str| {
        serde_json::json!({
            "type": 2, "id": "1500000000000000002", "application_id": "1100000000000000001",
            "token": "t", "version": 1, "guild_id": "1100000000000000002",
            "channel_id": DISCORD_CHANNEL_ID,
            "member": { "user": { "id": SMITH_ON_DISCORD.user_id, "username": "jennifer.smith" } },
            "data": { "name": "cws", "type": 1, "options": [{ "type": 1, "name": "launch", "options": [
                { "type": 3, "name": "args", "value": format!("\"Python Machine Learning\" {name}") }
            ] }] }
        })
        .to_string()
    };
    let by_stranger = env.post_discord_signed(launch("a"), &stranger).await;
    let now = now_unix().to_string();
    let signature = discord_signature(&env.discord_key, &now, &launch("b"));
    let edited = env.post_discord(launch("c"), &now, &signature).await;
    let late = (now_unix() - 360).to_string();
    let replayed = env
        .post_discord(
            launch("d"),
            &late,
            &discord_signature(&env.discord_key, &late, &launch("d")),
        )
        .await;
    let missing = env.post_discord(launch("e"), &now, "").await;
    for answer in [&by_stranger, &edited, &replayed, &missing] {
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    assert_eq!(env.queued_launch_jobs().await, 0, "no job was queued");

    // What needs no state is answered at once, privately, within Discord's limits.
    let (help, _) = env.discord_slash(SMITH_ON_DISCORD, "help", "").await;
    let json = help.json();
    assert_eq!(
        (json["type"].as_u64(), json["data"]["flags"].as_u64()),
        (Some(4), Some(64))
    );
    let content = json["data"]["content"].as_str().unwrap();
    assert!(content.chars().count() <= 2_000, "{}", content.len());
    let everything = format!("{content}{}", json["data"]["embeds"]);
    assert!(everything.contains("/cws volume create"), "{json:#}");
    let (typo, _) = env
        .discord_slash(SMITH_ON_DISCORD, "launch", r#""Matlab" box"#)
        .await;
    assert!(
        typo.json()["data"]["content"]
            .as_str()
            .unwrap()
            .contains(r#"there is no template called "Matlab""#),
        "{}",
        typo.body
    );
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn discord_launch_on_moto_is_deferred_then_followed_up_with_the_instance() {
    let mut env = TestEnv::start("discord-launch", 18).await;
    env.start_worker();
    project_created(
        &env,
        JOHNSON_ON_DISCORD,
        "create nih-neuro-consortium --budget 5000",
    )
    .await;

    let (answer, token) = env
        .discord_slash(
            JOHNSON_ON_DISCORD,
            "launch",
            r#""Python Machine Learning" mit-algorithm-dev --size M"#,
        )
        .await;

    assert_deferred(&answer, false);
    let followup = env
        .discord
        .followup_containing(&token, "mit-algorithm-dev")
        .await;
    let instances = env.instances_named("mit-algorithm-dev").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    let instance_id = instances[0].instance_id().unwrap();
    assert_eq!(instances[0].instance_type().unwrap().as_str(), "t3.large");
    let content = followup.content();
    assert!(
        content.contains(&format!(
            "<@{}> launched **mit-algorithm-dev**",
            JOHNSON_ON_DISCORD.user_id
        )),
        "{content}"
    );
    assert!(content.contains(instance_id), "{content}");
    assert!(!followup.ephemeral(), "the channel sees the launch");
    assert!(content.chars().count() <= 2_000);
    assert_eq!(env.queued_launch_jobs().await, 1);
    env.finish();
}

const BERKELEY_INVITATION: &str = r#"berkeley-collaboration --type read_write --valid-days 540 --template-whitelist "R Research Environment,Python Machine Learning" --max-instance-types "t3.large,r5.xlarge" --max-hourly-cost 0.50 --forbidden-regions "us-west-1,eu-west-1""#;

#[tokio::test(flavor = "multi_thread")]
async fn on_discord_only_the_owner_approves_an_exception() {
    let mut env = TestEnv::start("discord-exception", 19).await;
    env.start_worker();
    project_created(
        &env,
        SMITH_ON_DISCORD,
        "create nih-neuro-consortium --budget 20000 --alert-threshold 75",
    )
    .await;
    joined(
        &env,
        SMITH_ON_DISCORD,
        LEE_ON_DISCORD,
        BERKELEY_INVITATION,
        "stanford-collab",
    )
    .await;
    // MIT joins from the collaborators CSV shared in the channel.
    env.discord.share_file(
        DISCORD_CHANNEL_ID,
        "collaborators.csv",
        "Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n\
         Dr. Michael Johnson,MIT,read_write,540,\"Python Machine Learning\",t3.large,0.50\n",
    );
    let (_, interaction) = env
        .discord_slash(
            SMITH_ON_DISCORD,
            "profiles",
            "invitations create-collaboration --csv-file collaborators.csv",
        )
        .await;
    let created = env
        .discord
        .followup_containing(&interaction, "1 collaboration invitation(s) created")
        .await;
    assert!(
        created.content().contains("mit-collaboration"),
        "{}",
        created.content()
    );
    accepted(
        &env,
        JOHNSON_ON_DISCORD,
        &token_in(created.content()),
        "stanford-collab",
    )
    .await;

    let (_, token) = env
        .discord_slash(
            LEE_ON_DISCORD,
            "launch",
            r#""GPU ML Workstation" approved-gpu --size XL"#,
        )
        .await;
    let violation = env
        .discord
        .followup_containing(&token, "Policy violation")
        .await;
    assert!(
        violation
            .content()
            .contains("Hourly cost: $12.24/hour ❌ (exceeds $0.50 limit)"),
        "{}",
        violation.content()
    );
    assert_eq!(env.aws_front.run_instances_calls(), 0);

    let (answer, token) = env
        .discord_click(LEE_ON_DISCORD, &violation.button("Request exception"))
        .await;
    assert_deferred(&answer, true);
    env.discord
        .followup_containing(&token, "Your exception request")
        .await;
    let asked = env
        .discord
        .expect_dm(SMITH_ON_DISCORD.user_id, "the request")
        .await;
    assert!(
        asked.content().contains("asks for an exception"),
        "{}",
        asked.content()
    );
    env.discord
        .expect("the request in the channel", Duration::from_secs(30), |s| {
            s.kind == "channel"
                && s.to == DISCORD_CHANNEL_ID
                && s.content().contains("asks for an exception")
        })
        .await;
    let approve = asked.button("Approve");
    asked.button("Deny");

    // Approve asks for the optional reason first; submitting it is the click. A read_write
    // member is refused, and nothing is launched.
    let (modal, _) = env.discord_click(JOHNSON_ON_DISCORD, &approve).await;
    assert_eq!(modal.json()["type"], 9, "{}", modal.body);
    assert_eq!(modal.json()["data"]["custom_id"], approve.as_str());
    let (_, token) = env.discord_submit(JOHNSON_ON_DISCORD, &approve, None).await;
    let refused = env
        .discord
        .followup_containing(&token, "may not approve")
        .await;
    assert!(
        refused.content().contains("read_write"),
        "{}",
        refused.content()
    );
    assert!(refused.ephemeral());
    assert_eq!(env.aws_front.run_instances_calls(), 0);

    let (_, token) = env
        .discord_submit(SMITH_ON_DISCORD, &approve, Some("Grant deadline"))
        .await;
    env.discord
        .followup_containing(&token, "You approved")
        .await;
    let told = env
        .discord
        .expect_dm(LEE_ON_DISCORD.user_id, "the approval")
        .await;
    assert!(
        told.content().contains("approved your exception"),
        "{}",
        told.content()
    );
    assert!(
        told.content().contains("Grant deadline"),
        "{}",
        told.content()
    );
    let launched = env
        .discord
        .expect("the launch in the channel", Duration::from_secs(30), |s| {
            s.kind == "channel" && s.content().contains("launched **approved-gpu**")
        })
        .await;
    assert_eq!(launched.to, DISCORD_CHANNEL_ID);
    let instances = env.instances_named("approved-gpu").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(instances[0].instance_type().unwrap().as_str(), "p3.8xlarge");
    let audit = env.stream("cws:audit:nih-neuro-consortium").await;
    assert!(
        audit
            .iter()
            .any(|e| e.contains("refused") && e.contains(JOHNSON_ON_DISCORD.user_id)),
        "the refused approval is audited: {audit:#?}"
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn register_discord_commands_puts_the_grammar_in_the_server() {
    let env = TestEnv::start("discord-register", 55).await;

    let printed = env
        .run_cws(&["register-discord-commands", "--guild", DISCORD_GUILD_ID])
        .await;

    assert!(
        printed.contains(&format!("Registered /cws in server {DISCORD_GUILD_ID}")),
        "{printed}"
    );
    let registered = env
        .discord
        .expect("the registration", Duration::from_secs(5), |s| {
            s.kind == "commands"
        })
        .await;
    assert_eq!(registered.to, DISCORD_GUILD_ID);
    let command = &registered.body[0];
    assert_eq!(command["name"], "cws");
    let subcommands: Vec<&str> = command["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for expected in ["launch", "project", "profiles", "policy", "help"] {
        assert!(subcommands.contains(&expected), "{subcommands:?}");
    }
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_collaborator_on_slack_and_discord_is_one_research_user_on_two_devices() {
    let mut env = TestEnv::start("discord-identity", 56).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = env
        .invite(
            SMITH,
            "berkeley-collaboration --type read_write --valid-days 540 --max-devices 2",
        )
        .await;
    // Dr. Lee accepts in Slack (her key comes there), then in Discord: the second device.
    env.accept(LEE, &token, "stanford-collab").await;
    env.slack
        .expect_dm(LEE.user_id, "the SSH key", Duration::from_secs(30))
        .await;
    let accept = format!("invitations accept {token} stanford-collab");
    let (answer, interaction) = env.discord_slash(LEE_ON_DISCORD, "profiles", &accept).await;
    assert_deferred(&answer, true);
    env.discord
        .followup_containing(&interaction, "Profile created")
        .await;

    // A third chat account is one device too many.
    let (_, interaction) = env
        .discord_slash(JOHNSON_ON_DISCORD, "profiles", &accept)
        .await;
    let refused = env
        .discord
        .followup_containing(&interaction, "maximum of 2 devices")
        .await;
    assert!(refused.ephemeral());

    // From Discord she launches as the same research user her Slack account has.
    let (_, interaction) = env
        .discord_slash(
            LEE_ON_DISCORD,
            "launch",
            r#""R Research Environment" lee-on-discord"#,
        )
        .await;
    env.discord
        .followup_containing(&interaction, "launched **lee-on-discord**")
        .await;
    let instances = env.instances_named("lee-on-discord").await;
    assert_eq!(tag(&instances[0], "cws:user"), Some("sarah_lee"));
    assert_eq!(
        tag(&instances[0], "cws:invitation"),
        Some("berkeley-collaboration")
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discord_owner_gets_the_budget_alert_by_dm_and_the_digest_as_an_embed() {
    let mut env = TestEnv::start("discord-notices", 57).await;
    // Day one is the 10th of next month: a t3.large from then to the month's end commits $38
    // to $46, past half of $60 and under all of it.
    let day_one = to_mid_next_month();
    let launching = env.start_worker_shifted(&format!("+{day_one}s"));
    project_created(
        &env,
        SMITH_ON_DISCORD,
        "create nih-neuro-consortium --budget 60 --alert-threshold 50 --timezone America/Los_Angeles",
    )
    .await;
    let (_, interaction) = env
        .discord_slash(
            SMITH_ON_DISCORD,
            "launch",
            r#""Python Machine Learning" smith-notebook --size M"#,
        )
        .await;
    env.discord
        .followup_containing(&interaction, "launched **smith-notebook**")
        .await;
    let alert = env
        .discord
        .expect_dm(SMITH_ON_DISCORD.user_id, "the budget alert")
        .await;
    assert!(
        alert
            .content()
            .contains("nih-neuro-consortium has reached its 50% budget alert"),
        "{}",
        alert.content()
    );
    env.wait_for_done_launch_jobs(1).await;
    env.worker(launching).kill();

    // Five minutes after the first Monday 09:00 in Los Angeles in the week after day one.
    let now = time::OffsetDateTime::now_utc();
    let los_angeles = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
    let due = last_due(
        now + time::Duration::seconds(day_one) + time::Duration::weeks(1),
        &los_angeles,
        DigestTime::default(),
    );
    let offset = format!("+{}s", (due - now).whole_seconds() + 300);
    env.start_worker_with_env(&[
        ("CWS_CLOCK_OFFSET", offset.as_str()),
        ("CWS_SCHEDULE", "* * * * * *"),
    ]);

    let digest = env
        .discord
        .expect("the digest in the channel", Duration::from_secs(30), |s| {
            s.kind == "channel" && s.content().contains("weekly digest")
        })
        .await;
    assert_eq!(digest.to, DISCORD_CHANNEL_ID);
    let embed = &digest.body["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .starts_with("nih-neuro-consortium - weekly digest"),
        "{embed:#}"
    );
    let fields = embed["fields"].to_string();
    assert!(fields.contains("jennifer_smith"), "{fields}");
    assert!(fields.contains("smith-notebook"), "{fields}");
    assert!(digest.content().chars().count() <= 2_000);
    env.finish();
}
