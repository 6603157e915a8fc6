//! Messages of the launch policy: the violation with its exception button, `policy show` and
//! `policy test`, and the exception request's journey to a decision.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ChatMessage, render};
use crate::budget::BudgetPosition;
use crate::command::PolicyRestrictions;
use crate::exception::{Decision, ExceptionRequest, Verdict};
use crate::policy::{LaunchFacts, Violation};
use crate::profile::Profile;
use crate::project::Project;
use crate::time_text;

/// Everything the shared "restrictions, then the request with ✅/❌ per rule" part needs.
pub struct LaunchCheck<'a> {
    pub facts: &'a LaunchFacts,
    pub restrictions: Option<&'a PolicyRestrictions>,
    pub violations: &'a [Violation],
    pub budget: &'a BudgetPosition,
    /// Whose invitation it is: the project owner's institution.
    pub owner_institution: &'a str,
}

pub(super) fn restrictions_data(restrictions: Option<&PolicyRestrictions>) -> Value {
    match restrictions {
        None => Value::Null,
        Some(rules) => json!({
            "templates": rules.template_whitelist,
            "types": rules.max_instance_types,
            "cap": rules
                .max_hourly_cost
                .map(|cap| cap.to_money().display_rate()),
            "forbidden": rules.forbidden_regions,
        }),
    }
}

fn launch_check_data(check: &LaunchCheck<'_>) -> Value {
    let broken = |wanted: fn(&Violation) -> bool| check.violations.iter().any(wanted);
    json!({
        "owner_institution": check.owner_institution,
        "restrictions": restrictions_data(check.restrictions),
        "request": {
            "template": check.facts.template,
            "instance_type": check.facts.instance_type,
            "rate": check.facts.hourly.display_rate(),
            "region": check.facts.region,
            "month_cost": check.budget.cost_to_month_end(check.facts.hourly).to_string(),
            "remaining": check.budget.remaining().to_string(),
            "budget": check.budget.monthly_budget.to_string(),
        },
        "broken": {
            "template": broken(|v| matches!(v, Violation::TemplateNotAllowed { .. })),
            "instance_type": broken(|v| matches!(v, Violation::InstanceTypeNotAllowed { .. })),
            "cost": broken(|v| matches!(v, Violation::HourlyCostAboveCap { .. })),
            "region": broken(|v| matches!(v, Violation::ForbiddenRegion { .. })),
            "budget": broken(|v| matches!(v, Violation::ExceedsBudget { .. })),
        },
        "count": check.violations.len(),
    })
}

/// Merges `extra` into the launch-check data, for templates that add their own fields.
fn with(mut data: Value, extra: Value) -> Value {
    if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
        data.extend(extra);
    }
    data
}

/// The seed's "Policy violation" reply, with a "Request exception" button.
pub fn policy_violation(
    name: &str,
    check: &LaunchCheck<'_>,
    project: &Project,
    button_value: &str,
) -> ChatMessage {
    render(
        "policy_violation",
        &with(
            launch_check_data(check),
            json!({
                "name": name,
                "owner_name": project.owner_name,
                "owner_user_id": project.owner_user_id,
                "button_value": button_value,
            }),
        ),
    )
}

/// `/cws policy test`: the same check as a launch, nothing started.
pub fn policy_test(check: &LaunchCheck<'_>) -> ChatMessage {
    render(
        "policy_test",
        &with(
            launch_check_data(check),
            json!({ "allowed": check.violations.is_empty() }),
        ),
    )
}

/// `/cws policy show` (and `profiles policy show`, `profiles current`): the active profile,
/// its restrictions, where the budget stands and when the access ends (`profile.expires_at`,
/// the invitation's end as it is now; `None` for an owner).
pub fn policy_show(
    profile: &Profile,
    restrictions: Option<&PolicyRestrictions>,
    budget: &BudgetPosition,
    now: OffsetDateTime,
) -> ChatMessage {
    render(
        "policy_show",
        &json!({
            "profile": profile.name,
            "project": profile.project,
            "role": profile.role.as_str(),
            "ends": profile.expires_at.map(|at| {
                format!("{} (in {})", time_text::date(at), time_text::until(now, at))
            }),
            "restrictions": restrictions_data(restrictions),
            "budget": budget.monthly_budget.to_string(),
            "committed": budget.committed.to_string(),
            "remaining": budget.remaining().to_string(),
        }),
    )
}

/// To the owner (and the project channel): the request, with Approve, Deny and a reason box.
pub fn exception_request(
    request: &ExceptionRequest,
    check: &LaunchCheck<'_>,
    institution: &str,
    button_value: &str,
) -> ChatMessage {
    render(
        "exception_request",
        &with(
            launch_check_data(check),
            json!({
                "requester_user_id": request.launch.requester.user_id,
                "institution": institution,
                "name": request.launch.launch.name.as_str(),
                "project": request.project,
                "template": check.facts.template,
                "instance_type": check.facts.instance_type,
                "rate": check.facts.hourly.display_rate(),
                "expires": expiry(request.expires_at),
                "button_value": button_value,
            }),
        ),
    )
}

fn expiry(at: OffsetDateTime) -> String {
    format!(
        "{} at {:02}:{:02} UTC",
        time_text::date(at),
        at.hour(),
        at.minute()
    )
}

/// To the requester: the request went to the owner and the project's channel.
pub fn exception_requested(request: &ExceptionRequest, project: &Project) -> ChatMessage {
    render(
        "exception_requested",
        &json!({
            "name": request.launch.launch.name.as_str(),
            "owner_user_id": project.owner_user_id,
            "expires": expiry(request.expires_at),
        }),
    )
}

