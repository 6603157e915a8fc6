//! Chargeback: a month's statement per user and institution, as the CSV a grants office or an
//! AWS payer account takes in, and the ledger against the provider's bill.

use serde::{Deserialize, Serialize};

use crate::command::{ChargebackMode, InstitutionAccount, YearMonth};
use crate::ledger::CostReport;
use crate::ports::BilledCost;
use crate::pricing::Money;
use crate::spreadsheet::SpreadsheetCsv;

/// A project's chargeback arrangement, as `project chargeback --enable` set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chargeback {
    pub mode: ChargebackMode,
    pub accounts: Vec<InstitutionAccount>,
}

impl Chargeback {
    /// The account billed for `institution`: the one named for it (`--mit-account` covers
    /// `mit`, `mit-csail` and `mit.edu`), else the project's own.
    pub fn account_for<'a>(&'a self, institution: &str, project_account: &'a str) -> &'a str {
        let named = |slug: &str| {
            institution == slug
                || institution
                    .strip_prefix(slug)
                    .is_some_and(|rest| rest.starts_with(['-', '.']))
        };
        self.accounts
            .iter()
            .find(|entry| named(&entry.institution))
            .map_or(project_account, |entry| entry.account.as_str())
    }
}

/// The statement's columns, in order.
pub const STATEMENT_HEADER: [&str; 9] = [
    "month",
    "project",
    "user",
    "institution",
    "billed_account",
    "mode",
    "instances",
    "compute_hours",
    "cost_cents",
];

/// One row per user and institution; the `cost_cents` column adds up to the month's total in
/// cents exactly (the report's rounding rule), so a spreadsheet's sum matches the bot's.
pub fn statement_csv(
    project: &str,
    project_account: &str,
    month: YearMonth,
    report: &CostReport,
    chargeback: &Chargeback,
) -> String {
    let cents = report.user_cents();
    let mut csv = SpreadsheetCsv::new();
    csv.row(STATEMENT_HEADER);
    let mode = match chargeback.mode {
        ChargebackMode::Report => "report",
        ChargebackMode::Aws => "aws",
        ChargebackMode::Hybrid => "hybrid",
    };
    for (user, cost) in report.by_user.iter().zip(cents) {
        csv.row([
            month.to_string().as_str(),
            project,
            &user.user,
            &user.institution,
            chargeback.account_for(&user.institution, project_account),
            mode,
            &user.instances.to_string(),
            &user.hours.to_string(),
            &cost.cents_rounded().to_string(),
        ]);
    }
    csv.finish()
}

/// Where a statement is kept: one object per project and month, replaced if written again.
pub fn statement_key(project: &str, month: YearMonth) -> String {
    format!("chargeback/{project}/{month}.csv")
}

/// One user's cost by the ledger and by the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub user: String,
    pub institution: String,
    pub ledger: Money,
    /// `None` where the bill has no line for this user.
    pub billed: Option<Money>,
}

impl Reconciled {
    /// Bill minus ledger: positive where AWS charged more than the ledger expected.
    pub fn difference(&self) -> Money {
        self.billed.unwrap_or(Money::ZERO) - self.ledger
    }
}

