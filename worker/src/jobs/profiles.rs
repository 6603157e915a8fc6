//! `profiles use` (a profile's name, or for an owner their project's AWS account) and
//! `profiles list`, and the research user's SSH key: the generated one that only a direct
//! message ever carries, the person's own (`ssh-key add`), a new pair (`ssh-key rotate`), put
//! on their running workspaces through SSM Run Command.

use domain::audit::{AuditAction, AuditEvent};
use domain::identity::{ChatIdentity, Permission};
use domain::job::CommandJob;
use domain::message::{self, ChatMessage, KeyReplacement, ListedProfile};
use domain::ports::{InstanceState, PortError, ScriptOutcome};
use domain::profile::{KeyDelivery, Profile, ResearchUser};
use domain::ssh_key::{PublicSshKey, replace_key_script};

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member, authorize};
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
    if let Some(profile) = env.state.profile(&identity, name).await? {
        return switch_to(env, job, profile, None).await;
    }
    // The seed's `cws profile use stanford-neuroscience`: an owner names their own profile by
    // the AWS account their project runs in.
    if let Some(profile) = own_profile_in_account(env, &identity, name).await? {
        return switch_to(env, job, profile, Some(name)).await;
    }
    let reply = if name.eq_ignore_ascii_case(&env.default_account) {
        message::account_has_no_project(&env.default_account)
    } else {
        profile_unknown(env, &identity, name).await?
    };
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The person's own (owner) profile whose project runs in the AWS account named `account`;
/// the newest when they own several there.
async fn own_profile_in_account(
    env: &CommandEnv,
    identity: &ChatIdentity,
    account: &str,
) -> Result<Option<Profile>, PortError> {
    let mut found: Option<Profile> = None;
    for profile in env.state.profiles(identity).await? {
        if profile.invitation().is_some() {
            continue;
        }
        let in_account = env
            .state
            .project(&profile.project)
            .await?
            .is_some_and(|project| project.account.eq_ignore_ascii_case(account));
        if in_account
            && found
                .as_ref()
                .is_none_or(|f| f.created_at < profile.created_at)
        {
            found = Some(profile);
        }
    }
    Ok(found)
}

/// Makes `profile` the active one if it still grants access, audits the switch, and answers;
/// `account` when the person named it by its project's AWS account.
async fn switch_to(
    env: &CommandEnv,
    job: &CommandJob,
    profile: Profile,
    account: Option<&str>,
) -> Result<(), PortError> {
    let identity = job.requester.identity();
    // An ended invitation's profile is refused (and the attempt audited) like any command
    // from it.
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
                detail: account.map(|account| format!("named by its account {account}")),
                at: now,
            },
        )
        .await?;
    let reply = match account {
        Some(account) => message::account_profile_switched(&profile, account, now),
        None => message::profile_switched(&profile, now),
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
    let active = env.state.active_profile_name(&identity).await?;
    let mut profiles = Vec::new();
    let mut statuses = Vec::new();
    let mut accounts = Vec::new();
    for profile in env.state.profiles(&identity).await? {
        let invitation = match profile.invitation() {
            Some(id) => env.state.invitation(id).await?,
            None => None,
        };
        statuses.push(invitation.as_ref().map(|i| i.status(now)));
        // An owner's profile is their personal one, in their project's AWS account.
        accounts.push(match profile.invitation() {
            Some(_) => None,
            None => env
                .state
                .project(&profile.project)
                .await?
                .map(|project| project.account),
        });
        // The invitation's end as it is now: an extension or `collaboration end` moves it
        // after the profile was made.
        profiles.push(Profile {
            expires_at: invitation.map_or(profile.expires_at, |i| Some(i.expires_at)),
            ..profile
        });
    }
    let listed: Vec<ListedProfile<'_>> = profiles
        .iter()
        .zip(statuses)
        .zip(&accounts)
        .map(|((profile, invitation), account)| ListedProfile {
            profile,
            active: active.as_deref() == Some(profile.name.as_str()),
            invitation,
            account: account.as_deref(),
        })
        .collect();
    let reply = message::profiles_list(&listed, now);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `profiles ssh-key add KEY`: the person's own public key becomes their research user's.
pub(crate) async fn command_ssh_key_add(
    env: &CommandEnv,
    job: &CommandJob,
    key: &PublicSshKey,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::View).await? else {
        return Ok(());
    };
    let line = key.authorized_line(&member.profile.research_user.username);
    replace_key(env, job, &member, &line, None, Some(key.algorithm())).await
}