/// To the requester: the decision, with the decider's reason.
pub fn exception_decided(request: &ExceptionRequest, decision: &Decision) -> ChatMessage {
    render(
        "exception_decided",
        &json!({
            "approved": decision.verdict == Verdict::Approved,
            "by_user_id": decision.by_user_id,
            "name": request.launch.launch.name.as_str(),
            "reason": decision.reason,
        }),
    )
}

/// To the decider: what their click did.
pub fn exception_decision_recorded(request: &ExceptionRequest, verdict: Verdict) -> ChatMessage {
    render(
        "exception_decision_recorded",
        &json!({
            "approved": verdict == Verdict::Approved,
            "requester_user_id": request.launch.requester.user_id,
            "name": request.launch.launch.name.as_str(),
        }),
    )
}

pub fn exception_already_decided(request: &ExceptionRequest, decision: &Decision) -> ChatMessage {
    render(
        "exception_already_decided",
        &json!({
            "name": request.launch.launch.name.as_str(),
            "verdict": decision.verdict.decided(),
            "by_user_id": decision.by_user_id,
        }),
    )
}

pub fn exception_already_requested(project: &Project) -> ChatMessage {
    render(
        "exception_already_requested",
        &json!({ "owner_user_id": project.owner_user_id }),
    )
}

pub fn exception_expired(request: &ExceptionRequest) -> ChatMessage {
    render(
        "exception_expired",
        &json!({
            "name": request.launch.launch.name.as_str(),
            "expired": expiry(request.expires_at),
        }),
    )
}

pub fn exception_not_yours(request: &ExceptionRequest) -> ChatMessage {
    render(
        "exception_not_yours",
        &json!({ "requester_user_id": request.launch.requester.user_id }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, parse};
    use crate::exception::RequestId;
    use crate::identity::ChatIdentity;
    use crate::job::{JobKey, LaunchJob, Platform, ReplyTo, Requester};
    use crate::policy::tests::berkeley;
    use crate::policy::{PolicyDecision, evaluate};
    use crate::pricing::Money;

    fn project() -> Project {
        Project {
            name: "nih-neuro-consortium".into(),
            owner: ChatIdentity::slack("T1", "USMITH"),
            owner_user_id: "USMITH".into(),
            owner_name: "Dr. Smith".into(),
            institution: "stanford-neuroscience".into(),
            monthly_budget: Money::from_cents(500_000),
            description: None,
            alert_threshold: 75,
            kind: None,
            duration: None,
            account: "lead".into(),
            channel_id: "C1".into(),
            created_at: datetime!(2026-01-01 00:00 UTC),
            time_zone: None,
            chargeback: None,
            limit: Default::default(),
            idle: None,
            collaboration_end: None,
            approvers: Vec::new(),
            archived_at: None,
        }
    }

    #[test]
    fn the_violation_reproduces_the_seed() {
        let facts = LaunchFacts {
            template: "GPU ML Workstation".into(),
            instance_type: "p3.8xlarge".into(),
            region: "us-east-1".into(),
            hourly: Money::from_cents(1224),
        };
        let budget = BudgetPosition::new(
            Money::from_cents(500_000),
            Money::ZERO,
            datetime!(2026-03-31 00:00 UTC),
        );
        let rules = berkeley();
        let PolicyDecision::Refused(violations) = evaluate(&facts, Some(&rules), &budget) else {
            panic!()
        };
        let check = LaunchCheck {
            facts: &facts,
            restrictions: Some(&rules),
            violations: &violations,
            budget: &budget,
            owner_institution: "stanford-neuroscience",
        };
        let message = policy_violation("expensive-gpu", &check, &project(), "abc.sig");
        insta::assert_snapshot!(message.text);
        insta::assert_json_snapshot!(message.blocks);
        insta::assert_json_snapshot!(
            "policy_violation_on_discord",
            crate::message::discord::discord_messages(&message)
        );
        let test = policy_test(&check);
        assert!(
            test.text
                .starts_with("❌ This launch would be refused (3 rule(s) broken).")
        );

        let request = ExceptionRequest {
            id: RequestId::for_launch(&launch_job().key),
            project: "nih-neuro-consortium".into(),
            launch: launch_job(),
            institution: "berkeley-neuroscience".into(),
            facts: facts.clone(),
            restrictions: Some(rules.clone()),
            violations: violations.clone(),
            created_at: datetime!(2026-03-31 00:00 UTC),
            expires_at: datetime!(2026-04-03 00:00 UTC),
        };
        let ask = exception_request(&request, &check, "berkeley-neuroscience", "abc.sig");
        insta::assert_json_snapshot!(ask.blocks);
        insta::assert_json_snapshot!(
            "exception_request_on_discord",
            crate::message::discord::discord_messages(&ask)
        );
    }

    fn launch_job() -> LaunchJob {
        let Ok(Command::Launch(launch)) =
            parse(r#"launch "GPU ML Workstation" expensive-gpu --size XL"#)
        else {
            panic!()
        };
        LaunchJob {
            key: JobKey::try_from("slack:T1:1.2".to_owned()).unwrap(),
            requester: Requester {
                platform: Platform::Slack,
                team_id: "T1".into(),
                team_domain: "berkeley-neuroscience".into(),
                user_id: "U0BERKLEE".into(),
                user_name: "sarah.lee".into(),
            },
            reply: ReplyTo::slack("C1", None),
            launch,
        }
    }
}
