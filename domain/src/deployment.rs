//! The deployment's own roles, above every project: the people who run it (research computing,
//! `CWS_ADMINS`) and who may ask them for a project (`CWS_PROJECT_REQUESTERS`). A project spends
//! the lead account's money, so nobody else starts one: a stranger in the workspace is refused,
//! an allowed requester's project waits for an admin's click, and an admin creates at once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::command::ProjectCreate;
use crate::exception::RequestId;
use crate::identity::{ChatIdentity, InvalidChatIdentity};
use crate::job::{Platform, ReplyTo, Requester};

/// Whom `CWS_PROJECT_REQUESTERS` lets ask for a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requesters {
    /// One person: `slack:T0123:U0456` or `discord:1234`.
    Person(ChatIdentity),
    /// Everyone in a Slack workspace: `slack:T0123`.
    SlackTeam(String),
    /// The members of a Slack user group: `slack-group:S0123` (looked up with
    /// `usergroups.users.list`, so membership follows the group as Slack keeps it).
    SlackUserGroup(String),
    /// Everyone in a Discord server: `discord-guild:5678`.
    DiscordGuild(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequesters {
    #[error(transparent)]
    Identity(#[from] InvalidChatIdentity),
    #[error(
        "`{0}` is not a requester: expected slack:TEAM, slack:TEAM:USER, slack-group:GROUP, discord:USER or discord-guild:GUILD"
    )]
    Unknown(String),
}

impl FromStr for Requesters {
    type Err = InvalidRequesters;

    fn from_str(text: &str) -> Result<Requesters, InvalidRequesters> {
        let id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if let Some(group) = text.strip_prefix("slack-group:") {
            return id(group)
                .then(|| Requesters::SlackUserGroup(group.to_owned()))
                .ok_or_else(|| InvalidRequesters::Unknown(text.to_owned()));
        }
        if let Some(guild) = text.strip_prefix("discord-guild:") {
            return (id(guild) && guild.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Requesters::DiscordGuild(guild.to_owned()))
                .ok_or_else(|| InvalidRequesters::Unknown(text.to_owned()));
        }
        if let Some(team) = text.strip_prefix("slack:")
            && !team.contains(':')
        {
            return id(team)
                .then(|| Requesters::SlackTeam(team.to_owned()))
                .ok_or_else(|| InvalidRequesters::Unknown(text.to_owned()));
        }
        Ok(Requesters::Person(text.parse()?))
    }
}

/// Who runs the deployment and who may ask it for projects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentRoles {
    admins: Vec<ChatIdentity>,
    requesters: Vec<Requesters>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRoles {
    #[error("CWS_ADMINS: {0}")]
    Admins(InvalidChatIdentity),
    #[error("CWS_PROJECT_REQUESTERS: {0}")]
    Requesters(InvalidRequesters),
}

fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

impl DeploymentRoles {
    /// From the two settings' text: comma-separated entries.
    pub fn parse(admins: &str, requesters: &str) -> Result<DeploymentRoles, InvalidRoles> {
        Ok(DeploymentRoles {
            admins: entries(admins)
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(InvalidRoles::Admins)?,
            requesters: entries(requesters)
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(InvalidRoles::Requesters)?,
        })
    }

    /// The embedded mode's one person runs their own deployment.
    pub fn single_admin(admin: ChatIdentity) -> DeploymentRoles {
        DeploymentRoles {
            admins: vec![admin],
            requesters: Vec::new(),
        }
    }

    pub fn admins(&self) -> &[ChatIdentity] {
        &self.admins
    }

    pub fn is_admin(&self, who: &ChatIdentity) -> bool {
        self.admins.contains(who)
    }

    /// The Slack user groups whose members may ask: membership needs a lookup, so the caller
    /// asks Slack only when the person is not named otherwise.
    pub fn requester_groups(&self) -> impl Iterator<Item = &str> {
        self.requesters.iter().filter_map(|rule| match rule {
            Requesters::SlackUserGroup(group) => Some(group.as_str()),
            _ => None,
        })
    }

    /// Whether the rules name `requester` without a lookup: as a person, or by their Slack
    /// workspace or Discord server.
    pub fn names_requester(&self, requester: &Requester) -> bool {
        let identity = requester.identity();
        self.requesters.iter().any(|rule| match rule {
            Requesters::Person(person) => *person == identity,
            Requesters::SlackTeam(team) => {
                requester.platform == Platform::Slack && requester.team_id == *team
            }
            Requesters::DiscordGuild(guild) => {
                requester.platform == Platform::Discord && requester.team_id == *guild
            }
            Requesters::SlackUserGroup(_) => false,
        })
    }

    /// What `project create` does for `requester`, given whether one of the requester groups
    /// holds them (`false` when not looked up).
    pub fn project_creation(&self, requester: &Requester, in_group: bool) -> ProjectCreation {
        if self.is_admin(&requester.identity()) {
            ProjectCreation::Create
        } else if self.admins.is_empty() {
            ProjectCreation::Refused(CreationRefusal::NoAdmins)
        } else if in_group || self.names_requester(requester) {
            ProjectCreation::AskAdmins
        } else {
            ProjectCreation::Refused(CreationRefusal::NotAllowed)
        }
    }
}

