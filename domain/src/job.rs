//! The jobs the bot hands to workers. A job carries ids and the parsed request, never snapshots
//! of state: the worker reloads what it needs when the job runs.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::{Command, Launch};
use crate::identity::ChatIdentity;

/// The idempotency key of one user request. The queue refuses a second job with the same key,
/// and the launch derives its EC2 ClientToken from it, so a retried or re-run job never
/// launches twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a job key is 1 to 200 printable ASCII characters without spaces, got `{0}`")]
pub struct InvalidJobKey(pub String);

impl JobKey {
    /// The key of a Slack request: Slack gives every slash command and click a unique trigger id.
    pub fn for_slack(team_id: &str, trigger_id: &str) -> Result<JobKey, InvalidJobKey> {
        JobKey::try_from(format!("slack:{team_id}:{trigger_id}"))
    }

    /// The key of a Discord interaction: its id is a snowflake, unique across Discord.
    pub fn for_discord(interaction_id: &str) -> Result<JobKey, InvalidJobKey> {
        JobKey::try_from(format!("discord:{interaction_id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JobKey {
    type Error = InvalidJobKey;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        let printable = key.bytes().all(|b| b.is_ascii_graphic());
        if key.is_empty() || key.len() > 200 || !printable {
            return Err(InvalidJobKey(key));
        }
        Ok(JobKey(key))
    }
}

impl From<JobKey> for String {
    fn from(key: JobKey) -> String {
        key.0
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Records written before Discord existed carry no platform: they are Slack's.
    #[default]
    Slack,
    Discord,
}

impl Platform {
    /// The platform a bare user or channel id belongs to. Discord ids are snowflakes (decimal
    /// digits only); Slack's always begin with a letter (`U…`, `W…`, `C…`, `D…`). Records
    /// that keep only a user id (a project's owner, a workspace's launcher) are routed by this.
    pub fn of_id(id: &str) -> Platform {
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            Platform::Discord
        } else {
            Platform::Slack
        }
    }
}

/// Who asked, as the chat platform identified them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub platform: Platform,
    pub team_id: String,
    pub team_domain: String,
    pub user_id: String,
    pub user_name: String,
}

impl Requester {
    /// The stable identity used in bindings and records: platform, team and user ids.
    pub fn identity(&self) -> ChatIdentity {
        match self.platform {
            Platform::Slack => ChatIdentity::slack(&self.team_id, &self.user_id),
            Platform::Discord => ChatIdentity::discord(&self.user_id),
        }
    }
}

/// Where the outcome of a job is posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    #[serde(default)]
    pub platform: Platform,
    pub channel_id: String,
    /// Slack: the request's `response_url` (5 posts within 30 minutes).
    pub response_url: Option<String>,
    /// Discord: the interaction's token, for follow-ups on its webhook (15 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_token: Option<String>,
}

impl ReplyTo {
    /// A Slack channel, with the request's `response_url` when there is one.
    pub fn slack(channel_id: &str, response_url: Option<String>) -> ReplyTo {
        ReplyTo {
            platform: Platform::Slack,
            channel_id: channel_id.to_owned(),
            response_url,
            interaction_token: None,
        }
    }

    /// A Discord channel, with the interaction's token when there is one.
    pub fn discord(channel_id: &str, interaction_token: Option<String>) -> ReplyTo {
        ReplyTo {
            platform: Platform::Discord,
            channel_id: channel_id.to_owned(),
            response_url: None,
            interaction_token,
        }
    }

    /// The same channel without the request's short-lived reply handle: for answers that
    /// may come long after the request (an exception approved days later).
    pub fn channel_only(&self) -> ReplyTo {
        ReplyTo {
            response_url: None,
            interaction_token: None,
            ..self.clone()
        }
    }
}

/// Launch a workspace. Queue `cws:queue:launch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchJob {
    pub key: JobKey,
    pub requester: Requester,
    pub reply: ReplyTo,
    pub launch: Launch,
}

/// Any command a worker runs other than launch: workspaces, projects, invitations, profiles,
/// policy, audits ([`CommandJob::runs`]). Queue `cws:queue:command`. The worker decides who
/// may run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandJob {
    pub key: JobKey,
    pub requester: Requester,
    pub reply: ReplyTo,
    pub command: Command,
}

impl CommandJob {
    /// Whether workers run this command (as a `CommandJob`); the bot answers help itself,
    /// queues launches on their own queue, and says the rest are not available yet.
    pub fn runs(command: &Command) -> bool {
        use crate::command::{PolicyCommand, ProfilesCommand};
        matches!(
            command,
            Command::Workspace(_)
                | Command::Project(_)
                | Command::Audit(_)
                | Command::Profiles(
                    ProfilesCommand::Use { .. }
                        | ProfilesCommand::List
                        | ProfilesCommand::Verify
                        | ProfilesCommand::InvitationCreate(_)
                        | ProfilesCommand::InvitationCreateCollaboration(_)
                        | ProfilesCommand::InvitationAccept { .. }
                        | ProfilesCommand::InvitationList
                        | ProfilesCommand::InvitationRevoke { .. }
                        | ProfilesCommand::InvitationExtend { .. }
                        | ProfilesCommand::SshKeyAdd { .. }
                        | ProfilesCommand::SshKeyRotate
                )
                | Command::Policy(PolicyCommand::Show | PolicyCommand::Test(_))
                | Command::Templates(_)
                | Command::Collaboration(_)
                | Command::Volume(_)
                | Command::Preserve(_)
        )
    }
}