/// The ledger's by-user rows beside the bill's, matched on user and institution; a group only
/// one side knows still gets its row.
pub fn reconcile(report: &CostReport, billed: &[BilledCost]) -> Vec<Reconciled> {
    let mut rows: Vec<Reconciled> = report
        .by_user
        .iter()
        .map(|user| Reconciled {
            user: user.user.clone(),
            institution: user.institution.clone(),
            ledger: user.cost,
            billed: billed
                .iter()
                .find(|b| b.user == user.user && b.institution == user.institution)
                .map(|b| b.cost),
        })
        .collect();
    for bill in billed {
        if !rows
            .iter()
            .any(|r| r.user == bill.user && r.institution == bill.institution)
        {
            rows.push(Reconciled {
                user: bill.user.clone(),
                institution: bill.institution.clone(),
                ledger: Money::ZERO,
                billed: Some(bill.cost),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::month_bounds;
    use crate::ledger::{LedgerEvent, LedgerEventKind, cost_report};

    fn launched(workspace: &str, user: &str, institution: &str, hourly: &str) -> LedgerEvent {
        LedgerEvent {
            at: datetime!(2026-10-01 00:00 UTC),
            kind: LedgerEventKind::Launched,
            workspace: workspace.into(),
            instance_id: format!("i-{workspace}"),
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: hourly.parse().unwrap(),
            storage_gb: 0,
            project: "nih".into(),
            user: user.into(),
            institution: institution.into(),
            storage_rate: None,
        }
    }

    fn october(events: &[LedgerEvent]) -> CostReport {
        cost_report(
            events,
            month_bounds(datetime!(2026-10-15 00:00 UTC)),
            Money::from_cents(500_000),
            Money::ZERO,
            |_| Money::ZERO,
        )
    }

    fn chargeback() -> Chargeback {
        Chargeback {
            mode: ChargebackMode::Aws,
            accounts: vec![InstitutionAccount {
                institution: "mit".into(),
                account: "222222222222".parse().unwrap(),
            }],
        }
    }

    #[test]
    fn institutions_are_billed_to_their_named_account_or_the_projects() {
        let chargeback = chargeback();
        for (institution, account) in [
            ("mit", "222222222222"),
            ("mit-csail", "222222222222"),
            ("mit.edu", "222222222222"),
            ("mitre", "111111111111"),
            ("stanford", "111111111111"),
        ] {
            assert_eq!(
                chargeback.account_for(institution, "111111111111"),
                account,
                "{institution}"
            );
        }
    }

    #[test]
    fn the_statement_rows_add_up_to_the_months_total_in_cents() {
        // Three rates whose monthly costs each end in a fraction of a cent.
        let events = [
            launched("a", "jennifer_smith", "stanford", "0.0832"),
            launched("b", "michael_johnson", "mit-csail", "0.0416"),
            launched("c", "sarah_lee", "berkeley", "0.1664"),
        ];
        let report = october(&events);
        let text = statement_csv(
            "nih",
            "111111111111",
            "2026-10".parse().unwrap(),
            &report,
            &chargeback(),
        );
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), STATEMENT_HEADER.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let total: i64 = rows.iter().map(|r| r[8].parse::<i64>().unwrap()).sum();
        assert_eq!(total, report.total.cents_rounded());
        let mit = rows.iter().find(|r| &r[2] == "michael_johnson").unwrap();
        assert_eq!(&mit[4], "222222222222");
        assert_eq!(&mit[7], "744");
    }

    #[test]
    fn a_formula_in_an_institution_is_written_as_text() {
        let report = october(&[launched("a", "@jennifer", "=1+1", "0.10")]);
        let text = statement_csv(
            "nih",
            "111111111111",
            "2026-10".parse().unwrap(),
            &report,
            &chargeback(),
        );
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!((&row[2], &row[3], &row[8]), ("'@jennifer", "'=1+1", "7440"));
    }

    #[test]
    fn reconciling_keeps_groups_only_one_side_knows() {
        let report = october(&[launched("a", "jennifer_smith", "stanford", "0.10")]);
        let billed = [
            BilledCost {
                user: "jennifer_smith".into(),
                institution: "stanford".into(),
                cost: "75.00".parse().unwrap(),
            },
            BilledCost {
                user: "".into(),
                institution: "".into(),
                cost: "1.25".parse().unwrap(),
            },
        ];
        let rows = reconcile(&report, &billed);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].ledger, "74.40".parse().unwrap());
        assert_eq!(rows[0].difference(), "0.60".parse().unwrap());
        assert_eq!(rows[1].ledger, Money::ZERO);
        assert_eq!(rows[1].difference(), "1.25".parse().unwrap());
        let unbilled = reconcile(&report, &[]);
        assert_eq!(unbilled[0].billed, None);
    }
}
