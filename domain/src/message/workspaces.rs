//! Messages about existing workspaces: list, status, and their lifecycle changes.

use serde_json::json;

use super::{ChatMessage, render};
use crate::network::WebForward;
use crate::ports::InstanceState;
use crate::pricing::Money;
use crate::studio;
use crate::template::Platform;
use crate::workspace::Workspace;

/// A state as chat names it.
pub fn state_name(state: InstanceState) -> &'static str {
    match state {
        InstanceState::Pending => "starting",
        InstanceState::Running => "running",
        InstanceState::Stopping => "stopping",
        InstanceState::Stopped => "stopped",
        InstanceState::ShuttingDown => "terminating",
        InstanceState::Terminated => "terminated",
    }
}

fn state_icon(state: InstanceState) -> &'static str {
    match state {
        InstanceState::Pending | InstanceState::Running => "🟢",
        InstanceState::Stopping | InstanceState::Stopped => "⏸️",
        InstanceState::ShuttingDown | InstanceState::Terminated => "⚫",
    }
}

pub fn workspace_list(project: &str, workspaces: &[Workspace], mine: bool) -> ChatMessage {
    let rows: Vec<_> = workspaces
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "state": state_name(w.state),
                "state_icon": state_icon(w.state),
                "template": w.template,
                "instance_type": w.instance_type,
                "region": w.region,
                "rate": w.hourly.display_rate(),
                "user": w.attribution.user,
                "institution": w.attribution.institution,
            })
        })
        .collect();
    render(
        "workspace_list",
        &json!({ "project": project, "workspaces": rows, "mine": mine }),
    )
}

/// What `status` shows beyond the record: the cloud's view and the money so far.
pub struct LiveStatus<'a> {
    pub state: InstanceState,
    pub public_ip: Option<&'a str>,
    pub private_ip: Option<&'a str>,
    /// `2 h 05 min` since it last started, when running.
    pub uptime: Option<String>,
    pub cost_so_far: Money,
    /// How to reach it: an SSH line, service URLs.
    pub connect: Vec<String>,
}

pub fn workspace_status(workspace: &Workspace, live: &LiveStatus<'_>) -> ChatMessage {
    render(
        "workspace_status",
        &json!({
            "name": workspace.name,
            "state": state_name(live.state),
            "state_icon": state_icon(live.state),
            "instance_id": workspace.instance_id,
            "instance_type": workspace.instance_type,
            "region": workspace.region,
            "rate": workspace.hourly.display_rate(),
            "uptime": live.uptime,
            "cost": live.cost_so_far.to_string(),
            "public_ip": live.public_ip,
            "private_ip": live.private_ip,
            "user": workspace.attribution.user,
            "institution": workspace.attribution.institution,
            "project": workspace.attribution.project,
            "connect": live.connect,
        }),
    )
}

/// A lifecycle command did its work. `fell_back`: hibernation was asked for, a stop happened.
pub fn workspace_changed(
    workspace: &Workspace,
    user_id: &str,
    now: InstanceState,
    verb: &str,
    fell_back: bool,
) -> ChatMessage {
    let icon = match now {
        InstanceState::Running | InstanceState::Pending => "▶️",
        InstanceState::Stopped | InstanceState::Stopping if verb == "hibernated" => "💤",
        InstanceState::Stopped | InstanceState::Stopping => "⏹️",
        InstanceState::Terminated | InstanceState::ShuttingDown => "🗑️",
    };
    render(
        "workspace_changed",
        &json!({
            "icon": icon,
            "user_id": user_id,
            "verb": verb,
            "name": workspace.name,
            "fell_back": fell_back,
            "running": matches!(now, InstanceState::Running | InstanceState::Pending),
            "terminated": matches!(now, InstanceState::Terminated | InstanceState::ShuttingDown),
            "rate": workspace.hourly.display_rate(),
        }),
    )
}

/// Asked for a state the workspace is already in: a friendly no-op.
pub fn workspace_unchanged(name: &str, state: InstanceState) -> ChatMessage {
    render(
        "workspace_unchanged",
        &json!({ "name": name, "state": state_name(state) }),
    )
}

