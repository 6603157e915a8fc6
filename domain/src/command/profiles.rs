//! Profiles (an AWS account plus identity) and the invitations that share one.
//!
//! - `profiles use PROFILE`, `profiles list`, `profiles verify`
//! - `profiles invitations create NAME --type TYPE --valid-days DAYS [--can-invite BOOL]
//!   [--device-bound BOOL] [--max-devices N] [--policy-restrictions] [--template-whitelist LIST]
//!   [--max-instance-types LIST] [--max-hourly-cost USD] [--forbidden-regions LIST]
//!   [--require-verified-identity] [--require-domain DOMAIN]`
//! - `profiles invitations create-collaboration --csv-file FILE [--project PROJECT]
//!   [--output FILE]`, with the CSV itself optionally pasted on the lines below
//! - `profiles invitations accept TOKEN PROFILE`, `profiles invitations list`,
//!   `profiles invitations revoke NAME`, `profiles invitations extend NAME --valid-days DAYS`
//! - `profiles ssh-key add "ssh-ed25519 AAAA…"`, `profiles ssh-key rotate`
//!
//! `profile` is accepted for `profiles` (the seeds write `cws profile use …`).

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue};
use super::error::{InvalidReason, ParseError, ParseErrorKind};
use crate::ssh_key::{BadSshKey, PublicSshKey};

use super::values::{
    HourlyRate, Institution, InvitationName, ProfileName, ProjectName, boolean, choice, domain,
    hourly_rate, instance_type, invitation_name, number, profile_name, project_name, region, text,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfilesCommand {
    Use {
        profile: ProfileName,
    },
    List,
    Verify,
    InvitationCreate(InvitationCreate),
    InvitationCreateCollaboration(InvitationCreateCollaboration),
    InvitationAccept {
        token: String,
        profile: ProfileName,
    },
    InvitationList,
    InvitationRevoke {
        name: InvitationName,
    },
    /// Moves the invitation's end `valid_days` later than it is now.
    InvitationExtend {
        name: InvitationName,
        valid_days: u16,
    },
    /// The person's own public key replaces the research user's.
    SshKeyAdd {
        key: PublicSshKey,
    },
    /// A new pair replaces the research user's key; the private half goes by direct message.
    SshKeyRotate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCreate {
    pub name: InvitationName,
    pub invitation_type: InvitationType,
    pub valid_days: u16,
    /// `None` leaves the invitation system's default.
    pub can_invite: Option<bool>,
    pub device_bound: Option<bool>,
    pub max_devices: Option<u8>,
    /// What launches the invitee may make. `Some` when `--policy-restrictions` or any
    /// restriction flag is given: a restriction flag alone already asks for enforcement.
    pub restrictions: Option<PolicyRestrictions>,
    pub require_verified_identity: bool,
    /// The invitee's verified institutional login must be at this domain (lowercase) or one of
    /// its subdomains, e.g. `mit.edu`; implies `require_verified_identity`.
    pub require_domain: Option<String>,
    /// The configured account (`CWS_ACCOUNTS` name) the invitee's workspaces launch in;
    /// `None`: the project's own account.
    pub launch_account: Option<String>,
    /// The invitee's institution: what their workspaces are attributed to and which volume
    /// grants they hold. `None`: their verified identity's, once they verify.
    #[serde(default)]
    pub institution: Option<Institution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationType {
    Admin,
    ReadWrite,
    ReadOnly,
    Owner,
}

/// Launch restrictions carried by an invitation; empty lists mean "no restriction".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRestrictions {
    pub template_whitelist: Vec<String>,
    pub max_instance_types: Vec<String>,
    pub max_hourly_cost: Option<HourlyRate>,
    pub forbidden_regions: Vec<String>,
}

impl PolicyRestrictions {
    /// Each restriction as a short phrase: `templates R Research Environment`, `$0.50/hr cap`.
    pub fn phrases(&self) -> Vec<String> {
        let mut phrases = Vec::new();
        if !self.template_whitelist.is_empty() {
            phrases.push(format!("templates {}", self.template_whitelist.join(", ")));
        }
        if !self.max_instance_types.is_empty() {
            phrases.push(format!("max types {}", self.max_instance_types.join(", ")));
        }
        if let Some(cap) = self.max_hourly_cost {
            phrases.push(format!("{}/hr cap", cap.to_money().display_rate()));
        }
        if !self.forbidden_regions.is_empty() {
            phrases.push(format!("not in {}", self.forbidden_regions.join(", ")));
        }
        phrases
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCreateCollaboration {
    pub csv_file: String,
    pub project: Option<ProjectName>,
    /// The name of the CSV of created invitations sent to the requester by direct message
    /// (a plain file name ending in `.csv`); `None`: the tokens are in the reply itself.
    pub output: Option<String>,
    /// The CSV pasted on the lines after the command, verbatim apart from surrounding
    /// whitespace (its `;`-separated cells are CSV content, not flags).
    pub csv: Option<String>,
}

impl ProfilesCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            ProfilesCommand::Use { .. } => &USE,
            ProfilesCommand::List => &LIST,
            ProfilesCommand::Verify => &VERIFY,
            ProfilesCommand::InvitationCreate(_) => &INVITATIONS_CREATE,
            ProfilesCommand::InvitationCreateCollaboration(_) => &INVITATIONS_CREATE_COLLABORATION,
            ProfilesCommand::InvitationAccept { .. } => &INVITATIONS_ACCEPT,
            ProfilesCommand::InvitationList => &INVITATIONS_LIST,
            ProfilesCommand::InvitationRevoke { .. } => &INVITATIONS_REVOKE,
            ProfilesCommand::InvitationExtend { .. } => &INVITATIONS_EXTEND,
            ProfilesCommand::SshKeyAdd { .. } => &SSH_KEY_ADD,
            ProfilesCommand::SshKeyRotate => &SSH_KEY_ROTATE,
        }
    }
}

/// A command without arguments or flags.
const fn bare(
    name: &'static str,
    usage: &'static str,
    summary: &'static str,
    parse: fn(&mut Args) -> Result<Command, ParseError>,
) -> CommandSpec {
    CommandSpec {
        name,
        usage,
        summary,
        arguments: &[],
        flags: &[],
        takes_body: false,
        parse,
    }
}

pub(crate) const USE: CommandSpec = CommandSpec {
    name: "profiles use",
    usage: "/cws profiles use PROFILE",
    summary: "Switch to another profile, such as one created by accepting an invitation.",
    arguments: &[ArgSpec {
        name: "PROFILE",
        doc: "Profile name.",
    }],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Profiles(ProfilesCommand::Use {
            profile: args.positional("PROFILE", profile_name)?,
        }))
    },
};

