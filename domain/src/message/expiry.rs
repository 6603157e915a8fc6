//! The end of a collaboration: warnings before it, what happened at it, and the commands that
//! preserve work (export, snapshot transfer) or schedule it.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::mail::{MailText, render_mail};
use super::{ChatMessage, render};
use crate::expiry::GRACE;
use crate::invitation::Invitation;
use crate::ports::{InstanceState, Snapshot};
use crate::project::{EndPlan, Project};
use crate::time_text;
use crate::workspace::Workspace;

fn count(n: usize, unit: &str) -> String {
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A collaborator's resources, as a warning lists them.
pub struct Holdings<'a> {
    pub workspaces: &'a [Workspace],
    pub snapshots: &'a [Snapshot],
}

/// The warning 30, 7 or 1 days before an invitation expires: a DM and an e-mail.
pub fn expiry_warning(
    project: &Project,
    invitation: &Invitation,
    profile: &str,
    days: u32,
    holdings: &Holdings<'_>,
) -> (ChatMessage, MailText) {
    let names = |running: bool| -> Vec<&str> {
        holdings
            .workspaces
            .iter()
            .filter(|w| (w.state == InstanceState::Running) == running)
            .map(|w| w.name.as_str())
            .collect()
    };
    let (running, stopped) = (names(true), names(false));
    let disk_gb: u32 = holdings.workspaces.iter().map(|w| w.storage_gb).sum();
    let data = json!({
        "project": project.name,
        "owner_name": project.owner_name,
        "owner_institution": project.institution,
        "invitation": invitation.name,
        "invitee": invitation.invitee,
        "profile": profile,
        "left": count(days as usize, "day"),
        "expires": time_text::date(invitation.ends_at()),
        "running": running,
        "running_count": running.len(),
        "one_running": running.len() == 1,
        "stopped": stopped,
        "stopped_count": stopped.len(),
        "disk_count": holdings.workspaces.len(),
        "one_disk": holdings.workspaces.len() == 1,
        "disk_gb": disk_gb,
        "snapshot_count": holdings.snapshots.len(),
        "one_snapshot": holdings.snapshots.len() == 1,
    });
    (
        render("expiry_warning", &data),
        render_mail("expiry_warning", &data),
    )
}

/// One snapshot kept at the end, and where it went.
pub struct KeptSnapshot<'a> {
    pub snapshot: &'a Snapshot,
    pub workspace: &'a str,
    /// The account it was shared with, if any.
    pub shared_with: Option<&'a str>,
}

/// What the end of one invitation did.
pub struct Ended<'a> {
    pub project: &'a Project,
    pub invitation: &'a Invitation,
    pub institution: &'a str,
    pub stopped: &'a [String],
    pub snapshots: &'a [KeptSnapshot<'a>],
    /// The archive manifest's key and download link.
    pub manifest: (&'a str, &'a str),
}

impl Ended<'_> {
    fn data(&self) -> Value {
        let ended = self.invitation.ends_at();
        let snapshots: Vec<Value> = self
            .snapshots
            .iter()
            .map(|kept| {
                json!({
                    "id": kept.snapshot.snapshot_id,
                    "workspace": kept.workspace,
                    "size_gb": kept.snapshot.size_gb,
                    "shared_with": kept.shared_with,
                })
            })
            .collect();
        let mut shared: Vec<&str> = self
            .snapshots
            .iter()
            .filter_map(|k| k.shared_with)
            .collect();
        shared.sort_unstable();
        shared.dedup();
        json!({
            "project": self.project.name,
            "owner_name": self.project.owner_name,
            "invitation": self.invitation.name,
            "invitee": self.invitation.invitee,
            "institution": self.institution,
            "ended": time_text::date(ended),
            "kept_until": time_text::date(ended + GRACE),
            "cleanup": self.project.collaboration_end.as_ref().is_some_and(|e| e.archive_collaborator_work),
            "stopped": self.stopped,
            "stopped_count": self.stopped.len(),
            "snapshots": snapshots,
            "snapshot_count": self.snapshots.len(),
            "shared": shared,
            "manifest": self.manifest.0,
            "link": self.manifest.1,
        })
    }
}

