//! The exception flow: the requester asks, the owner (or an admin) approves or denies once.
//!
//! Every click is its own job. Asking is recorded once per request; deciding stores the first
//! decision atomically, so a double click or two admins at once yield one decision, and an
//! approval runs the original launch job (same idempotency key, same EC2 client token).

use domain::audit::{AuditAction, AuditEvent};
use domain::exception::{
    DeciderStanding, Deciders, Decision, ExceptionRequest, RequestId, Verdict,
};
use domain::identity::Permission;
use domain::job::ActionJob;
use domain::message::{self, LaunchCheck};
use domain::ports::PortError;
use domain::project::Project;
use domain::token::{sign_button_value, verify_button_value};

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, authorize};
use crate::jobs::launch::{Approval, run_launch};
use crate::jobs::policy::budget_position;

/// What a decision click asks for.
pub(crate) struct DecisionClick<'a> {
    pub verdict: Verdict,
    pub signed: &'a str,
    pub reason: Option<&'a str>,
}

/// The institution the audit trail names for a deployment admin deciding: they act for the
/// deployment, not for an institution of the project.
const DEPLOYMENT_ADMIN: &str = "deployment admin";
/// Likewise for someone `project approvers` named.
const NAMED_APPROVER: &str = "named approver";

const OWNER_NOTIFIED: &str = "exception-owner-notified";
const DECIDER_TOLD: &str = "exception-decider-told";
const REQUESTER_TOLD: &str = "exception-requester-told";

/// The request a signed button value names, or `None` after telling the clicker it is not
/// a button this deployment posted.
async fn request_of(
    env: &CommandEnv,
    job: &ActionJob,
    signed: &str,
) -> Result<Option<ExceptionRequest>, PortError> {
    let key = env.state.token_key().await?;
    let request = match verify_button_value(&key, signed)
        .ok()
        .and_then(|value| RequestId::try_from(value.to_owned()).ok())
    {
        Some(id) => env.state.exception(&id).await?,
        None => None,
    };
    if request.is_none() {
        tracing::warn!(job = %job.key, "a button value that does not verify");
        env.answer(&job.reply, &job.requester, &message::button_invalid())
            .await?;
    }
    Ok(request)
}

/// The request's project, or `None` after telling the clicker it no longer exists.
async fn project_of(
    env: &CommandEnv,
    job: &ActionJob,
    request: &ExceptionRequest,
) -> Result<Option<Project>, PortError> {
    let project = env.state.project(&request.project).await?;
    if project.is_none() {
        env.answer(
            &job.reply,
            &job.requester,
            &message::not_member(&request.project),
        )
        .await?;
    }
    Ok(project)
}

/// "Request exception": only the person whose launch was refused may ask, once.
pub(crate) async fn action_request_exception(
    env: &CommandEnv,
    job: &ActionJob,
    signed: &str,
) -> Result<(), PortError> {
    let Some(request) = request_of(env, job, signed).await? else {
        return Ok(());
    };
    if job.requester.identity() != request.launch.requester.identity() {
        return env
            .answer(
                &job.reply,
                &job.requester,
                &message::exception_not_yours(&request),
            )
            .await;
    }
    let now = env.clock.now();
    if request.is_expired(now) {
        return env
            .answer(
                &job.reply,
                &job.requester,
                &message::exception_expired(&request),
            )
            .await;
    }
    let Some(project) = project_of(env, job, &request).await? else {
        return Ok(());
    };
    if !env
        .state
        .mark_exception_requested(&request.id, job.key.as_str())
        .await?
    {
        return env
            .answer(
                &job.reply,
                &job.requester,
                &message::exception_already_requested(&project),
            )
            .await;
    }
    let store = &env.launch.store;
    if !store.notice_sent(&job.key, OWNER_NOTIFIED).await? {
        let key = env.state.token_key().await?;
        let budget =
            budget_position(&env.state, &env.launch.offerings.pricing, &project, now).await?;
        let check = LaunchCheck {
            facts: &request.facts,
            restrictions: request.restrictions.as_ref(),
            violations: &request.violations,
            budget: &budget,
            owner_institution: &project.institution,
        };
        let ask = message::exception_request(
            &request,
            &check,
            &request.institution,
            &sign_button_value(&key, request.id.as_str()),
        );
        let requester = request.launch.requester.identity();
        for person in deciders(env, &project).to_ask(&requester) {
            if let Some(user_id) = person.chat_user_id() {
                env.chat.post_direct(user_id, &ask).await?;
            }
        }
        env.chat.post(&project.channel(), &ask).await?;
        store.mark_notice_sent(&job.key, OWNER_NOTIFIED).await?;
        env.state
            .audit(
                &project.name,
                &AuditEvent {
                    action: AuditAction::ExceptionRequest,
                    who: job.requester.identity(),
                    institution: request.institution.clone(),
                    resource: request.launch.launch.name.to_string(),
                    outcome: "requested".to_owned(),
                    detail: None,
                    at: now,
                },
            )
            .await?;
    }
    env.answer(
        &job.reply,
        &job.requester,
        &message::exception_requested(&request, &project),
    )
    .await
}