/// A profile name in seed 002's spellings, which write `--name "Lab Collaboration"`, then
/// `profiles switch Lab-Collaboration`. Profile names are lowercase words joined by `-`, so
/// capitals are lowered and each run of spaces becomes one `-`; anything else is checked as
/// any profile name is. The other spellings keep the strict rule and its hint.
fn spoken_profile_name(s: &str) -> Result<ProfileName, InvalidReason> {
    let words: Vec<String> = s.split_whitespace().map(str::to_lowercase).collect();
    profile_name(&words.join("-"))
}

/// Seed 002's spelling of `profiles use`.
pub(crate) const SWITCH: CommandSpec = CommandSpec {
    name: "profiles switch",
    usage: "/cws profiles switch PROFILE",
    summary: "The same as `profiles use PROFILE`.",
    parse: |args| {
        Ok(Command::Profiles(ProfilesCommand::Use {
            profile: args.positional("PROFILE", spoken_profile_name)?,
        }))
    },
    ..USE
};

pub(crate) const LIST: CommandSpec = bare(
    "profiles list",
    "/cws profiles list",
    "List your profiles and when invitation profiles expire.",
    |_| Ok(Command::Profiles(ProfilesCommand::List)),
);

pub(crate) const VERIFY: CommandSpec = bare(
    "profiles verify",
    "/cws profiles verify",
    "Verify your research identity through Globus Auth, your home institution's login.",
    |_| Ok(Command::Profiles(ProfilesCommand::Verify)),
);