/// To the collaborator: their access ended and where their work is.
pub fn collaboration_ended(ended: &Ended<'_>) -> (ChatMessage, MailText) {
    let data = ended.data();
    (
        render("collaboration_ended", &data),
        render_mail("collaboration_ended", &data),
    )
}

/// In the project's channel: what the end of one invitation did.
pub fn collaboration_ended_owner(ended: &Ended<'_>) -> ChatMessage {
    render("collaboration_ended_owner", &ended.data())
}

/// In the project's channel: the grace period is over and the unclaimed snapshots are gone.
pub fn snapshots_cleaned(
    project: &str,
    invitation: &str,
    deleted: &[String],
    kept: usize,
) -> ChatMessage {
    render(
        "snapshots_cleaned",
        &json!({
            "project": project,
            "invitation": invitation,
            "deleted": deleted,
            "deleted_count": deleted.len(),
            "kept_count": kept,
        }),
    )
}

/// An invitation as the end command leaves it.
pub struct Ending<'a> {
    pub invitation: &'a Invitation,
    /// When it ended before the command, if the command brought it forward.
    pub was: Option<OffsetDateTime>,
}

/// `collaboration end`: the date, and what will happen to whom.
pub fn collaboration_end_scheduled(
    project: &str,
    plan: &EndPlan,
    invitations: &[Ending<'_>],
) -> ChatMessage {
    let invitations: Vec<Value> = invitations
        .iter()
        .map(|ending| {
            json!({
                "name": ending.invitation.name,
                "institution": ending.invitation.institution,
                "ends": time_text::date(ending.invitation.ends_at()),
                "shortened": ending.was.is_some(),
                "was": ending.was.map(time_text::date),
            })
        })
        .collect();
    render(
        "collaboration_end_scheduled",
        &json!({
            "project": project,
            "ends": time_text::date(plan.ends_at),
            "count": invitations.len(),
            "invitations": invitations,
            "archive": plan.archive_collaborator_work,
            "transfer": plan.transfer_snapshots,
        }),
    )
}

/// One workspace in an export.
pub struct Exported<'a> {
    pub workspace: &'a Workspace,
    pub snapshots: Vec<String>,
}

/// `collaboration export`: what was found, snapshotted, and how to copy the data.
pub fn collaboration_export(
    project: &str,
    profile: &str,
    workspaces: &[Exported<'_>],
    downloads: &[String],
    link: &str,
    valid_days: u64,
) -> ChatMessage {
    let snapshot_count: usize = workspaces.iter().map(|w| w.snapshots.len()).sum();
    let rows: Vec<Value> = workspaces
        .iter()
        .map(|exported| {
            json!({
                "name": exported.workspace.name,
                "state": super::workspaces::state_name(exported.workspace.state),
                "snapshots": exported.snapshots,
            })
        })
        .collect();
    render(
        "collaboration_export",
        &json!({
            "project": project,
            "profile": profile,
            "workspace_count": workspaces.len(),
            "workspaces": rows,
            "snapshot_count": snapshot_count,
            "downloads": downloads,
            "link": link,
            "valid_days": valid_days,
        }),
    )
}

/// `collaboration transfer-snapshots`: which snapshots the account may now copy.
pub fn snapshots_transferred(
    profile: &str,
    account: &str,
    account_id: &str,
    snapshots: &[Snapshot],
) -> ChatMessage {
    let rows: Vec<Value> = snapshots
        .iter()
        .map(|s| {
            json!({
                "id": s.snapshot_id,
                "workspace": s.tags.get(crate::launch::TAG_WORKSPACE).cloned().unwrap_or_default(),
                "size_gb": s.size_gb,
            })
        })
        .collect();
    render(
        "snapshots_transferred",
        &json!({
            "profile": profile,
            "account": account,
            "account_id": account_id,
            "count": snapshots.len(),
            "snapshots": rows,
        }),
    )
}

/// An account name the command cannot use, and the ones it can.
pub fn account_refused(reason: &str, known: &[&str]) -> ChatMessage {
    render(
        "account_refused",
        &json!({ "reason": reason, "known": known }),
    )
}

/// Where one participant stands.
pub struct Participant<'a> {
    pub name: &'a str,
    pub institution: &'a str,
    pub role: crate::identity::Role,
    /// `Owner`, `active until June 1, 2027`, `EXPIRED`, `REVOKED`.
    pub status: String,
}

