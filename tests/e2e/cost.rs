//! Cost attribution from the usage ledger: three institutions launch, time moves on, and
//! `/cws project cost` shows who spent what, the chargeback statement in S3 adds up to the same
//! cents, and `/cws project reconcile` sets Cost Explorer's figures beside the ledger's.

use std::time::Duration;

use crate::harness::{JOHNSON, LEE, SMITH, Slash, TestEnv, to_mid_next_month};

#[tokio::test(flavor = "multi_thread")]
async fn three_institutions_launch_and_the_report_and_the_chargeback_csv_attribute_every_dollar() {
    let mut env = TestEnv::start("cost-by-user", 35).await;
    let day_one = to_mid_next_month();
    let first = env.start_worker_shifted(&format!("+{day_one}s"));
    env.create_project(SMITH, "nih-neuro-consortium --budget 5000")
        .await;
    for (person, name, institution) in [
        (JOHNSON, "mit", "mit-csail"),
        (LEE, "berkeley", "berkeley-neuroscience"),
    ] {
        let token = env
            .invite(
                SMITH,
                &format!(
                    "{name}-collaboration --type read_write --valid-days 540 --institution {institution}"
                ),
            )
            .await;
        env.accept(person, &token, "stanford-collab").await;
        env.slack
            .expect_dm(person.user_id, "the SSH key", Duration::from_secs(30))
            .await;
    }
    for (person, text, name) in [
        (
            SMITH,
            r#"launch "Python Machine Learning" stanford-pipeline --size M"#,
            "stanford-pipeline",
        ),
        (
            JOHNSON,
            r#"launch "R Research Environment" mit-algorithm-dev --size L"#,
            "mit-algorithm-dev",
        ),
        (
            LEE,
            "launch Bioinformatics berkeley-analysis --size M",
            "berkeley-analysis",
        ),
    ] {
        env.slash(&Slash::new(text).by(person)).await;
        env.slack
            .expect(name, Duration::from_secs(30), |p| {
                p.method == "chat.postMessage" && p.text().contains(&format!("launched *{name}*"))
            })
            .await;
    }

    // Twenty hours later.
    env.wait_for_done_launch_jobs(3).await;
    env.worker(first).kill();
    env.start_worker_shifted(&format!("+{}s", day_one + 20 * 3600));
    env.slash(&Slash::new("project cost nih-neuro-consortium --by-user").by(SMITH))
        .await;
    let report = env.reply_containing("Cost Attribution").await;

    // 20 h at the on-demand rate, plus the root volume's gp3 at $0.08/GB-month for 20 h: 55 GB
    // for MIT's r5.xlarge and 38 GB for Berkeley's m5.xlarge (room for their RAM, since they
    // hibernate), 30 GB for Stanford's t3.large. $5.1622, $3.9244 and $1.7307, $10.8173 in all.
    // The rows' cents add up to the total, so the odd cent goes to the largest remainder
    // (Berkeley's).
    let table = report.body["blocks"].to_string();
    for (user, institution, cost) in [
        ("michael_johnson", "mit-csail", "$5.16"),
        ("sarah_lee", "berkeley-neuroscience", "$3.93"),
        ("jennifer_smith", "stanford-neuroscience", "$1.73"),
    ] {
        let row = table
            .split("\\n")
            .find(|line| line.starts_with(user))
            .and_then(|line| line.split("```").next())
            .unwrap_or_else(|| panic!("no row for {user} in {table}"));
        assert!(row.contains(institution), "{row}");
        assert!(row.contains("20h"), "{row}");
        assert!(row.ends_with(cost), "{row}");
    }
    let text = report.text();
    assert!(text.contains("$10.82 / $5,000.00"), "{text}");
    assert!(text.contains("60 compute hours"), "{text}");
    assert!(
        !table.contains("By institution"),
        "--by-user shows only users: {table}"
    );

    env.slash(&Slash::new("project cost nih-neuro-consortium --by-institution").by(LEE))
        .await;
    let shares = env.reply_containing("Cost Attribution").await;
    let shares = shares.body["blocks"].to_string();
    assert!(
        shares.contains("mit-csail (self-declared): $5.16 (48%)"),
        "{shares}"
    );
    assert!(
        shares.contains("berkeley-neuroscience (self-declared): $3.93 (36%)"),
        "{shares}"
    );
    assert!(
        shares.contains("stanford-neuroscience (self-declared): $1.73 (16%)"),
        "{shares}"
    );

    // Chargeback: MIT's share goes to its own account, the rest to the project's.
    env.slash(
        &Slash::new(
            "project chargeback nih-neuro-consortium --enable --mode aws --mit-account 222222222222",
        )
        .by(SMITH),
    )
    .await;
    let enabled = env.reply_containing("Chargeback is on").await;
    assert!(
        enabled.body.to_string().contains("222222222222"),
        "{}",
        enabled.body
    );
    let month = month_of(day_one);
    env.slash(
        &Slash::new(&format!(
            "project chargeback nih-neuro-consortium --month {month}"
        ))
        .by(SMITH),
    )
    .await;
    let statement = env
        .slack
        .expect("the statement's link", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("chargeback statement")
        })
        .await;
    assert!(statement.text().contains("$10.82"), "{}", statement.text());
    assert!(
        statement.text().contains("X-Amz-Signature"),
        "{}",
        statement.text()
    );
    let csv = env
        .moto
        .s3_text(
            "cws-e2e-archive",
            &format!("chargeback/nih-neuro-consortium/{month}.csv"),
        )
        .await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let cents: i64 = rows.iter().map(|row| row[8].parse::<i64>().unwrap()).sum();
    assert_eq!(cents, 1082, "the rows add up to the report's $10.82: {csv}");
    for (user, account, cost) in [
        ("michael_johnson", "222222222222", "516"),
        ("sarah_lee", "lead", "393"),
        ("jennifer_smith", "lead", "173"),
    ] {
        let row = rows.iter().find(|r| &r[2] == user).expect(user);
        assert_eq!((&row[4], &row[7], &row[8]), (account, "20", cost), "{csv}");
    }
    // A member may not turn chargeback off.
    env.slash(&Slash::new("project chargeback nih-neuro-consortium --enable false").by(LEE))
        .await;
    env.reply_containing("may not").await;

    // Cost Explorer bills MIT one cent more than the ledger and knows nothing of Stanford yet.
    env.moto
        .seed_cost_explorer(&[
            ("michael_johnson", "mit-csail", "5.1722"),
            ("sarah_lee", "berkeley-neuroscience", "3.9245"),
        ])
        .await;
    env.slash(
        &Slash::new(&format!(
            "project reconcile nih-neuro-consortium --month {month}"
        ))
        .by(SMITH),
    )
    .await;
    let reconciled = env.reply_containing("AWS Cost Explorer $").await;
    let table = reconciled.body["blocks"].to_string();
    let row = |user: &str| {
        table
            .split("\\n")
            .find(|line| line.starts_with(user))
            .and_then(|line| line.split("```").next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no row for {user} in {table}"))
    };
    assert!(row("michael_johnson").ends_with("$0.01"), "{table}");
    assert!(row("sarah_lee").ends_with("$0.00"), "{table}");
    assert!(row("jennifer_smith").contains(" -  "), "{table}");
    env.finish();
}

