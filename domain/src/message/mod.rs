//! Every message a person reads, one function each, rendered from `message-templates/`.
//! Templates produce Slack message JSON (`text` fallback plus Block Kit `blocks`); all
//! interpolated values are escaped for Slack mrkdwn and for JSON, so no user input can inject
//! markup or break the document.

mod access;
mod alert;
mod archive;
mod audit;
mod chargeback;
mod cost;
mod deployment;
pub(crate) mod digest;
pub mod discord;
mod expiry;
mod idle;
mod limit;
pub mod limits;
mod mail;
mod policy;
mod preserve;
mod status;
mod templates;
mod verification;
mod volume;
mod workspaces;

use std::sync::LazyLock;

use handlebars::Handlebars;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::budget::{BudgetPosition, Runway};
use crate::command::{Launch, ParseError};
use crate::launch::LaunchRefusal;
use crate::ports::PortError;
use crate::pricing::Money;
use crate::template::Size;
use crate::time_text;
use crate::workspace::Workspace;

pub use access::*;
pub use alert::*;
pub use archive::*;
pub use audit::*;
pub use chargeback::*;
pub use cost::*;
pub use deployment::*;
pub use digest::*;
pub use expiry::*;
pub use idle::*;
pub use limit::*;
pub use mail::MailText;
pub use policy::*;
pub use preserve::*;
pub use status::*;
pub use templates::*;
pub use verification::*;
pub use volume::*;
pub use workspaces::*;

/// A message ready for any chat adapter: `text` stands alone (terminal, notifications),
/// `blocks` is the rich Slack rendering, which Discord receives converted
/// ([`discord::discord_messages`]) unless the message has a Discord rendering of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub text: String,
    #[serde(default)]
    pub blocks: Vec<Value>,
    /// `{content, embeds}` from `message-templates/discord/`, for messages whose Discord form
    /// is not their Slack form converted (the weekly digest's embed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<Value>,
}