/// What the end of one invitation left behind.
pub struct Cleanup<'a> {
    pub invitation: &'a str,
    pub institution: &'a str,
    /// When access ended, if it has.
    pub ended: Option<OffsetDateTime>,
    pub steps_done: usize,
    pub steps: usize,
    pub snapshots: usize,
}

/// `collaboration report PROJECT [--final]` (seed month 18).
pub struct CollaborationSummary<'a> {
    pub project: &'a Project,
    pub final_report: bool,
    pub period: (OffsetDateTime, OffsetDateTime),
    pub months: u32,
    pub report: &'a crate::ledger::CostReport,
    pub participants: &'a [Participant<'a>],
    pub launched: usize,
    pub snapshots: usize,
    pub snapshots_transferred: usize,
    pub violations: usize,
    pub unauthorized: usize,
    pub cleanup: &'a [Cleanup<'a>],
}

pub fn collaboration_report(summary: &CollaborationSummary<'_>) -> ChatMessage {
    let report = summary.report;
    let budget = report.budget;
    let cents = report.institution_cents();
    let institutions: Vec<Value> = report
        .by_institution
        .iter()
        .zip(&cents)
        .map(|(row, cost)| {
            json!({
                "institution": row.institution,
                "cost": cost.to_string(),
                "percent": row.percent,
                "hours": row.hours,
            })
        })
        .collect();
    let participants: Vec<Value> = summary
        .participants
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "institution": p.institution,
                "role": p.role.as_str(),
                "status": p.status,
            })
        })
        .collect();
    let cleanup: Vec<Value> = summary
        .cleanup
        .iter()
        .map(|c| {
            json!({
                "invitation": c.invitation,
                "institution": c.institution,
                "ended": c.ended.map(time_text::date),
                "complete": c.steps_done == c.steps,
                "steps_done": c.steps_done,
                "steps": c.steps,
                "snapshots": c.snapshots,
                "kept_until": c.ended.map(|at| time_text::date(at + GRACE)),
            })
        })
        .collect();
    let always_on = report.always_on_hourly;
    render(
        "collaboration_report",
        &json!({
            "project": summary.project.name,
            "final": summary.final_report,
            "from": time_text::date(summary.period.0),
            "to": time_text::date(summary.period.1),
            "months": summary.months,
            "monthly_budget": summary.project.monthly_budget.to_string(),
            "budget": budget.to_string(),
            "spent": report.total.to_string(),
            "percent": report.percent_used,
            "left": report.available.to_string(),
            "hours": report.compute_hours,
            "effective": report.effective_hourly.map(|rate| rate.display_rate()),
            "always_on": always_on.display_rate(),
            "hibernation_savings": report.hibernation_savings.to_string(),
            "stop_savings": report.stop_savings.to_string(),
            "institutions": institutions,
            "participants": participants,
            "launched": summary.launched,
            "snapshots": summary.snapshots,
            "transferred": summary.snapshots_transferred,
            "violations": summary.violations,
            "unauthorized": summary.unauthorized,
            "healthy": summary.violations == 0 && summary.unauthorized == 0,
            "cleanup": cleanup,
        }),
    )
}