/// `YYYY-MM` of the moment `offset` seconds from now.
pub(crate) fn month_of(offset: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset);
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_launches_racing_for_the_last_of_the_budget_cannot_both_run() {
    let mut env = TestEnv::start("cost-race", 36).await;
    let day_one = format!("+{}s", to_mid_next_month());
    env.start_worker_shifted(&day_one);
    env.start_worker_shifted(&day_one);
    // A t3.large from the 10th to the end of any month costs $37.94 to $43.93: one fits in
    // $60, two do not.
    env.create_project(SMITH, "nih-neuro-consortium --budget 60")
        .await;

    let first = Slash::new(r#"launch "Python Machine Learning" racer-one --size M"#).by(SMITH);
    let second = Slash::new(r#"launch "Python Machine Learning" racer-two --size M"#).by(SMITH);
    tokio::join!(env.slash(&first), env.slash(&second));

    let launched = env
        .slack
        .expect("the one launch that fits", Duration::from_secs(30), |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *racer-")
        })
        .await;
    let refused = env.reply_containing("Policy violation").await;
    assert!(
        refused.text().contains("❌ (only $"),
        "the budget is the broken rule: {}",
        refused.text()
    );
    assert_eq!(env.all_instances().await.len(), 1, "{}", launched.text());
    env.finish();
}