const TEMPLATES: &[(&str, &str)] = &[
    (
        "template_proposal",
        include_str!("../../../message-templates/slack/template_proposal.json.hbs"),
    ),
    (
        "template_proposed",
        include_str!("../../../message-templates/slack/template_proposed.json.hbs"),
    ),
    (
        "template_proposal_refused",
        include_str!("../../../message-templates/slack/template_proposal_refused.json.hbs"),
    ),
    (
        "template_decided",
        include_str!("../../../message-templates/slack/template_decided.json.hbs"),
    ),
    (
        "template_decision_recorded",
        include_str!("../../../message-templates/slack/template_decision_recorded.json.hbs"),
    ),
    (
        "template_decision_refused",
        include_str!("../../../message-templates/slack/template_decision_refused.json.hbs"),
    ),
    (
        "template_show",
        include_str!("../../../message-templates/slack/template_show.json.hbs"),
    ),
    (
        "launch_accepted_unchecked",
        include_str!("../../../message-templates/slack/launch_accepted_unchecked.json.hbs"),
    ),
    (
        "template_unknown",
        include_str!("../../../message-templates/slack/template_unknown.json.hbs"),
    ),
    (
        "template_proposals_off",
        include_str!("../../../message-templates/slack/template_proposals_off.json.hbs"),
    ),
    (
        "snapshot_created",
        include_str!("../../../message-templates/slack/snapshot_created.json.hbs"),
    ),
    (
        "snapshot_list",
        include_str!("../../../message-templates/slack/snapshot_list.json.hbs"),
    ),
    (
        "snapshot_deleted",
        include_str!("../../../message-templates/slack/snapshot_deleted.json.hbs"),
    ),
    (
        "snapshot_unknown",
        include_str!("../../../message-templates/slack/snapshot_unknown.json.hbs"),
    ),
    (
        "snapshot_name_taken",
        include_str!("../../../message-templates/slack/snapshot_name_taken.json.hbs"),
    ),
    (
        "workspace_transferred",
        include_str!("../../../message-templates/slack/workspace_transferred.json.hbs"),
    ),
    (
        "download_sent",
        include_str!("../../../message-templates/slack/download_sent.json.hbs"),
    ),
    (
        "download_ready",
        include_str!("../../../message-templates/slack/download_ready.json.hbs"),
    ),
    (
        "download_failed",
        include_str!("../../../message-templates/slack/download_failed.json.hbs"),
    ),
    (
        "round_failed",
        include_str!("../../../message-templates/slack/round_failed.json.hbs"),
    ),
    (
        "template_list",
        include_str!("../../../message-templates/slack/template_list.json.hbs"),
    ),
    (
        "template_list_for_profile",
        include_str!("../../../message-templates/slack/template_list_for_profile.json.hbs"),
    ),
    (
        "account_has_no_project",
        include_str!("../../../message-templates/slack/account_has_no_project.json.hbs"),
    ),
    (
        "project_archived",
        include_str!("../../../message-templates/slack/project_archived.json.hbs"),
    ),
    (
        "project_archived_refused",
        include_str!("../../../message-templates/slack/project_archived_refused.json.hbs"),
    ),
    (
        "ssh_key_replaced",
        include_str!("../../../message-templates/slack/ssh_key_replaced.json.hbs"),
    ),
    (
        "verification_link",
        include_str!("../../../message-templates/slack/verification_link.json.hbs"),
    ),
    (
        "identity_verified",
        include_str!("../../../message-templates/slack/identity_verified.json.hbs"),
    ),
    (
        "verification_failed",
        include_str!("../../../message-templates/slack/verification_failed.json.hbs"),
    ),
    (
        "volume_created",
        include_str!("../../../message-templates/slack/volume_created.json.hbs"),
    ),
    (
        "volume_refused",
        include_str!("../../../message-templates/slack/volume_refused.json.hbs"),
    ),
    (
        "volume_homes_set",
        include_str!("../../../message-templates/slack/volume_homes_set.json.hbs"),
    ),
    (
        "volume_mounted",
        include_str!("../../../message-templates/slack/volume_mounted.json.hbs"),
    ),
    (
        "volume_mount_failed",
        include_str!("../../../message-templates/slack/volume_mount_failed.json.hbs"),
    ),
    (
        "volume_list",
        include_str!("../../../message-templates/slack/volume_list.json.hbs"),
    ),
    (
        "volume_status",
        include_str!("../../../message-templates/slack/volume_status.json.hbs"),
    ),
    (
        "collaboration_report",
        include_str!("../../../message-templates/slack/collaboration_report.json.hbs"),
    ),
    (
        "expiry_warning",
        include_str!("../../../message-templates/slack/expiry_warning.json.hbs"),
    ),
    (
        "collaboration_ended",
        include_str!("../../../message-templates/slack/collaboration_ended.json.hbs"),
    ),
    (
        "collaboration_ended_owner",
        include_str!("../../../message-templates/slack/collaboration_ended_owner.json.hbs"),
    ),
    (
        "grace_ending",
        include_str!("../../../message-templates/slack/grace_ending.json.hbs"),
    ),
    (
        "grace_ending_owner",
        include_str!("../../../message-templates/slack/grace_ending_owner.json.hbs"),
    ),
    (
        "grace_cleaned",
        include_str!("../../../message-templates/slack/grace_cleaned.json.hbs"),
    ),
    (
        "access_extended",
        include_str!("../../../message-templates/slack/access_extended.json.hbs"),
    ),
    (
        "invitation_extended",
        include_str!("../../../message-templates/slack/invitation_extended.json.hbs"),
    ),
    (
        "extend_refused",
        include_str!("../../../message-templates/slack/extend_refused.json.hbs"),
    ),
    (
        "collaboration_end_scheduled",
        include_str!("../../../message-templates/slack/collaboration_end_scheduled.json.hbs"),
    ),
    (
        "collaboration_export",
        include_str!("../../../message-templates/slack/collaboration_export.json.hbs"),
    ),
    (
        "snapshots_transferred",
        include_str!("../../../message-templates/slack/snapshots_transferred.json.hbs"),
    ),
    (
        "account_refused",
        include_str!("../../../message-templates/slack/account_refused.json.hbs"),
    ),
    (
        "launch_accepted",
        include_str!("../../../message-templates/slack/launch_accepted.json.hbs"),
    ),
    (
        "launch_succeeded",
        include_str!("../../../message-templates/slack/launch_succeeded.json.hbs"),
    ),
    (
        "launch_refused",
        include_str!("../../../message-templates/slack/launch_refused.json.hbs"),
    ),
    (
        "launch_failed",
        include_str!("../../../message-templates/slack/launch_failed.json.hbs"),
    ),
    (
        "name_taken",
        include_str!("../../../message-templates/slack/name_taken.json.hbs"),
    ),
    (
        "parse_error",
        include_str!("../../../message-templates/slack/parse_error.json.hbs"),
    ),
    (
        "help",
        include_str!("../../../message-templates/slack/help.json.hbs"),
    ),
    (
        "not_available",
        include_str!("../../../message-templates/slack/not_available.json.hbs"),
    ),
    (
        "not_shown",
        include_str!("../../../message-templates/slack/not_shown.json.hbs"),
    ),
    (
        "in_file",
        include_str!("../../../message-templates/slack/in_file.json.hbs"),
    ),
    (
        "try_again",
        include_str!("../../../message-templates/slack/try_again.json.hbs"),
    ),
    (
        "job_dead_lettered",
        include_str!("../../../message-templates/slack/job_dead_lettered.json.hbs"),
    ),
    (
        "working_on_it",
        include_str!("../../../message-templates/slack/working_on_it.json.hbs"),
    ),
    (
        "project_exists",
        include_str!("../../../message-templates/slack/project_exists.json.hbs"),
    ),
    (
        "project_create_refused",
        include_str!("../../../message-templates/slack/project_create_refused.json.hbs"),
    ),
    (
        "project_institution_needed",
        include_str!("../../../message-templates/slack/project_institution_needed.json.hbs"),
    ),
    (
        "project_request",
        include_str!("../../../message-templates/slack/project_request.json.hbs"),
    ),
    (
        "project_requested",
        include_str!("../../../message-templates/slack/project_requested.json.hbs"),
    ),
    (
        "project_request_decided",
        include_str!("../../../message-templates/slack/project_request_decided.json.hbs"),
    ),
    (
        "project_request_recorded",
        include_str!("../../../message-templates/slack/project_request_recorded.json.hbs"),
    ),
    (
        "project_request_refused",
        include_str!("../../../message-templates/slack/project_request_refused.json.hbs"),
    ),
    (
        "exception_own_request",
        include_str!("../../../message-templates/slack/exception_own_request.json.hbs"),
    ),
    (
        "project_approvers",
        include_str!("../../../message-templates/slack/project_approvers.json.hbs"),
    ),
    (
        "no_profile",
        include_str!("../../../message-templates/slack/no_profile.json.hbs"),
    ),
    (
        "not_member",
        include_str!("../../../message-templates/slack/not_member.json.hbs"),
    ),
    (
        "not_permitted",
        include_str!("../../../message-templates/slack/not_permitted.json.hbs"),
    ),
    (
        "profile_inactive",
        include_str!("../../../message-templates/slack/profile_inactive.json.hbs"),
    ),
    (
        "invite_refused",
        include_str!("../../../message-templates/slack/invite_refused.json.hbs"),
    ),
    (
        "invitation_name_taken",
        include_str!("../../../message-templates/slack/invitation_name_taken.json.hbs"),
    ),
    (
        "invitation_unknown",
        include_str!("../../../message-templates/slack/invitation_unknown.json.hbs"),
    ),
    (
        "invitation_revoked",
        include_str!("../../../message-templates/slack/invitation_revoked.json.hbs"),
    ),
    (
        "invitation_refused",
        include_str!("../../../message-templates/slack/invitation_refused.json.hbs"),
    ),
    (
        "profile_name_taken",
        include_str!("../../../message-templates/slack/profile_name_taken.json.hbs"),
    ),
    (
        "already_member",
        include_str!("../../../message-templates/slack/already_member.json.hbs"),
    ),
    (
        "profile_switched",
        include_str!("../../../message-templates/slack/profile_switched.json.hbs"),
    ),
    (
        "profile_unknown",
        include_str!("../../../message-templates/slack/profile_unknown.json.hbs"),
    ),
    (
        "exception_not_yours",
        include_str!("../../../message-templates/slack/exception_not_yours.json.hbs"),
    ),
    (
        "exception_expired",
        include_str!("../../../message-templates/slack/exception_expired.json.hbs"),
    ),
    (
        "exception_already_decided",
        include_str!("../../../message-templates/slack/exception_already_decided.json.hbs"),
    ),
    (
        "exception_already_requested",
        include_str!("../../../message-templates/slack/exception_already_requested.json.hbs"),
    ),
    (
        "button_invalid",
        include_str!("../../../message-templates/slack/button_invalid.json.hbs"),
    ),
    (
        "csv_refused",
        include_str!("../../../message-templates/slack/csv_refused.json.hbs"),
    ),
    (
        "something_went_wrong",
        include_str!("../../../message-templates/slack/something_went_wrong.json.hbs"),
    ),
    (
        "project_created",
        include_str!("../../../message-templates/slack/project_created.json.hbs"),
    ),
    (
        "invitation_created",
        include_str!("../../../message-templates/slack/invitation_created.json.hbs"),
    ),
    (
        "invitations_created",
        include_str!("../../../message-templates/slack/invitations_created.json.hbs"),
    ),
    (
        "invitation_list",
        include_str!("../../../message-templates/slack/invitation_list.json.hbs"),
    ),
    (
        "profile_created",
        include_str!("../../../message-templates/slack/profile_created.json.hbs"),
    ),
    (
        "ssh_private_key",
        include_str!("../../../message-templates/slack/ssh_private_key.json.hbs"),
    ),
    (
        "profiles_list",
        include_str!("../../../message-templates/slack/profiles_list.json.hbs"),
    ),
    (
        "policy_violation",
        include_str!("../../../message-templates/slack/policy_violation.json.hbs"),
    ),
    (
        "policy_test",
        include_str!("../../../message-templates/slack/policy_test.json.hbs"),
    ),
    (
        "policy_show",
        include_str!("../../../message-templates/slack/policy_show.json.hbs"),
    ),
    (
        "exception_request",
        include_str!("../../../message-templates/slack/exception_request.json.hbs"),
    ),
    (
        "exception_requested",
        include_str!("../../../message-templates/slack/exception_requested.json.hbs"),
    ),
    (
        "exception_decided",
        include_str!("../../../message-templates/slack/exception_decided.json.hbs"),
    ),
    (
        "exception_decision_recorded",
        include_str!("../../../message-templates/slack/exception_decision_recorded.json.hbs"),
    ),
    (
        "workspace_list",
        include_str!("../../../message-templates/slack/workspace_list.json.hbs"),
    ),
    (
        "workspace_status",
        include_str!("../../../message-templates/slack/workspace_status.json.hbs"),
    ),
    (
        "workspace_changed",
        include_str!("../../../message-templates/slack/workspace_changed.json.hbs"),
    ),
    (
        "workspace_unchanged",
        include_str!("../../../message-templates/slack/workspace_unchanged.json.hbs"),
    ),
    (
        "workspace_unknown",
        include_str!("../../../message-templates/slack/workspace_unknown.json.hbs"),
    ),
    (
        "workspace_refused",
        include_str!("../../../message-templates/slack/workspace_refused.json.hbs"),
    ),
    (
        "web_connection",
        include_str!("../../../message-templates/slack/web_connection.json.hbs"),
    ),
    (
        "web_connection_sent",
        include_str!("../../../message-templates/slack/web_connection_sent.json.hbs"),
    ),
    (
        "web_connection_refused",
        include_str!("../../../message-templates/slack/web_connection_refused.json.hbs"),
    ),
    (
        "studio_sign_in",
        include_str!("../../../message-templates/slack/studio_sign_in.json.hbs"),
    ),
    (
        "studio_sign_in_sent",
        include_str!("../../../message-templates/slack/studio_sign_in_sent.json.hbs"),
    ),
    (
        "studio_sign_in_refused",
        include_str!("../../../message-templates/slack/studio_sign_in_refused.json.hbs"),
    ),
    (
        "terminate_confirm",
        include_str!("../../../message-templates/slack/terminate_confirm.json.hbs"),
    ),
    (
        "project_status",
        include_str!("../../../message-templates/slack/project_status.json.hbs"),
    ),
    (
        "project_cost",
        include_str!("../../../message-templates/slack/project_cost.json.hbs"),
    ),
    (
        "budget_alert",
        include_str!("../../../message-templates/slack/budget_alert.json.hbs"),
    ),
    (
        "weekly_digest",
        include_str!("../../../message-templates/slack/weekly_digest.json.hbs"),
    ),
    (
        "chargeback_enabled",
        include_str!("../../../message-templates/slack/chargeback_enabled.json.hbs"),
    ),
    (
        "chargeback_not_enabled",
        include_str!("../../../message-templates/slack/chargeback_not_enabled.json.hbs"),
    ),
    (
        "chargeback_statement",
        include_str!("../../../message-templates/slack/chargeback_statement.json.hbs"),
    ),
    (
        "project_budget",
        include_str!("../../../message-templates/slack/project_budget.json.hbs"),
    ),
    (
        "limit_enforced",
        include_str!("../../../message-templates/slack/limit_enforced.json.hbs"),
    ),
    (
        "idle_warning",
        include_str!("../../../message-templates/slack/idle_warning.json.hbs"),
    ),
    (
        "idle_kept",
        include_str!("../../../message-templates/slack/idle_kept.json.hbs"),
    ),
    (
        "idle_acted",
        include_str!("../../../message-templates/slack/idle_acted.json.hbs"),
    ),
    (
        "idle_shut_down_by_platform",
        include_str!("../../../message-templates/slack/idle_shut_down_by_platform.json.hbs"),
    ),
    (
        "project_idle",
        include_str!("../../../message-templates/slack/project_idle.json.hbs"),
    ),
    (
        "project_reconcile",
        include_str!("../../../message-templates/slack/project_reconcile.json.hbs"),
    ),
    (
        "audit_verify",
        include_str!("../../../message-templates/slack/audit_verify.json.hbs"),
    ),
    (
        "audit_report",
        include_str!("../../../message-templates/slack/audit_report.json.hbs"),
    ),
];

