//! Who is acting, in which project, and whether they may: the first step of every handler.
//!
//! [`authorize`] is the only way to get a [`Member`]; handlers that need permission take one,
//! so the check cannot be forgotten. Refusals are answered to the person and audited here, and
//! so is every request a member is let through with: the audit trail names each command run
//! in a project.

use domain::audit::{AuditAction, AuditEvent};
use domain::identity::Permission;
use domain::invitation::{Invitation, InvitationStatus};
use domain::job::{ActionJob, CommandJob, JobKey, LaunchJob, ReplyTo, Requester};
use domain::message::{self, ChatMessage};
use domain::ports::PortError;
use domain::ports::{Chat, Clock};
use domain::profile::Profile;
use domain::project::Project;
use domain::token::verify_button_value;

use crate::state::State;

/// What the access check, and every handler's replies, need from a job's environment.
pub(crate) trait Context {
    fn chat(&self) -> &dyn Chat;
    fn state(&self) -> &State;
    fn clock(&self) -> &dyn Clock;

    /// A reply only the person who asked sees.
    async fn answer(
        &self,
        reply: &ReplyTo,
        requester: &Requester,
        message: &ChatMessage,
    ) -> Result<(), PortError> {
        self.chat()
            .post_ephemeral(reply, &requester.user_id, message)
            .await
    }

    /// What a signed button value names after `prefix` (`terminate:mit-dev` → `mit-dev`);
    /// `None`, with the clicker told so, when the value was not signed by us for that button.
    async fn button_names(
        &self,
        reply: &ReplyTo,
        requester: &Requester,
        signed: &str,
        prefix: &str,
    ) -> Result<Option<String>, PortError> {
        let key = self.state().token_key().await?;
        match verify_button_value(&key, signed)
            .ok()
            .and_then(|value| value.strip_prefix(prefix))
        {
            Some(name) => Ok(Some(name.to_owned())),
            None => {
                self.answer(reply, requester, &message::button_invalid())
                    .await?;
                Ok(None)
            }
        }
    }
}

/// A request someone made in chat: who, where the answer goes, and what they asked for.
pub(crate) trait Request {
    fn requester(&self) -> &Requester;
    fn reply(&self) -> &ReplyTo;
    fn key(&self) -> &JobKey;
    /// What the audit trail calls the request: the command's name, or the button's.
    fn what(&self) -> &str;
}

impl Request for CommandJob {
    fn requester(&self) -> &Requester {
        &self.requester
    }
    fn reply(&self) -> &ReplyTo {
        &self.reply
    }
    fn key(&self) -> &JobKey {
        &self.key
    }
    fn what(&self) -> &str {
        self.command.name()
    }
}

impl Request for LaunchJob {
    fn requester(&self) -> &Requester {
        &self.requester
    }
    fn reply(&self) -> &ReplyTo {
        &self.reply
    }
    fn key(&self) -> &JobKey {
        &self.key
    }
    fn what(&self) -> &str {
        "launch"
    }
}

impl Request for ActionJob {
    fn requester(&self) -> &Requester {
        &self.requester
    }
    fn reply(&self) -> &ReplyTo {
        &self.reply
    }
    fn key(&self) -> &JobKey {
        &self.key
    }
    fn what(&self) -> &str {
        self.action.name()
    }
}

/// Audits what `member` did to `resource` through `request`.
pub(crate) async fn audit_member(
    env: &impl Context,
    request: &impl Request,
    member: &Member,
    resource: &str,
    action: AuditAction,
    outcome: &str,
    detail: String,
) -> Result<(), PortError> {
    env.state()
        .audit(
            &member.project.name,
            &AuditEvent {
                action,
                who: request.requester().identity(),
                institution: member.profile.institution.clone(),
                resource: resource.to_owned(),
                outcome: outcome.to_owned(),
                detail: Some(detail),
                at: env.clock().now(),
            },
        )
        .await
}

/// A member who passed the permission check for one action.
pub(crate) struct Member {
    pub profile: Profile,
    pub project: Project,
    /// The invitation behind the profile; `None` for the project's owner.
    pub invitation: Option<Invitation>,
}