pub(crate) const INVITATIONS_CREATE: CommandSpec = CommandSpec {
    name: "profiles invitations create",
    usage: "/cws profiles invitations create NAME --type admin|read_write|read_only|owner \
            --valid-days DAYS [--can-invite BOOL] [--device-bound BOOL] [--max-devices N] \
            [--policy-restrictions] [--template-whitelist LIST] [--max-instance-types LIST] \
            [--max-hourly-cost USD] [--forbidden-regions LIST] [--require-verified-identity] \
            [--require-domain DOMAIN] [--launch-account ACCOUNT] [--institution NAME]",
    summary: "Invite someone to use this profile's AWS account, for a limited time.",
    arguments: &[ArgSpec {
        name: "NAME",
        doc: "Invitation name, e.g. mit-collaboration.",
    }],
    flags: &[
        FlagSpec {
            name: FlagName::Exact("type"),
            value: FlagValue::One("admin|read_write|read_only|owner"),
            doc: "Required. What the invitee may do in the account.",
        },
        FlagSpec {
            name: FlagName::Exact("valid-days"),
            value: FlagValue::One("DAYS"),
            doc: "Required. Days until the invitation expires (1-3650).",
        },
        FlagSpec {
            name: FlagName::Exact("can-invite"),
            value: FlagValue::One("BOOL"),
            doc: "Whether the invitee may invite others (true or false).",
        },
        FlagSpec {
            name: FlagName::Exact("device-bound"),
            value: FlagValue::One("BOOL"),
            doc: "Whether access is tied to the invitee's registered devices (true or false).",
        },
        FlagSpec {
            name: FlagName::Exact("max-devices"),
            value: FlagValue::One("N"),
            doc: "How many devices the invitee may register (1-100).",
        },
        FlagSpec {
            name: FlagName::Exact("policy-restrictions"),
            value: FlagValue::Switch,
            doc: "Enforce the launch restrictions below; implied by any of them.",
        },
        FlagSpec {
            name: FlagName::Exact("template-whitelist"),
            value: FlagValue::One("LIST"),
            doc: "Comma-separated templates the invitee may launch; quote it.",
        },
        FlagSpec {
            name: FlagName::Exact("max-instance-types"),
            value: FlagValue::One("LIST"),
            doc: "Comma-separated largest instance types allowed, e.g. t3.large,r5.xlarge.",
        },
        FlagSpec {
            name: FlagName::Exact("max-hourly-cost"),
            value: FlagValue::One("USD"),
            doc: "Highest hourly cost of one workspace, in dollars with up to 4 decimals.",
        },
        FlagSpec {
            name: FlagName::Exact("forbidden-regions"),
            value: FlagValue::One("LIST"),
            doc: "Comma-separated AWS regions the invitee may not launch in.",
        },
        FlagSpec {
            name: FlagName::Exact("require-verified-identity"),
            value: FlagValue::Switch,
            doc: "The invitee must verify their identity (/cws profiles verify) before accepting.",
        },
        FlagSpec {
            name: FlagName::Exact("require-domain"),
            value: FlagValue::One("DOMAIN"),
            doc: "The invitee's verified login must be at this domain or a subdomain, e.g. mit.edu.",
        },
        FlagSpec {
            name: FlagName::Exact("launch-account"),
            value: FlagValue::One("ACCOUNT"),
            doc: "Launch the invitee's workspaces in this configured account (their own, billed \
                  there, still attributed to the project) instead of the project's.",
        },
        FlagSpec {
            name: FlagName::Exact("institution"),
            value: FlagValue::One("NAME"),
            doc: "The invitee's institution, e.g. mit-csail: their costs are attributed to it \
                  and they hold its shared-volume grants. Without it, their verified identity's.",
        },
    ],
    takes_body: false,
    parse: invitation_create,
};

const INVITATION_TYPES: &[(&str, InvitationType)] = &[
    ("admin", InvitationType::Admin),
    ("read_write", InvitationType::ReadWrite),
    ("read_only", InvitationType::ReadOnly),
    ("owner", InvitationType::Owner),
];

/// Flags that restrict launches; any of them implies `--policy-restrictions`.
const RESTRICTION_FLAGS: [&str; 4] = [
    "template-whitelist",
    "max-instance-types",
    "max-hourly-cost",
    "forbidden-regions",
];