/// Discord renderings of messages whose Discord form is not their Slack form converted:
/// `{content, embeds}`, with values escaped for JSON only (Discord markdown has no entities).
const DISCORD_TEMPLATES: &[(&str, &str)] = &[
    (
        "weekly_digest",
        include_str!("../../../message-templates/discord/weekly_digest.json.hbs"),
    ),
    (
        "exception_reason",
        include_str!("../../../message-templates/discord/exception_reason.json.hbs"),
    ),
];

/// Pieces several templates share.
const PARTIALS: &[(&str, &str)] = &[
    (
        "launch_check",
        include_str!("../../../message-templates/slack/_launch_check.hbs"),
    ),
    (
        "restriction_list",
        include_str!("../../../message-templates/slack/_restriction_list.hbs"),
    ),
];

static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(escape_slack_json);
    registry.register_helper("pad", Box::new(pad));
    for (name, source) in PARTIALS {
        // A partial lands inside a JSON string, so the file's final newline must not.
        registry
            .register_partial(name, source.trim_end())
            .expect("partials are compiled in and rendered by the snapshot tests");
    }
    for (name, source) in TEMPLATES {
        registry
            .register_template_string(name, *source)
            .expect("message templates are compiled in and rendered by the snapshot tests");
    }
    registry
});