/// What `project create` does for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectCreation {
    /// A deployment admin: the project is created at once.
    Create,
    /// An allowed requester: the admins get a request to approve or deny.
    AskAdmins,
    Refused(CreationRefusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreationRefusal {
    /// The deployment names no admins, so nobody can approve a project.
    NoAdmins,
    /// Neither an admin nor an allowed requester.
    NotAllowed,
}

/// A project someone asked the deployment's admins for, waiting for one of them to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRequest {
    pub id: RequestId,
    pub create: ProjectCreate,
    pub requester: Requester,
    /// The channel it was asked in: the project's channel once approved.
    pub channel: ReplyTo,
    /// The AWS account the project would spend in.
    pub account: String,
    /// The lead institution the project would have.
    pub institution: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl ProjectRequest {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

impl fmt::Display for CreationRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreationRefusal::NoAdmins => "no deployment admins are configured",
            CreationRefusal::NotAllowed => "not a deployment admin or allowed requester",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack(team: &str, user: &str) -> Requester {
        Requester {
            platform: Platform::Slack,
            team_id: team.into(),
            team_domain: "stanford-neuroscience".into(),
            user_id: user.into(),
            user_name: "someone".into(),
        }
    }

    fn discord(guild: &str, user: &str) -> Requester {
        Requester {
            platform: Platform::Discord,
            ..slack(guild, user)
        }
    }

    #[test]
    fn settings_name_admins_and_requesters_in_every_form() {
        let roles = DeploymentRoles::parse(
            "slack:T0123:U0456, discord:80351110224678912",
            "slack:T0999,slack-group:S0PIS discord-guild:1234 slack:T0123:U0789",
        )
        .unwrap();
        assert_eq!(roles.admins().len(), 2);
        assert_eq!(
            roles.requesters,
            vec![
                Requesters::SlackTeam("T0999".into()),
                Requesters::SlackUserGroup("S0PIS".into()),
                Requesters::DiscordGuild("1234".into()),
                Requesters::Person(ChatIdentity::slack("T0123", "U0789")),
            ]
        );
        assert_eq!(roles.requester_groups().collect::<Vec<_>>(), ["S0PIS"]);
    }

    #[test]
    fn a_malformed_entry_names_the_setting_and_the_entry() {
        for (admins, requesters, wanted) in [
            ("slack:T0123", "", "CWS_ADMINS"),
            ("U0456", "", "CWS_ADMINS"),
            ("discord:abc", "", "CWS_ADMINS"),
            ("", "discord-guild:x", "CWS_PROJECT_REQUESTERS"),
            ("", "everyone", "CWS_PROJECT_REQUESTERS"),
            ("", "slack-group:", "CWS_PROJECT_REQUESTERS"),
        ] {
            let error = DeploymentRoles::parse(admins, requesters)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(wanted), "{admins}|{requesters}: {error}");
        }
    }

    #[test]
    fn admins_create_requesters_ask_and_strangers_are_refused() {
        let roles = DeploymentRoles::parse(
            "slack:T0CONSORTIUM:U0ADMIN,discord:42",
            "slack:T0CONSORTIUM:U0PI,discord-guild:777",
        )
        .unwrap();
        for (requester, in_group, wanted) in [
            (
                slack("T0CONSORTIUM", "U0ADMIN"),
                false,
                ProjectCreation::Create,
            ),
            (discord("1", "42"), false, ProjectCreation::Create),
            (
                slack("T0CONSORTIUM", "U0PI"),
                false,
                ProjectCreation::AskAdmins,
            ),
            (discord("777", "5"), false, ProjectCreation::AskAdmins),
            (
                slack("T0CONSORTIUM", "U0X"),
                true,
                ProjectCreation::AskAdmins,
            ),
            (
                slack("T0CONSORTIUM", "U0X"),
                false,
                ProjectCreation::Refused(CreationRefusal::NotAllowed),
            ),
            // The same user id in another workspace is another person.
            (
                slack("T0OTHER", "U0ADMIN"),
                false,
                ProjectCreation::Refused(CreationRefusal::NotAllowed),
            ),
            // A Slack team id that happens to equal a Discord guild id admits nobody.
            (
                slack("777", "U0X"),
                false,
                ProjectCreation::Refused(CreationRefusal::NotAllowed),
            ),
        ] {
            assert_eq!(
                roles.project_creation(&requester, in_group),
                wanted,
                "{requester:?}"
            );
        }
    }

    #[test]
    fn without_admins_nobody_creates_or_asks() {
        let roles = DeploymentRoles::parse("", "slack:T0CONSORTIUM").unwrap();
        assert_eq!(
            roles.project_creation(&slack("T0CONSORTIUM", "U0PI"), true),
            ProjectCreation::Refused(CreationRefusal::NoAdmins)
        );
    }
}