fn invitation_create(args: &mut Args) -> Result<Command, ParseError> {
    let name = args.positional("NAME", invitation_name)?;
    let invitation_type =
        args.required("type", |s| choice(s, "invitation type", INVITATION_TYPES))?;
    let valid_days = args.required("valid-days", |s| number(s, 1, 3650))?;
    let can_invite = args.value("can-invite", boolean)?;
    let device_bound = args.value("device-bound", boolean)?;
    let max_devices = args.value("max-devices", |s| number(s, 1, 100))?;
    let restrictions = PolicyRestrictions {
        template_whitelist: args.list("template-whitelist", text)?,
        max_instance_types: args.list("max-instance-types", instance_type)?,
        max_hourly_cost: args.value("max-hourly-cost", hourly_rate)?,
        forbidden_regions: args.list("forbidden-regions", region)?,
    };
    let restricting = RESTRICTION_FLAGS
        .into_iter()
        .find_map(|flag| args.written(flag));
    let restrictions = match (args.switch("policy-restrictions")?, restricting) {
        (Some(false), Some(flag)) => {
            return Err(ParseError::at(
                ParseErrorKind::ConflictingFlags {
                    other: format!(
                        "{} false",
                        args.written("policy-restrictions").unwrap_or_default()
                    ),
                },
                flag,
            ));
        }
        (Some(false), None) | (None, None) => None,
        (Some(true), _) | (None, Some(_)) => Some(restrictions),
    };
    Ok(Command::Profiles(ProfilesCommand::InvitationCreate(
        InvitationCreate {
            name,
            invitation_type,
            valid_days,
            can_invite,
            device_bound,
            max_devices,
            restrictions,
            require_verified_identity: args.enabled("require-verified-identity")?,
            require_domain: args.value("require-domain", domain)?,
            launch_account: args.value("launch-account", text)?,
            institution: args.value("institution", |s| {
                s.parse::<Institution>().map_err(InvalidReason::from)
            })?,
        },
    )))
}

pub(crate) const INVITATIONS_CREATE_COLLABORATION: CommandSpec = CommandSpec {
    name: "profiles invitations create-collaboration",
    usage: "/cws profiles invitations create-collaboration --csv-file FILE [--project PROJECT] \
            [--output FILE]",
    summary: "Create one invitation per collaborator listed in a CSV; paste the CSV on the \
              lines below the command.",
    arguments: &[],
    flags: &[
        FlagSpec {
            name: FlagName::Exact("csv-file"),
            value: FlagValue::One("FILE"),
            doc: "Required. Name of the CSV of collaborators \
                  (Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost).",
        },
        FlagSpec {
            name: FlagName::Exact("project"),
            value: FlagValue::One("PROJECT"),
            doc: "Project the collaborators' costs are attributed to.",
        },
        FlagSpec {
            name: FlagName::Exact("output"),
            value: FlagValue::One("FILE"),
            doc: "Name of the CSV of created invitations (name, email, institution, role, token, \
                  expires) sent to you by direct message; a plain file name ending in .csv.",
        },
    ],
    takes_body: true,
    parse: |args| {
        Ok(Command::Profiles(
            ProfilesCommand::InvitationCreateCollaboration(InvitationCreateCollaboration {
                csv_file: args.required("csv-file", text)?,
                project: args.value("project", project_name)?,
                output: args.value("output", csv_file_name)?,
                csv: args.body(),
            }),
        ))
    },
};

/// A file name the chat platform shows as it is: no folder, no leading dot, at most 100
/// characters, ending in `.csv`.
fn csv_file_name(s: &str) -> Result<String, InvalidReason> {
    let plain = !s.starts_with('.')
        && s.chars().count() <= 100
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '));
    if plain && s.len() > ".csv".len() && s.to_ascii_lowercase().ends_with(".csv") {
        Ok(s.to_owned())
    } else {
        Err(InvalidReason::Format {
            expected: "a plain file name ending in .csv, such as invitations.csv",
        })
    }
}

pub(crate) const INVITATIONS_ACCEPT: CommandSpec = CommandSpec {
    name: "profiles invitations accept",
    usage: "/cws profiles invitations accept TOKEN PROFILE",
    summary: "Accept an invitation and save it as a new profile.",
    arguments: &[
        ArgSpec {
            name: "TOKEN",
            doc: "The invitation token you were sent.",
        },
        ArgSpec {
            name: "PROFILE",
            doc: "Name for the new profile, e.g. stanford-collab.",
        },
    ],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Profiles(ProfilesCommand::InvitationAccept {
            token: args.positional("TOKEN", text)?,
            profile: args.positional("PROFILE", profile_name)?,
        }))
    },
};