static DISCORD_REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(escape_json);
    for (name, source) in DISCORD_TEMPLATES {
        registry
            .register_template_string(name, *source)
            .expect("Discord templates are compiled in and rendered by the snapshot tests");
    }
    registry
});

/// `{{pad value width}}`: the value left-aligned in `width` characters, for monospace tables;
/// escaped like any other value of the template (Slack JSON, or nothing for plain-text mail).
fn pad(
    helper: &handlebars::Helper<'_>,
    registry: &Handlebars<'_>,
    _: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let value = match helper.param(0).map(|p| p.value()) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let width = helper
        .param(1)
        .and_then(|p| p.value().as_u64())
        .unwrap_or(0) as usize;
    let padded = format!("{value:<width$}");
    out.write(&registry.get_escape_fn()(&padded))?;
    Ok(())
}

/// Slack mrkdwn reserves `&`, `<` and `>`; the result then sits inside a JSON string.
/// A value inside a JSON string of a Slack message: Slack's three entities, then JSON's escapes
/// as serde_json writes them. Every value of every message goes through it.
fn escape_slack_json(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len() + 8);
    push_slack_json(&mut escaped, raw);
    escaped
}

/// [`escape_slack_json`] onto `out`: the runs that need no escape are copied whole (every
/// character that does is ASCII, so a run ends on a character boundary).
fn push_slack_json(out: &mut String, raw: &str) {
    let mut plain = 0;
    for (at, byte) in raw.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' | b'\\' => "",
            byte if byte < 0x20 => "",
            _ => continue,
        };
        out.push_str(&raw[plain..at]);
        if entity.is_empty() {
            push_json_char(out, char::from(byte));
        } else {
            out.push_str(entity);
        }
        plain = at + 1;
    }
    out.push_str(&raw[plain..]);
}

