//! SageMaker Studio beside EC2: collaborators launch "SageMaker Studio" from chat; the project
//! gets one Studio domain, each research user one profile (their POSIX UID and GID), each
//! workspace a private space whose JupyterLab app runs on the size's `ml.*` type, tagged for
//! attribution. `connect` sends its owner a presigned sign-in link by DM and nothing of it to
//! the channel; the policy refuses an `ml.p3` with the same message as an EC2 type; stop
//! deletes the app and keeps the space; the hours are in the cost report by user and
//! institution. "SageMaker Canvas" is a person's Canvas app under their profile: one per
//! person, signed in by DM, billed by the session hour. moto lacks user profiles, spaces, apps and presigned URLs: the stand-in
//! (tests/standins/moto_server.py) answers them in SageMaker's JSON wire format.

use std::time::Duration;

use aws_sdk_sagemaker::types::AppType;

use crate::harness::moto::CANVAS_POLICY;
use crate::harness::{JOHNSON, LEE, SMITH, Slash, TestEnv, button_value, to_mid_next_month};

const WAIT: Duration = Duration::from_secs(30);
const PROJECT: &str = "nih-neuro-consortium";
/// Berkeley may use Studio, up to an `ml.m5.xlarge` and $1/hour.
const BERKELEY_INVITATION: &str = r#"berkeley-collaboration --type read_write --valid-days 540 --institution berkeley-neuroscience --template-whitelist "SageMaker Studio" --max-instance-types "ml.m5.xlarge" --max-hourly-cost 1.00"#;

async fn sagemaker(env: &TestEnv) -> aws_sdk_sagemaker::Client {
    aws_sdk_sagemaker::Client::new(&env.moto.sdk_config().await)
}