/// Seed 002's spelling of `profiles invitations accept`.
pub(crate) const ACCEPT_INVITATION: CommandSpec = CommandSpec {
    name: "profiles accept-invitation",
    usage: "/cws profiles accept-invitation --encoded TOKEN --name PROFILE",
    summary: "The same as `profiles invitations accept TOKEN PROFILE`.",
    arguments: &[],
    flags: &[
        FlagSpec {
            name: FlagName::Exact("encoded"),
            value: FlagValue::One("TOKEN"),
            doc: "Required. The invitation token you were sent.",
        },
        FlagSpec {
            name: FlagName::Exact("name"),
            value: FlagValue::One("PROFILE"),
            doc: "Required. Name for the new profile, e.g. stanford-collab; \"Lab Collaboration\" \
                  becomes lab-collaboration.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Profiles(ProfilesCommand::InvitationAccept {
            token: args.required("encoded", text)?,
            profile: args.required("name", spoken_profile_name)?,
        }))
    },
};

pub(crate) const INVITATIONS_LIST: CommandSpec = bare(
    "profiles invitations list",
    "/cws profiles invitations list",
    "List the invitations you have created.",
    |_| Ok(Command::Profiles(ProfilesCommand::InvitationList)),
);

pub(crate) const INVITATIONS_REVOKE: CommandSpec = CommandSpec {
    name: "profiles invitations revoke",
    usage: "/cws profiles invitations revoke NAME",
    summary: "Revoke an invitation, ending the access it gave.",
    arguments: &[ArgSpec {
        name: "NAME",
        doc: "Invitation name.",
    }],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Profiles(ProfilesCommand::InvitationRevoke {
            name: args.positional("NAME", invitation_name)?,
        }))
    },
};

pub(crate) const INVITATIONS_EXTEND: CommandSpec = CommandSpec {
    name: "profiles invitations extend",
    usage: "/cws profiles invitations extend NAME --valid-days DAYS",
    summary: "Extend an invitation, e.g. for a no-cost grant extension: its end moves later.",
    arguments: &[ArgSpec {
        name: "NAME",
        doc: "Invitation name.",
    }],
    flags: &[FlagSpec {
        name: FlagName::Exact("valid-days"),
        value: FlagValue::One("DAYS"),
        doc: "Required. Days added to the invitation's current end (1-3650).",
    }],
    takes_body: false,
    parse: |args| {
        Ok(Command::Profiles(ProfilesCommand::InvitationExtend {
            name: args.positional("NAME", invitation_name)?,
            valid_days: args.required("valid-days", |s| number(s, 1, 3650))?,
        }))
    },
};

pub(crate) const SSH_KEY_ADD: CommandSpec = CommandSpec {
    name: "profiles ssh-key add",
    usage: "/cws profiles ssh-key add KEY",
    summary: "Use your own SSH public key on this profile's workspaces, running ones included; \
              paste the one line of your .pub file, never the private key.",
    arguments: &[ArgSpec {
        name: "KEY",
        doc: "Your public key line, e.g. \"ssh-ed25519 AAAA… you@laptop\": ssh-ed25519, ECDSA, \
              or RSA of at least 2048 bits.",
    }],
    flags: &[],
    // A key pasted over several lines (a private key above all) is read whole, so it is
    // refused for what it is rather than word by word.
    takes_body: true,
    parse: |args| {
        let mut pasted = args.rest_positionals().join(" ");
        if let Some(body) = args.body() {
            pasted.push('\n');
            pasted.push_str(&body);
        }
        if pasted.trim().is_empty() {
            return Err(ParseError::new(ParseErrorKind::MissingArgument {
                name: "KEY",
            }));
        }
        let key = pasted
            .parse::<PublicSshKey>()
            .map_err(|error| invalid_key(error, &pasted))?;
        Ok(Command::Profiles(ProfilesCommand::SshKeyAdd { key }))
    },
};

/// The refusal of a pasted key, naming only its first word: the rest may be a secret.
fn invalid_key(error: BadSshKey, pasted: &str) -> ParseError {
    let first = pasted.split_whitespace().next().unwrap_or_default();
    let first = if error == BadSshKey::Private {
        "-----BEGIN"
    } else {
        first
    };
    ParseError::at(
        ParseErrorKind::InvalidArgument {
            name: "KEY",
            reason: InvalidReason::SshKey(error),
        },
        first,
    )
}

