//! `profiles verify` and the identity provider's callback: the person signs in with their home
//! institution through Globus Auth, and the verified identity lands on their profiles.
//!
//! The command leaves the PKCE verifier, nonce and the provider's authorization URL in the
//! store under a random `state` for 10 minutes and answers with a link to the bot's
//! confirmation page for that `state`, which names the chat account the login will be bound to
//! and goes on to the provider only when the person presses Continue. The bot turns the
//! provider's redirect into a [`VerificationCallbackJob`] (only for a `state` that is pending),
//! which takes that record once (GETDEL), so any worker can finish any verification and no
//! `state` works twice.

use std::sync::{Arc, Mutex};

use apalis_core::error::AbortError;
use apalis_core::task::data::Data;
use apalis_core::task::task_id::TaskId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::audit::{AuditAction, AuditEvent};
use domain::identity::ChatIdentity;
use domain::job::{CommandJob, JobKind, ProviderAnswer, Requester, VerificationCallbackJob};
use domain::message;
use domain::ports::{AuthorizationRequest, PortError};
use domain::verified_identity::{
    PendingVerification, VERIFICATION_WINDOW, VerificationFailure, VerifiedIdentity, start_link,
};

use crate::jobs::access::Context;
use crate::jobs::ops_channel::OpsChannel;
use crate::jobs::{CommandEnv, dead_letter, with_retries};
use crate::state::random_bytes;

/// The deployment's own audit chain, for verification attempts nobody can be named for (an
/// unknown `state`). Not a valid project name, so no project's chain is mixed into it.
pub(crate) const IDENTITY_AUDIT_CHAIN: &str = "~identity";

/// What the provider redirects to: the OAuth `error` a person cancelling produces.
const ACCESS_DENIED: &str = "access_denied";