fn escape_json(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        push_json_char(&mut escaped, c);
    }
    escaped
}

/// `c` as it stands inside a JSON string, escaped exactly as serde_json escapes it.
fn push_json_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let byte = c as u8;
            out.push_str("\\u00");
            out.push(HEX[(byte >> 4) as usize] as char);
            out.push(HEX[(byte & 0xf) as usize] as char);
        }
        c => out.push(c),
    }
}

/// A Discord-only rendering, e.g. a modal.
fn render_discord(template: &str, data: &Value) -> Value {
    let json = DISCORD_REGISTRY
        .render(template, data)
        .expect("message data is typed, and every template is rendered by the snapshot tests");
    serde_json::from_str(&json).expect("Discord templates render valid JSON (snapshot tests)")
}

/// The Slack rendering with the Discord one from `message-templates/discord/` beside it.
fn render_for_both(template: &str, data: &Value) -> ChatMessage {
    let mut message = render(template, data);
    message.discord = Some(render_discord(template, data));
    message
}

fn render(template: &str, data: &Value) -> ChatMessage {
    let json = REGISTRY
        .render(template, data)
        .expect("message data is typed, and every template is rendered by the snapshot tests");
    serde_json::from_str(&json).expect("message templates render valid JSON (snapshot tests)")
}

/// The answer to `/cws launch` where the edge cannot know the template (the deployment
/// publishes templates): the job is queued, and the worker checks the template.
pub fn launch_accepted_unchecked(launch: &Launch) -> ChatMessage {
    render(
        "launch_accepted_unchecked",
        &json!({
            "name": launch.name.as_str(),
            "template": launch.template,
            "size": launch.size.map(|size| size.as_str()),
        }),
    )
}

/// The immediate, private answer to `/cws launch`: the job is queued.
pub fn launch_accepted(
    launch: &Launch,
    template: &str,
    size: Size,
    instance_type: &str,
) -> ChatMessage {
    render(
        "launch_accepted",
        &json!({
            "name": launch.name.as_str(),
            "template": template,
            "size": size.as_str(),
            "instance_type": instance_type,
        }),
    )
}

/// [`launch_accepted`] as the JSON text of its message (`{"text":…,"blocks":[…]}`), filled in
/// from the template rendered once: the bot answers every launch with it, and rendering the
/// template anew for each was a seventh of the bot's work under load.
pub fn launch_accepted_json(
    launch: &Launch,
    template: &str,
    size: Size,
    instance_type: &str,
) -> String {
    static PRERENDERED: LazyLock<Prerendered> = LazyLock::new(|| {
        Prerendered::new(
            "launch_accepted",
            &["name", "template", "size", "instance_type"],
        )
    });
    PRERENDERED.fill(&[launch.name.as_str(), template, size.as_str(), instance_type])
}

/// A template without conditions on its values, rendered once with a marker where each value
/// goes and cut at the markers: filling it in joins the pieces with the values escaped as
/// rendering escapes them.
struct Prerendered {
    /// One more than `slots`: the text before each value, and after the last.
    pieces: Vec<String>,
    /// Which value goes after each piece.
    slots: Vec<usize>,
}

/// Private-use characters around a value's index: no template text contains them, and
/// escaping leaves them as they are.
const MARK_OPEN: char = '\u{e000}';
const MARK_CLOSE: char = '\u{e001}';

impl Prerendered {
    fn new(template: &str, keys: &[&str]) -> Prerendered {
        let data: serde_json::Map<String, Value> = keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let mark = format!("{MARK_OPEN}{index}{MARK_CLOSE}");
                ((*key).to_owned(), Value::String(mark))
            })
            .collect();
        let rendered = REGISTRY
            .render(template, &Value::Object(data))
            .expect("message templates are compiled in and rendered by the snapshot tests");
        let mut pieces = Vec::new();
        let mut slots = Vec::new();
        let mut rest = rendered.as_str();
        while let Some(open) = rest.find(MARK_OPEN) {
            pieces.push(rest[..open].to_owned());
            let after = &rest[open + MARK_OPEN.len_utf8()..];
            let close = after.find(MARK_CLOSE).expect("each marker is closed");
            slots.push(
                after[..close]
                    .parse()
                    .expect("a marker holds its value's index"),
            );
            rest = &after[close + MARK_CLOSE.len_utf8()..];
        }
        pieces.push(rest.to_owned());
        Prerendered { pieces, slots }
    }

    fn fill(&self, values: &[&str]) -> String {
        let mut filled = String::with_capacity(
            self.pieces.iter().map(String::len).sum::<usize>() + 16 * self.slots.len(),
        );
        for (piece, slot) in self.pieces.iter().zip(&self.slots) {
            filled.push_str(piece);
            push_slack_json(&mut filled, values[*slot]);
        }
        filled.push_str(self.pieces.last().expect("at least one piece"));
        filled
    }
}