/// `profiles ssh-key rotate`: a new pair replaces the research user's key, the private half
/// going by direct message as the first one did.
pub(crate) async fn command_ssh_key_rotate(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::View).await? else {
        return Ok(());
    };
    let pair = new_key_pair(&format!("{}@cws", member.profile.research_user.username))?;
    replace_key(env, job, &member, &pair.public, Some(&pair.private), None).await
}

/// Stores the new key, puts it in place of the retired ones on every running workspace of the
/// research user, audits, sends a new private key, and answers with what happened where.
async fn replace_key(
    env: &CommandEnv,
    job: &CommandJob,
    member: &Member,
    line: &str,
    private: Option<&str>,
    own_key: Option<&str>,
) -> Result<(), PortError> {
    let Some(user) = env
        .state
        .replace_ssh_key(&member.profile.collaborator, line, private)
        .await?
    else {
        return Err(PortError::Rejected {
            code: "NoResearchUser".to_owned(),
            message: format!("profile {} has no research user", member.profile.name),
        });
    };
    let replacement = put_key_on_workspaces(env, member, &user).await?;
    env.state
        .audit(
            &member.project.name,
            &AuditEvent {
                action: AuditAction::SshKey,
                who: job.requester.identity(),
                institution: member.profile.institution.clone(),
                resource: user.username.clone(),
                outcome: if own_key.is_some() {
                    "registered"
                } else {
                    "rotated"
                }
                .to_owned(),
                detail: Some(format!(
                    "{} retired key(s); replaced on: {}",
                    user.retired_keys.len(),
                    replacement.replaced.join(", ")
                )),
                at: env.clock.now(),
            },
        )
        .await?;
    let profile = Profile {
        research_user: user,
        ..member.profile.clone()
    };
    let delivery = match private {
        Some(_) => send_private_key(env, &profile, &job.requester.user_id).await?,
        None => KeyDelivery::NotPending,
    };
    let reply = message::ssh_key_replaced(&profile, own_key, &replacement, &delivery);
    env.answer(&job.reply, &job.requester, &reply).await
}

/// Runs the key replacement on each running workspace of `user` in the member's project.
/// A workspace that cannot take it is reported, not retried: the person runs the command
/// again, and the key is stored either way.
async fn put_key_on_workspaces(
    env: &CommandEnv,
    member: &Member,
    user: &ResearchUser,
) -> Result<KeyReplacement, PortError> {
    let script = replace_key_script(user).ok_or_else(|| PortError::Rejected {
        code: "InvalidResearchUser".to_owned(),
        message: format!(
            "research user {} cannot be written to a script",
            user.username
        ),
    })?;
    let mut replacement = KeyReplacement::default();
    // A workspace that takes no commands takes no SSH key either: it is not reached by SSH.
    let workspaces = env.launch.store.all().await?.into_iter().filter(|w| {
        w.attribution.project == member.project.name
            && w.attribution.user == user.username
            && w.state != InstanceState::Terminated
            && w.platform.no_commands().is_none()
    });
    for workspace in workspaces {
        let running = env
            .launch
            .live(&workspace)
            .await?
            .is_some_and(|live| live.state == InstanceState::Running);
        if !running {
            replacement.not_running.push(workspace.name);
            continue;
        }
        let comment = format!(
            "cws profiles ssh-key: {} on {}",
            user.username, workspace.name
        );
        let run = async {
            env.launch
                .commands_of(&workspace)
                .await?
                .run_script(&workspace.instance_id, &comment, &script)
                .await
        };
        match run.await {
            Ok(run) => match run.outcome {
                ScriptOutcome::Succeeded => replacement.replaced.push(workspace.name),
                ScriptOutcome::Failed { status, .. } => replacement.failed.push((
                    workspace.name,
                    format!("{status}, command {}", run.command_id),
                )),
            },
            Err(error) => replacement.failed.push((workspace.name, error.to_string())),
        }
    }
    Ok(replacement)
}
