//! `profiles invitations create | create-collaboration | accept | list | revoke | extend`.

use domain::audit::{AuditAction, AuditEvent};
use domain::command::{InvitationCreate, InvitationCreateCollaboration, InvitationType};
use domain::identity::{Permission, Role, may_invite};
use domain::invitation::csv::parse_collaborators;
use domain::invitation::{ExtendRequest, Extender, Invitation, NewInvitation};
use domain::job::{CommandJob, JobKey};
use domain::message::{self, CreatedFromRow, RowProblem, TokensSent};
use domain::ports::{Mail, PortError, SharedFile};
use domain::profile::{Collaborator, Profile, UNSTATED_INSTITUTION, research_username};
use domain::project::Project;
use domain::token::{InvitationId, invitation_token, verify_invitation_token};
use domain::verified_identity::VerifiedIdentity;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member, authorize};
use crate::jobs::expiry::tell_extended;
use crate::jobs::profiles::{new_key_pair, send_private_key};
use crate::state::Updated;

/// The id of the invitation a job creates under `name`: derived from the job, so a re-run
/// of the job finds its own invitation instead of a name clash. Tokens stay unforgeable
/// because they are signed, not because ids are secret.
fn invitation_id(key: &JobKey, name: &str) -> InvitationId {
    let digest = Sha256::digest(format!("invitation:{key}:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    InvitationId::from_bytes(bytes)
}

fn invitation_type(role: Role) -> InvitationType {
    match role {
        Role::Owner => InvitationType::Owner,
        Role::Admin => InvitationType::Admin,
        Role::ReadWrite => InvitationType::ReadWrite,
        Role::ReadOnly => InvitationType::ReadOnly,
    }
}

/// When the project's collaboration ends, if that is planned.
fn collaboration_ends(project: &Project) -> Option<OffsetDateTime> {
    project.collaboration_end.as_ref().map(|plan| plan.ends_at)
}

pub(crate) async fn command_invitation_create(
    env: &CommandEnv,
    job: &CommandJob,
    create: &InvitationCreate,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::Invite).await? else {
        return Ok(());
    };
    let granted = Role::from(create.invitation_type);
    if let Err(refusal) = may_invite(member.profile.role, member.profile.can_invite, granted) {
        let reply = message::invite_refused(&member.project.name, &refusal.to_string());
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    if let Some(name) = &create.launch_account
        && let Err(refusal) = env.accounts.launch_account(name)
    {
        let reply = message::invite_refused(&member.project.name, &refusal.to_string());
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let invitation = Invitation::create(
        create,
        NewInvitation {
            id: invitation_id(&job.key, &create.name),
            project: member.project.name.clone(),
            created_by: job.requester.identity(),
            now: env.clock.now(),
        },
    )
    .ending_by(collaboration_ends(&member.project));
    let inviters = inviters_invitation(env, &member).await?;
    if let Some(reason) = beyond_inviter(inviters.as_ref(), &invitation) {
        let reply = message::invite_refused(&member.project.name, &reason);
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let reply = match store_invitation(env, &member, &invitation).await? {
        Some(token) => message::invitation_created(&invitation, &token, invitation.valid_days()),
        None => message::invitation_name_taken(&member.project.name, &invitation.name),
    };
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The invitation behind the inviter's profile, which bounds every invitation they make;
/// `None` for an owner (bounded by the project alone).
async fn inviters_invitation(
    env: &CommandEnv,
    member: &Member,
) -> Result<Option<Invitation>, PortError> {
    match member.profile.invitation() {
        Some(id) => env.state.invitation(id).await,
        None => Ok(None),
    }
}

/// Why `invitation` grants more than the inviter's own, in one sentence; `None` if it does not.
fn beyond_inviter(inviters: Option<&Invitation>, invitation: &Invitation) -> Option<String> {
    let excess = inviters?.exceeded_by(invitation);
    (!excess.is_empty()).then(|| {
        excess
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Stores a new invitation and returns its token, or `None` if the name is taken.
async fn store_invitation(
    env: &CommandEnv,
    member: &Member,
    invitation: &Invitation,
) -> Result<Option<String>, PortError> {
    if !env.state.create_invitation(invitation).await? {
        return Ok(None);
    }
    env.state
        .audit(
            &member.project.name,
            &AuditEvent {
                action: AuditAction::InvitationCreate,
                who: member.profile.identity.clone(),
                institution: member.profile.institution.clone(),
                resource: invitation.name.clone(),
                outcome: "created".to_owned(),
                detail: Some(format!("role {}", invitation.role)),
                at: invitation.created_at,
            },
        )
        .await?;
    let key = env.state.token_key().await?;
    Ok(Some(invitation_token(&key, invitation.id)))
}

pub(crate) async fn command_invitation_create_collaboration(
    env: &CommandEnv,
    job: &CommandJob,
    create: &InvitationCreateCollaboration,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, create.project.as_deref(), Permission::Invite).await?
    else {
        return Ok(());
    };
    let text = match &create.csv {
        Some(pasted) => pasted.clone(),
        None => match env
            .chat
            .shared_file(&job.reply.channel_id, &create.csv_file)
            .await?
        {
            Some(SharedFile::Text(text)) => text,
            problem => {
                let reason = match problem {
                    Some(SharedFile::TooLarge { bytes }) => format!(
                        "{} is {bytes} bytes, more than a collaborators CSV should be",
                        create.csv_file
                    ),
                    Some(SharedFile::NotText) => format!("{} is not a text file", create.csv_file),
                    Some(SharedFile::ForeignHost { host }) => format!(
                        "{} is stored at {host}, not on the chat platform's file server, so it was not downloaded",
                        create.csv_file
                    ),
                    _ => format!(
                        "no file called {} was shared in this channel, and none was pasted below the command",
                        create.csv_file
                    ),
                };
                let reply = message::csv_refused(&reason);
                return env.answer(&job.reply, &job.requester, &reply).await;
            }
        },
    };
    let rows = match parse_collaborators(&text, &*env.launch.catalog().await?) {
        Ok(rows) => rows,
        Err(error) => {
            let reply = message::csv_refused(&error.to_string());
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
    };
    let now = env.clock.now();
    let inviters = inviters_invitation(env, &member).await?;
    let mut created = Vec::new();
    let mut problems = Vec::new();
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                problems.push(RowProblem {
                    line: error.line,
                    problem: error.problem,
                });
                continue;
            }
        };
        if let Err(refusal) = may_invite(member.profile.role, member.profile.can_invite, row.role) {
            problems.push(RowProblem {
                line: row.line,
                problem: refusal.to_string(),
            });
            continue;
        }
        let command = InvitationCreate {
            name: row.invitation_name.clone(),
            invitation_type: invitation_type(row.role),
            valid_days: row.valid_days,
            can_invite: None,
            device_bound: None,
            max_devices: None,
            restrictions: Some(row.restrictions.clone()),
            require_verified_identity: false,
            require_domain: None,
            launch_account: None,
            institution: None,
        };
        let mut invitation = Invitation::create(
            &command,
            NewInvitation {
                id: invitation_id(&job.key, &row.invitation_name),
                project: member.project.name.clone(),
                created_by: job.requester.identity(),
                now,
            },
        )
        .ending_by(collaboration_ends(&member.project));
        invitation.institution = Some(row.institution.clone());
        invitation.invitee = Some(row.name.clone());
        if let Some(reason) = beyond_inviter(inviters.as_ref(), &invitation) {
            problems.push(RowProblem {
                line: row.line,
                problem: reason,
            });
            continue;
        }
        match store_invitation(env, &member, &invitation).await? {
            Some(token) => {
                let valid_days = invitation.valid_days();
                created.push((invitation, token, valid_days, row.line, row.email))
            }
            None => problems.push(RowProblem {
                line: row.line,
                problem: format!(
                    "project {} already has an invitation called {}",
                    member.project.name, row.invitation_name
                ),
            }),
        }
    }
    let rows: Vec<CreatedFromRow<'_>> = created
        .iter()
        .map(|(invitation, token, valid_days, _, email)| CreatedFromRow {
            invitation,
            token: token.clone(),
            valid_days: *valid_days,
            email: email.clone(),
        })
        .collect();
    let mut mailed = 0;
    let mut unmailed = Vec::new();
    for ((_, _, _, line, _), row) in created.iter().zip(&rows) {
        match mail_invitation(env, job, &member, row).await? {
            Mailed::Sent => mailed += 1,
            Mailed::Skipped => {}
            Mailed::Refused(problem) => unmailed.push(RowProblem {
                line: *line,
                problem,
            }),
        }
    }
    // The file first: the reply never names a file that did not arrive.
    let file = match &create.output {
        Some(name) if !rows.is_empty() => {
            let file = message::invitations_file(name, &member.project.name, &rows);
            env.chat
                .send_direct_file(&job.requester.user_id, &file)
                .await?;
            Some(name.as_str())
        }
        _ => None,
    };
    let sent = TokensSent {
        file,
        mailed,
        unmailed: &unmailed,
    };
    let reply = message::invitations_created(&member.project.name, &rows, &problems, &sent);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// What became of one invitee's invitation e-mail.
enum Mailed {
    /// Sent now, or by an earlier run of the same request.
    Sent,
    /// No address in the CSV, or another run is sending it right now.
    Skipped,
    /// The mail server refused it; the reason, for the inviter's reply.
    Refused(String),
}

/// Sends the invitation e-mail of `row` once per invitation, however often the job runs:
/// the notice `invitation-mail:{id}` is taken before sending and marked done after.
async fn mail_invitation(
    env: &CommandEnv,
    job: &CommandJob,
    member: &Member,
    row: &CreatedFromRow<'_>,
) -> Result<Mailed, PortError> {
    let Some(to) = &row.email else {
        return Ok(Mailed::Skipped);
    };
    let notice = format!("invitation-mail:{}", row.invitation.id);
    if env.state.notice_sent(&notice).await? {
        return Ok(Mailed::Sent);
    }
    if !env.state.take_notice(&notice, env.clock.now()).await? {
        return Ok(Mailed::Skipped);
    }
    let text = message::invitation_mail(
        row.invitation,
        &row.token,
        &job.requester.user_name,
        &member.profile.institution,
    );
    let mail = Mail {
        to: to.clone(),
        subject: text.subject,
        body: text.body,
    };
    match env.launch.mailer.send(&mail).await {
        Ok(()) => {
            env.state.notice_done(&notice).await?;
            Ok(Mailed::Sent)
        }
        Err(PortError::Rejected { message, .. }) => Ok(Mailed::Refused(format!(
            "the invitation e-mail to {to} was not sent: {message}"
        ))),
        Err(error) => Err(error),
    }
}

pub(crate) async fn command_invitation_accept(
    env: &CommandEnv,
    job: &CommandJob,
    token: &str,
    profile_name: &str,
) -> Result<(), PortError> {
    let requester = &job.requester;
    let identity = requester.identity();
    let now = env.clock.now();
    let refuse = |reason: String| async move {
        let reply = message::invitation_refused(&reason);
        env.answer(&job.reply, requester, &reply).await
    };
    let key = env.state.token_key().await?;
    let id = match verify_invitation_token(&key, token) {
        Ok(id) => id,
        Err(error) => return refuse(error.to_string()).await,
    };
    let Some(invitation) = env.state.invitation(id).await? else {
        return refuse("this invitation no longer exists".to_owned()).await;
    };
    let Some(project) = env.state.project(&invitation.project).await? else {
        return refuse(format!("project {} no longer exists", invitation.project)).await;
    };
    if let Some(existing) = env.state.member_profile(&project.name, &identity).await?
        && existing.invitation() != Some(id)
    {
        let reply = message::already_member(&existing);
        return env.answer(&job.reply, requester, &reply).await;
    }
    let verified = env.state.verified_identity(&identity).await?;
    let invitation = match env
        .state
        .update_invitation(id, |current| {
            current.accepted_by(&identity, verified.as_ref(), now)
        })
        .await?
    {
        Updated::Done(_) => env.state.invitation(id).await?.unwrap_or(invitation),
        Updated::Refused(refusal) => {
            env.state
                .audit(
                    &project.name,
                    &AuditEvent {
                        action: AuditAction::InvitationAccept,
                        who: identity.clone(),
                        institution: invitation.institution.clone().unwrap_or_default(),
                        resource: invitation.name.clone(),
                        outcome: "refused".to_owned(),
                        detail: Some(refusal.to_string()),
                        at: now,
                    },
                )
                .await?;
            return refuse(refusal.to_string()).await;
        }
        Updated::Missing => return refuse("this invitation no longer exists".to_owned()).await,
    };
    let collaborator = Collaborator::Invitation(id);
    // The institutional login names the research user when there is one (seed 002), then the
    // inviter's name for the invitee, then the chat name.
    let hint = verified
        .as_ref()
        .map(|verified| verified.login_name().to_owned())
        .or_else(|| invitation.invitee.clone())
        .unwrap_or_else(|| requester.user_name.clone());
    let user = env
        .state
        .research_user_or_create(
            &collaborator,
            &project.account,
            &research_username(&hint),
            || new_key_pair(&hint),
        )
        .await?;
    let profile = Profile {
        name: profile_name.to_owned(),
        identity: identity.clone(),
        project: project.name.clone(),
        collaborator,
        role: invitation.role,
        can_invite: invitation.can_invite,
        // A verified institution outranks what the inviter said; the chat workspace, which
        // everyone in it shares, says nothing.
        institution: verified
            .as_ref()
            .map(VerifiedIdentity::institution)
            .or_else(|| invitation.institution.clone())
            .unwrap_or_else(|| UNSTATED_INSTITUTION.to_owned()),
        research_user: user,
        created_at: now,
        expires_at: Some(invitation.expires_at),
        verified_identity: verified,
    };
    let profile = match env.state.create_profile(&profile).await? {
        Ok(()) => profile,
        Err(existing) if existing.invitation() == Some(id) => existing,
        Err(existing) => {
            let reply = message::profile_name_taken(&existing);
            return env.answer(&job.reply, requester, &reply).await;
        }
    };
    let active = env.state.activate_if_none(&identity, &profile.name).await?;
    let key_sent = send_private_key(env, &profile, &requester.user_id).await?;
    env.state
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::InvitationAccept,
                who: identity.clone(),
                institution: profile.institution.clone(),
                resource: invitation.name.clone(),
                outcome: "accepted".to_owned(),
                detail: Some(format!(
                    "device {} of {}",
                    invitation.devices.len(),
                    invitation.max_devices
                )),
                at: now,
            },
        )
        .await?;
    let reply = message::profile_created(&profile, &project, now, &key_sent, active);
    env.answer(&job.reply, requester, &reply).await
}

pub(crate) async fn command_invitation_list(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::Invite).await? else {
        return Ok(());
    };
    let invitations = env.state.invitations(&member.project.name).await?;
    let reply = message::invitation_list(&member.project.name, &invitations, env.clock.now());
    env.answer(&job.reply, &job.requester, &reply).await
}

pub(crate) async fn command_invitation_revoke(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::RevokeInvitations).await? else {
        return Ok(());
    };
    let project = &member.project.name;
    let now = env.clock.now();
    let Some(invitation) = env.state.invitation_named(project, name).await? else {
        let reply = message::invitation_unknown(project, name);
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let revoked = env
        .state
        .update_invitation(invitation.id, |current| {
            let mut revoked = current.clone();
            revoked.revoked_at.get_or_insert(now);
            Ok::<_, ()>((revoked.clone(), revoked))
        })
        .await?;
    let Updated::Done(revoked) = revoked else {
        let reply = message::invitation_unknown(project, name);
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    env.state
        .audit(
            project,
            &AuditEvent {
                action: AuditAction::InvitationRevoke,
                who: member.profile.identity.clone(),
                institution: member.profile.institution.clone(),
                resource: revoked.name.clone(),
                outcome: "revoked".to_owned(),
                detail: None,
                at: now,
            },
        )
        .await?;
    let reply = message::invitation_revoked(&revoked);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `profiles invitations extend NAME --valid-days DAYS`: the invitation's end moves `days`
/// later than it is now; the expiry schedule re-plans for the new end, and its collaborator is
/// told by DM and e-mail.
pub(crate) async fn command_invitation_extend(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
    days: u16,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::ExtendInvitations).await? else {
        return Ok(());
    };
    let project = &member.project;
    let Some(invitation) = env.state.invitation_named(&project.name, name).await? else {
        let reply = message::invitation_unknown(&project.name, name);
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let now = env.clock.now();
    let request = job.key.to_string();
    let ask = ExtendRequest {
        request: &request,
        by: Extender {
            identity: &member.profile.identity,
            role: member.profile.role,
            invitation: member.invitation.as_ref(),
        },
        days,
        collaboration_ends: collaboration_ends(project),
        now,
    };
    let audit = |outcome: &str, detail: String| AuditEvent {
        action: AuditAction::InvitationExtend,
        who: member.profile.identity.clone(),
        institution: member.profile.institution.clone(),
        resource: invitation.name.clone(),
        outcome: outcome.to_owned(),
        detail: Some(detail),
        at: now,
    };
    let extension = match env
        .state
        .update_invitation(invitation.id, |current| current.extended(&ask))
        .await?
    {
        Updated::Done(extension) => extension,
        Updated::Refused(refusal) => {
            let reason = refusal.to_string();
            env.state
                .audit(&project.name, &audit("refused", reason.clone()))
                .await?;
            let reply = message::extend_refused(&project.name, name, &reason);
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
        Updated::Missing => {
            let reply = message::invitation_unknown(&project.name, name);
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
    };
    let detail = format!(
        "from {} to {}",
        domain::time_text::date(extension.from),
        domain::time_text::date(extension.to)
    );
    env.state
        .audit(&project.name, &audit("extended", detail))
        .await?;
    let extended = env
        .state
        .invitation(invitation.id)
        .await?
        .unwrap_or(invitation);
    let told = tell_extended(env, project, &extended, &extension).await?;
    let reply = message::invitation_extended(&extended, &extension, told);
    env.answer(&job.reply, &job.requester, &reply).await
}
