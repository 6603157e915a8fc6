//! `profiles use` and `profiles list`, and the research user's SSH key that only a direct
//! message ever carries.

use domain::audit::{AuditAction, AuditEvent};
use domain::identity::{ChatIdentity, Permission};
use domain::job::CommandJob;
use domain::message::{self, ChatMessage, ListedProfile};
use domain::ports::PortError;
use domain::profile::{KeyDelivery, Profile};

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, authorize};
use crate::keys::generate_ssh_key_pair;
use crate::state::KeyPair;

pub(crate) fn new_key_pair(comment: &str) -> Result<KeyPair, PortError> {
    let pair = generate_ssh_key_pair(comment).map_err(|e| PortError::Rejected {
        code: "SshKeyGeneration".to_owned(),
        message: e.to_string(),
    })?;
    Ok(KeyPair {
        public: pair.public_openssh,
        private: pair.private_openssh,
    })
}

/// Sends the profile's private key by direct message if it is still waiting, then forgets it.
/// A message the chat refuses for good forgets it too: the key is kept nowhere but in that
/// message, and the caller's reply tells the person it did not arrive. A transient failure is
/// retried with the job, the key still waiting (for an hour at most).
pub(crate) async fn send_private_key(
    env: &CommandEnv,
    profile: &Profile,
    user_id: &str,
) -> Result<KeyDelivery, PortError> {
    let Some(private_key) = env
        .state
        .pending_private_key(&profile.collaborator, &profile.research_user)
        .await?
    else {
        return Ok(KeyDelivery::NotPending);
    };
    let delivery = match env
        .chat
        .post_direct(user_id, &message::ssh_private_key(profile, &private_key))
        .await
    {
        Ok(()) => KeyDelivery::Sent,
        Err(PortError::Rejected { code, .. }) => {
            tracing::warn!(user_id, %code, "the SSH private key could not be delivered; deleted");
            KeyDelivery::Undelivered(code)
        }
        Err(transient) => return Err(transient),
    };
    env.state.forget_private_key(&profile.collaborator).await?;
    Ok(delivery)
}

pub(crate) async fn command_profiles_use(
    env: &CommandEnv,
    job: &CommandJob,
    name: &str,
) -> Result<(), PortError> {
    let identity = job.requester.identity();
    let reply = match env.state.profile(&identity, name).await? {
        Some(profile) => {
            // An ended invitation's profile is refused (and the attempt audited) like any
            // command from it.
            let Some(member) =
                authorize(env, job, Some(profile.project.as_str()), Permission::View).await?
            else {
                return Ok(());
            };
            // The invitation's end, which `collaboration end` may have brought forward.
            let profile = Profile {
                expires_at: member
                    .invitation
                    .as_ref()
                    .map(|invitation| invitation.expires_at),
                ..profile
            };
            env.state
                .set_active_profile(&identity, &profile.name)
                .await?;
            let now = env.clock.now();
            env.state
                .audit(
                    &profile.project,
                    &AuditEvent {
                        action: AuditAction::ProfileSwitch,
                        who: identity.clone(),
                        institution: profile.institution.clone(),
                        resource: profile.name.clone(),
                        outcome: "switched".to_owned(),
                        detail: None,
                        at: now,
                    },
                )
                .await?;
            message::profile_switched(&profile, now)
        }
        None => profile_unknown(env, &identity, name).await?,
    };
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The answer to naming a profile the person does not have: the ones they do.
pub(crate) async fn profile_unknown(
    env: &CommandEnv,
    identity: &ChatIdentity,
    name: &str,
) -> Result<ChatMessage, PortError> {
    let names: Vec<String> = env
        .state
        .profiles(identity)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    Ok(message::profile_unknown(name, &names))
}

pub(crate) async fn command_profiles_list(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let identity = job.requester.identity();
    let now = env.clock.now();
    let profiles = env.state.profiles(&identity).await?;
    let active = env.state.active_profile_name(&identity).await?;
    let mut statuses = Vec::new();
    for profile in &profiles {
        let status = match profile.invitation() {
            Some(id) => env.state.invitation(id).await?.map(|i| i.status(now)),
            None => None,
        };
        statuses.push(status);
    }
    let listed: Vec<ListedProfile<'_>> = profiles
        .iter()
        .zip(statuses)
        .map(|(profile, invitation)| ListedProfile {
            profile,
            active: active.as_deref() == Some(profile.name.as_str()),
            invitation,
        })
        .collect();
    let reply = message::profiles_list(&listed, now);
    env.answer(&job.reply, &job.requester, &reply).await
}
