//! The collaboration's end from chat: `collaboration end` (the owner sets the date and what
//! happens to collaborators' work), `collaboration export` and `transfer-snapshots` (a
//! collaborator preserves their work), and `collaboration report [--final]
//! [--export-compliance]`.

use domain::audit::AuditAction;
use domain::audit::chain::Seal;
use domain::audit::compliance::{self, CollaborationCompliance, compliance_key};
use domain::audit::report::Entry;
use domain::command::{CollaborationEnd, CollaborationExport, CollaborationReport};
use domain::expiry::{END_STEPS, start_of};
use domain::identity::Permission;
use domain::invitation::{Invitation, InvitationStatus};
use domain::job::CommandJob;
use domain::launch::{TAG_COLLABORATOR, TAG_PROJECT};
use domain::ledger::{CostReport, LedgerEventKind, cost_report};
use domain::message::{
    self, Cleanup, CollaborationSummary, Ending, ExportLink, Exported, Participant,
};
use domain::ports::{InstanceState, PortError, Snapshot};
use domain::project::{EndPlan, Project};
use domain::time_text;
use domain::workspace::Workspace;
use serde_json::json;

use crate::jobs::access::{Context, Member, audit_member, authorize};
use crate::jobs::audit::{entry, people};
use crate::jobs::expiry::{institution_of, tell_extended};
use crate::jobs::profiles::profile_unknown;
use crate::jobs::{CommandEnv, LINK_VALID};
use crate::state::Updated;

/// The attribution tag value of workspaces an owner launched.
const OWNER_INVITATION: &str = "owner";