/// Posted in the channel once the instance exists, with the project's runway: how long this
/// month's budget lasts at the burn of everything now running.
pub fn launch_succeeded(
    workspace: &Workspace,
    user_id: &str,
    budget: &BudgetPosition,
) -> ChatMessage {
    let (until, spent) = match budget.runway() {
        Runway::Until(at) => (Some(time_text::date(at)), false),
        Runway::Spent => (None, true),
        Runway::NoBurn | Runway::PastMonthEnd => (None, false),
    };
    let burn = (budget.burn_hourly > Money::ZERO).then(|| budget.burn_hourly.display_rate());
    render(
        "launch_succeeded",
        &json!({
            "user_id": user_id,
            "name": workspace.name,
            "instance_id": workspace.instance_id,
            "template": workspace.template,
            "size": workspace.size.as_str(),
            "instance_type": workspace.instance_type,
            "region": workspace.region,
            "rate": workspace.hourly.display_rate(),
            "project": workspace.attribution.project,
            "institution": workspace.attribution.institution,
            "invitation": workspace.attribution.invitation,
            "burn": burn,
            "until": until,
            "spent": spent,
        }),
    )
}

/// The request itself cannot be launched (unknown template, size or region).
pub fn launch_refused(name: &str, refusal: &LaunchRefusal) -> ChatMessage {
    let (reason, choices_label, choices): (String, &str, Vec<String>) = match refusal {
        LaunchRefusal::UnknownTemplate(unknown) => (
            format!("there is no template called \"{}\"", unknown.requested),
            "Templates",
            unknown.available.clone(),
        ),
        LaunchRefusal::SizeNotOffered {
            template,
            size,
            offered,
        } => (
            format!("{template} has no size {size}"),
            "Sizes",
            offered.iter().map(|s| s.to_string()).collect(),
        ),
        LaunchRefusal::RegionNotOffered {
            template,
            region,
            offered,
        } => (
            format!("{template} is not offered in {region}"),
            "Regions",
            offered.clone(),
        ),
        LaunchRefusal::NoPrice {
            instance_type,
            region,
        } => (
            format!(
                "{instance_type} has no known price in {region}, so its cost could not be tracked"
            ),
            "",
            Vec::new(),
        ),
        LaunchRefusal::OnePerPerson {
            platform,
            region,
            existing,
        } => (
            format!(
                "SageMaker runs one {platform} per person in a project's domain, and yours in \
                 {region} is *{existing}*: open it with `/cws connect {existing}`, or terminate \
                 it first"
            ),
            "",
            Vec::new(),
        ),
    };
    render(
        "launch_refused",
        &json!({ "name": name, "reason": reason, "choices_label": choices_label, "choices": choices }),
    )
}

/// The cloud refused or stayed unavailable through every retry.
pub fn launch_failed(
    name: &str,
    user_id: &str,
    error: &PortError,
    attempts: u32,
    reference: &str,
) -> ChatMessage {
    let explanation = match error {
        PortError::Transient(detail) | PortError::StoreUnavailable(detail) => format!(
            "AWS stayed unavailable through {attempts} attempts ({detail}). Nothing was started; please try again later."
        ),
        PortError::Rejected { code, message } if code == crate::network::NOT_SET_UP => format!(
            "This deployment is not set up for it yet: {message}. Nothing was started; your \
             administrator can check the whole setup with `cws doctor`."
        ),
        PortError::Rejected { code, message } if code == crate::quota::VCPU_LIMIT_EXCEEDED => {
            format!("Nothing was started: {message}.")
        }
        PortError::Rejected { code, message } => {
            format!("AWS refused the launch: {code}: {message}. Nothing was started.")
        }
    };
    render(
        "launch_failed",
        &json!({ "name": name, "user_id": user_id, "explanation": explanation, "reference": reference }),
    )
}

pub fn name_taken(name: &str) -> ChatMessage {
    render("name_taken", &json!({ "name": name }))
}

/// What was wrong with the command line, and the usage of the command it looked like.
pub fn parse_error(error: &ParseError) -> ChatMessage {
    render(
        "parse_error",
        &json!({ "problem": error.to_string(), "usage": error.usage().unwrap_or_default() }),
    )
}

pub fn help(text: &str) -> ChatMessage {
    render("help", &json!({ "help": text }))
}

/// `/cws templates list`: every template of the deployment's catalog, as launch takes them.
pub fn template_list(catalog: &crate::template::Catalog) -> ChatMessage {
    let mut templates = templates_data(catalog.templates());
    for (data, template) in templates.iter_mut().zip(catalog.templates()) {
        data["publisher"] = catalog
            .provenance(template)
            .map(|provenance| provenance.publisher.to_string())
            .into();
        data["version"] = template.version.clone().into();
    }
    render(
        "template_list",
        &json!({ "count": templates.len(), "templates": templates }),
    )
}

/// `/cws templates list --profile-filtered`: what [`crate::policy::allowed_templates`] left of
/// the catalog's `total` templates for the active profile, and its restrictions.
pub fn template_list_for_profile(
    profile: &str,
    allowed: &[crate::template::Template],
    total: usize,
    restrictions: Option<&crate::command::PolicyRestrictions>,
) -> ChatMessage {
    let templates = templates_data(allowed);
    render(
        "template_list_for_profile",
        &json!({
            "profile": profile,
            "count": templates.len(),
            "total": total,
            "templates": templates,
            "restrictions": policy::restrictions_data(restrictions),
        }),
    )
}

