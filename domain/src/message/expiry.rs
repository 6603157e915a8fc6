//! The end of a collaboration: warnings before it, what happened at it, and the commands that
//! preserve work (export, snapshot transfer) or schedule it.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::audit::ExportLink;
use super::mail::{MailText, render_mail};
use super::{ChatMessage, render};
use crate::expiry::{Archived, GRACE};
use crate::invitation::{Extension, Invitation};
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

/// To each of the collaborator's chat accounts: their access now ends later. A DM and an
/// e-mail, like the warnings it re-plans.
pub fn access_extended(
    project: &Project,
    invitation: &Invitation,
    extension: &Extension,
    profile: &str,
) -> (ChatMessage, MailText) {
    let data = json!({
        "project": project.name,
        "owner_institution": project.institution,
        "invitation": invitation.name,
        "invitee": invitation.invitee,
        "profile": profile,
        "ends": time_text::date(extension.to),
        "was": time_text::date(extension.from),
    });
    (
        render("access_extended", &data),
        render_mail("access_extended", &data),
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

/// What the clean-up after the grace period does to one invitation's leftovers: what its last
/// warning lists, exactly.
pub struct GraceCleanup<'a> {
    pub project: &'a Project,
    pub invitation: &'a Invitation,
    /// When the clean-up runs.
    pub at: OffsetDateTime,
    /// Whether each disk is archived first (`--archive-collaborator-work`).
    pub archive: bool,
    /// The stopped workspaces to terminate; their disks go with them.
    pub terminate: &'a [Workspace],
    /// The collaborator's workspaces running now (someone else started them): left alone.
    pub spared: &'a [String],
    /// The unclaimed snapshots to delete.
    pub delete: &'a [Snapshot],
    /// The snapshots shared with the collaborator's account, kept.
    pub kept: usize,
}

impl GraceCleanup<'_> {
    fn data(&self) -> Value {
        let terminate: Vec<&str> = self.terminate.iter().map(|w| w.name.as_str()).collect();
        let delete: Vec<Value> = self
            .delete
            .iter()
            .map(|s| {
                json!({
                    "id": s.snapshot_id,
                    "size_gb": s.size_gb,
                    "workspace": s.tags.get(crate::launch::TAG_WORKSPACE),
                })
            })
            .collect();
        json!({
            "project": self.project.name,
            "owner_name": self.project.owner_name,
            "invitation": self.invitation.name,
            "invitee": self.invitation.invitee,
            "date": time_text::date(self.at),
            "archive": self.archive,
            "terminate": terminate,
            "terminate_count": terminate.len(),
            "disk_gb": self.terminate.iter().map(|w| w.storage_gb).sum::<u32>(),
            "spared": self.spared,
            "delete": delete,
            "delete_count": delete.len(),
            "kept_count": self.kept,
        })
    }
}

/// The last warning, 7 days before the clean-up, to the collaborator: a DM and an e-mail.
pub fn grace_ending(cleanup: &GraceCleanup<'_>) -> (ChatMessage, MailText) {
    let data = cleanup.data();
    (
        render("grace_ending", &data),
        render_mail("grace_ending", &data),
    )
}

/// The last warning's note in the project's channel.
pub fn grace_ending_owner(cleanup: &GraceCleanup<'_>) -> ChatMessage {
    render("grace_ending_owner", &cleanup.data())
}

/// What the clean-up did, as recorded.
pub struct GraceCleaned<'a> {
    pub project: &'a str,
    pub invitation: &'a str,
    pub terminated: &'a [String],
    pub spared: &'a [String],
    pub deleted: &'a [String],
    pub kept: usize,
    pub archives: &'a [Archived],
}

/// In the project's channel, the owner's report: the grace period is over, what is gone, and
/// each archive with where it is and how to restore it.
pub fn grace_cleaned(cleaned: &GraceCleaned<'_>) -> ChatMessage {
    let archives: Vec<Value> = cleaned
        .archives
        .iter()
        .map(|a| {
            json!({
                "id": a.snapshot_id,
                "workspace": a.workspace,
                "size_gb": a.size_gb,
                "region": a.region,
            })
        })
        .collect();
    render(
        "grace_cleaned",
        &json!({
            "project": cleaned.project,
            "invitation": cleaned.invitation,
            "terminated": cleaned.terminated,
            "terminated_count": cleaned.terminated.len(),
            "spared": cleaned.spared,
            "delete": cleaned.deleted,
            "delete_count": cleaned.deleted.len(),
            "kept_count": cleaned.kept,
            "archives": archives,
            "archive_count": archives.len(),
            "archive_gb": cleaned.archives.iter().map(|a| a.size_gb).sum::<u32>(),
        }),
    )
}