impl Member {
    /// The institution whose grants (shared volumes) the member holds: the owner's is the
    /// project's; a collaborator's is what their invitation says, or else what their verified
    /// identity says. What the inviter decided outranks who the person turns out to be, and
    /// the chat workspace decides nothing.
    pub fn grant_institution(&self) -> String {
        match &self.invitation {
            None => self.project.institution.clone(),
            Some(invitation) => invitation.institution.clone().unwrap_or_else(|| {
                self.profile
                    .verified_identity
                    .as_ref()
                    .map_or_else(String::new, |verified| verified.institution())
            }),
        }
    }
}

/// Resolves the caller's profile (the one for `project` if named, else the active one),
/// checks that it still grants access and that its role allows `permission`. On refusal the
/// caller is told why, the attempt is audited, and `None` comes back; a member let through is
/// audited as running the request in the project.
pub(crate) async fn authorize(
    env: &impl Context,
    request: &impl Request,
    project: Option<&str>,
    permission: Permission,
) -> Result<Option<Member>, PortError> {
    let (requester, reply) = (request.requester(), request.reply());
    let identity = requester.identity();
    let refuse = |message| async move { env.answer(reply, requester, &message).await };
    let profile = match project {
        Some(project) => env.state().member_profile(project, &identity).await?,
        None => env.state().active_profile(&identity).await?,
    };
    let Some(profile) = profile else {
        match project {
            Some(project) => refuse(message::not_member(project)).await?,
            None => refuse(message::no_profile(permission.describe())).await?,
        }
        return Ok(None);
    };
    let Some(project) = env.state().project(&profile.project).await? else {
        refuse(message::not_member(&profile.project)).await?;
        return Ok(None);
    };
    let invitation = match profile.invitation() {
        Some(id) => env.state().invitation(id).await?,
        None => None,
    };
    let now = env.clock().now();
    let inactive = match (&profile.invitation(), &invitation) {
        (Some(_), None) => Some("its invitation no longer exists".to_owned()),
        (_, Some(invitation)) => match invitation.status(now) {
            InvitationStatus::Active => None,
            InvitationStatus::Revoked { at } => Some(format!(
                "its invitation was revoked on {}",
                domain::time_text::date(at)
            )),
            InvitationStatus::Expired { at } => Some(format!(
                "its invitation expired on {}",
                domain::time_text::date(at)
            )),
        },
        (None, None) => None,
    };
    if let Some(reason) = inactive {
        env.state()
            .audit(
                &project.name,
                &refused_event(requester, &profile, permission, &reason, now),
            )
            .await?;
        refuse(message::profile_inactive(&profile, &project, &reason)).await?;
        return Ok(None);
    }
    if !profile.role.may(permission) {
        env.state()
            .audit(
                &project.name,
                &refused_event(
                    requester,
                    &profile,
                    permission,
                    "role does not allow it",
                    now,
                ),
            )
            .await?;
        refuse(message::not_permitted(profile.role, permission, &project)).await?;
        return Ok(None);
    }
    if !project.grants(permission) {
        env.state()
            .audit(
                &project.name,
                &refused_event(
                    requester,
                    &profile,
                    permission,
                    "the project is archived",
                    now,
                ),
            )
            .await?;
        refuse(message::project_archived_refused(
            &project,
            permission.describe(),
        ))
        .await?;
        return Ok(None);
    }
    env.state()
        .audit(
            &project.name,
            &AuditEvent {
                action: AuditAction::Command,
                who: identity,
                institution: profile.institution.clone(),
                resource: request.what().to_owned(),
                outcome: "allowed".to_owned(),
                // The request's key tells a retried attempt from a second request.
                detail: Some(format!("as {}, request {}", profile.role, request.key())),
                at: now,
            },
        )
        .await?;
    Ok(Some(Member {
        profile,
        project,
        invitation,
    }))
}

fn refused_event(
    requester: &Requester,
    profile: &Profile,
    permission: Permission,
    reason: &str,
    at: time::OffsetDateTime,
) -> AuditEvent {
    AuditEvent {
        action: AuditAction::Refused,
        who: requester.identity(),
        institution: profile.institution.clone(),
        resource: profile.project.clone(),
        outcome: "refused".to_owned(),
        detail: Some(format!(
            "{} as {}: {reason}",
            permission.describe(),
            profile.role
        )),
        at,
    }
}