/// 32 random bytes as URL-safe text: `state`, nonce and PKCE verifier (43 characters, inside
/// PKCE's 43-128).
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub(crate) async fn command_profiles_verify(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let Some(provider) = &env.identity_provider else {
        let reply = message::verification_failed(&VerificationFailure::NotConfigured);
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let (state, pkce_verifier, nonce) = (random_token(), random_token(), random_token());
    let request = AuthorizationRequest {
        state: &state,
        nonce: &nonce,
        pkce_verifier: &pkce_verifier,
    };
    let reply = match provider.authorization_url(&request).await {
        Ok(authorization_url) => {
            let pending = PendingVerification {
                requester: job.requester.clone(),
                pkce_verifier,
                nonce,
                authorization_url,
                expires_at: env.clock.now() + VERIFICATION_WINDOW,
            };
            env.state.start_verification(&state, &pending).await?;
            message::verification_link(&start_link(&env.public_url, &state))
        }
        Err(failure) => message::verification_failed(&failure),
    };
    env.answer(&job.reply, &job.requester, &reply).await
}

/// Three steps, so that a retry never repeats one that cannot be repeated: taking the pending
/// record (retried), the code exchange (once: a code works once), and recording and telling
/// the outcome (retried).
pub(crate) async fn job_verification_callback(
    job: VerificationCallbackJob,
    env: Data<Arc<CommandEnv>>,
    dead_letters: Data<Arc<OpsChannel>>,
    id: Option<TaskId>,
) -> Result<(), AbortError> {
    let env = &**env;
    let run = verify(env, &job);
    let result = env
        .launch
        .metrics
        .observe(VerificationCallbackJob::NAME, job.key.as_str(), run)
        .await;
    dead_letters
        .announced(VerificationCallbackJob::NAME, &job.key, id, result)
        .await
}

async fn verify(env: &CommandEnv, job: &VerificationCallbackJob) -> Result<(), AbortError> {
    let taken = Mutex::new(None);
    with_retries(&job.key, &env.backoff, || async {
        let pending = env.state.take_verification(&job.state).await?;
        if let Some(pending) = &pending {
            env.state
                .mark_verification_used(&job.state, &pending.requester)
                .await?;
        }
        *taken.lock().expect("taken lock") = Some(pending);
        Ok(())
    })
    .await
    .map_err(|gave_up| dead_letter(&job.key, gave_up))?;
    let pending = taken.into_inner().expect("taken lock").flatten();
    let outcome = match &pending {
        Some(pending) => Some(outcome(env, job, pending).await),
        None => None,
    };
    with_retries(&job.key, &env.backoff, || async {
        match (&pending, &outcome) {
            (Some(pending), Some(outcome)) => record(env, &pending.requester, outcome).await,
            _ => unknown_state(env, job).await,
        }
    })
    .await
    .map_err(|gave_up| dead_letter(&job.key, gave_up))
}

/// What the provider's answer proves, if anything.
async fn outcome(
    env: &CommandEnv,
    job: &VerificationCallbackJob,
    pending: &PendingVerification,
) -> Result<VerifiedIdentity, VerificationFailure> {
    let now = env.clock.now();
    match (&job.answer, &env.identity_provider) {
        _ if pending.is_expired(now) => Err(VerificationFailure::UnknownState),
        (ProviderAnswer::Error { error, .. }, _) if error == ACCESS_DENIED => {
            Err(VerificationFailure::Cancelled)
        }
        (ProviderAnswer::Error { error, .. }, _) => {
            Err(VerificationFailure::Refused(error.clone()))
        }
        (ProviderAnswer::Code(_), None) => Err(VerificationFailure::NotConfigured),
        (ProviderAnswer::Code(code), Some(provider)) => {
            provider
                .verify(code, &pending.pkce_verifier, &pending.nonce, now)
                .await
        }
    }
}

/// Stores a verified identity (nothing on failure), audits the attempt, and tells the person.
async fn record(
    env: &CommandEnv,
    requester: &Requester,
    outcome: &Result<VerifiedIdentity, VerificationFailure>,
) -> Result<(), PortError> {
    let reply = match outcome {
        Ok(verified) => {
            env.state
                .set_verified_identity(&requester.identity(), verified)
                .await?;
            audit(env, Some(requester), "verified", Some(described(verified))).await?;
            message::identity_verified(verified)
        }
        Err(failure) => {
            audit(env, Some(requester), "refused", Some(failure.to_string())).await?;
            message::verification_failed(failure)
        }
    };
    env.chat.post_direct(&requester.user_id, &reply).await
}

/// A `state` with no pending verification: unknown, expired or replayed. Only a replay of a
/// used one names someone to tell.
async fn unknown_state(env: &CommandEnv, job: &VerificationCallbackJob) -> Result<(), PortError> {
    let used_by = env.state.verification_used_by(&job.state).await?;
    let failure = VerificationFailure::UnknownState;
    audit(env, used_by.as_ref(), "refused", Some(failure.to_string())).await?;
    tracing::warn!(job = %job.key, replay = used_by.is_some(), "a verification callback with an unknown state");
    match used_by {
        Some(requester) => {
            env.chat
                .post_direct(&requester.user_id, &message::verification_failed(&failure))
                .await
        }
        None => Ok(()),
    }
}

/// The audit detail of a verified identity: the login and its institution, never a token.
fn described(verified: &VerifiedIdentity) -> String {
    format!(
        "{} ({}), subject {}",
        verified.username,
        verified.institution(),
        verified.subject
    )
}

/// Records the attempt in the chain of every project the person is a member of, and in the
/// deployment's identity chain (the only one for a person with no project, or nobody).
async fn audit(
    env: &CommandEnv,
    requester: Option<&Requester>,
    outcome: &str,
    detail: Option<String>,
) -> Result<(), PortError> {
    let now = env.clock.now();
    let who = requester.map_or_else(
        || ChatIdentity::system("oauth-callback"),
        Requester::identity,
    );
    let event = |institution: String| AuditEvent {
        action: AuditAction::IdentityVerification,
        who: who.clone(),
        institution,
        resource: "research identity".to_owned(),
        outcome: outcome.to_owned(),
        detail: detail.clone(),
        at: now,
    };
    let profiles = match requester {
        Some(_) => env.state.profiles(&who).await?,
        None => Vec::new(),
    };
    for profile in &profiles {
        env.state
            .audit(&profile.project, &event(profile.institution.clone()))
            .await?;
    }
    // The deployment's chain names no institution: the chat workspace does not tell one.
    env.state
        .audit(IDENTITY_AUDIT_CHAIN, &event(String::new()))
        .await
}