fn templates_data(templates: &[crate::template::Template]) -> Vec<Value> {
    templates
        .iter()
        .map(|template| {
            let sizes: Vec<_> = template
                .sizes
                .iter()
                .map(|(size, instance_type)| {
                    json!({
                        "size": size.as_str(),
                        "instance_type": instance_type,
                        "default": *size == template.default_size,
                    })
                })
                .collect();
            let services: Vec<String> = template
                .services
                .iter()
                .map(|service| format!("{} :{}", service.kind, service.port))
                .collect();
            json!({
                "name": template.name,
                "slug": template.slug,
                "description": template.description,
                "sizes": sizes,
                "regions": template.regions.join(", "),
                "services": services.join(", "),
                "hibernation": template.hibernation,
            })
        })
        .collect()
}

/// A command that parses but whose worker side is not deployed yet.
pub fn not_available(command: &str) -> ChatMessage {
    render("not_available", &json!({ "command": command }))
}

/// The bot's answer to a command a worker runs: the worker replies when done.
pub fn working_on_it(command: &str) -> ChatMessage {
    render("working_on_it", &json!({ "command": command }))
}

/// An internal failure: the person gets a reference, the log gets the details.
pub fn something_went_wrong(command: &str, reference: &str) -> ChatMessage {
    render(
        "something_went_wrong",
        &json!({ "command": command, "reference": reference }),
    )
}

/// To the operations channel: a worker gave up on a job for good. `id` is the queue's task id
/// the replay takes, when the queue gives one (the embedded mode's does not).
pub fn job_dead_lettered(
    kind: &str,
    reference: &str,
    error: &str,
    id: Option<&str>,
) -> ChatMessage {
    render(
        "job_dead_lettered",
        &json!({ "kind": kind, "reference": reference, "error": error, "id": id }),
    )
}

/// To the operations channel: a scheduled round failed; the next one tries again.
pub fn round_failed(round: &str, error: &str) -> ChatMessage {
    render("round_failed", &json!({ "round": round, "error": error }))
}

/// A button value that does not verify: edited, or from another deployment.
pub fn button_invalid() -> ChatMessage {
    render("button_invalid", &json!({}))
}

