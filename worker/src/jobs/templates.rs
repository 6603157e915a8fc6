//! The template catalog as the workers see it, and its governance (seed 001, Epic 7.2): the
//! shipped or directory templates, plus what the deployment's admins approved since, each
//! checked against its signature every time it is read; `templates propose` sends a shared
//! YAML file to the admins with its diff and risks; Approve signs it with the deployment's key
//! (`CWS_TEMPLATE_SIGNING_KEY`) and publishes it to every worker at once.

use std::sync::Arc;

use domain::audit::AuditAction;
use domain::exception::{Decision, RequestId, Verdict};
use domain::identity::Permission;
use domain::job::{ActionJob, CommandJob};
use domain::message::{self, AdminDecisionRefusal};
use domain::ports::{PortError, SharedFile};
use domain::template::{Catalog, Offerings, Provenance, Publisher, parse_template, unpriced};
use domain::template_review::{
    PublishedTemplate, RiskSummary, TemplateProposal, check_proposal, review,
};
use domain::template_trust::Publishers;
use domain::token::sign_button_value;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, authorize};
use crate::jobs::exception::DecisionClick;
use crate::jobs::launch::LaunchEnv;
use crate::jobs::project::{ask_admins_once, audit_deployment, four_eyes};

/// What a proposal button's signed value starts with.
const PROPOSAL_BUTTON: &str = "template-proposal:";

impl LaunchEnv {
    /// The templates on offer now: those read at start, with the published ones [`offered`].
    pub async fn catalog(&self) -> Result<Arc<Catalog>, PortError> {
        let published = self.state.published_templates().await?;
        Ok(offered(
            &self.offerings,
            &self.template_publishers,
            published,
        ))
    }
}

/// The templates read at start, with every published template whose signature a trusted
/// publisher made over its exact text (a record changed in Redis is not offered, and the log
/// says so) and whose sizes are all priced.
pub(crate) fn offered(
    offerings: &Offerings,
    publishers: &Publishers,
    published: Vec<PublishedTemplate>,
) -> Arc<Catalog> {
    if published.is_empty() {
        return offerings.catalog.clone();
    }
    let mut trusted = Vec::with_capacity(published.len());
    for record in published {
        let publisher = match publishers.verify(&record.text, Some(&record.signature)) {
            Ok(publisher) => publisher,
            Err(problem) => {
                tracing::error!(template = %record.slug, %problem, "published template not offered: its signature does not hold");
                continue;
            }
        };
        let template = match parse_template(&record.text) {
            Ok(template) => template,
            Err(problem) => {
                tracing::error!(template = %record.slug, %problem, "published template not offered");
                continue;
            }
        };
        if let Some(problem) = unpriced(&template, &offerings.pricing).first() {
            tracing::error!(template = %record.slug, %problem, "published template not offered");
            continue;
        }
        let provenance = Provenance {
            publisher: Publisher::Approved {
                publisher,
                approved_by: record.approved_by.to_string(),
                at: domain::time_text::date(record.approved_at),
            },
            text: Arc::from(record.text.as_str()),
        };
        trusted.push((template, provenance));
    }
    Arc::new(offerings.catalog.with_published(trusted))
}

/// `templates list` where the deployment publishes templates: the whole catalog of now.
pub(crate) async fn command_templates_list(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let catalog = env.launch.catalog().await?;
    env.answer(
        &job.reply,
        &job.requester,
        &message::template_list(&catalog),
    )
    .await
}

