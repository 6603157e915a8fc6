//! Idle workspaces: the warning with its buttons, the answers, and what ran.

use serde_json::json;

use super::{ChatMessage, render};
use crate::command::IdleAction;
use crate::idle::IdlePolicy;
use crate::time_text;
use crate::workspace::Workspace;

fn verb(action: IdleAction) -> &'static str {
    match action {
        IdleAction::Notify => "left running",
        IdleAction::Hibernate => "hibernated",
        IdleAction::Stop => "stopped",
    }
}

/// The owner's DM; the button values are signed by the caller.
pub fn idle_warning(
    workspace: &Workspace,
    policy: &IdlePolicy,
    peak_cpu: f64,
    keep_value: &str,
    hibernate_value: &str,
) -> ChatMessage {
    render(
        "idle_warning",
        &json!({
            "name": workspace.name,
            "project": workspace.attribution.project,
            "cpu_below": policy.cpu_below,
            "after": policy.after_minutes,
            "grace": policy.grace_minutes,
            "peak": format!("{peak_cpu:.1}"),
            "rate": workspace.hourly.display_rate(),
            "acts": policy.action != IdleAction::Notify,
            "verb": verb(policy.action),
            "keep_value": keep_value,
            "hibernate_value": hibernate_value,
        }),
    )
}

pub fn idle_kept(name: &str, until: time::OffsetDateTime) -> ChatMessage {
    render(
        "idle_kept",
        &json!({ "name": name, "until": time_text::date_time(until) }),
    )
}

/// Posted in the project's channel when an unanswered warning ran its action.
pub fn idle_acted(
    workspace: &Workspace,
    policy: &IdlePolicy,
    verb: &str,
    fell_back: bool,
) -> ChatMessage {
    render(
        "idle_acted",
        &json!({
            "name": workspace.name,
            "user": workspace.attribution.user,
            "cpu_below": policy.cpu_below,
            "after": policy.after_minutes,
            "grace": policy.grace_minutes,
            "verb": verb,
            "fell_back": fell_back,
            "rate": workspace.hourly.display_rate(),
        }),
    )
}

/// A workspace on a platform that shuts idle ones down itself (SageMaker Studio) was seen
/// stopped outside chat while the project's idle policy is on: most likely that, so the
/// channel hears it as it hears cws's own idle stops. `None` without a shutdown to name.
pub fn idle_shut_down_by_platform(
    workspace: &Workspace,
    policy: Option<&IdlePolicy>,
) -> Option<ChatMessage> {
    let minutes = crate::studio::idle_shutdown_minutes(policy)?;
    Some(render(
        "idle_shut_down_by_platform",
        &json!({
            "name": workspace.name,
            "user": workspace.attribution.user,
            "platform": workspace.platform.title(),
            "minutes": minutes,
            "rate": workspace.hourly.display_rate(),
        }),
    ))
}

/// `project idle`: the policy in force, or off.
pub fn project_idle(project: &str, policy: Option<&IdlePolicy>, changed: bool) -> ChatMessage {
    render(
        "project_idle",
        &json!({
            "project": project,
            "changed": changed,
            "on": policy.is_some(),
            "cpu_below": policy.map(|p| p.cpu_below),
            "after": policy.map(|p| p.after_minutes),
            "grace": policy.map(|p| p.grace_minutes),
            "action": policy.map(|p| p.action.as_str()),
            "studio_minutes": crate::studio::idle_shutdown_minutes(policy),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::workspace;

    #[test]
    fn the_idle_warning_offers_both_buttons_and_says_what_happens() {
        let warning = idle_warning(
            &workspace(),
            &IdlePolicy::default(),
            1.25,
            "signed-keep",
            "signed-hibernate",
        );
        insta::assert_snapshot!(warning.text);
        let buttons = warning.blocks[1].to_string();
        assert!(
            buttons.contains("cws_idle_keep") && buttons.contains("signed-keep"),
            "{buttons}"
        );
        assert!(
            buttons.contains("cws_idle_hibernate") && buttons.contains("signed-hibernate"),
            "{buttons}"
        );
    }

    #[test]
    fn a_space_sagemaker_shut_down_is_told_with_the_policy_s_minutes() {
        let studio = Workspace {
            platform: crate::template::Platform::SagemakerStudio,
            ..workspace()
        };
        let told = idle_shut_down_by_platform(&studio, Some(&IdlePolicy::default())).unwrap();
        insta::assert_snapshot!(told.text, @"💤 mit-algorithm-dev (slack:T1:U1) stopped outside chat: SageMaker Studio shuts an idle workspace down after 150 minutes, or someone stopped it in the console. It no longer costs $0.0832/h. /cws start mit-algorithm-dev brings it back.");
        crate::message::limits::assert_within_slack_limits(&told);
        assert!(idle_shut_down_by_platform(&studio, None).is_none());
    }

    #[test]
    fn the_idle_policy_says_when_sagemaker_shuts_studio_spaces_down() {
        let on = project_idle("nih", Some(&IdlePolicy::default()), true);
        let blocks = serde_json::to_string(&on.blocks).unwrap();
        assert!(
            blocks.contains("shuts their JupyterLab down itself after *150 idle minutes*"),
            "{blocks}"
        );
        crate::message::limits::assert_within_slack_limits(&on);
        let off = serde_json::to_string(&project_idle("nih", None, true).blocks).unwrap();
        assert!(
            off.contains("Studio spaces are not shut down for idleness"),
            "{off}"
        );
    }
}