/// The project's deciders: who is asked by direct message, and who may decide without being a
/// member (the project's channel sees every request).
fn deciders<'a>(env: &'a CommandEnv, project: &'a Project) -> Deciders<'a> {
    Deciders {
        owner: &project.owner,
        approvers: &project.approvers,
        deployment_admins: env.deployment.admins(),
    }
}

/// Approve or Deny, four eyes ([`Deciders::standing`]): never the requester; the project's
/// owner, admins and named approvers; for the owner's own request also a deployment admin.
/// The first decision stands; approving launches.
pub(crate) async fn action_decide_exception(
    env: &CommandEnv,
    job: &ActionJob,
    click: DecisionClick<'_>,
) -> Result<(), PortError> {
    let Some(request) = request_of(env, job, click.signed).await? else {
        return Ok(());
    };
    let Some(project) = project_of(env, job, &request).await? else {
        return Ok(());
    };
    let clicker = job.requester.identity();
    let requester = request.launch.requester.identity();
    let by_owner = project.owner == requester;
    let standing = deciders(env, &project).standing(&clicker, &requester);
    if standing == DeciderStanding::OwnRequest {
        env.state
            .audit(
                &project.name,
                &AuditEvent {
                    action: AuditAction::Refused,
                    who: clicker,
                    institution: request.institution.clone(),
                    resource: request.launch.launch.name.to_string(),
                    outcome: "refused".to_owned(),
                    detail: Some(format!(
                        "{} of their own exception request",
                        click.verdict.as_str()
                    )),
                    at: env.clock.now(),
                },
            )
            .await?;
        let reply = message::exception_own_request(&request, by_owner);
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    let decider_institution = match standing {
        DeciderStanding::NamedApprover => NAMED_APPROVER.to_owned(),
        DeciderStanding::DeploymentAdmin => DEPLOYMENT_ADMIN.to_owned(),
        DeciderStanding::OwnRequest | DeciderStanding::Member => {
            let Some(decider) = authorize(
                env,
                job,
                Some(&request.project),
                Permission::DecideExceptions,
            )
            .await?
            else {
                return Ok(());
            };
            decider.profile.institution
        }
    };
    let now = env.clock.now();
    let proposed = Decision {
        verdict: click.verdict,
        by: job.requester.identity(),
        by_user_id: job.requester.user_id.clone(),
        reason: click.reason.map(str::to_owned),
        job: job.key.to_string(),
        at: now,
    };
    if request.is_expired(now) && env.state.decision(&request.id).await?.is_none() {
        return env
            .answer(
                &job.reply,
                &job.requester,
                &message::exception_expired(&request),
            )
            .await;
    }
    let decision = env.state.decide(&request.id, &proposed).await?;
    if decision.job != job.key.as_str() {
        return env
            .answer(
                &job.reply,
                &job.requester,
                &message::exception_already_decided(&request, &decision),
            )
            .await;
    }
    let store = &env.launch.store;
    if !store.notice_sent(&job.key, DECIDER_TOLD).await? {
        env.state
            .audit(
                &request.project,
                &AuditEvent {
                    action: AuditAction::ExceptionDecision,
                    who: decision.by.clone(),
                    institution: decider_institution.clone(),
                    resource: request.launch.launch.name.to_string(),
                    outcome: decision.verdict.decided().to_owned(),
                    detail: decision.reason.clone(),
                    at: now,
                },
            )
            .await?;
        env.answer(
            &job.reply,
            &job.requester,
            &message::exception_decision_recorded(&request, decision.verdict),
        )
        .await?;
        store.mark_notice_sent(&job.key, DECIDER_TOLD).await?;
    }
    if !store.notice_sent(&job.key, REQUESTER_TOLD).await? {
        env.chat
            .post_direct(
                &request.launch.requester.user_id,
                &message::exception_decided(&request, &decision),
            )
            .await?;
        store.mark_notice_sent(&job.key, REQUESTER_TOLD).await?;
    }
    if decision.verdict == Verdict::Approved {
        // The same job (same key, same client token), but its replies go through the channel:
        // the original command's response_url (Slack, 30 minutes) or interaction token
        // (Discord, 15 minutes) expires long before most decisions. The launch reports its
        // own outcome there; its failure is already explained, so it does not fail this click.
        let mut launch = request.launch.clone();
        launch.reply = launch.reply.channel_only();
        if run_launch(&env.launch, &launch, Approval::Exception)
            .await
            .is_err()
        {
            tracing::warn!(job = %job.key, launch = %request.launch.key, "approved launch failed");
        }
    }
    Ok(())
}
