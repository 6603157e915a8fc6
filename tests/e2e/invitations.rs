//! Invitations and profiles from signed Slack requests: tokens, devices, expiry, revocation,
//! research users' UID ranges, and the collaborators CSV.

use std::time::Duration;

use crate::harness::{JOHNSON, LEE, SMITH, Slash, TestEnv, colleague};

#[tokio::test(flavor = "multi_thread")]
async fn tampered_revoked_and_overused_tokens_are_refused_clearly() {
    let mut env = TestEnv::start("invitations-refusals", 26).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = env
        .invite(
            SMITH,
            "lab --type read_only --valid-days 30 --max-devices 3",
        )
        .await;

    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = env.accept(LEE, &tampered, "collab").await;
    assert!(
        refused
            .text()
            .contains("was not issued by this deployment, or it was changed"),
        "{}",
        refused.text()
    );

    for (n, device) in [LEE, colleague("U0DEV2"), colleague("U0DEV3")]
        .into_iter()
        .enumerate()
    {
        let accepted = env.accept(device, &token, "collab").await;
        assert!(
            accepted.text().contains("Profile created"),
            "device {n}: {}",
            accepted.text()
        );
    }
    // One collaborator, one research user: only the first device gets the key.
    env.slack
        .expect_dm(LEE.user_id, "the SSH key", Duration::from_secs(30))
        .await;

    let fourth = env.accept(colleague("U0DEV4"), &token, "collab").await;
    assert!(
        fourth.text().contains("maximum of 3 devices"),
        "{}",
        fourth.text()
    );

    env.slash(&Slash::new("profiles invitations revoke lab").by(SMITH))
        .await;
    env.reply_containing("is revoked").await;
    let after = env.accept(colleague("U0DEV5"), &token, "collab").await;
    assert!(after.text().contains("was revoked on"), "{}", after.text());
    env.slash(&Slash::new("policy show").by(LEE)).await;
    let inactive = env.reply_containing("no longer gives access").await;
    assert!(inactive.text().contains("revoked"), "{}", inactive.text());
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_invitation_is_refused() {
    let mut env = TestEnv::start("invitations-expired", 27).await;
    let first = env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = env
        .invite(SMITH, "short --type read_only --valid-days 1")
        .await;

    env.worker(first).kill();
    env.start_worker_shifted("+2d");
    let refused = env.accept(LEE, &token, "collab").await;
    assert!(
        refused.text().contains("this invitation expired on"),
        "{}",
        refused.text()
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_in_two_accounts_get_disjoint_uid_ranges_and_keep_their_uid() {
    let mut env = TestEnv::start("invitations-uids", 28).await;
    env.start_worker();
    let alpha = env
        .create_project(SMITH, "alpha --budget 100 --account 111111111111")
        .await;
    assert!(alpha.text().contains("UID 5000"), "{}", alpha.text());
    let beta = env
        .create_project(SMITH, "beta --budget 100 --account 222222222222")
        .await;
    assert!(beta.text().contains("UID 6000"), "{}", beta.text());

    // The newest project's profile is active: this invitation is beta's.
    let to_beta = env
        .invite(SMITH, "lee-beta --type read_write --valid-days 540")
        .await;
    let in_beta = env.accept(LEE, &to_beta, "beta-collab").await;
    assert!(
        in_beta.text().contains("UID/GID 6001"),
        "{}",
        in_beta.text()
    );
    env.slack
        .expect_dm(LEE.user_id, "beta's SSH key", Duration::from_secs(30))
        .await;

    env.slash(&Slash::new("profiles use alpha").by(SMITH)).await;
    env.reply_containing("Now using profile *alpha*").await;
    let to_alpha = env
        .invite(SMITH, "lee-alpha --type read_write --valid-days 540")
        .await;
    let in_alpha = env.accept(LEE, &to_alpha, "alpha-collab").await;
    assert!(
        in_alpha.text().contains("UID/GID 5001"),
        "{}",
        in_alpha.text()
    );
    env.slack
        .expect_dm(LEE.user_id, "alpha's SSH key", Duration::from_secs(30))
        .await;

    // Accepting again, or from a second device, is the same research user.
    let again = env.accept(LEE, &to_beta, "beta-collab").await;
    assert!(again.text().contains("UID/GID 6001"), "{}", again.text());
    let second_device = env.accept(JOHNSON, &to_beta, "lee-on-mit-slack").await;
    assert!(
        second_device.text().contains("UID/GID 6001"),
        "{}",
        second_device.text()
    );

    env.slash(&Slash::new("profiles list").by(LEE)).await;
    let listed = env.reply_containing("Profiles:").await;
    assert!(
        listed
            .text()
            .contains("beta-collab (invitation, active) - expires in 18 months"),
        "{}",
        listed.text()
    );
    assert!(
        listed.text().contains("alpha-collab (invitation)"),
        "{}",
        listed.text()
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_collaborators_csv_creates_good_rows_and_reports_bad_ones() {
    let mut env = TestEnv::start("invitations-csv", 29).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let command = "profiles invitations create-collaboration --csv-file collaborators.csv --project nih-neuro-consortium\n\
        Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n\
        Dr. Michael Johnson,MIT,admin,540,\"Python ML;R Research\",r5.xlarge,1.00\n\
        Dr. Sarah Lee,Berkeley,read_write,540,\"R Research;Bioinformatics\",t3.large,0.50\n\
        Dr. Nobody,Nowhere,superuser,0,Matlab,huge,free\n";
    env.slash(&Slash::new(command).by(SMITH)).await;

    let created = env
        .reply_containing("2 collaboration invitation(s) created")
        .await;
    let text = created.text();
    assert!(text.contains("1 row(s) had problems"), "{text}");
    let blocks = created.body["blocks"].to_string();
    assert!(blocks.contains("mit-collaboration"), "{blocks}");
    assert!(blocks.contains("berkeley-collaboration"), "{blocks}");
    assert!(blocks.contains("line 4"), "{blocks}");
    assert_eq!(blocks.matches("inv-").count(), 2, "{blocks}");

    env.slash(&Slash::new("profiles invitations list").by(SMITH))
        .await;
    let listed = env.reply_containing("Invitations of project").await;
    assert!(
        listed.text().contains("berkeley-collaboration (read_write"),
        "{}",
        listed.text()
    );
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_shared_as_a_slack_file_is_read_from_the_channel() {
    let mut env = TestEnv::start("invitations-csv-file", 31).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    env.slack.share_file(
        "C0NEURO",
        "collaborators.csv",
        "Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n\
         Dr. Sarah Lee,Berkeley,read_write,540,\"R Research;Bioinformatics\",t3.large,0.50\n",
    );

    env.slash(
        &Slash::new("profiles invitations create-collaboration --csv-file collaborators.csv")
            .by(SMITH),
    )
    .await;
    let created = env
        .reply_containing("1 collaboration invitation(s) created")
        .await;
    assert!(
        created.body["blocks"]
            .to_string()
            .contains("berkeley-collaboration"),
        "{}",
        created.body
    );

    env.slash(
        &Slash::new("profiles invitations create-collaboration --csv-file missing.csv").by(SMITH),
    )
    .await;
    env.reply_containing("no file called missing.csv was shared in this channel")
        .await;
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn members_without_the_right_role_are_refused() {
    let mut env = TestEnv::start("invitations-roles", 30).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    let token = env
        .invite(SMITH, "viewer --type read_only --valid-days 30")
        .await;
    env.accept(LEE, &token, "stanford-collab").await;
    env.slack
        .expect_dm(LEE.user_id, "the SSH key", Duration::from_secs(30))
        .await;

    env.slash(&Slash::new(r#"launch "R Research Environment" peek"#).by(LEE))
        .await;
    let refused = env.reply_containing("may not launch workspaces").await;
    assert!(refused.text().contains("read_only"), "{}", refused.text());
    env.slash(
        &Slash::new("profiles invitations create more --type read_only --valid-days 1").by(LEE),
    )
    .await;
    env.reply_containing("may not create invitations").await;
    env.slash(&Slash::new(r#"launch "R Research Environment" nobody-box"#).by(JOHNSON))
        .await;
    env.reply_containing("You are not a member of any project")
        .await;
    assert!(env.all_instances().await.is_empty());
    env.finish();
}

/// A restricted admin who may invite (Johnson, at MIT) cannot hand out more than he holds:
/// not a longer stay, not a template, size, price or region he may not use himself. Within
/// his own bounds, he can.
#[tokio::test(flavor = "multi_thread")]
async fn a_restricted_admin_cannot_invite_beyond_his_own_invitation() {
    let mut env = TestEnv::start("invitations-bounded-by-creator", 124).await;
    env.start_worker();
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    env.join(
        SMITH,
        JOHNSON,
        "mit-admins --type admin --valid-days 180 --can-invite true --policy-restrictions \
         --template-whitelist \"Python Machine Learning\" --max-instance-types t3.large \
         --max-hourly-cost 0.10",
        "mit-admin",
    )
    .await;

    let beyond = "profiles invitations create berkeley-students --type read_write \
                  --valid-days 365 --policy-restrictions --template-whitelist \
                  \"Python Machine Learning,GPU Deep Learning\" --max-hourly-cost 3.06";
    let answer = env.slash(&Slash::new(beyond).by(JOHNSON)).await;
    assert!(answer.body.contains("Working on"), "{}", answer.body);
    let refused = env
        .reply_containing("You cannot create this invitation")
        .await;
    let text = refused.text();
    for says in [
        "it would outlive yours, which ends on",
        "you may launch only Python Machine Learning",
        "you may launch instance types up to t3.large",
        "your launches are capped at $0.1000 an hour",
    ] {
        assert!(text.contains(says), "{says:?} missing from: {text}");
    }

    let token = env
        .invite(
            JOHNSON,
            "mit-students --type read_write --valid-days 90 --policy-restrictions \
             --template-whitelist \"Python Machine Learning\" --max-instance-types t3.medium \
             --max-hourly-cost 0.05",
        )
        .await;
    assert!(!token.is_empty());
    env.finish();
}
