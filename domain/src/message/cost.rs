//! Money reports: `/cws project cost`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{ChatMessage, render};
use crate::command::{CostBreakdown, YearMonth};
use crate::ledger::CostReport;

/// Each institution's share, its cents adding up to the total: shared by `project status`.
pub(super) fn institution_rows(report: &CostReport) -> Vec<Value> {
    let cents = report.institution_cents();
    report
        .by_institution
        .iter()
        .zip(cents)
        .map(|(row, cost)| {
            json!({
                "institution": row.institution,
                "cost": cost.to_string(),
                "percent": row.percent,
                "hours": row.hours,
            })
        })
        .collect()
}

/// The seed's cost attribution: totals against the budget with rollover, effective rate,
/// savings, and the by-collaborator and by-institution tables (`breakdown` picks one; `None`
/// shows both). Each table's cents add up to the total shown. An institution is marked
/// verified when it is in `verified` (a member's verified identity vouches for it), else
/// self-declared.
pub fn project_cost(
    project: &str,
    month: YearMonth,
    report: &CostReport,
    breakdown: Option<CostBreakdown>,
    verified: &BTreeSet<String>,
) -> ChatMessage {
    let user_cents = report.user_cents();
    let users: Vec<_> = report
        .by_user
        .iter()
        .zip(user_cents)
        .map(|(row, cost)| {
            json!({
                "user": row.user,
                "institution": row.institution,
                "instances": row.instances,
                "hours": format!("{}h", row.hours),
                "cost": cost.to_string(),
            })
        })
        .collect();
    let institutions: Vec<Value> = institution_rows(report)
        .into_iter()
        .map(|mut row| {
            let name = row["institution"].as_str().unwrap_or_default();
            row["verified"] = json!(verified.contains(name));
            row
        })
        .collect();
    let show_users = breakdown != Some(CostBreakdown::ByInstitution);
    let show_institutions = breakdown != Some(CostBreakdown::ByUser);
    render(
        "project_cost",
        &json!({
            "project": project,
            "month": month.to_string(),
            "total": report.total.to_string(),
            "budget": report.budget.to_string(),
            "percent": report.percent_used.map(|p| format!("{p}%")),
            "over": report.available < crate::pricing::Money::ZERO,
            "available": report.available.to_string(),
            "rollover": report.rollover.to_string(),
            "available_with_rollover": report.available_with_rollover.to_string(),
            "effective": report.effective_hourly.map(|rate| rate.display_rate()),
            "always_on": report.always_on_hourly.display_rate(),
            "hours": report.compute_hours,
            "hibernation_savings": report.hibernation_savings.to_string(),
            "stop_savings": report.stop_savings.to_string(),
            "storage": (report.storage > crate::pricing::Money::ZERO).then(|| report.storage.to_string()),
            "snapshot_storage": (report.snapshot_storage > crate::pricing::Money::ZERO)
                .then(|| report.snapshot_storage.to_string()),
            "users": if show_users { users } else { Vec::new() },
            "institutions": if show_institutions { institutions } else { Vec::new() },
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::month_bounds;
    use crate::ledger::{LedgerEvent, LedgerEventKind, cost_report};
    use crate::pricing::Money;

    fn launched(workspace: &str, user: &str, institution: &str, hourly: &str) -> LedgerEvent {
        LedgerEvent {
            at: datetime!(2026-06-10 00:00 UTC),
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

    #[test]
    fn the_cost_report_is_a_monospace_table_and_institution_shares() {
        let events = [
            launched("a", "jennifer_smith", "stanford-neuroscience", "0.0832"),
            launched("b", "michael_johnson", "mit-csail", "0.252"),
        ];
        let report = cost_report(
            &events,
            month_bounds(datetime!(2026-06-15 00:00 UTC)),
            Money::from_cents(500_000),
            Money::from_cents(14_250),
            |_| Money::ZERO,
        );
        let month: YearMonth = "2026-06".parse().unwrap();
        let verified = BTreeSet::from(["mit-csail".to_owned()]);
        let both = project_cost("nih", month, &report, None, &verified);
        insta::assert_snapshot!(both.text);
        insta::assert_json_snapshot!(both.blocks);
        let users_only = project_cost(
            "nih",
            month,
            &report,
            Some(CostBreakdown::ByUser),
            &verified,
        );
        assert!(
            !users_only
                .blocks
                .iter()
                .any(|b| b.to_string().contains("By institution"))
        );
    }

    #[test]
    fn a_long_cost_table_reaches_discord_in_messages_within_its_limits() {
        let events: Vec<LedgerEvent> = (0..120)
            .map(|n| {
                launched(
                    &format!("ws-{n}"),
                    &format!("collaborator_{n:03}"),
                    &format!("institution-{}", n % 7),
                    "0.0832",
                )
            })
            .collect();
        let report = cost_report(
            &events,
            month_bounds(datetime!(2026-06-15 00:00 UTC)),
            Money::from_cents(500_000),
            Money::ZERO,
            |_| Money::ZERO,
        );
        let message = project_cost(
            "nih",
            "2026-06".parse().unwrap(),
            &report,
            None,
            &BTreeSet::new(),
        );
        let parts = crate::message::discord::discord_messages(&message);

        assert!(parts.len() > 1, "the table is longer than one message");
        for part in &parts {
            assert!(part.content.chars().count() <= 2_000, "{}", part.content);
            assert_eq!(
                part.content.matches("```").count() % 2,
                0,
                "{}",
                part.content
            );
        }
        let all: String = parts.iter().map(|p| p.content.as_str()).collect();
        for n in 0..120 {
            assert!(
                all.contains(&format!("collaborator_{n:03}")),
                "row {n} kept"
            );
        }
        assert!(
            parts[0]
                .content
                .starts_with("📊 **nih - Cost Attribution (2026-06)**")
        );
    }
}
