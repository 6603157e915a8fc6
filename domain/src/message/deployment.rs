//! Messages about the deployment's own roles: who may create projects, project requests and
//! their decisions, and the four-eyes rule on exceptions.

use serde_json::json;

use super::{ChatMessage, render};
use crate::deployment::{CreationRefusal, ProjectRequest};
use crate::exception::{Decision, ExceptionRequest, Verdict};
use crate::identity::ChatIdentity;
use crate::pricing::Money;

/// Chat user ids to mention: the people a refusal tells someone to ask.
fn mentions(people: &[ChatIdentity]) -> Vec<&str> {
    people
        .iter()
        .filter_map(ChatIdentity::chat_user_id)
        .collect()
}

fn budget(request: &ProjectRequest) -> String {
    Money::from_cents(request.create.budget.0 as i64).to_string()
}

fn verdict(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Approved => "approved",
        Verdict::Denied => "denied",
    }
}

/// `project create` by someone who may not: whom to ask, or that nobody can approve yet.
pub fn project_create_refused(refusal: CreationRefusal, admins: &[ChatIdentity]) -> ChatMessage {
    render(
        "project_create_refused",
        &json!({
            "no_admins": refusal == CreationRefusal::NoAdmins,
            "admins": mentions(admins),
        }),
    )
}

/// `project create` that names no lead institution where the deployment has no default.
pub fn project_institution_needed(name: &str) -> ChatMessage {
    render("project_institution_needed", &json!({ "name": name }))
}

/// To each deployment admin: a project someone asks for, with Approve and Deny.
pub fn project_request(request: &ProjectRequest, button_value: &str) -> ChatMessage {
    render(
        "project_request",
        &json!({
            "requester_user_id": request.requester.user_id,
            "name": request.create.name,
            "description": request.create.description,
            "budget": budget(request),
            "account": request.account,
            "institution": request.institution,
            "channel_id": request.channel.channel_id,
            "button_value": button_value,
            "expires": crate::time_text::date_time(request.expires_at),
        }),
    )
}

/// To the requester: their request went to the admins.
pub fn project_requested(request: &ProjectRequest, admins: &[ChatIdentity]) -> ChatMessage {
    render(
        "project_requested",
        &json!({
            "name": request.create.name,
            "budget": budget(request),
            "account": request.account,
            "institution": request.institution,
            "admins": mentions(admins),
        }),
    )
}

/// To the requester, by direct message: the admin's decision.
pub fn project_request_decided(request: &ProjectRequest, decision: &Decision) -> ChatMessage {
    render(
        "project_request_decided",
        &json!({
            "approved": decision.verdict == Verdict::Approved,
            "by_user_id": decision.by_user_id,
            "name": request.create.name,
            "reason": decision.reason,
        }),
    )
}

/// To the deciding admin: what their click did.
pub fn project_request_recorded(request: &ProjectRequest, verdict: Verdict) -> ChatMessage {
    render(
        "project_request_recorded",
        &json!({
            "approved": verdict == Verdict::Approved,
            "name": request.create.name,
            "requester_user_id": request.requester.user_id,
        }),
    )
}

/// Why a click on a project request decided nothing.
pub enum ProjectRequestRefusal<'a> {
    /// The requester clicked their own request.
    Own,
    NotAdmin,
    AlreadyDecided(&'a Decision),
    Expired,
}

pub fn project_request_refused(
    request: &ProjectRequest,
    refusal: ProjectRequestRefusal<'_>,
) -> ChatMessage {
    let decided = match &refusal {
        ProjectRequestRefusal::AlreadyDecided(decision) => Some(*decision),
        _ => None,
    };
    render(
        "project_request_refused",
        &json!({
            "own": matches!(refusal, ProjectRequestRefusal::Own),
            "not_admin": matches!(refusal, ProjectRequestRefusal::NotAdmin),
            "expired": matches!(refusal, ProjectRequestRefusal::Expired),
            "decided": decided.is_some(),
            "verdict": decided.map(|d| verdict(d.verdict)),
            "by_user_id": decided.map(|d| d.by_user_id.as_str()),
            "name": request.create.name,
            "requester_user_id": request.requester.user_id,
        }),
    )
}

/// Someone clicked Approve or Deny on their own exception request.
pub fn exception_own_request(request: &ExceptionRequest, by_owner: bool) -> ChatMessage {
    render(
        "exception_own_request",
        &json!({
            "name": request.launch.launch.name.as_str(),
            "project": request.project,
            "by_owner": by_owner,
        }),
    )
}
