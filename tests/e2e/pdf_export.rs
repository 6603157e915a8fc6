//! PDF exports on the real stack: `/cws audit collaboration --export pdf` and
//! `/cws collaboration report --export-compliance` put a PDF in moto's S3, the reply's
//! presigned link downloads it, and the text a PDF reader extracts shows the figures, the
//! people and the audit chain's head.

use std::time::Duration;

use crate::harness::{LEE, Posted, SMITH, Slash, TestEnv, button_value};

const PROJECT: &str = "nih-neuro-consortium";
const TRAIL: &str = "cws:audit:nih-neuro-consortium";
const BERKELEY_INVITATION: &str = r#"berkeley-collaboration --type read_write --valid-days 540 --institution berkeley-neuroscience --template-whitelist "R Research Environment,Python Machine Learning" --max-instance-types "t3.large,r5.xlarge" --max-hourly-cost 0.50 --forbidden-regions "us-west-1,eu-west-1""#;
const WAIT: Duration = Duration::from_secs(30);

/// Downloads the PDF behind the reply's `|label>` link and returns its text, page by page.
async fn pdf_behind(reply: &Posted, label: &str) -> Vec<String> {
    let link = link_behind(reply, label);
    assert!(link.contains("X-Amz-Signature"), "{link}");
    let response = reqwest::get(&link).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(b"%PDF-"), "not a PDF");
    let document = lopdf::Document::load_mem(&body).expect("a valid PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    pages
        .iter()
        .map(|page| document.extract_text(&[*page]).unwrap())
        .collect()
}

/// The link behind the reply's `|label>`.
fn link_behind(reply: &Posted, label: &str) -> String {
    let blocks = reply.body["blocks"].to_string();
    blocks
        .split('<')
        .find_map(|part| {
            part.split_once(&format!("|{label}>"))
                .map(|(url, _)| url.replace("&amp;", "&"))
        })
        .unwrap_or_else(|| panic!("no `{label}` link in {blocks}"))
}