/// An invitation as the end command leaves it.
pub struct Ending<'a> {
    pub invitation: &'a Invitation,
    /// When it ended before the command, if the command moved its end (earlier, or later
    /// with the collaboration's).
    pub was: Option<OffsetDateTime>,
}

/// `collaboration end`: the date (and the one it replaces), and what will happen to whom.
pub fn collaboration_end_scheduled(
    project: &str,
    plan: &EndPlan,
    previous: Option<OffsetDateTime>,
    invitations: &[Ending<'_>],
) -> ChatMessage {
    let invitations: Vec<Value> = invitations
        .iter()
        .map(|ending| {
            json!({
                "name": ending.invitation.name,
                "institution": ending.invitation.institution,
                "ends": time_text::date(ending.invitation.ends_at()),
                "was": ending.was.map(time_text::date),
            })
        })
        .collect();
    render(
        "collaboration_end_scheduled",
        &json!({
            "project": project,
            "ends": time_text::date(plan.ends_at),
            "previous": previous.filter(|was| *was != plan.ends_at).map(time_text::date),
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
    /// Where `--export-compliance` put the compliance report, PDF first.
    pub compliance: &'a [ExportLink<'a>],
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
            "compliance": summary.compliance.iter().map(|export| json!({
                "format": export.format,
                "key": export.key,
                "link": export.link,
                "valid_days": export.valid_days,
            })).collect::<Vec<_>>(),
            "compliance_valid_days": summary.compliance.first().map(|export| export.valid_days),
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, ProfilesCommand, parse};
    use crate::identity::Role;
    use crate::invitation::NewInvitation;
    use crate::ledger::cost_report;
    use crate::message::digest::tests::project;
    use crate::message::tests::workspace;
    use crate::pricing::Money;
    use crate::token::InvitationId;

    fn invitation() -> Invitation {
        let Ok(Command::Profiles(ProfilesCommand::InvitationCreate(create))) = parse(
            "profiles invitations create mit-collaboration --type read_write --valid-days 540",
        ) else {
            panic!("the invitation parses")
        };
        let mut invitation = Invitation::create(
            &create,
            NewInvitation {
                id: InvitationId::from_bytes([7; 16]),
                project: "nih".into(),
                created_by: crate::identity::ChatIdentity::slack("T1", "USMITH"),
                now: datetime!(2025-12-09 00:00 UTC),
            },
        );
        invitation.invitee = Some("Dr. Johnson".into());
        invitation.institution = Some("MIT".into());
        invitation
    }

    fn snapshot(id: &str) -> Snapshot {
        Snapshot {
            snapshot_id: id.into(),
            volume_id: "vol-1".into(),
            size_gb: 38,
            tags: BTreeMap::from([(
                crate::launch::TAG_WORKSPACE.to_owned(),
                "mit-algorithm-dev".to_owned(),
            )]),
        }
    }

    #[test]
    fn the_warning_lists_what_the_collaborator_holds_and_how_to_keep_it() {
        let mut stopped = workspace();
        stopped.name = "mit-validation".into();
        stopped.state = InstanceState::Stopped;
        let workspaces = [workspace(), stopped];
        let snapshots = [snapshot("snap-1")];
        let holdings = Holdings {
            workspaces: &workspaces,
            snapshots: &snapshots,
        };
        let (dm, mail) =
            expiry_warning(&project(), &invitation(), "stanford-collab", 30, &holdings);
        insta::assert_snapshot!(dm.text, @"⏰ Your access to nih via invitation mit-collaboration expires in 30 days, on June 2, 2027. Running: mit-algorithm-dev.");
        insta::assert_json_snapshot!(dm.blocks);
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
    }

    #[test]
    fn the_end_tells_the_collaborator_and_the_channel_where_the_work_is() {
        let mut project = project();
        project.collaboration_end = Some(EndPlan {
            ends_at: datetime!(2027-06-01 00:00 UTC),
            archive_collaborator_work: true,
            transfer_snapshots: vec!["mit-csail".into()],
        });
        let snapshots = [snapshot("snap-1"), snapshot("snap-2")];
        let kept = [
            KeptSnapshot {
                snapshot: &snapshots[0],
                workspace: "mit-algorithm-dev",
                shared_with: Some("mit-csail"),
            },
            KeptSnapshot {
                snapshot: &snapshots[1],
                workspace: "mit-validation",
                shared_with: None,
            },
        ];
        let invitation = invitation();
        let stopped = ["mit-algorithm-dev".to_owned(), "mit-validation".to_owned()];
        let ended = Ended {
            project: &project,
            invitation: &invitation,
            institution: "MIT",
            stopped: &stopped,
            snapshots: &kept,
            manifest: (
                "collaboration/nih/mit-collaboration/manifest.json",
                "https://s3/m?a=1&b=2",
            ),
        };
        let (dm, mail) = collaboration_ended(&ended);
        insta::assert_json_snapshot!(dm.blocks);
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
        insta::assert_json_snapshot!(collaboration_ended_owner(&ended).blocks);
    }

    #[test]
    fn the_last_warning_lists_exactly_what_goes_and_whether_it_is_archived() {
        let mut stopped = workspace();
        stopped.name = "mit-validation".into();
        stopped.state = InstanceState::Stopped;
        let terminate = [stopped];
        let spared = ["mit-algorithm-dev".to_owned()];
        let delete = [snapshot("snap-2")];
        let (project, invitation) = (project(), invitation());
        let cleanup = GraceCleanup {
            project: &project,
            invitation: &invitation,
            at: datetime!(2027-08-31 00:00 UTC),
            archive: false,
            terminate: &terminate,
            spared: &spared,
            delete: &delete,
            kept: 1,
        };
        let (dm, mail) = grace_ending(&cleanup);
        insta::assert_json_snapshot!(dm.blocks);
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
        let archived = GraceCleanup {
            archive: true,
            ..cleanup
        };
        insta::assert_json_snapshot!(grace_ending_owner(&archived).blocks);
        assert!(grace_ending(&archived).1.body.contains("Archived first"));
    }

    #[test]
    fn the_owner_report_lists_each_archive_and_how_to_restore_it() {
        let archives = [Archived {
            snapshot_id: "snap-9".into(),
            workspace: "mit-validation".into(),
            volume_id: "vol-1".into(),
            size_gb: 38,
            region: "us-east-1".into(),
        }];
        let cleaned = grace_cleaned(&GraceCleaned {
            project: "nih",
            invitation: "mit-collaboration",
            terminated: &["mit-validation".into()],
            spared: &[],
            deleted: &["snap-2".into()],
            kept: 1,
            archives: &archives,
        });
        insta::assert_snapshot!(cleaned.text, @"🧹 nih: the 90-day grace period of mit-collaboration is over; 1 workspace(s) terminated, 1 archive(s) kept, 1 unclaimed snapshot(s) deleted, 1 transferred ones kept.");
        insta::assert_json_snapshot!(cleaned.blocks);
    }

    #[test]
    fn the_end_command_says_who_ends_when_and_what_happens() {
        let plan = EndPlan {
            ends_at: datetime!(2027-06-01 00:00 UTC),
            archive_collaborator_work: false,
            transfer_snapshots: vec!["mit-csail".into(), "berkeley-neuroscience".into()],
        };
        let mut shortened = invitation();
        shortened.expires_at = plan.ends_at;
        let rows = [Ending {
            invitation: &shortened,
            was: Some(datetime!(2027-09-01 00:00 UTC)),
        }];
        let reply = collaboration_end_scheduled("nih", &plan, None, &rows);
        insta::assert_json_snapshot!(reply.blocks);
        // Moved later: the collaboration's old date, and each invitation that moved with it.
        let mut moved = invitation();
        moved.expires_at = datetime!(2027-12-01 00:00 UTC);
        let later = EndPlan {
            ends_at: moved.expires_at,
            ..plan
        };
        let rows = [Ending {
            invitation: &moved,
            was: Some(datetime!(2027-06-01 00:00 UTC)),
        }];
        let reply = collaboration_end_scheduled(
            "nih",
            &later,
            Some(datetime!(2027-06-01 00:00 UTC)),
            &rows,
        );
        let text = reply.blocks[0]["text"]["text"].as_str().unwrap();
        insta::assert_snapshot!(text.lines().take(2).collect::<Vec<_>>().join("\n"), @r"
        📅 *nih: collaboration ends December 1, 2027* (was June 1, 2027)
        • `mit-collaboration` (MIT): ends December 1, 2027 (was June 1, 2027)
        ");
    }

    #[test]
    fn an_extension_gives_the_new_end_to_the_extender_and_the_collaborator() {
        let invitation = invitation();
        let extension = Extension {
            request: "slack:T1:trigger".into(),
            by: crate::identity::ChatIdentity::slack("T1", "USMITH"),
            at: datetime!(2027-05-23 00:00 UTC),
            from: invitation.expires_at,
            to: invitation.expires_at + time::Duration::days(90),
        };
        let reply = crate::message::invitation_extended(&invitation, &extension, 2);
        insta::assert_snapshot!(reply.blocks[0]["text"]["text"].as_str().unwrap(), @r"
        ⏳ Invitation *mit-collaboration* in project *nih* now ends on *August 31, 2027* (was June 2, 2027: 90 days more).
        2 bound chat account(s) told by DM and e-mail. Warnings go out 30, 7 and 1 days before the new end; nothing happens on the old date.
        ");
        let refused = crate::message::extend_refused(
            "nih",
            "mit-collaboration",
            "it is your own invitation: ask the project's owner",
        );
        insta::assert_snapshot!(refused.text, @"❌ You cannot extend invitation *mit-collaboration* in project *nih*: it is your own invitation: ask the project's owner.");
        let (dm, mail) = access_extended(&project(), &invitation, &extension, "stanford-collab");
        insta::assert_snapshot!(dm.text, @"⏳ Your access to nih via invitation mit-collaboration now ends on August 31, 2027 (was June 2, 2027).");
        insta::assert_json_snapshot!(dm.blocks);
        insta::assert_snapshot!(format!("Subject: {}\n\n{}", mail.subject, mail.body));
    }

    #[test]
    fn the_export_lists_snapshots_downloads_and_the_manifest() {
        let workspace = workspace();
        let exported = [Exported {
            workspace: &workspace,
            snapshots: vec!["snap-1".into()],
        }];
        let downloads = [
            "rsync -av -e \"ssh -i ~/.ssh/cws-mj\" mj@10.0.0.1:~/ ~/out/mit-algorithm-dev/"
                .to_owned(),
        ];
        let reply = collaboration_export(
            "nih",
            "stanford-collab",
            &exported,
            &downloads,
            "https://s3/x",
            7,
        );
        insta::assert_json_snapshot!(reply.blocks);
        let shared = snapshots_transferred(
            "stanford-collab",
            "mit-csail",
            "111111111111",
            &[snapshot("snap-1")],
        );
        insta::assert_snapshot!(shared.text, @"📤 1 snapshot(s) of stanford-collab shared with mit-csail (111111111111).");
        let refused = account_refused("`x` is not a configured account.", &["mit-csail"]);
        assert!(
            refused.blocks[0]
                .to_string()
                .contains("Known accounts: `mit-csail`.")
        );
        let none = account_refused("`x` is not a configured account.", &[]);
        assert!(none.blocks[0].to_string().contains("CWS_ACCOUNTS"));
    }

    #[test]
    fn the_final_report_has_participants_money_health_and_cleanup() {
        let project = project();
        let period = (
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2027-06-01 00:00 UTC),
        );
        let events = [
            workspace().ledger_event(
                crate::ledger::LedgerEventKind::Launched,
                datetime!(2026-03-12 09:00 UTC),
            ),
            workspace().ledger_event(
                crate::ledger::LedgerEventKind::Stopped,
                datetime!(2026-03-13 09:00 UTC),
            ),
        ];
        let report = cost_report(
            &events,
            period,
            Money::from_cents(9_000_000),
            Money::ZERO,
            |_| Money::ZERO,
        );
        let participants = [
            Participant {
                name: "Dr. Smith",
                institution: "stanford",
                role: Role::Owner,
                status: "Owner".into(),
            },
            Participant {
                name: "Dr. Johnson",
                institution: "MIT",
                role: Role::ReadWrite,
                status: "EXPIRED".into(),
            },
        ];
        let cleanup = [Cleanup {
            invitation: "mit-collaboration",
            institution: "MIT",
            ended: Some(datetime!(2027-06-01 00:00 UTC)),
            steps_done: 6,
            steps: 6,
            snapshots: 2,
        }];
        let reply = collaboration_report(&CollaborationSummary {
            project: &project,
            final_report: true,
            period,
            months: 18,
            report: &report,
            participants: &participants,
            launched: 1,
            snapshots: 2,
            snapshots_transferred: 1,
            violations: 0,
            unauthorized: 1,
            cleanup: &cleanup,
            compliance: &[],
        });
        insta::assert_json_snapshot!(reply.blocks);
    }
}
