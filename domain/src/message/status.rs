//! `/cws project status NAME [--detail]`: where the project stands now.

use std::collections::BTreeMap;

use serde_json::json;

use super::cost::institution_rows;
use super::volume::institution_lines;
use super::{ChatMessage, render};
use crate::budget::BudgetPosition;
use crate::command::YearMonth;
use crate::ledger::CostReport;
use crate::ports::InstanceState;
use crate::pricing::Money;
use crate::volume::{Volume, VolumeMount, mounts_by_institution};
use crate::workspace::Workspace;

/// What the status shows besides the month's cost report.
pub struct ProjectNow<'a> {
    pub budget: &'a BudgetPosition,
    /// The project's workspaces that are not terminated.
    pub workspaces: &'a [Workspace],
    pub violations: usize,
    /// Shared volumes with their mounts, for `--detail`.
    pub volumes: &'a [(Volume, Vec<VolumeMount>)],
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
    let volumes: Vec<_> = now
        .volumes
        .iter()
        .map(|(volume, mounts)| {
            json!({
                "name": volume.name,
                "mounts": mounts.len(),
                "institutions": institution_lines(&mounts_by_institution(mounts)),
            })
        })
        .collect();
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
            "volumes": volumes,
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::budget::month_bounds;
    use crate::command::AccessMode;
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
        let mount = |workspace: &str, institution: &str, mode| VolumeMount {
            volume: "neuro-dataset".into(),
            workspace: workspace.into(),
            instance_id: format!("i-{workspace}"),
            institution: institution.into(),
            mode,
            by: crate::identity::ChatIdentity::slack("T1", "U1"),
            at: datetime!(2026-06-01 10:00 UTC),
            command_id: "c-1".into(),
        };
        let volume = Volume {
            name: "neuro-dataset".into(),
            project: "nih".into(),
            size_gb: 50_000,
            created_by: crate::identity::ChatIdentity::slack("T1", "USMITH"),
            job: "slack:T1:1".into(),
            created_at: datetime!(2026-01-05 10:00 UTC),
            file_system: None,
            grants: Vec::new(),
            lead_access_point: None,
        };
        let mounts = vec![
            mount("stanford-viz-3", "Stanford", AccessMode::ReadWrite),
            mount("mit-test-1", "MIT", AccessMode::ReadOnly),
            mount("mit-algorithm-dev", "MIT", AccessMode::ReadOnly),
        ];
        let now = ProjectNow {
            budget: &budget,
            workspaces: &[],
            violations: 0,
            volumes: &[(volume, mounts)],
        };
        let message = project_status("nih", month, &report, &now, true);
        insta::assert_snapshot!(message.text, @"📊 nih Status - 2026-06: $0.00 / $5,000.00 (0%); 0 workspace(s) running; 0 policy violation(s) this month.");
        insta::assert_json_snapshot!(message.blocks);
    }
}