/// The stored link numbered `seq`'s hash.
async fn hash_of(env: &TestEnv, seq: u64) -> String {
    env.stream(TRAIL)
        .await
        .iter()
        .map(|entry| serde_json::from_str::<serde_json::Value>(entry).unwrap())
        .find(|link| link["seq"] == seq)
        .map(|link| link["hash"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no link #{seq}"))
}

/// `#12 3f…` from the PDF's `Chain head:` line, checked against the stored trail.
async fn assert_head_is_in_the_trail(env: &TestEnv, text: &str) {
    let head = text
        .lines()
        .find_map(|line| line.strip_prefix("Chain head:"))
        .unwrap_or_else(|| panic!("no chain head in {text}"))
        .trim();
    let (seq, hash) = head.trim_start_matches('#').split_once(' ').unwrap();
    assert_eq!(hash, hash_of(env, seq.parse().unwrap()).await, "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_and_compliance_reports_download_as_pdfs_that_show_the_figures_and_the_chains_head() {
    let mut env = TestEnv::start("pdf-export", 77).await;
    let today = env.start_worker();
    env.create_project(SMITH, &format!("{PROJECT} --budget 20000"))
        .await;
    let token = env.invite(SMITH, BERKELEY_INVITATION).await;
    env.accept(LEE, &token, "stanford-collab").await;
    env.slack
        .expect_dm(LEE.user_id, "Berkeley's SSH key", WAIT)
        .await;

    // An allowed launch, a refused one, its exception request and the owner's denial.
    env.slash(&Slash::new(r#"launch "R Research Environment" berkeley-analysis --size M"#).by(LEE))
        .await;
    env.slack
        .expect("the launch", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *berkeley-analysis*")
        })
        .await;
    env.wait_for_done_launch_jobs(1).await;
    env.slash(&Slash::new(r#"launch "GPU ML Workstation" expensive-gpu --size XL"#).by(LEE))
        .await;
    let violation = env.reply_containing("Policy violation").await;
    let request = button_value(&violation, "cws_request_exception");
    env.click(LEE, "cws_request_exception", &request, None)
        .await;
    env.reply_containing("Your exception request").await;
    let asked = env
        .slack
        .expect_dm(SMITH.user_id, "the request", WAIT)
        .await;
    env.slack
        .expect("the request in the channel", WAIT, |p| {
            p.method == "chat.postMessage" && p.body["channel"] == "C0NEURO"
        })
        .await;
    let deny = button_value(&asked, "cws_deny_exception");
    env.click(
        SMITH,
        "cws_deny_exception",
        &deny,
        Some("Use the shared GPU queue"),
    )
    .await;
    env.reply_containing("You denied").await;
    env.slack.expect_dm(LEE.user_id, "the denial", WAIT).await;
    env.worker(today).kill();

    // A day later the workspace has run 24 hours: money in the ledger.
    env.start_worker_shifted("+86400s");
    let from = time::OffsetDateTime::now_utc().date();
    let to = from + time::Duration::days(2);
    let period = format!("--start-date {from} --end-date {to}");

    env.slash(
        &Slash::new(&format!(
            "audit collaboration {PROJECT} {period} --export pdf"
        ))
        .by(SMITH),
    )
    .await;
    let report = env.reply_containing("PDF export").await;
    let key = format!("audit/{PROJECT}/exports/{PROJECT}_{from}_{to}.pdf");
    assert!(report.body["blocks"].to_string().contains(&key));
    let pages = pdf_behind(&report, "Download the PDF export").await;
    let text = pages.concat();
    for wanted in [
        "Collaboration Audit Report",
        &format!("Project:     {PROJECT}"),
        &format!("Period:      {from} to {to} (UTC, whole days)"),
        "Audit chain: verified intact,",
        "Workspace launches by collaborators: 1",
        "Policy violations:                   1",
        &format!("{:<40} {:<16} 1", "berkeley-collaboration", 0),
        "sarah_lee",
        "berkeley-analysis",
    ] {
        assert!(text.contains(wanted), "{wanted}\n{text}");
    }
    assert_head_is_in_the_trail(&env, &text).await;

    // Reading the trail is for owners and admins.
    env.slash(
        &Slash::new(&format!(
            "collaboration report {PROJECT} --export-compliance"
        ))
        .by(LEE),
    )
    .await;
    env.reply_containing("may not read the audit trail").await;

    env.slash(
        &Slash::new(&format!(
            "collaboration report {PROJECT} --export-compliance"
        ))
        .by(SMITH),
    )
    .await;
    let report = env.reply_containing("Compliance report (PDF)").await;
    let blocks = report.body["blocks"].to_string();
    // The chat report's figures, which the PDF must repeat.
    let berkeley_cost = blocks
        .split("berkeley-neuroscience: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no Berkeley cost in {blocks}"))
        .to_owned();
    assert_ne!(berkeley_cost, "$0.00", "{blocks}");
    let pages = pdf_behind(&report, "Download the PDF").await;
    let text = pages.concat();
    for wanted in [
        "Collaboration Compliance Report",
        &format!("Project:     {PROJECT}"),
        "Audit chain: verified intact,",
        // Who had access, on which terms.
        "jennifer_smith     stanford-neuroscience -                      owner",
        "sarah_lee          berkeley-neuroscience berkeley-collaboration read_write",
        "berkeley-collaboration: templates R Research Environment, Python Machine Learning; max types \
         t3.large, r5.xlarge;",
        "$0.50/hr cap; not in us-west-1, eu-west-1; device-bound, at most 3",
        // Every launch, refusal and exception decision.
        "Workspace launches:      1",
        "Policy refusals:         1",
        "Exception requests:      1",
        "Exception decisions:     1",
        "sarah_lee          Workspace Launch   berkeley-analysis",
        "sarah_lee          Policy Violation   expensive-gpu        refused    3 rule(s) broken",
        "jennifer_smith     Exception Decision expensive-gpu        denied     Use the shared GPU qu…",
        // Costs reconciled with the ledger.
        "berkeley-neuroscience",
        &berkeley_cost,
        "Reconciled with the ledger: yes",
    ] {
        assert!(text.contains(wanted), "{wanted}\n{text}");
    }
    assert_head_is_in_the_trail(&env, &text).await;

    // The same data as CSV, one fact per row.
    let csv = reqwest::get(link_behind(&report, "Download the CSV"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let section = |name: &str| -> Vec<&csv::StringRecord> {
        rows.iter().filter(|row| &row[0] == name).collect()
    };
    assert_eq!(section("access").len(), 2, "{csv}");
    assert_eq!(section("decision").len(), 5, "{csv}");
    let total = section("ledger_total");
    assert_eq!(
        (&total[0][10], &total[0][15]),
        ("reconciled", berkeley_cost.as_str())
    );
    let head = text
        .lines()
        .find_map(|line| line.strip_prefix("Chain head:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(section("audit_chain")[0][10].ends_with(&head), "{csv}");

    // Both exports are in the trail.
    let exports = env
        .stream(TRAIL)
        .await
        .iter()
        .filter(|entry| entry.contains(r#""action":"export""#))
        .count();
    assert_eq!(exports, 2);
    env.finish();
}