/// A button someone clicked. Queue `cws:queue:action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionJob {
    pub key: JobKey,
    pub requester: Requester,
    pub reply: ReplyTo,
    pub action: Action,
}

/// The buttons the system posts. `signed` is the button's value as posted (signed by the
/// worker); the worker verifies it, because only it holds the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    RequestException {
        signed: String,
    },
    ApproveException {
        signed: String,
        reason: Option<String>,
    },
    DenyException {
        signed: String,
        reason: Option<String>,
    },
    /// A deployment admin approves a project someone asked for.
    ApproveProject {
        signed: String,
        reason: Option<String>,
    },
    DenyProject {
        signed: String,
        reason: Option<String>,
    },
    /// A deployment admin approves a proposed template: signed and published.
    ApproveTemplate {
        signed: String,
        reason: Option<String>,
    },
    DenyTemplate {
        signed: String,
        reason: Option<String>,
    },
    /// The confirmation `terminate` asks for; the value names the workspace.
    ConfirmTerminate {
        signed: String,
    },
    /// **Keep running (2 h)** on an idle warning; the value names the workspace.
    KeepRunning {
        signed: String,
    },
    /// **Hibernate now** on an idle warning.
    HibernateNow {
        signed: String,
    },
}

impl Action {
    pub const REQUEST_EXCEPTION: &'static str = "cws_request_exception";
    pub const APPROVE_EXCEPTION: &'static str = "cws_approve_exception";
    pub const DENY_EXCEPTION: &'static str = "cws_deny_exception";
    pub const APPROVE_PROJECT: &'static str = "cws_approve_project";
    pub const DENY_PROJECT: &'static str = "cws_deny_project";
    pub const APPROVE_TEMPLATE: &'static str = "cws_approve_template";
    pub const DENY_TEMPLATE: &'static str = "cws_deny_template";
    pub const CONFIRM_TERMINATE: &'static str = "cws_confirm_terminate";
    pub const KEEP_RUNNING: &'static str = "cws_idle_keep";
    pub const HIBERNATE_NOW: &'static str = "cws_idle_hibernate";
    /// The optional free-text reason beside Approve and Deny.
    pub const REASON_INPUT: &'static str = "cws_exception_reason";

    /// What the button does, for the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Action::RequestException { .. } => "request exception",
            Action::ApproveException { .. } => "approve exception",
            Action::DenyException { .. } => "deny exception",
            Action::ApproveProject { .. } => "approve project",
            Action::DenyProject { .. } => "deny project",
            Action::ApproveTemplate { .. } => "approve template",
            Action::DenyTemplate { .. } => "deny template",
            Action::ConfirmTerminate { .. } => "confirm terminate",
            Action::KeepRunning { .. } => "keep running",
            Action::HibernateNow { .. } => "hibernate now",
        }
    }

    /// The action a Slack `action_id` names, with its value and the reason typed beside it.
    pub fn from_button(action_id: &str, value: &str, reason: Option<&str>) -> Option<Action> {
        let signed = value.to_owned();
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        match action_id {
            Action::REQUEST_EXCEPTION => Some(Action::RequestException { signed }),
            Action::APPROVE_EXCEPTION => Some(Action::ApproveException { signed, reason }),
            Action::DENY_EXCEPTION => Some(Action::DenyException { signed, reason }),
            Action::APPROVE_PROJECT => Some(Action::ApproveProject { signed, reason }),
            Action::DENY_PROJECT => Some(Action::DenyProject { signed, reason }),
            Action::APPROVE_TEMPLATE => Some(Action::ApproveTemplate { signed, reason }),
            Action::DENY_TEMPLATE => Some(Action::DenyTemplate { signed, reason }),
            Action::CONFIRM_TERMINATE => Some(Action::ConfirmTerminate { signed }),
            Action::KEEP_RUNNING => Some(Action::KeepRunning { signed }),
            Action::HIBERNATE_NOW => Some(Action::HibernateNow { signed }),
            _ => None,
        }
    }
}

/// The identity provider's redirect back to the bot after `profiles verify`, as the bot
/// received it. Queue `cws:queue:verification`. Every redirect is its own job, so a replayed
/// one reaches the worker and is refused there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationCallbackJob {
    pub key: JobKey,
    /// The `state` the provider echoed: it names the pending verification, if any.
    pub state: String,
    pub answer: ProviderAnswer,
}