pub(crate) async fn command_templates_show(
    env: &CommandEnv,
    job: &CommandJob,
    requested: &str,
) -> Result<(), PortError> {
    let catalog = env.launch.catalog().await?;
    let reply = match catalog.find(requested) {
        Ok(template) => message::template_show(&catalog, template, &env.launch.offerings.pricing),
        Err(unknown) => message::template_unknown(&unknown),
    };
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `templates propose FILE`: by a deployment admin, or a project's owner or admin; the file
/// must hold a sound template priced wherever it is offered. Each admin is asked once, however
/// often the job re-runs.
pub(crate) async fn command_templates_propose(
    env: &CommandEnv,
    job: &CommandJob,
    file: &str,
) -> Result<(), PortError> {
    if env.launch.template_signer.is_none() {
        let reply = message::template_proposals_off(env.deployment.admins());
        return env.answer(&job.reply, &job.requester, &reply).await;
    }
    if !env.deployment.is_admin(&job.requester.identity())
        && authorize(env, job, None, Permission::ManageProject)
            .await?
            .is_none()
    {
        return Ok(());
    }
    let refuse = |reason: String| async move {
        let reply = message::template_proposal_refused(&reason);
        env.answer(&job.reply, &job.requester, &reply).await
    };
    let text = match env.chat.shared_file(&job.reply.channel_id, file).await? {
        Some(SharedFile::Text(text)) => text,
        Some(SharedFile::TooLarge { bytes }) => {
            return refuse(format!(
                "{file} is {bytes} bytes; a template is at most 64 KiB"
            ))
            .await;
        }
        Some(SharedFile::NotText) => return refuse(format!("{file} is not a text file")).await,
        Some(SharedFile::ForeignHost { host }) => {
            return refuse(format!(
                "{file} is stored at {host}, not on the chat platform's file server, so it was not downloaded"
            ))
            .await;
        }
        None => {
            return refuse(format!(
                "no file called {file} was shared in this channel: share it here, then propose it"
            ))
            .await;
        }
    };
    let pricing = &env.launch.offerings.pricing;
    let template = match check_proposal(text.as_bytes(), pricing) {
        Ok(template) => template,
        Err(problem) => return refuse(format!("{file}: {problem}")).await,
    };
    let now = env.clock.now();
    let proposal = env
        .state
        .save_template_proposal(&TemplateProposal {
            id: RequestId::for_template_proposal(&job.key),
            proposer: job.requester.clone(),
            channel: job.reply.channel_only(),
            file_name: file.to_owned(),
            text,
            name: template.name.clone(),
            slug: template.slug.clone(),
            created_at: now,
            expires_at: now + env.launch.exception_ttl,
        })
        .await?;
    let catalog = env.launch.catalog().await?;
    let published = catalog
        .find(&template.slug)
        .or_else(|_| catalog.find(&template.name))
        .ok()
        .and_then(|published| catalog.provenance(published));
    let summary = RiskSummary::of(&template, pricing);
    let key = env.state.token_key().await?;
    let value = sign_button_value(&key, &format!("{PROPOSAL_BUTTON}{}", proposal.id));
    let replaces = published.map(|p| p.publisher.to_string());
    let ask = message::template_proposal(
        &proposal,
        &template,
        &summary,
        replaces.as_deref(),
        &review(published.map(|p| &*p.text), &proposal.text),
        &value,
    );
    ask_admins_once(env, job, "template-proposal", &ask).await?;
    audit_deployment(
        env,
        job.requester.identity(),
        AuditAction::TemplateProposal,
        &proposal.name,
        "proposed",
        format!(
            "{} from {}: {} to {} an hour in {}",
            proposal.slug,
            proposal.file_name,
            summary.hourly_low,
            summary.hourly_high,
            summary.regions.join(", ")
        ),
    )
    .await?;
    let reply = message::template_proposed(&proposal, env.deployment.admins());
    env.answer(&job.reply, &job.requester, &reply).await
}

/// Approve or Deny on a template proposal: deployment admins only, never the proposer; the
/// first decision stands; approving signs the proposal's exact text with the deployment's key
/// and publishes it.
pub(crate) async fn action_decide_template(
    env: &CommandEnv,
    job: &ActionJob,
    click: DecisionClick<'_>,
) -> Result<(), PortError> {
    let Some(id) = env
        .button_names(&job.reply, &job.requester, click.signed, PROPOSAL_BUTTON)
        .await?
    else {
        return Ok(());
    };
    let proposal = match RequestId::try_from(id) {
        Ok(id) => env.state.template_proposal(&id).await?,
        Err(_) => None,
    };
    let Some(proposal) = proposal else {
        return env
            .answer(&job.reply, &job.requester, &message::button_invalid())
            .await;
    };
    let decider = job.requester.identity();
    let refuse = |refusal: AdminDecisionRefusal<'_>| {
        let reply = message::template_decision_refused(&proposal, refusal);
        async move { env.answer(&job.reply, &job.requester, &reply).await }
    };
    if let Some(refusal) = four_eyes(
        env,
        &decider,
        &proposal.proposer.identity(),
        &proposal.name,
        "a template proposal",
    )
    .await?
    {
        return refuse(refusal).await;
    }
    let Some(signer) = &env.launch.template_signer else {
        let reply = message::template_proposals_off(env.deployment.admins());
        return env.answer(&job.reply, &job.requester, &reply).await;
    };
    let now = env.clock.now();
    if proposal.is_expired(now)
        && env
            .state
            .template_proposal_decision(&proposal.id)
            .await?
            .is_none()
    {
        return refuse(AdminDecisionRefusal::Expired).await;
    }
    let proposed = Decision {
        verdict: click.verdict,
        by: decider,
        by_user_id: job.requester.user_id.clone(),
        reason: click.reason.map(str::to_owned),
        job: job.key.to_string(),
        at: now,
    };
    let decision = env
        .state
        .decide_template_proposal(&proposal.id, &proposed)
        .await?;
    if decision.job != job.key.as_str() {
        return refuse(AdminDecisionRefusal::AlreadyDecided(&decision)).await;
    }
    if decision.verdict == Verdict::Approved {
        // Idempotent: a re-run of this click writes the same signed record again.
        env.state
            .publish_template(&PublishedTemplate {
                slug: proposal.slug.clone(),
                text: proposal.text.clone(),
                signature: signer.sign(&proposal.text),
                proposal: proposal.id.clone(),
                approved_by: decision.by.clone(),
                approved_at: decision.at,
            })
            .await?;
    }
    let store = &env.launch.store;
    if store
        .notice_sent(&job.key, "template-proposal-decided")
        .await?
    {
        return Ok(());
    }
    audit_deployment(
        env,
        decision.by.clone(),
        AuditAction::TemplateDecision,
        &proposal.name,
        if decision.verdict == Verdict::Approved {
            "published"
        } else {
            "denied"
        },
        format!(
            "{} proposed by {}{}{}",
            proposal.slug,
            proposal.proposer.identity(),
            if decision.verdict == Verdict::Approved {
                format!(", signed by {}", signer.name)
            } else {
                String::new()
            },
            decision
                .reason
                .as_deref()
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default()
        ),
    )
    .await?;
    env.answer(
        &job.reply,
        &job.requester,
        &message::template_decision_recorded(&proposal, decision.verdict, signer.name.as_str()),
    )
    .await?;
    env.chat
        .post_direct(
            &proposal.proposer.user_id,
            &message::template_decided(&proposal, &decision),
        )
        .await?;
    store
        .mark_notice_sent(&job.key, "template-proposal-decided")
        .await
}