pub fn workspace_unknown(name: &str) -> ChatMessage {
    render("workspace_unknown", &json!({ "name": name }))
}

/// "Jupyter", "Jupyter and RStudio Server": what a web workspace runs.
fn service_titles<'a>(titles: impl IntoIterator<Item = &'a str>) -> String {
    let titles: Vec<&str> = titles.into_iter().collect();
    match titles.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The direct message `connect` sends a web workspace's owner: per service the port forward,
/// the local address and the login, with the workspace's password. Never posted in a channel.
pub fn web_connection(
    workspace: &Workspace,
    forwards: &[WebForward],
    password: &str,
) -> ChatMessage {
    let entries: Vec<_> = forwards
        .iter()
        .map(|forward| {
            json!({
                "title": forward.title,
                "command": forward.command,
                "url": forward.url,
                "username": forward.username,
            })
        })
        .collect();
    render(
        "web_connection",
        &json!({
            "name": workspace.name,
            "project": workspace.attribution.project,
            "services": service_titles(forwards.iter().map(|f| f.title)),
            "forwards": entries,
            "password": password,
        }),
    )
}

/// The answer in the channel once the direct message is on its way: nothing secret.
pub fn web_connection_sent(name: &str, titles: &[&str]) -> ChatMessage {
    render(
        "web_connection_sent",
        &json!({ "name": name, "services": service_titles(titles.iter().copied()) }),
    )
}

/// Someone who neither launched the workspace nor owns or administers its project asked for
/// its password.
pub fn web_connection_refused(workspace: &Workspace, titles: &[&str]) -> ChatMessage {
    render(
        "web_connection_refused",
        &json!({
            "name": workspace.name,
            "user": workspace.attribution.user,
            "services": service_titles(titles.iter().copied()),
        }),
    )
}

/// The direct message with a presigned link that signs the workspace's owner in to their
/// Studio space.
pub fn studio_sign_in(workspace: &Workspace, url: &str) -> ChatMessage {
    render(
        "studio_sign_in",
        &json!({
            "name": workspace.name,
            "platform": workspace.platform.title(),
            "canvas": workspace.platform == Platform::SagemakerCanvas,
            "project": workspace.attribution.project,
            "instance_type": workspace.instance_type,
            "url": url,
            "link_minutes": studio::SIGN_IN_LINK_SECONDS / 60,
            "session_hours": studio::SESSION_SECONDS / 3600,
        }),
    )
}

/// Where the sign-in link went, answered where `connect` was asked.
pub fn studio_sign_in_sent(workspace: &Workspace) -> ChatMessage {
    render(
        "studio_sign_in_sent",
        &json!({
            "name": workspace.name,
            "platform": workspace.platform.title(),
            "link_minutes": studio::SIGN_IN_LINK_SECONDS / 60,
        }),
    )
}

/// Someone other than the owner asked for a sign-in link, which would sign them in as the
/// owner.
pub fn studio_sign_in_refused(workspace: &Workspace) -> ChatMessage {
    render(
        "studio_sign_in_refused",
        &json!({
            "name": workspace.name,
            "platform": workspace.platform.title(),
            "user": workspace.attribution.user,
        }),
    )
}

/// The cloud or the workspace's state does not allow it; `action` is "start", "stop", …
pub fn workspace_refused(name: &str, action: &str, reason: &str) -> ChatMessage {
    render(
        "workspace_refused",
        &json!({ "name": name, "action": action, "reason": reason }),
    )
}

/// `terminate` asks first; only the click terminates.
pub fn terminate_confirm(workspace: &Workspace, button_value: &str) -> ChatMessage {
    render(
        "terminate_confirm",
        &json!({
            "name": workspace.name,
            "instance_type": workspace.instance_type,
            "user": workspace.attribution.user,
            "button_value": button_value,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::workspace;
    use crate::network::web_forwards;
    use crate::template::{Service, ServiceKind};

    const PASSWORD: &str = "30313233343536373839616263646566";

    fn rstudio_workspace() -> Workspace {
        Workspace {
            template: "RStudio Server".into(),
            attribution: crate::launch::Attribution {
                user: "michael_johnson".into(),
                ..workspace().attribution
            },
            ..workspace()
        }
    }

    #[test]
    fn the_studio_sign_in_link_goes_in_a_dm_that_says_how_long_it_works() {
        let workspace = Workspace {
            template: "SageMaker Studio".into(),
            instance_id: "d-abc123def456/mit-studio".into(),
            instance_type: "ml.m5.xlarge".into(),
            name: "mit-studio".into(),
            platform: crate::template::Platform::SagemakerStudio,
            ..workspace()
        };
        let url = "https://d-abc123def456.studio.us-east-1.sagemaker.aws/auth?token=T";
        let direct = studio_sign_in(&workspace, url);
        insta::assert_snapshot!(direct.text, @"🔐 Your sign-in link to mit-studio (SageMaker Studio, project nih-neuro-consortium): https://d-abc123def456.studio.us-east-1.sagemaker.aws/auth?token=T It works once, within 5 minutes.");
        let blocks = serde_json::to_string(&direct.blocks).unwrap();
        assert!(
            blocks.contains(&format!("<{url}|Open *mit-studio*")),
            "{blocks}"
        );
        assert!(blocks.contains("the session lasts 8 hours"), "{blocks}");
        crate::message::limits::assert_within_slack_limits(&direct);
        assert!(blocks.contains("JupyterLab on ml.m5.xlarge"), "{blocks}");
        let sent = studio_sign_in_sent(&workspace);
        assert!(!sent.text.contains(url));
        let refused = studio_sign_in_refused(&workspace);
        let owner = format!("goes only to them ({})", workspace.attribution.user);
        assert!(refused.text.contains(&owner), "{}", refused.text);

        // A Canvas link says it opens Canvas, and what it is billed by.
        let canvas = Workspace {
            template: "SageMaker Canvas".into(),
            instance_id: "d-abc123def456/canvas/michael-johnson".into(),
            instance_type: "canvas.session".into(),
            name: "mit-canvas".into(),
            platform: Platform::SagemakerCanvas,
            ..workspace
        };
        let blocks = serde_json::to_string(&studio_sign_in(&canvas, url).blocks).unwrap();
        assert!(
            blocks.contains("in SageMaker Canvas> (project *nih-neuro-consortium*): Canvas, billed by the session hour"),
            "{blocks}"
        );
        assert!(
            studio_sign_in_sent(&canvas)
                .text
                .contains("(SageMaker Canvas)")
        );
    }

    #[test]
    fn the_direct_message_has_each_forward_address_login_and_the_password() {
        let workspace = rstudio_workspace();
        let services = [
            Service {
                kind: ServiceKind::Rstudio,
                port: 8787,
            },
            Service {
                kind: ServiceKind::Vscode,
                port: 8080,
            },
        ];
        let forwards = web_forwards(
            &workspace.instance_id,
            &workspace.region,
            &workspace.attribution.user,
            &services,
        );
        let direct = web_connection(&workspace, &forwards, PASSWORD);
        insta::assert_snapshot!(direct.text, @"🔐 How to open RStudio Server and VS Code (code-server) on mit-algorithm-dev (project nih-neuro-consortium), with its password. Delete this message once you have saved the password.");
        insta::assert_json_snapshot!(direct.blocks);
    }

    #[test]
    fn the_channel_answers_carry_no_password() {
        let workspace = rstudio_workspace();
        let sent = web_connection_sent(&workspace.name, &["RStudio Server"]);
        insta::assert_snapshot!(sent.text, @"🔐 The port forward, address and password for RStudio Server on mit-algorithm-dev came to you by direct message.");
        let refused = web_connection_refused(&workspace, &["Jupyter", "RStudio Server"]);
        let blocks = serde_json::to_string(&refused.blocks).unwrap();
        assert!(
            blocks.contains("Jupyter and RStudio Server")
                && blocks.contains("(michael_johnson) and to the project's owners and admins"),
            "{blocks}"
        );
        for message in [&sent, &refused] {
            let all = format!(
                "{}{}",
                message.text,
                serde_json::to_string(&message.blocks).unwrap()
            );
            assert!(
                !all.contains(PASSWORD) && !all.contains("start-session"),
                "{all}"
            );
        }
    }
}