/// The queue could not take the job; the user should try again.
pub fn try_again(reference: &str) -> ChatMessage {
    render("try_again", &json!({ "reference": reference }))
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    proptest! {
        #[test]
        fn the_prerendered_launch_acknowledgement_is_the_rendered_one(
            name in "[a-z][a-z0-9]{0,30}",
            template in any::<String>(),
            instance_type in "[a-z0-9.<>&\"\\\\]{1,20}",
        ) {
            let Ok(crate::command::Command::Launch(launch)) = parse(&format!("launch x {name}")) else {
                panic!("a launch parses");
            };
            let rendered = launch_accepted(&launch, &template, Size::L, &instance_type);
            let filled: ChatMessage =
                serde_json::from_str(&launch_accepted_json(&launch, &template, Size::L, &instance_type))
                    .unwrap();
            prop_assert_eq!(filled, rendered);
        }

        #[test]
        fn values_are_escaped_exactly_as_serde_json_escapes_them(raw in any::<String>()) {
            let quoted = Value::String(raw.clone()).to_string();
            prop_assert_eq!(escape_json(&raw), &quoted[1..quoted.len() - 1]);
            let slack = raw.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let quoted = Value::String(slack).to_string();
            prop_assert_eq!(escape_slack_json(&raw), &quoted[1..quoted.len() - 1]);
        }
    }
    use crate::command::parse;
    use crate::job::JobKey;
    use crate::launch::Attribution;
    use crate::pricing::Money;
    use crate::template::UnknownTemplate;

    pub(crate) fn workspace() -> Workspace {
        Workspace {
            name: "mit-algorithm-dev".into(),
            instance_id: "i-0123456789abcdef0".into(),
            job: JobKey::try_from("slack:T1:1.2.3".to_owned()).unwrap(),
            template: "Python Machine Learning".into(),
            size: Size::M,
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: Money::from_micros(83_200),
            attribution: Attribution {
                project: "nih-neuro-consortium".into(),
                user: "slack:T1:U1".into(),
                institution: "mit".into(),
                invitation: "mit-collaboration".into(),
            },
            launched_at: datetime!(2026-03-12 09:00 UTC),
            state: crate::ports::InstanceState::Running,
            hibernation: true,
            owner_user_id: Some("U1".into()),
            storage_gb: 30,
            account: None,
            image_id: Some("ami-0123456789abcdef0".into()),
            platform: crate::template::Platform::Ec2,
        }
    }

    #[test]
    fn the_filtered_template_list_names_the_profile_and_what_was_left_out() {
        let catalog = crate::template::Catalog::builtin();
        let restrictions = crate::policy::tests::berkeley();
        let allowed = crate::policy::allowed_templates(
            catalog.templates(),
            Some(&restrictions),
            crate::pricing::PricingTable::builtin(),
        );
        let message = template_list_for_profile(
            "stanford-collab",
            &allowed,
            catalog.templates().len(),
            Some(&restrictions),
        );
        insta::assert_snapshot!(message.text, @"Templates profile stanford-collab may launch (2 of 8): Python Machine Learning, R Research Environment.");
        let blocks = serde_json::to_string(&message.blocks).unwrap();
        assert!(blocks.contains("Max hourly cost: $0.50/hour"), "{blocks}");
        let nothing = template_list_for_profile("stanford-collab", &[], 4, Some(&restrictions));
        let blocks = serde_json::to_string(&nothing.blocks).unwrap();
        assert!(
            blocks.contains("Nothing in the catalog fits them"),
            "{blocks}"
        );
    }

    #[test]
    fn a_failed_round_names_itself_and_the_error() {
        let message = round_failed("expiry sweep", "the store is unavailable: broken pipe");
        insta::assert_snapshot!(message.text, @"⚠️ The scheduled expiry sweep failed: the store is unavailable: broken pipe. The next round tries again; if this repeats, the workers' logs say more.");
    }

    #[test]
    fn the_template_list_shows_each_templates_sizes_regions_and_services() {
        let message = template_list(crate::template::Catalog::builtin());
        insta::assert_snapshot!(message.text);
        insta::assert_json_snapshot!(message.blocks);
        crate::message::limits::assert_within_slack_limits(&message);
    }

    #[test]
    fn job_dead_lettered_gives_the_reference_the_error_and_the_replay() {
        let message = job_dead_lettered(
            "launch",
            "slack:T1:1.2.3",
            "AWS refused the launch: InvalidParameterValue <size>",
            Some("01KBDEADLETTER"),
        );
        insta::assert_snapshot!(message.text, @"☠️ A launch job failed for good and was dead-lettered: AWS refused the launch: InvalidParameterValue &lt;size&gt; Reference slack:T1:1.2.3. Once the cause is fixed: cws jobs dead replay 01KBDEADLETTER");
        insta::assert_json_snapshot!(message.blocks);
        let embedded = job_dead_lettered("command", "terminal:1", "boom", None);
        assert!(!embedded.text.contains("replay"), "{}", embedded.text);
        assert_eq!(embedded.blocks.len(), 2);
    }

    #[test]
    fn launch_succeeded_names_the_instance() {
        // $2.00 left at $0.0832/h: a day.
        let budget = BudgetPosition::from_ledger(
            Money::from_cents(200),
            &[workspace().ledger_event(
                crate::ledger::LedgerEventKind::Launched,
                datetime!(2026-03-12 09:00 UTC),
            )],
            datetime!(2026-03-12 09:00 UTC),
            |_| Money::ZERO,
        );
        let message = launch_succeeded(&workspace(), "U1", &budget);
        insta::assert_snapshot!(message.text, @"✅ <@U1> launched *mit-algorithm-dev* (i-0123456789abcdef0): Python Machine Learning, t3.large in us-east-1 at $0.0832/h. At the project's current burn ($0.0832/h), this month's budget lasts until March 13, 2026.");
        insta::assert_json_snapshot!(message.blocks);
        insta::assert_json_snapshot!(
            "launch_succeeded_on_discord",
            discord::discord_messages(&message)
        );
    }

    #[test]
    fn unknown_template_lists_the_templates() {
        let refusal = LaunchRefusal::UnknownTemplate(UnknownTemplate {
            requested: "Matlab".into(),
            available: vec!["Python Machine Learning".into(), "Bioinformatics".into()],
        });
        let message = launch_refused("box", &refusal);
        insta::assert_snapshot!(message.text, @r#"❌ Cannot launch *box*: there is no template called "Matlab". Templates: Python Machine Learning, Bioinformatics. Nothing was started."#);
    }

    #[test]
    fn user_text_cannot_inject_markup_or_break_json() {
        let refusal = LaunchRefusal::UnknownTemplate(UnknownTemplate {
            requested: "<!channel> \"}] & more".into(),
            available: vec![],
        });
        let message = launch_refused("box", &refusal);
        assert!(
            message.text.contains("&lt;!channel&gt; \"}] &amp; more"),
            "{}",
            message.text
        );
        assert!(!message.text.contains("<!channel>"));
    }

    #[test]
    fn parse_errors_carry_usage_and_point_to_help() {
        let error = parse("launch \"Python Machine Learning\" box --size XXL").unwrap_err();
        let message = parse_error(&error);
        assert!(message.text.contains("XXL"), "{}", message.text);
        assert!(
            message.text.contains("Usage: /cws launch"),
            "{}",
            message.text
        );
        assert!(message.text.ends_with("See /cws help."));
    }

    #[test]
    fn transient_failures_say_to_try_later() {
        let error = PortError::Transient("connection refused".into());
        let message = launch_failed("box", "U1", &error, 6, "ref-1");
        insta::assert_snapshot!(message.text, @"❌ <@U1> could not launch *box*: AWS stayed unavailable through 6 attempts (connection refused). Nothing was started; please try again later. Reference ref-1.");
    }

    #[test]
    fn every_template_renders_valid_json() {
        let launch = match parse("launch \"Python Machine Learning\" box --size M").unwrap() {
            crate::command::Command::Launch(launch) => launch,
            other => panic!("{other:?}"),
        };
        let rejected = PortError::Rejected {
            code: "InvalidAMIID.NotFound".into(),
            message: "no such AMI".into(),
        };
        for message in [
            launch_accepted(&launch, "Python Machine Learning", Size::M, "t3.large"),
            launch_failed("box", "U1", &rejected, 1, "ref-2"),
            name_taken("box"),
            help("/cws launch TEMPLATE NAME"),
            not_available("project create"),
            try_again("ref-3"),
        ] {
            assert!(!message.text.is_empty());
            assert!(!message.blocks.is_empty());
        }
    }
}
