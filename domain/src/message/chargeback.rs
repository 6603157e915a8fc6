//! Chargeback settings, monthly statements and the ledger against Cost Explorer.

use serde_json::{Value, json};

use super::{ChatMessage, render};
use crate::chargeback::{Chargeback, Reconciled};
use crate::command::{ChargebackMode, YearMonth};
use crate::ledger::CostReport;
use crate::pricing::Money;

fn mode_name(mode: ChargebackMode) -> &'static str {
    match mode {
        ChargebackMode::Report => "report",
        ChargebackMode::Aws => "aws",
        ChargebackMode::Hybrid => "hybrid",
    }
}

/// The answer to `project chargeback --enable`: on (with the accounts) or off.
pub fn chargeback_enabled(
    project: &str,
    project_account: &str,
    chargeback: Option<&Chargeback>,
) -> ChatMessage {
    let accounts: Vec<Value> = chargeback
        .map(|c| c.accounts.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|a| json!({ "institution": a.institution, "account": a.account.as_str() }))
        .collect();
    render(
        "chargeback_enabled",
        &json!({
            "project": project,
            "project_account": project_account,
            "enabled": chargeback.is_some(),
            "mode": chargeback.map(|c| mode_name(c.mode)),
            "accounts": accounts,
        }),
    )
}

pub fn chargeback_not_enabled(project: &str) -> ChatMessage {
    render("chargeback_not_enabled", &json!({ "project": project }))
}

/// Where a month's statement went, with each institution's share.
pub struct Statement<'a> {
    pub project: &'a str,
    pub project_account: &'a str,
    pub month: YearMonth,
    /// The month is still running: the statement covers it so far.
    pub partial: bool,
    pub key: &'a str,
    pub link: &'a str,
    pub valid_days: u64,
}

/// Posted in the channel when a statement is written.
pub fn chargeback_statement(
    statement: &Statement<'_>,
    report: &CostReport,
    chargeback: &Chargeback,
) -> ChatMessage {
    let cents = report.institution_cents();
    let institutions: Vec<Value> = report
        .by_institution
        .iter()
        .zip(cents)
        .map(|(row, cost)| {
            json!({
                "institution": row.institution,
                "account": chargeback.account_for(&row.institution, statement.project_account),
                "cost": cost.to_string(),
            })
        })
        .collect();
    render(
        "chargeback_statement",
        &json!({
            "project": statement.project,
            "month": statement.month.to_string(),
            "partial": statement.partial,
            "total": report.total.to_string(),
            "rows": report.by_user.len(),
            "mode": mode_name(chargeback.mode),
            "institutions": institutions,
            "link": statement.link,
            "key": statement.key,
            "valid_days": statement.valid_days,
        }),
    )
}

/// `project reconcile`: the ledger beside Cost Explorer, per user and institution.
pub fn project_reconcile(project: &str, month: YearMonth, rows: &[Reconciled]) -> ChatMessage {
    let billed = rows.iter().any(|r| r.billed.is_some());
    let ledger_total: Money = rows.iter().map(|r| r.ledger).sum();
    let aws_total: Money = rows.iter().filter_map(|r| r.billed).sum();
    let table: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "user": if row.user.is_empty() { "(untagged)" } else { row.user.as_str() },
                "institution": row.institution,
                "ledger": row.ledger.to_string(),
                "aws": row.billed.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                "difference": row.difference().to_string(),
            })
        })
        .collect();
    render(
        "project_reconcile",
        &json!({
            "project": project,
            "month": month.to_string(),
            "billed": billed,
            "ledger_total": ledger_total.to_string(),
            "aws_total": aws_total.to_string(),
            "difference": (aws_total - ledger_total).to_string(),
            "rows": table,
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::month_bounds;
    use crate::command::InstitutionAccount;
    use crate::ledger::{LedgerEvent, LedgerEventKind, cost_report};

    #[test]
    fn the_statement_post_links_the_csv_and_shows_each_institutions_account() {
        let launched = |workspace: &str, user: &str, institution: &str| LedgerEvent {
            at: datetime!(2026-10-01 00:00 UTC),
            kind: LedgerEventKind::Launched,
            workspace: workspace.into(),
            instance_id: format!("i-{workspace}"),
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: "0.0832".parse().unwrap(),
            storage_gb: 0,
            project: "nih".into(),
            user: user.into(),
            institution: institution.into(),
            storage_rate: None,
        };
        let report = cost_report(
            &[
                launched("a", "jennifer_smith", "stanford"),
                launched("b", "michael_johnson", "mit-csail"),
            ],
            month_bounds(datetime!(2026-10-15 00:00 UTC)),
            Money::from_cents(500_000),
            Money::ZERO,
            |_| Money::ZERO,
        );
        let chargeback = Chargeback {
            mode: ChargebackMode::Aws,
            accounts: vec![InstitutionAccount {
                institution: "mit".into(),
                account: "222222222222".parse().unwrap(),
            }],
        };
        let post = chargeback_statement(
            &Statement {
                project: "nih",
                project_account: "111111111111",
                month: "2026-10".parse().unwrap(),
                partial: false,
                key: "chargeback/nih/2026-10.csv",
                link: "https://s3.example/chargeback/nih/2026-10.csv?X-Amz-Signature=abc",
                valid_days: 7,
            },
            &report,
            &chargeback,
        );
        insta::assert_snapshot!(post.text);
        insta::assert_json_snapshot!(post.blocks);
    }

    #[test]
    fn reconciliation_without_bill_data_says_so() {
        let rows = [Reconciled {
            user: "sarah_lee".into(),
            institution: "berkeley".into(),
            ledger: "10.00".parse().unwrap(),
            billed: None,
        }];
        let message = project_reconcile("nih", "2026-10".parse().unwrap(), &rows);
        assert!(message.text.contains("no data"), "{}", message.text);
        let billed = [Reconciled {
            billed: Some("10.50".parse().unwrap()),
            ..rows[0].clone()
        }];
        let message = project_reconcile("nih", "2026-10".parse().unwrap(), &billed);
        assert!(
            message.text.contains("difference $0.50"),
            "{}",
            message.text
        );
    }
}