pub(crate) async fn command_end(
    env: &CommandEnv,
    job: &CommandJob,
    command: &CollaborationEnd,
) -> Result<(), PortError> {
    let Some(member) = authorize(
        env,
        job,
        Some(command.project.as_str()),
        Permission::EndCollaboration,
    )
    .await?
    else {
        return Ok(());
    };
    let unknown: Vec<&str> = command
        .transfer_snapshots
        .iter()
        .map(String::as_str)
        .filter(|name| env.accounts.named(name).is_none())
        .collect();
    if !unknown.is_empty() {
        let reason = format!(
            "Unknown account(s) for --transfer-snapshots: {}. Snapshots are shared only with \
             configured accounts, so a typo cannot hand data to a stranger.",
            unknown.join(", ")
        );
        let reply = message::account_refused(&reason, &env.accounts.names());
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let project = &member.project;
    let now = env.clock.now();
    let plan = EndPlan {
        ends_at: start_of(command.date, project.time_zone.as_ref()),
        archive_collaborator_work: command.archive_collaborator_work,
        transfer_snapshots: command
            .transfer_snapshots
            .iter()
            .filter_map(|name| env.accounts.named(name))
            .map(|account| account.name.clone())
            .collect(),
    };
    let previous = project.collaboration_end.as_ref().map(|plan| plan.ends_at);
    let request = job.key.to_string();
    let owner = job.requester.identity();
    // The invitations first, the plan last: a retried request still sees the date it replaces.
    // No invitation outlasts the collaboration; one that ends sooner keeps its date, and one
    // that ended with it goes on with it when its end moves later. Invitations whose access
    // has ended are left as they ended.
    let mut endings = Vec::new();
    for invitation in env.state.invitations(&project.name).await? {
        let id = invitation.id;
        let moved = env
            .state
            .update_invitation(id, |current| {
                if let Some((later, extension)) = previous.and_then(|from| {
                    current.follow_collaboration((from, plan.ends_at), &request, &owner, now)
                }) {
                    return Ok((later, (extension.from, Some(extension))));
                }
                if current.expires_at > plan.ends_at && current.end_can_move(now) {
                    let mut sooner = current.clone();
                    sooner.expires_at = plan.ends_at;
                    return Ok((sooner, (current.expires_at, None)));
                }
                Err(())
            })
            .await?;
        let Some(invitation) = env.state.invitation(id).await? else {
            continue;
        };
        let was = match moved {
            Updated::Done((was, extension)) => {
                if let Some(extension) = extension {
                    tell_extended(env, project, &invitation, &extension).await?;
                }
                Some(was)
            }
            Updated::Refused(()) | Updated::Missing => None,
        };
        endings.push((invitation, was));
    }
    env.state
        .update_project(&project.name, |current: &Project| {
            let mut next = current.clone();
            next.collaboration_end = Some(plan.clone());
            Ok::<_, ()>((next, ()))
        })
        .await?;
    let rows: Vec<Ending<'_>> = endings
        .iter()
        .map(|(invitation, was)| Ending {
            invitation,
            was: *was,
        })
        .collect();
    audit_member(
        env,
        job,
        &member,
        &member.project.name,
        AuditAction::Expiry,
        "end scheduled",
        format!(
            "ends {}{}; archive {}; transfer to {}",
            time_text::date(plan.ends_at),
            previous
                .filter(|was| *was != plan.ends_at)
                .map(|was| format!(" (was {})", time_text::date(was)))
                .unwrap_or_default(),
            plan.archive_collaborator_work,
            if plan.transfer_snapshots.is_empty() {
                "nobody".to_owned()
            } else {
                plan.transfer_snapshots.join(", ")
            }
        ),
    )
    .await?;
    let reply = message::collaboration_end_scheduled(&project.name, &plan, previous, &rows);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The caller's profile named `name`, authorized for `permission` in its project.
async fn own_profile(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
    permission: Permission,
) -> Result<Option<Member>, PortError> {
    let identity = job.requester.identity();
    let Some(profile) = env.state.profile(&identity, name).await? else {
        let reply = profile_unknown(env, &identity, name).await?;
        env.answer(&job.reply, &job.requester, &reply).await?;
        return Ok(None);
    };
    authorize(env, job, Some(profile.project.as_str()), permission).await
}

fn invitation_tag(member: &Member) -> &str {
    member
        .invitation
        .as_ref()
        .map_or(OWNER_INVITATION, |i| i.name.as_str())
}

/// The member's own workspaces that still exist.
async fn own_workspaces(env: &CommandEnv, member: &Member) -> Result<Vec<Workspace>, PortError> {
    let tag = invitation_tag(member);
    Ok(env
        .launch
        .store
        .all()
        .await?
        .into_iter()
        .filter(|w| {
            w.attribution.project == member.project.name
                && w.attribution.invitation == tag
                && w.attribution.user == member.profile.research_user.username
                && w.state != InstanceState::Terminated
        })
        .collect())
}

pub(crate) async fn command_export(
    env: &CommandEnv,
    job: &CommandJob,
    command: &CollaborationExport,
) -> Result<(), PortError> {
    let Some(member) = own_profile(env, job, &command.profile, Permission::View).await? else {
        return Ok(());
    };
    let workspaces = own_workspaces(env, &member).await?;
    let user = &member.profile.research_user.username;
    let collaborator = member.profile.collaborator.key();
    let output = command
        .output
        .clone()
        .unwrap_or_else(|| format!("~/{}-work", member.project.name));
    let output = output.trim_end_matches('/');
    let mut exported = Vec::new();
    let mut downloads = Vec::new();
    for workspace in &workspaces {
        let mut snapshots = Vec::new();
        if command.include_snapshots {
            // The job's key: a re-delivered job finds the snapshots it made.
            let key = format!("export:{}:{}", job.key, workspace.name);
            let tags = workspace.snapshot_tags(&collaborator, "export");
            for snapshot in env
                .launch
                .cloud_of(workspace)
                .await?
                .snapshot_volumes(&workspace.instance_id, &key, &tags)
                .await?
            {
                snapshots.push(snapshot.snapshot_id);
            }
        }
        let status = env.launch.live(workspace).await?;
        if let Some(status) = status.filter(|s| s.state == InstanceState::Running)
            && let Some(address) = status.public_ip.or(status.private_ip)
        {
            downloads.push(format!(
                "rsync -av -e \"ssh -i ~/.ssh/cws-{user}\" {user}@{address}:~/ {output}/{}/",
                workspace.name
            ));
        }
        exported.push(Exported {
            workspace,
            snapshots,
        });
    }
    let now = env.clock.now();
    let manifest = json!({
        "project": member.project.name,
        "profile": member.profile.name,
        "research_user": user,
        "institution": member.profile.institution,
        "exported_at": now.format(&time::format_description::well_known::Rfc3339).ok(),
        "output": output,
        "workspaces": exported.iter().map(|e| json!({
            "name": e.workspace.name,
            "instance_id": e.workspace.instance_id,
            "state": e.workspace.state,
            "disk_gb": e.workspace.storage_gb,
            "snapshots": e.snapshots,
        })).collect::<Vec<_>>(),
        "downloads": downloads,
    });
    let key = format!(
        "collaboration/{}/exports/{}/{}.json",
        member.project.name,
        collaborator.replace(':', "-"),
        job.key.to_string().replace(':', "-")
    );
    let body = serde_json::to_vec_pretty(&manifest).expect("manifests serialize");
    let link = env
        .objects
        .put(&key, body, "application/json", LINK_VALID)
        .await?;
    let snapshot_count: usize = exported.iter().map(|e| e.snapshots.len()).sum();
    audit_member(
        env,
        job,
        &member,
        &member.project.name,
        AuditAction::Export,
        "exported",
        format!(
            "{} workspace(s), {snapshot_count} snapshot(s), manifest {key}",
            exported.len()
        ),
    )
    .await?;
    let reply = message::collaboration_export(
        &member.project.name,
        &member.profile.name,
        &exported,
        &downloads,
        &link,
        LINK_VALID.as_secs() / 86_400,
    );
    env.answer(&job.reply, &job.requester, &reply).await
}

pub(crate) async fn command_transfer_snapshots(
    env: &CommandEnv,
    job: &CommandJob,
    profile: &str,
    account: &str,
) -> Result<(), PortError> {
    let Some(member) = own_profile(env, job, profile, Permission::View).await? else {
        return Ok(());
    };
    let institution = &member.profile.institution;
    let refusal = match env.accounts.named(account) {
        None => Some(format!(
            "`{account}` is not a configured account. Snapshots are shared only with \
             configured accounts, so a typo cannot hand data to a stranger."
        )),
        Some(found) if !found.belongs_to(institution) => Some(format!(
            "`{}` belongs to {}, not to your institution ({institution}): your snapshots go \
             only to your own institution's account.",
            found.name, found.institution
        )),
        Some(_) => None,
    };
    let Some(target) = env.accounts.named(account).filter(|_| refusal.is_none()) else {
        audit_member(
            env,
            job,
            &member,
            &member.project.name,
            AuditAction::Refused,
            "refused",
            format!("snapshot transfer to {account}"),
        )
        .await?;
        let reply = message::account_refused(&refusal.unwrap_or_default(), &env.accounts.names());
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let snapshots = env
        .launch
        .snapshots_tagged_everywhere(TAG_COLLABORATOR, &member.profile.collaborator.key())
        .await?;
    for (cloud, snapshot) in &snapshots {
        cloud
            .share_snapshot(&snapshot.snapshot_id, &target.id)
            .await?;
        if let Some(invitation) = &member.invitation {
            env.state
                .record_share(invitation.id, &snapshot.snapshot_id, &target.name)
                .await?;
        }
    }
    audit_member(
        env,
        job,
        &member,
        &member.project.name,
        AuditAction::Export,
        "snapshots shared",
        format!(
            "{} snapshot(s) shared with {} ({})",
            snapshots.len(),
            target.name,
            target.id
        ),
    )
    .await?;
    let shared: Vec<Snapshot> = snapshots.into_iter().map(|(_, s)| s).collect();
    let reply =
        message::snapshots_transferred(&member.profile.name, &target.name, &target.id, &shared);
    env.answer(&job.reply, &job.requester, &reply).await
}

fn status_text(invitation: &Invitation, now: time::OffsetDateTime) -> String {
    match invitation.status(now) {
        InvitationStatus::Active => {
            format!("active until {}", time_text::date(invitation.expires_at))
        }
        InvitationStatus::Expired { .. } => "EXPIRED".to_owned(),
        InvitationStatus::Revoked { .. } => "REVOKED".to_owned(),
    }
}

pub(crate) async fn command_report(
    env: &CommandEnv,
    job: &CommandJob,
    command: &CollaborationReport,
) -> Result<(), PortError> {
    // The compliance report lists the audit trail, so it takes who may read the trail.
    let permission = if command.export_compliance {
        Permission::ReadAudit
    } else {
        Permission::View
    };
    let Some(member) = authorize(env, job, Some(command.project.as_str()), permission).await?
    else {
        return Ok(());
    };
    let project = &member.project;
    let now = env.clock.now();
    let end = project
        .collaboration_end
        .as_ref()
        .map_or(now, |plan| plan.ends_at.min(now));
    let months = {
        let index = |at: time::OffsetDateTime| at.year() * 12 + i32::from(u8::from(at.month()));
        u32::try_from(index(end) - index(project.created_at) + 1).unwrap_or(1)
    };
    let events = env.state.ledger(&project.name).await?;
    let pricing = &env.launch.offerings.pricing;
    let report = cost_report(
        &events,
        (project.created_at, end.max(project.created_at)),
        domain::pricing::Money::from_micros(project.monthly_budget.micros() * i64::from(months)),
        domain::pricing::Money::ZERO,
        |region: &str| pricing.ebs_gb_month(region).unwrap_or_default(),
    );
    let launched = events
        .iter()
        .filter(|e| e.kind == LedgerEventKind::Launched)
        .count();
    let invitations = env.state.invitations(&project.name).await?;
    let mut participants = vec![Participant {
        name: &project.owner_name,
        institution: &project.institution,
        role: domain::identity::Role::Owner,
        status: "Owner".to_owned(),
    }];
    // One listing of the project's snapshots, counted per collaborator below.
    let snapshots: Vec<Snapshot> = env
        .launch
        .snapshots_tagged_everywhere(TAG_PROJECT, &project.name)
        .await?
        .into_iter()
        .map(|(_, snapshot)| snapshot)
        .collect();
    let mut transferred = 0;
    let mut known = Vec::new();
    for invitation in &invitations {
        transferred += env.state.shares(invitation.id).await?.len();
        known.push((
            env.state.expiry_record(invitation).await?,
            institution_of(env, project, invitation).await?,
        ));
    }
    let mut cleanup_rows = Vec::new();
    for (invitation, (record, institution)) in invitations.iter().zip(&known) {
        participants.push(Participant {
            name: invitation.invitee.as_deref().unwrap_or(&invitation.name),
            institution,
            role: invitation.role,
            status: status_text(invitation, now),
        });
        let collaborator = domain::profile::Collaborator::Invitation(invitation.id).key();
        cleanup_rows.push(Cleanup {
            invitation: &invitation.name,
            institution,
            ended: (invitation.ends_at() <= now).then(|| invitation.ends_at()),
            steps_done: record.end_steps.len(),
            steps: END_STEPS.len(),
            snapshots: snapshots
                .iter()
                .filter(|s| s.tags.get(TAG_COLLABORATOR) == Some(&collaborator))
                .count(),
        });
    }
    let compliance = if command.export_compliance {
        let invitations: Vec<(Invitation, String)> = invitations
            .iter()
            .cloned()
            .zip(known.iter().map(|(_, institution)| institution.clone()))
            .collect();
        let period = (project.created_at, end);
        export_compliance(env, job, &member, period, &report, &invitations).await?
    } else {
        Vec::new()
    };
    let compliance_links: Vec<ExportLink<'_>> = compliance
        .iter()
        .map(|(format, key, link)| ExportLink {
            format,
            key,
            link,
            valid_days: LINK_VALID.as_secs() / 86_400,
        })
        .collect();
    let audit_events = env.state.audit_events(&project.name).await?;
    let count = |action: AuditAction| audit_events.iter().filter(|e| e.action == action).count();
    let reply = message::collaboration_report(&CollaborationSummary {
        project,
        final_report: command.final_report,
        period: (project.created_at, end),
        months,
        report: &report,
        participants: &participants,
        launched,
        snapshots: snapshots.len(),
        snapshots_transferred: transferred,
        violations: count(AuditAction::PolicyViolation),
        unauthorized: count(AuditAction::Refused),
        cleanup: &cleanup_rows,
        compliance: &compliance_links,
    });
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `--export-compliance`: the compliance report as PDF and as CSV in the object store, itself
/// audited as an export. Returns each file's format, key and link.
async fn export_compliance(
    env: &CommandEnv,
    job: &CommandJob,
    member: &Member,
    period: (time::OffsetDateTime, time::OffsetDateTime),
    costs: &CostReport,
    invitations: &[(Invitation, String)],
) -> Result<Vec<(&'static str, String, String)>, PortError> {
    let project = &member.project;
    let now = env.clock.now();
    let (links, head) = env.state.audit_chain(&project.name).await?;
    let seal = Seal::of(&links, head.as_ref());
    // An event edited out of shape is not listed; the seal says where the chain broke.
    let entries: Vec<Entry> = links.iter().filter_map(entry).collect();
    let only_invitations: Vec<Invitation> = invitations.iter().map(|(i, _)| i.clone()).collect();
    let people = people(env, project, &only_invitations).await?;
    let decisions = compliance::decisions(&entries, &people);
    let grants = compliance::grants(project, invitations, &people, now);
    let report = CollaborationCompliance {
        project,
        period,
        generated_at: now,
        grants: &grants,
        decisions: &decisions,
        costs,
        seal: &seal,
    };
    let files = [
        ("PDF", "pdf", report.to_pdf(), "application/pdf"),
        ("CSV", "csv", report.to_csv().into_bytes(), "text/csv"),
    ];
    let mut exported = Vec::new();
    for (format, extension, body, content_type) in files {
        let key = compliance_key(&project.name, period, extension);
        let link = env
            .objects
            .put(&key, body, content_type, LINK_VALID)
            .await?;
        exported.push((format, key, link));
    }
    audit_member(
        env,
        job,
        member,
        &project.name,
        AuditAction::Export,
        "exported",
        format!(
            "compliance report, PDF and CSV, {} grants, {} decisions, chain head {}",
            grants.len(),
            decisions.len(),
            seal.head_text()
        ),
    )
    .await?;
    Ok(exported)
}
