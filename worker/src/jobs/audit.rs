//! The audit trail read back: `audit verify` walks the hash chain again, `audit collaboration`
//! reports who accessed what (and exports every event of the period to the object store, as
//! JSON, CSV or PDF), and each closed day's links are archived to the object store, once.

use std::collections::HashMap;

use domain::audit::archive::{archive_key, day_lines, days_to_archive};
use domain::audit::chain::{self, Link, Seal};
use domain::audit::report::{Entry, Person, compliance_report, export_key};
use domain::audit::{AuditAction, AuditEvent};
use domain::command::AuditCollaboration;
use domain::identity::{ChatIdentity, Permission};
use domain::invitation::Invitation;
use domain::job::CommandJob;
use domain::message::{self, ExportLink};
use domain::ports::PortError;
use domain::profile::Profile;
use domain::project::Project;
use domain::verified_identity::VerifiedIdentity;

use crate::jobs::access::{Context, authorize};
use crate::jobs::{CommandEnv, LINK_VALID};

/// `audit verify PROJECT`: intact, or the first event edited, inserted or removed.
pub(crate) async fn command_audit_verify(
    env: &CommandEnv,
    job: &CommandJob,
    project: &str,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, Some(project), Permission::ReadAudit).await? else {
        return Ok(());
    };
    let project = &member.project.name;
    let (links, head) = env.state.audit_chain(project).await?;
    let reply = match chain::verify(&links, head.as_ref()) {
        Ok(events) => message::audit_verified(project, events),
        Err(broken) => {
            tracing::warn!(project, ?broken, "the audit chain is broken");
            message::audit_broken(project, &broken, &links)
        }
    };
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `audit collaboration PROJECT --start-date --end-date [--export …]`: the compliance report,
/// and with `--export` the file in the object store and its link.
pub(crate) async fn command_audit_collaboration(
    env: &CommandEnv,
    job: &CommandJob,
    audit: &AuditCollaboration,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, Some(&audit.project), Permission::ReadAudit).await?
    else {
        return Ok(());
    };
    let project = &member.project;
    let (links, head) = env.state.audit_chain(&project.name).await?;
    // An event edited out of shape is not reported on; `audit verify` names it.
    let entries: Vec<Entry> = links.iter().filter_map(entry).collect();
    let invitations = env.state.invitations(&project.name).await?;
    let people = people(env, project, &invitations).await?;
    let names: Vec<String> = invitations.iter().map(|i| i.name.clone()).collect();
    let period = (audit.start_date.into(), audit.end_date.into());
    let report = compliance_report(&project.name, period, &entries, &people, &names);
    let Some(export) = &audit.export else {
        let reply = message::audit_report(&report, None);
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let key = export_key(&project.name, period, export);
    // The PDF prints the head it was read up to and whether the chain verified.
    let seal = Seal::of(&links, head.as_ref());
    let (body, content_type) = report.export(export.format, &seal, env.clock.now());
    let link = env
        .objects
        .put(&key, body, content_type, LINK_VALID)
        .await?;
    let format = export.format.label();
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::Export,
                who: job.requester.identity(),
                institution: member.profile.institution.clone(),
                resource: key.clone(),
                outcome: "exported".to_owned(),
                detail: Some(format!(
                    "audit report, {format}, {} events from {} to {}",
                    report.summary.events, report.start_date, report.end_date
                )),
                at: env.clock.now(),
            },
        )
        .await?;
    let reply = message::audit_report(
        &report,
        Some(&ExportLink {
            format,
            key: &key,
            link: &link,
            valid_days: LINK_VALID.as_secs() / 86_400,
        }),
    );
    env.answer(&job.reply, &job.requester, &reply).await
}

pub(crate) fn entry(link: &Link) -> Option<Entry> {
    Some(Entry {
        seq: link.seq,
        hash: link.hash.clone(),
        event: link.audit_event()?,
    })
}

/// Who each chat identity in the project is: every device of every invitation (the invitee's
/// name when the inviter gave one, else their research username), and the owner, with the
/// institution a verified identity vouches for.
pub(crate) async fn people(
    env: &CommandEnv,
    project: &Project,
    invitations: &[Invitation],
) -> Result<HashMap<ChatIdentity, Person>, PortError> {
    let profile = |identity: &ChatIdentity| {
        let identity = identity.clone();
        async move { env.state.member_profile(&project.name, &identity).await }
    };
    let verified_institution = |profile: &Option<Profile>| {
        profile
            .as_ref()
            .and_then(|p| p.verified_identity.as_ref())
            .map(VerifiedIdentity::institution)
    };
    let mut people = HashMap::new();
    for invitation in invitations {
        for device in &invitation.devices {
            let profile = profile(device).await?;
            let name = match (&invitation.invitee, &profile) {
                (Some(name), _) => name.clone(),
                (None, Some(profile)) => profile.research_user.username.clone(),
                (None, None) => device.to_string(),
            };
            let person = Person {
                name,
                invitation: Some(invitation.name.clone()),
                verified_institution: verified_institution(&profile),
            };
            people.insert(device.clone(), person);
        }
    }
    let owner_profile = profile(&project.owner).await?;
    let owner = Person {
        name: owner_profile.as_ref().map_or_else(
            || project.owner_name.clone(),
            |p| p.research_user.username.clone(),
        ),
        invitation: None,
        verified_institution: verified_institution(&owner_profile),
    };
    people.insert(project.owner.clone(), owner);
    Ok(people)
}

/// Archives every closed day of the project's trail that is not archived yet, oldest first,
/// each as `audit/{project}/{day}.jsonl`. A day is taken as a notice, so two workers never
/// both write it, and recorded as archived before the notice is marked done, so a crash in
/// between leaves nothing to redo.
pub(crate) async fn archive_closed_days(
    env: &CommandEnv,
    project: &Project,
) -> Result<(), PortError> {
    let now = env.clock.now();
    let through = env.state.audit_archived_through(&project.name).await?;
    let days = days_to_archive(project.created_at, through, now);
    if days.is_empty() {
        return Ok(());
    }
    let (links, _) = env.state.audit_chain(&project.name).await?;
    for day in days {
        let notice = format!("audit-archive:{}:{day}", project.name);
        if !env.state.take_notice(&notice, now).await? {
            // Another worker is archiving from here; the next tick goes on after it.
            return Ok(());
        }
        if let Some(lines) = day_lines(&links, day) {
            env.objects
                .put(
                    &archive_key(&project.name, day),
                    lines.into_bytes(),
                    "application/x-ndjson",
                    LINK_VALID,
                )
                .await?;
        }
        env.state
            .set_audit_archived_through(&project.name, day)
            .await?;
        env.state.notice_done(&notice).await?;
    }
    Ok(())
}
