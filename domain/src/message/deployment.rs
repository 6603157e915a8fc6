//! Messages about the deployment's own roles: who may create projects, project requests and
//! their decisions, and the four-eyes rule on exceptions.

use serde_json::json;

use super::{ChatMessage, render};
use crate::deployment::{CreationRefusal, ProjectRequest};
use crate::exception::{Decision, ExceptionRequest, Verdict};
use crate::identity::ChatIdentity;
use crate::pricing::Money;
use crate::project::Project;

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

/// Why a click on something the deployment's admins decide (a project request, a template
/// proposal) decided nothing.
pub enum AdminDecisionRefusal<'a> {
    /// The requester clicked their own request.
    Own,
    NotAdmin,
    AlreadyDecided(&'a Decision),
    Expired,
}

pub fn project_request_refused(
    request: &ProjectRequest,
    refusal: AdminDecisionRefusal<'_>,
) -> ChatMessage {
    let decided = match &refusal {
        AdminDecisionRefusal::AlreadyDecided(decision) => Some(*decision),
        _ => None,
    };
    render(
        "project_request_refused",
        &json!({
            "own": matches!(refusal, AdminDecisionRefusal::Own),
            "not_admin": matches!(refusal, AdminDecisionRefusal::NotAdmin),
            "expired": matches!(refusal, AdminDecisionRefusal::Expired),
            "decided": decided.is_some(),
            "verdict": decided.map(|d| d.verdict.decided()),
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

/// Who decides the project's exception requests.
pub fn project_approvers(project: &Project) -> ChatMessage {
    render(
        "project_approvers",
        &json!({
            "project": project.name,
            "owner_user_id": project.owner_user_id,
            "approvers": mentions(&project.approvers),
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, ProjectCommand, parse};
    use crate::exception::RequestId;
    use crate::job::{JobKey, Platform, ReplyTo, Requester};

    fn request() -> ProjectRequest {
        let Ok(Command::Project(ProjectCommand::Create(create))) =
            parse(r#"project create chen-lab --budget 2000 --description "Two-photon imaging""#)
        else {
            panic!("the command parses")
        };
        ProjectRequest {
            id: RequestId::for_project_request(&JobKey::try_from("t1".to_owned()).unwrap()),
            create,
            requester: Requester {
                platform: Platform::Slack,
                team_id: "T1".into(),
                team_domain: "stanford".into(),
                user_id: "UCHEN".into(),
                user_name: "wei.chen".into(),
            },
            channel: ReplyTo::slack("C1", None),
            account: "lead".into(),
            institution: "Stanford".into(),
            created_at: datetime!(2026-12-01 09:00 UTC),
            expires_at: datetime!(2026-12-04 09:00 UTC),
        }
    }

    fn decision(verdict: Verdict, reason: Option<&str>) -> Decision {
        Decision {
            verdict,
            by: ChatIdentity::slack("T1", "USMITH"),
            by_user_id: "USMITH".into(),
            reason: reason.map(str::to_owned),
            job: "click".into(),
            at: datetime!(2026-12-01 10:00 UTC),
        }
    }

    #[test]
    fn a_stranger_is_told_whom_to_ask_or_that_nobody_can_approve() {
        let admins = [
            ChatIdentity::slack("T1", "USMITH"),
            ChatIdentity::discord("42"),
        ];
        let refused = project_create_refused(CreationRefusal::NotAllowed, &admins);
        insta::assert_snapshot!(refused.text, @"❌ Only the deployment's admins can create projects, because a project spends the lead account's money. Ask one of them for yours: <@USMITH>, <@42>.");
        let nobody = project_create_refused(CreationRefusal::NoAdmins, &[]);
        assert!(nobody.text.contains("`CWS_ADMINS`"), "{}", nobody.text);
    }

    #[test]
    fn the_request_carries_budget_account_institution_and_both_buttons() {
        let request = request();
        let asked = project_request(&request, "project-request:x.sig");
        assert!(
            asked
                .text
                .contains("$2,000.00/month in AWS account lead, led by Stanford"),
            "{}",
            asked.text
        );
        let blocks = serde_json::to_string(&asked.blocks).unwrap();
        for wanted in [
            "cws_approve_project",
            "cws_deny_project",
            "project-request:x.sig",
        ] {
            assert!(blocks.contains(wanted), "{wanted}: {blocks}");
        }
        let requested = project_requested(&request, &[ChatIdentity::slack("T1", "USMITH")]);
        assert!(requested.text.contains("<@USMITH>"), "{}", requested.text);
    }

    #[test]
    fn decisions_and_refusals_name_who_and_why() {
        let request = request();
        let approved = decision(Verdict::Approved, Some("R01 funded"));
        insta::assert_snapshot!(
            project_request_decided(&request, &approved).text,
            @"✅ <@USMITH> approved your project *chen-lab*: R01 funded. You are its owner."
        );
        let denied = project_request_decided(&request, &decision(Verdict::Denied, None));
        assert!(denied.text.contains("no reason given"), "{}", denied.text);
        assert!(
            project_request_recorded(&request, Verdict::Denied)
                .text
                .contains("You denied project *chen-lab*")
        );
        for (refusal, wanted) in [
            (AdminDecisionRefusal::Own, "your own project request"),
            (
                AdminDecisionRefusal::NotAdmin,
                "Only the deployment's admins",
            ),
            (
                AdminDecisionRefusal::AlreadyDecided(&approved),
                "already approved by <@USMITH>",
            ),
            (AdminDecisionRefusal::Expired, "expired undecided"),
        ] {
            let text = project_request_refused(&request, refusal).text;
            assert!(text.contains(wanted), "{wanted}: {text}");
        }
    }
}