pub(crate) const SSH_KEY_ROTATE: CommandSpec = bare(
    "profiles ssh-key rotate",
    "/cws profiles ssh-key rotate",
    "Replace this profile's SSH key with a new pair, on running workspaces too; the private \
     key comes by direct message.",
    |_| Ok(Command::Profiles(ProfilesCommand::SshKeyRotate)),
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    #[test]
    fn seed_002_names_a_profile_in_words_and_switches_to_it_capitalised() {
        let Ok(Command::Profiles(ProfilesCommand::InvitationAccept { profile, .. })) =
            parse(r#"profiles accept-invitation --encoded inv-abc --name "Lab Collaboration""#)
        else {
            panic!()
        };
        assert_eq!(profile, "lab-collaboration");
        for line in [
            "profiles switch Lab-Collaboration",
            "profiles switch lab-collaboration",
        ] {
            assert_eq!(
                parse(line),
                Ok(Command::Profiles(ProfilesCommand::Use {
                    profile: "lab-collaboration".parse().unwrap()
                })),
                "{line}"
            );
        }
        assert!(parse("profiles switch lab_collaboration").is_err());
        assert!(parse("profiles use Lab-Collaboration").is_err());
    }

    fn profiles(text: &str) -> ProfilesCommand {
        match parse(text) {
            Ok(Command::Profiles(command)) => command,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn create(text: &str) -> InvitationCreate {
        match profiles(text) {
            ProfilesCommand::InvitationCreate(create) => create,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn profile_is_an_alias_of_profiles() {
        assert_eq!(
            profiles("profile use lab"),
            ProfilesCommand::Use {
                profile: "lab".parse().unwrap()
            }
        );
        assert_eq!(parse("profile list").unwrap().name(), "profiles list");
    }

    #[test]
    fn restrictions_are_implied_by_any_restriction_flag() {
        let plain = create("profiles invitations create x --type owner --valid-days 1");
        assert_eq!(plain.restrictions, None);
        let marked = create(
            "profiles invitations create x --type owner --valid-days 1 --policy-restrictions",
        );
        assert_eq!(marked.restrictions, Some(PolicyRestrictions::default()));
        let implied = create(
            "profiles invitations create x --type owner --valid-days 1 --max-hourly-cost 0.0416",
        );
        assert_eq!(
            implied.restrictions.unwrap().max_hourly_cost,
            Some(HourlyRate(41_600))
        );
        let error = parse("profiles invitations create x --type owner --valid-days 1 --policy-restrictions false --forbidden-regions us-east-1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--forbidden-regions` cannot be combined with `--policy-restrictions false`"
        );
    }

    #[test]
    fn identity_requirements() {
        let created = create(
            "profiles invitations create x --type read_only --valid-days 30 --require-verified-identity --require-domain MIT.edu",
        );
        assert!(created.require_verified_identity);
        assert_eq!(created.require_domain.as_deref(), Some("mit.edu"));
    }

    #[test]
    fn invitation_errors() {
        let cases = [
            (
                "profiles invitations create x --type guest --valid-days 1",
                "unknown invitation type `guest`: choose one of admin, read_write, read_only, owner",
                Some("guest"),
            ),
            (
                "profiles invitations create x --type admin --valid-days 1 --can-invite maybe",
                "--can-invite expects true or false, got `maybe`",
                Some("maybe"),
            ),
            (
                "profiles invitations create x --type admin --valid-days 1 --max-hourly-cost abc",
                "--max-hourly-cost expects a dollar amount per hour such as 0.50, got `abc`",
                Some("abc"),
            ),
            (
                "profiles invitations create x --type admin --valid-days 1 --max-hourly-cost 5000",
                "--max-hourly-cost is at most $1,000.00/h, got `5000`",
                Some("5000"),
            ),
            (
                "profiles invitations create x --type admin --valid-days 1 --max-instance-types t3.large,huge",
                "--max-instance-types expects an instance type such as t3.large, or a SageMaker one such as ml.t3.medium, got `huge`",
                Some("huge"),
            ),
            (
                "profiles invitations create x --type admin --valid-days 1 --forbidden-regions ' , '",
                "--forbidden-regions needs at least one item",
                Some(" , "),
            ),
            (
                "profiles invitations create x --type admin",
                "missing required flag `--valid-days`",
                None,
            ),
        ];
        crate::command::tests::assert_errors(&cases, INVITATIONS_CREATE.usage);
    }

    #[test]
    fn extend_errors() {
        let cases = [
            (
                "profiles invitations extend mit-collaboration",
                "missing required flag `--valid-days`",
                None,
            ),
            (
                "profiles invitations extend mit-collaboration --valid-days 0",
                "--valid-days must be between 1 and 3650, got `0`",
                Some("0"),
            ),
            (
                "profiles invitations extend --valid-days 90",
                "missing argument NAME",
                None,
            ),
        ];
        crate::command::tests::assert_errors(&cases, INVITATIONS_EXTEND.usage);
    }

    #[test]
    fn pasted_csv_is_the_body() {
        let text = "profiles invitations create-collaboration --csv-file c.csv\n\
                    Name,Institution,Type\n\
                    Dr. Sarah Lee,Berkeley,\"R Research;Bioinformatics\"\n";
        let ProfilesCommand::InvitationCreateCollaboration(create) = profiles(text) else {
            panic!()
        };
        assert_eq!(
            create.csv.as_deref(),
            Some("Name,Institution,Type\nDr. Sarah Lee,Berkeley,\"R Research;Bioinformatics\"")
        );
        let ProfilesCommand::InvitationCreateCollaboration(create) =
            profiles("profiles invitations create-collaboration --csv-file c.csv  ")
        else {
            panic!()
        };
        assert_eq!(create.csv, None);
    }

    #[test]
    fn output_is_a_plain_csv_file_name() {
        let ProfilesCommand::InvitationCreateCollaboration(create) = profiles(
            "profiles invitations create-collaboration --csv-file c.csv --output \"Consortium tokens.CSV\"",
        ) else {
            panic!()
        };
        assert_eq!(create.output.as_deref(), Some("Consortium tokens.CSV"));
        let expected = "--output expects a plain file name ending in .csv, such as invitations.csv";
        let cases: Vec<(String, String, Option<&str>)> = [
            "invitations.txt",
            "../invitations.csv",
            "/tmp/invitations.csv",
            ".csv",
            ".hidden.csv",
            "=cmd|calc.csv",
        ]
        .iter()
        .map(|name| {
            (
                format!(
                    "profiles invitations create-collaboration --csv-file c.csv --output '{name}'"
                ),
                format!("{expected}, got `{name}`"),
                Some(*name),
            )
        })
        .collect();
        let cases: Vec<(&str, &str, Option<&str>)> = cases
            .iter()
            .map(|(text, message, token)| (text.as_str(), message.as_str(), *token))
            .collect();
        crate::command::tests::assert_errors(&cases, INVITATIONS_CREATE_COLLABORATION.usage);
    }

    #[test]
    fn other_commands_read_later_lines_as_words() {
        assert_eq!(
            profiles("profiles invitations accept\ninv-123\nlab"),
            ProfilesCommand::InvitationAccept {
                token: "inv-123".into(),
                profile: "lab".parse().unwrap()
            }
        );
    }

    #[test]
    fn a_pasted_key_that_is_not_a_sound_public_key_is_refused_without_being_echoed() {
        crate::command::tests::assert_errors(
            &[
                ("profiles ssh-key add", "missing argument KEY", None),
                (
                    "profiles ssh-key add \"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----\"",
                    "KEY: that is a private key: never paste it anywhere. Paste the public half, \
                     the one line of the .pub file (e.g. `cat ~/.ssh/id_ed25519.pub`), and make \
                     a new key pair, since this one has left your machine",
                    Some("-----BEGIN"),
                ),
                (
                    "profiles ssh-key add \"ssh-dss AAAAB3NzaC1kc3MAAACBAP\"",
                    "KEY: `ssh-dss` keys are not accepted: use ssh-ed25519 (`ssh-keygen -t \
                     ed25519`), ECDSA or RSA of at least 2048 bits",
                    Some("ssh-dss"),
                ),
            ],
            SSH_KEY_ADD.usage,
        );
    }
}