/// What the provider's redirect carried besides `state`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProviderAnswer {
    /// The authorization code, good for one exchange.
    Code(String),
    /// `error` (e.g. `access_denied` when the person cancelled) and its description.
    Error {
        error: String,
        description: Option<String>,
    },
}

/// The code stays out of logs.
impl fmt::Debug for ProviderAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderAnswer::Code(_) => f.write_str("Code(..)"),
            ProviderAnswer::Error { error, description } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

/// What every job type declares about itself. Names and queues are part of the wire format
/// between bot and worker processes of different versions: never rename a shipped one.
pub trait JobKind: Serialize + for<'de> Deserialize<'de> + Send + Sync + 'static {
    const NAME: &'static str;
    const QUEUE: &'static str;
    fn key(&self) -> &JobKey;
}

impl JobKind for LaunchJob {
    const NAME: &'static str = "launch";
    const QUEUE: &'static str = "cws:queue:launch";
    fn key(&self) -> &JobKey {
        &self.key
    }
}

impl JobKind for CommandJob {
    const NAME: &'static str = "command";
    const QUEUE: &'static str = "cws:queue:command";
    fn key(&self) -> &JobKey {
        &self.key
    }
}

impl JobKind for ActionJob {
    const NAME: &'static str = "action";
    const QUEUE: &'static str = "cws:queue:action";
    fn key(&self) -> &JobKey {
        &self.key
    }
}

impl JobKind for VerificationCallbackJob {
    const NAME: &'static str = "verification";
    const QUEUE: &'static str = "cws:queue:verification";
    fn key(&self) -> &JobKey {
        &self.key
    }
}

/// Any job, as the bot enqueues it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Job {
    Launch(LaunchJob),
    Command(CommandJob),
    Action(ActionJob),
    VerificationCallback(VerificationCallbackJob),
}

impl Job {
    pub fn name(&self) -> &'static str {
        match self {
            Job::Launch(_) => LaunchJob::NAME,
            Job::Command(_) => CommandJob::NAME,
            Job::Action(_) => ActionJob::NAME,
            Job::VerificationCallback(_) => VerificationCallbackJob::NAME,
        }
    }

    pub fn key(&self) -> &JobKey {
        match self {
            Job::Launch(job) => job.key(),
            Job::Command(job) => job.key(),
            Job::Action(job) => job.key(),
            Job::VerificationCallback(job) => job.key(),
        }
    }
}

/// Every job type, once: the worker registers a consumer for each of these queues.
pub const REGISTERED: &[(&str, &str)] = &[
    (LaunchJob::NAME, LaunchJob::QUEUE),
    (CommandJob::NAME, CommandJob::QUEUE),
    (ActionJob::NAME, ActionJob::QUEUE),
    (
        VerificationCallbackJob::NAME,
        VerificationCallbackJob::QUEUE,
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn job_names_and_queues_are_unique() {
        let names: HashSet<_> = REGISTERED.iter().map(|(name, _)| name).collect();
        let queues: HashSet<_> = REGISTERED.iter().map(|(_, queue)| queue).collect();
        assert_eq!(names.len(), REGISTERED.len());
        assert_eq!(queues.len(), REGISTERED.len());
    }

    #[test]
    fn slack_job_keys_are_built_from_team_and_trigger() {
        let key = JobKey::for_slack("T01", "13345224609.738474920.8088930838d88f008e0").unwrap();
        assert_eq!(
            key.as_str(),
            "slack:T01:13345224609.738474920.8088930838d88f008e0"
        );
    }

    #[test]
    fn discord_ids_are_told_from_slack_ids_by_their_digits() {
        assert_eq!(Platform::of_id("80351110224678912"), Platform::Discord);
        assert_eq!(Platform::of_id("U0SMITH"), Platform::Slack);
        assert_eq!(Platform::of_id("W012A3CDE"), Platform::Slack);
        assert_eq!(Platform::of_id("U-TERMINAL"), Platform::Slack);
        assert_eq!(Platform::of_id(""), Platform::Slack);
    }

    #[test]
    fn replies_recorded_before_discord_are_slack_replies() {
        let old: ReplyTo =
            serde_json::from_str(r#"{"channel_id":"C1","response_url":null}"#).unwrap();
        assert_eq!(old, ReplyTo::slack("C1", None));
        let discord = ReplyTo::discord("123", Some("tok".into()));
        assert_eq!(discord.channel_only(), ReplyTo::discord("123", None));
    }

    #[test]
    fn an_authorization_code_never_shows_in_debug_output() {
        let job = VerificationCallbackJob {
            key: JobKey::try_from("oauth:1".to_owned()).unwrap(),
            state: "s".into(),
            answer: ProviderAnswer::Code("secret-code".into()),
        };
        assert!(!format!("{job:?}").contains("secret-code"));
    }

    #[test]
    fn job_keys_reject_spaces_and_empty_text() {
        assert!(JobKey::try_from(String::new()).is_err());
        assert!(JobKey::try_from("a b".to_owned()).is_err());
        assert!(JobKey::try_from("x".repeat(201)).is_err());
    }
}