/// The project's domains in moto, by name.
async fn domains(env: &TestEnv) -> Vec<(String, String)> {
    sagemaker(env)
        .await
        .list_domains()
        .send()
        .await
        .unwrap()
        .domains()
        .iter()
        .map(|d| {
            (
                d.domain_id().unwrap().to_owned(),
                d.domain_name().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The execution role `profile` acts as.
async fn execution_role(env: &TestEnv, domain_id: &str, profile: &str) -> String {
    sagemaker(env)
        .await
        .describe_user_profile()
        .domain_id(domain_id)
        .user_profile_name(profile)
        .send()
        .await
        .unwrap()
        .user_settings()
        .and_then(|s| s.execution_role())
        .unwrap()
        .to_owned()
}

async fn profiles(env: &TestEnv, domain_id: &str) -> Vec<String> {
    sagemaker(env)
        .await
        .list_user_profiles()
        .domain_id_equals(domain_id)
        .send()
        .await
        .unwrap()
        .user_profiles()
        .iter()
        .map(|p| p.user_profile_name().unwrap().to_owned())
        .collect()
}

/// The status of the JupyterLab app of `space`.
async fn app_status(env: &TestEnv, domain_id: &str, space: &str) -> String {
    sagemaker(env)
        .await
        .describe_app()
        .domain_id(domain_id)
        .space_name(space)
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .unwrap()
        .status()
        .unwrap()
        .as_str()
        .to_owned()
}

/// After how many idle minutes SageMaker shuts `space`'s JupyterLab down.
async fn idle_minutes(env: &TestEnv, domain_id: &str, space: &str) -> Option<i32> {
    sagemaker(env)
        .await
        .describe_space()
        .domain_id(domain_id)
        .space_name(space)
        .send()
        .await
        .unwrap()
        .space_settings()
        .and_then(|s| s.jupyter_lab_app_settings())
        .and_then(|s| s.app_lifecycle_management())
        .and_then(|s| s.idle_settings())
        .and_then(|s| s.idle_timeout_in_minutes())
}

#[tokio::test(flavor = "multi_thread")]
async fn studio_launches_make_one_domain_a_profile_per_user_and_sign_in_goes_by_dm_only() {
    let mut env = TestEnv::start("studio", 93).await;
    let day_one = to_mid_next_month();
    let first = env.start_worker_shifted(&format!("+{day_one}s"));
    env.project_with_mit(PROJECT).await;
    let token = env.invite(SMITH, BERKELEY_INVITATION).await;
    env.accept(LEE, &token, "berkeley-collab").await;
    env.slack.expect_dm(LEE.user_id, "the SSH key", WAIT).await;

    let launched = env
        .launched(
            JOHNSON,
            r#"launch "SageMaker Studio" mit-studio --size M"#,
            "mit-studio",
        )
        .await;
    assert!(
        launched.text().contains("ml.m5.xlarge"),
        "{}",
        launched.text()
    );
    env.launched(
        JOHNSON,
        r#"launch "SageMaker Studio" mit-studio-small"#,
        "mit-studio-small",
    )
    .await;
    env.launched(
        LEE,
        r#"launch "SageMaker Studio" berkeley-studio --size M"#,
        "berkeley-studio",
    )
    .await;

    // One domain for the project, one profile per research user, one space per workspace.
    let domains = domains(&env).await;
    assert_eq!(domains.len(), 1, "{domains:?}");
    let (domain_id, domain_name) = &domains[0];
    assert_eq!(domain_name, &format!("cws-{PROJECT}"));
    let mut names = profiles(&env, domain_id).await;
    names.sort();
    // SageMaker refuses `_` in names: each profile is its username made to fit.
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("michael-johnson-"), "{names:?}");
    assert!(names[1].starts_with("sarah-lee-"), "{names:?}");
    let client = sagemaker(&env).await;
    let johnson = &names[0];
    let profile = client
        .describe_user_profile()
        .domain_id(domain_id)
        .user_profile_name(johnson)
        .send()
        .await
        .unwrap();
    let posix = profile
        .user_settings()
        .and_then(|s| s.custom_posix_user_config())
        .expect("the profile carries the research user's POSIX identity");
    // Johnson's Unix UID moved into SageMaker's range, one-to-one.
    assert_eq!(posix.uid(), Some(5001 + 10_000), "{posix:?}");
    let execution_role = profile
        .user_settings()
        .and_then(|s| s.execution_role())
        .unwrap()
        .to_owned();
    assert!(
        execution_role.ends_with(&format!(":role/cws/studio/cws-st-{PROJECT}")),
        "{execution_role}"
    );
    let app = client
        .describe_app()
        .domain_id(domain_id)
        .space_name("mit-studio")
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(app.status().unwrap().as_str(), "InService");
    assert_eq!(
        app.resource_spec()
            .and_then(|r| r.instance_type())
            .unwrap()
            .as_str(),
        "ml.m5.xlarge"
    );
    let tags = app_tags(&env, app.app_arn().unwrap()).await;
    assert_eq!(tags["cws:project"], PROJECT);
    assert_eq!(tags["cws:user"], "michael_johnson");
    assert_eq!(tags["cws:institution"], "mit-csail");

    // Berkeley's invitation stops at ml.m5.xlarge: the GPU size is refused like an EC2 one.
    env.slash(&Slash::new(r#"launch "SageMaker Studio" berkeley-gpu --size XL"#).by(LEE))
        .await;
    let refused = env.reply_containing("Policy violation").await;
    let text = refused.text();
    assert!(
        text.contains("Workspace type: ml.p3.2xlarge ❌ (exceeds max)"),
        "{text}"
    );
    assert!(
        text.contains("Hourly cost: $3.825/hour ❌ (exceeds $1.00 limit)"),
        "{text}"
    );
    assert_eq!(
        client
            .list_spaces()
            .domain_id_equals(domain_id)
            .send()
            .await
            .unwrap()
            .spaces()
            .len(),
        3,
        "nothing was made for the refused launch"
    );

    // The owner gets a sign-in link by DM; the channel hears only that it was sent.
    env.slash(&Slash::new("connect mit-studio").by(JOHNSON))
        .await;
    let status = env.reply_containing("mit-studio: running").await;
    assert!(
        status.shown().contains("sign-in link"),
        "{}",
        status.shown()
    );
    let direct = env
        .slack
        .expect_dm(JOHNSON.user_id, "the sign-in link", WAIT)
        .await;
    let dm = direct.shown();
    let link = dm
        .split(['<', '|'])
        .find(|part| part.starts_with("https://"))
        .unwrap_or_else(|| panic!("no link in {dm}"))
        .to_owned();
    assert!(
        link.starts_with(&format!(
            "https://{domain_id}.studio.us-east-1.sagemaker.aws/auth?token="
        )),
        "{link}"
    );
    env.reply_containing(
        "sign-in link to mit-studio (SageMaker Studio) came to you by direct message",
    )
    .await;
    for posted in env.slack.all() {
        let is_the_dm = posted.body["channel"] == format!("D{}", JOHNSON.user_id).as_str();
        assert!(
            is_the_dm || !posted.shown().contains("auth?token="),
            "the link leaked: {}",
            posted.shown()
        );
    }

    // Nobody else gets one, not even the project's owner: the link signs in as Johnson.
    env.slash(&Slash::new("connect mit-studio").by(SMITH)).await;
    env.reply_containing("mit-studio: running").await;
    let refusal = env.reply_containing("signs in as its owner").await;
    assert!(
        refusal.text().contains("michael_johnson"),
        "{}",
        refusal.text()
    );

    // What only an instance can do is refused with the reason, before anything is called.
    for (command, action) in [
        ("download mit-studio", "download from"),
        ("snapshot create mit-studio before-upgrade", "snapshot"),
    ] {
        env.slash(&Slash::new(command).by(JOHNSON)).await;
        let refused = env
            .reply_containing(&format!("Cannot {action} *mit-studio*"))
            .await;
        assert!(
            refused
                .text()
                .contains("SageMaker Studio space, which runs no commands"),
            "{}",
            refused.text()
        );
    }

    // Stop deletes the app and keeps the space (and its storage).
    env.slash(&Slash::new("stop mit-studio-small").by(JOHNSON))
        .await;
    env.slack
        .expect("the stop", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("stopped *mit-studio-small*")
        })
        .await;
    crate::harness::eventually("the app deleted", WAIT, || async {
        (app_status(&env, domain_id, "mit-studio-small").await == "Deleted").then_some(())
    })
    .await;
    // Started again, its new app is attributed like the first.
    env.slash(&Slash::new("start mit-studio-small").by(JOHNSON))
        .await;
    env.slack
        .expect("the start", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("*mit-studio-small*. It costs")
        })
        .await;
    let restarted = client
        .describe_app()
        .domain_id(domain_id)
        .space_name("mit-studio-small")
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(restarted.status().unwrap().as_str(), "InService");
    let tags = app_tags(&env, restarted.app_arn().unwrap()).await;
    assert_eq!(tags["cws:user"], "michael_johnson");

    // Twenty hours on: the report attributes Studio's hours to their user and institution,
    // at SageMaker's rate ($0.23/hour for ml.m5.xlarge, plus the space's 5 GB).
    env.wait_for_done_launch_jobs(3).await;
    env.worker(first).kill();
    env.start_worker_shifted(&format!("+{}s", day_one + 20 * 3600));
    env.slash(&Slash::new(format!("project cost {PROJECT} --by-user").as_str()).by(SMITH))
        .await;
    let report = env.reply_containing("Cost Attribution").await;
    let table = report.body["blocks"].to_string();
    for (user, institution) in [
        ("michael_johnson", "mit-csail"),
        ("sarah_lee", "berkeley-neuroscience"),
    ] {
        let row = table
            .split("\\n")
            .find(|line| line.starts_with(user))
            .unwrap_or_else(|| panic!("no row for {user} in {table}"));
        assert!(row.contains(institution), "{row}");
    }
    let lee = table
        .split("\\n")
        .find(|line| line.starts_with("sarah_lee"))
        .and_then(|line| line.split("```").next())
        .unwrap();
    assert!(lee.contains("20h"), "{lee}");
    assert!(lee.ends_with("$4.61"), "{lee}");
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_deleted_outside_chat_is_noticed_and_the_end_of_a_collaboration_keeps_the_spaces() {
    let mut env = TestEnv::start("studio-end", 94).await;
    let worker = env.start_worker_with_env(&[("CWS_RECONCILE_SECS", "1")]);
    env.project_with_mit(PROJECT).await;
    // The project's idle policy: SageMaker shuts a space down itself after the window and the
    // grace period (CloudWatch has no activity of a space for cws to watch).
    env.slash(
        &Slash::new(&format!(
            "project idle {PROJECT} --after-minutes 90 --grace-minutes 30 --action stop"
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("for 90 minutes is idle").await;
    // The project's domain exists already, made before cws enabled idle shutdown on domains.
    let config = env.moto.sdk_config().await;
    let subnets: Vec<String> = aws_sdk_ec2::Client::new(&config)
        .describe_subnets()
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .map(|s| s.subnet_id().unwrap().to_owned())
        .collect();
    sagemaker(&env)
        .await
        .create_domain()
        .domain_name(format!("cws-{PROJECT}"))
        .auth_mode(aws_sdk_sagemaker::types::AuthMode::Iam)
        .default_user_settings(aws_sdk_sagemaker::types::UserSettings::builder().build())
        .vpc_id("vpc-12345678")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .unwrap();
    for name in ["mit-console", "mit-notebooks"] {
        let text = format!(r#"launch "SageMaker Studio" {name}"#);
        env.launched(JOHNSON, &text, name).await;
    }
    env.wait_for_done_launch_jobs(2).await;
    let domains = domains(&env).await;
    assert_eq!(
        domains.len(),
        1,
        "the older domain is the project's: {domains:?}"
    );
    let (domain_id, _) = domains[0].clone();
    assert_eq!(
        idle_minutes(&env, &domain_id, "mit-notebooks").await,
        Some(120)
    );
    env.slash(&Slash::new(&format!("project idle {PROJECT} --after-minutes 240")).by(SMITH))
        .await;
    let changed = env.reply_containing("for 240 minutes is idle").await;
    assert!(
        changed.shown().contains("after *270 idle minutes*"),
        "{}",
        changed.shown()
    );
    crate::harness::eventually("the spaces given the new policy", WAIT, || async {
        (idle_minutes(&env, &domain_id, "mit-console").await == Some(270)).then_some(())
    })
    .await;

    // Someone deletes one space's app in the SageMaker console: the reconcile round sees the
    // workspace stopped, and it stops accruing.
    sagemaker(&env)
        .await
        .delete_app()
        .domain_id(&domain_id)
        .space_name("mit-console")
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .unwrap();
    let kinds = crate::harness::eventually("the reconcile round", WAIT, || async {
        let kinds = env.ledger_kinds(PROJECT).await;
        (kinds.len() >= 3).then_some(kinds)
    })
    .await;
    assert_eq!(kinds, ["launched", "launched", "stopped"]);
    // With the project's idle policy on, that is most likely SageMaker's idle shutdown: the
    // channel hears it as it hears cws's own idle stops.
    let told = env
        .slack
        .expect("the idle shutdown in the channel", WAIT, |p| {
            p.method == "chat.postMessage"
                && p.text()
                    .contains("mit-console (michael_johnson) stopped outside chat")
        })
        .await;
    assert!(told.text().contains("after 270 minutes"), "{}", told.text());

    // The collaboration ends: its running space is stopped (its app deleted), and both spaces,
    // with what the research user kept in them, stay; a space has no snapshots to take.
    env.slash(
        &Slash::new(&format!(
            "collaboration end {PROJECT} --date {}",
            crate::expiry::date_in(10)
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("collaboration ends").await;
    env.worker(worker).kill();
    for _ in 0..2 {
        env.run_once("expiry-sweep", &[("CWS_CLOCK_OFFSET", "+11d")])
            .await;
    }
    let posted = env
        .slack
        .expect("the end in the channel", WAIT, |p| {
            p.text().contains("mit-collaboration ended in")
        })
        .await;
    assert!(
        posted
            .text()
            .contains("2 workspace(s) stopped, 0 snapshot(s)"),
        "{}",
        posted.text()
    );
    assert_eq!(
        app_status(&env, &domain_id, "mit-notebooks").await,
        "Deleted"
    );
    let spaces: Vec<String> = sagemaker(&env)
        .await
        .list_spaces()
        .domain_id_equals(&domain_id)
        .send()
        .await
        .unwrap()
        .spaces()
        .iter()
        .map(|s| s.space_name().unwrap().to_owned())
        .collect();
    assert_eq!(spaces.len(), 2, "{spaces:?}");
}

/// Johnson's Canvas (the `Canvas` app of his user profile), as SageMaker describes it.
async fn canvas_app(
    env: &TestEnv,
    domain_id: &str,
    profile: &str,
) -> aws_sdk_sagemaker::operation::describe_app::DescribeAppOutput {
    sagemaker(env)
        .await
        .describe_app()
        .domain_id(domain_id)
        .user_profile_name(profile)
        .app_type(AppType::Canvas)
        .app_name("default")
        .send()
        .await
        .unwrap()
}

/// The tags of the app with `arn`, by key.
async fn app_tags(env: &TestEnv, arn: &str) -> std::collections::HashMap<String, String> {
    sagemaker(env)
        .await
        .list_tags()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn canvas_is_one_per_person_signed_in_by_dm_and_costed_by_the_session_hour() {
    let mut env = TestEnv::start("canvas", 95).await;
    let day_one = to_mid_next_month();
    let first = env.start_worker_shifted(&format!("+{day_one}s"));
    env.project_with_mit(PROJECT).await;

    let launched = env
        .launched(
            JOHNSON,
            r#"launch "SageMaker Canvas" mit-canvas"#,
            "mit-canvas",
        )
        .await;
    assert!(
        launched.text().contains("canvas.session"),
        "{}",
        launched.text()
    );
    // His Canvas runs under his own Canvas profile in the project's domain, tagged for
    // attribution, as the project's Canvas role: bounded by and granted the deployment's Canvas
    // policy alone, never the Studio execution role his JupyterLab spaces would hold.
    let (domain_id, _) = domains(&env).await.remove(0);
    let profile = profiles(&env, &domain_id).await.remove(0);
    assert!(profile.starts_with("canvas-michael-johnson-"), "{profile}");
    let role_arn = execution_role(&env, &domain_id, &profile).await;
    assert!(
        role_arn.ends_with(&format!(":role/cws/canvas/cws-cv-{PROJECT}")),
        "{role_arn}"
    );
    let role =
        crate::harness::Moto::role_as(&env.moto.sdk_config().await, &format!("cws-cv-{PROJECT}"))
            .await;
    let canvas_policy = format!("arn:aws:iam::123456789012:policy/{CANVAS_POLICY}");
    assert_eq!(role.boundary.as_deref(), Some(canvas_policy.as_str()));
    assert_eq!(role.attached, [canvas_policy]);
    assert_eq!(role.project_tag.as_deref(), Some(PROJECT));
    let app = canvas_app(&env, &domain_id, &profile).await;
    assert_eq!(app.status().unwrap().as_str(), "InService");
    let tags = app_tags(&env, app.app_arn().unwrap()).await;
    assert_eq!(tags["cws:user"], "michael_johnson");
    assert_eq!(tags["cws:institution"], "mit-csail");
    assert_eq!(tags["cws:invitation"], "mit-collaboration");
    assert_eq!(tags["cws:workspace"], "mit-canvas");

    // SageMaker runs one Canvas per person: a second is refused before anything is made.
    env.slash(&Slash::new(r#"launch "SageMaker Canvas" mit-canvas-2"#).by(JOHNSON))
        .await;
    let refused = env
        .reply_containing("runs one SageMaker Canvas per person")
        .await;
    assert!(
        refused
            .text()
            .contains("yours in us-east-1 is *mit-canvas*"),
        "{}",
        refused.text()
    );

    // The sign-in link lands in Canvas and goes to Johnson alone.
    env.slash(&Slash::new("connect mit-canvas").by(JOHNSON))
        .await;
    env.reply_containing("mit-canvas: running").await;
    let direct = env
        .slack
        .expect_dm(JOHNSON.user_id, "the Canvas sign-in link", WAIT)
        .await;
    assert!(
        direct.shown().contains("landing=app:Canvas:"),
        "{}",
        direct.shown()
    );
    env.reply_containing("sign-in link to mit-canvas (SageMaker Canvas) came to you")
        .await;

    // Twenty hours of Canvas at SageMaker's $1.90 per session hour, and no storage. The first
    // worker is let finish what it has (a killed one's last command would run again).
    env.worker(first).terminate();
    env.worker(first)
        .exited_within(WAIT)
        .await
        .expect("the worker stops when asked");
    env.start_worker_shifted(&format!("+{}s", day_one + 20 * 3600));
    env.slash(&Slash::new(format!("project cost {PROJECT} --by-user").as_str()).by(SMITH))
        .await;
    let report = env.reply_containing("Cost Attribution").await;
    let table = report.body["blocks"].to_string();
    let johnson = table
        .split("\\n")
        .find(|line| line.starts_with("michael_johnson"))
        .and_then(|line| line.split("```").next())
        .unwrap_or_else(|| panic!("no row for Johnson in {table}"));
    assert!(johnson.contains("mit-csail"), "{johnson}");
    assert!(johnson.contains("20h"), "{johnson}");
    assert!(johnson.ends_with("$38.00"), "{johnson}");

    // The month's chargeback statement bills those hours to his institution.
    env.slash(
        &Slash::new(&format!(
            "project chargeback {PROJECT} --enable --mode report"
        ))
        .by(SMITH),
    )
    .await;
    env.reply_containing("Chargeback is on").await;
    let month = crate::cost::month_of(day_one);
    env.slash(&Slash::new(&format!("project chargeback {PROJECT} --month {month}")).by(SMITH))
        .await;
    let statement = env
        .slack
        .expect("the statement's link", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("chargeback statement")
        })
        .await;
    assert!(statement.text().contains("$38.00"), "{}", statement.text());
    let csv = env
        .moto
        .s3_text(
            "cws-e2e-archive",
            &format!("chargeback/{PROJECT}/{month}.csv"),
        )
        .await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows
        .iter()
        .find(|r| &r[2] == "michael_johnson")
        .unwrap_or_else(|| panic!("no row for Johnson in {csv}"));
    assert_eq!(
        (&row[3], &row[7], &row[8]),
        ("mit-csail", "20", "3800"),
        "{csv}"
    );

    // Stop logs Canvas out (its app deleted); started again, the new app carries every tag.
    env.slash(&Slash::new("stop mit-canvas").by(JOHNSON)).await;
    env.slack
        .expect("the stop", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("stopped *mit-canvas*")
        })
        .await;
    assert_eq!(
        canvas_app(&env, &domain_id, &profile)
            .await
            .status()
            .unwrap()
            .as_str(),
        "Deleted"
    );
    env.slash(&Slash::new("start mit-canvas").by(JOHNSON)).await;
    env.slack
        .expect("the start", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("*mit-canvas*. It costs")
        })
        .await;
    let restarted = canvas_app(&env, &domain_id, &profile).await;
    assert_eq!(restarted.status().unwrap().as_str(), "InService");
    let tags = app_tags(&env, restarted.app_arn().unwrap()).await;
    assert_eq!(tags["cws:invitation"], "mit-collaboration");
    assert_eq!(tags["cws:workspace"], "mit-canvas");

    // Terminated, the Canvas app goes and his Canvas profile stays for his next one.
    env.slash(&Slash::new("terminate mit-canvas").by(JOHNSON))
        .await;
    let confirm = env.reply_containing("Terminate *mit-canvas* (").await;
    let value = button_value(&confirm, "cws_confirm_terminate");
    env.click(JOHNSON, "cws_confirm_terminate", &value, None)
        .await;
    env.slack
        .expect("the end", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("terminated *mit-canvas*")
        })
        .await;
    crate::harness::eventually("the Canvas app deleted", WAIT, || async {
        let status = canvas_app(&env, &domain_id, &profile).await;
        (status.status().unwrap().as_str() == "Deleted").then_some(())
    })
    .await;
    assert_eq!(profiles(&env, &domain_id).await, [profile]);
    env.finish();
}

/// Canvas may start SageMaker jobs, which spend outside the invitation policies, so what it may
/// do is the deployment's to write down: without a Canvas policy a Canvas launch is refused,
/// saying what to set, before SageMaker or IAM makes anything.
#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_without_a_canvas_policy_refuses_canvas_and_says_what_to_set() {
    let mut env = TestEnv::start("canvas-unset", 63).await;
    env.start_worker_with_env(&[("CWS_CANVAS_POLICY", "")]);
    env.project_with_mit(PROJECT).await;

    env.slash(&Slash::new(r#"launch "SageMaker Canvas" mit-canvas"#).by(JOHNSON))
        .await;
    let refused = env
        .slack
        .expect("the refusal", WAIT, |p| {
            p.text().contains("could not launch *mit-canvas*")
        })
        .await;
    assert!(
        refused.text().contains("not set up") && refused.text().contains("CWS_CANVAS_POLICY"),
        "{}",
        refused.text()
    );
    assert!(domains(&env).await.is_empty());
    let roles = aws_sdk_iam::Client::new(&env.moto.sdk_config().await)
        .list_roles()
        .path_prefix("/cws/")
        .send()
        .await
        .unwrap();
    assert!(roles.roles().is_empty(), "{:?}", roles.roles());
    env.finish();
}
