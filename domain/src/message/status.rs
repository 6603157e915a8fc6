//! `/cws project status NAME [--detail]`: where the project stands now.

use std::collections::BTreeMap;

use serde_json::json;

use super::cost::institution_rows;
use super::{ChatMessage, render};
use crate::budget::BudgetPosition;
use crate::command::YearMonth;
use crate::ledger::CostReport;
use crate::ports::InstanceState;
use crate::pricing::Money;
use crate::workspace::Workspace;

/// What the status shows besides the month's cost report.
pub struct ProjectNow<'a> {
    pub budget: &'a BudgetPosition,
    /// The project's workspaces that are not terminated.
    pub workspaces: &'a [Workspace],
    pub violations: usize,
}

pub fn project_status(
    project: &str,
    month: YearMonth,
    report: &CostReport,
    now: &ProjectNow<'_>,
    detail: bool,
) -> ChatMessage {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for workspace in now.workspaces {
        groups
            .entry(&workspace.attribution.institution)
            .or_default()
            .push(&workspace.name);
    }
    let groups: Vec<_> = groups
        .into_iter()
        .map(|(institution, names)| {
            json!({ "institution": institution, "count": names.len(), "names": names })
        })
        .collect();
    let institutions = institution_rows(report);
    let running = now
        .workspaces
        .iter()
        .filter(|w| w.state == InstanceState::Running)
        .count();
    render(
        "project_status",
        &json!({
            "project": project,
            "month": month.to_string(),
            "total": report.total.to_string(),
            "budget": report.budget.to_string(),
            "percent": report.percent_used.map(|p| format!("{p}%")),
            "over": report.available < Money::ZERO,
            "rollover": report.rollover.to_string(),
            "effective": report.effective_hourly.map(|rate| rate.display_rate()),
            "always_on": report.always_on_hourly.display_rate(),
            "running": running,
            "hours": report.compute_hours,
            "burn": now.budget.burn_hourly.display_rate(),
            "hibernation_savings": report.hibernation_savings.to_string(),
            "violations": now.violations,
            "detail": detail,
            "groups": groups,
            "institutions": institutions,
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::month_bounds;
    use crate::ledger::cost_report;

    #[test]
    fn status_groups_active_instances_by_institution() {
        let now = datetime!(2026-06-15 00:00 UTC);
        let report = cost_report(
            &[],
            month_bounds(now),
            Money::from_cents(500_000),
            Money::from_cents(31_910),
            |_| Money::ZERO,
        );
        let budget = BudgetPosition::new(Money::from_cents(500_000), Money::ZERO, now);
        let month: YearMonth = "2026-06".parse().unwrap();
        let now = ProjectNow {
            budget: &budget,
            workspaces: &[],
            violations: 0,
        };
        let message = project_status("nih", month, &report, &now, true);
        insta::assert_snapshot!(message.text, @"📊 nih Status - 2026-06: $0.00 / $5,000.00 (0%); 0 workspace(s) running; 0 policy violation(s) this month.");
        insta::assert_json_snapshot!(message.blocks);
    }
}
