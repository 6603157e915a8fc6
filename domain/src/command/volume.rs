//! Shared EFS volumes.
//!
//! - `volume create NAME --size GB [--cross-account-access ACCOUNT[:MODE]...]
//!   [--read-only-for LIST] [--read-write-for LIST]`
//! - `volume mount NAME WORKSPACE [--mode read-only|read-write]`, `volume list`,
//!   `volume status NAME`
//! - `volume homes NAME`: research users' homes live on that volume, each through its own
//!   access point, so work survives a workspace
//!
//! The seeds grant cross-account access two ways, and both normalise to the same list:
//! `--cross-account-access mit-csail,berkeley-neuroscience --read-only-for mit-csail
//! --read-write-for berkeley-neuroscience`, or modes attached to each account,
//! `--cross-account-access mit-csail:read-only berkeley-neuroscience:read-write` (items
//! separated by spaces or commas; the flag takes every word up to the next flag).

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue, invalid};
use super::error::{InvalidReason, ParseError};
use super::values::{WorkspaceName, choice, number, text, workspace_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeCommand {
    Create(VolumeCreate),
    Mount {
        volume: String,
        workspace: WorkspaceName,
        /// `None`: the mode the caller's grant gives.
        mode: Option<AccessMode>,
    },
    List,
    Status {
        name: String,
    },
    /// Research users' homes go on this volume from the next launch on.
    Homes {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeCreate {
    pub name: String,
    pub size_gb: u64,
    /// Other accounts' access, in the order the accounts were first named.
    pub access: Vec<CrossAccountAccess>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossAccountAccess {
    /// The account as the seeds name it, e.g. `mit-csail`.
    pub account: String,
    pub mode: AccessMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    ReadOnly,
    ReadWrite,
}

impl VolumeCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            VolumeCommand::Create(_) => &CREATE,
            VolumeCommand::Mount { .. } => &MOUNT,
            VolumeCommand::List => &LIST,
            VolumeCommand::Status { .. } => &STATUS,
            VolumeCommand::Homes { .. } => &HOMES,
        }
    }
}

const NAME: &[ArgSpec] = &[ArgSpec {
    name: "NAME",
    doc: "Volume name.",
}];

pub(crate) const CREATE: CommandSpec = CommandSpec {
    name: "volume create",
    usage: "/cws volume create NAME --size GB [--cross-account-access ACCOUNT[:MODE]...] \
            [--read-only-for LIST] [--read-write-for LIST]",
    summary: "Create a shared EFS volume, optionally mountable from other AWS accounts.",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("size"),
            value: FlagValue::One("GB"),
            doc: "Required. Expected size in GB (1-10000000), e.g. 50000 for 50 TB.",
        },
        FlagSpec {
            name: FlagName::Exact("cross-account-access"),
            value: FlagValue::Many("ACCOUNT[:MODE]"),
            doc: "Accounts that may mount the volume, separated by spaces or commas; MODE is \
                  read-only or read-write, or comes from the two flags below.",
        },
        FlagSpec {
            name: FlagName::Exact("read-only-for"),
            value: FlagValue::One("LIST"),
            doc: "Comma-separated accounts that may only read.",
        },
        FlagSpec {
            name: FlagName::Exact("read-write-for"),
            value: FlagValue::One("LIST"),
            doc: "Comma-separated accounts that may read and write.",
        },
    ],
    takes_body: false,
    parse: create,
};

/// A volume's name becomes a directory (`/mnt/NAME`, the access points' root `/NAME`) and part
/// of AWS names, so it is held to the shape of a workspace name.
pub(crate) fn volume_name(s: &str) -> Result<String, InvalidReason> {
    let valid = (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(s.to_owned())
    } else {
        Err(InvalidReason::Format {
            expected: "a volume name: up to 63 lowercase letters, digits and hyphens, \
                       starting with a letter or digit",
        })
    }
}

/// 10 PB: EFS grows without a fixed limit, so this only catches typos such as extra zeros.
const MAX_SIZE_GB: u64 = 10_000_000;

const ACCESS_MODES: &[(&str, AccessMode)] = &[
    ("read-only", AccessMode::ReadOnly),
    ("read-write", AccessMode::ReadWrite),
];

fn create(args: &mut Args) -> Result<Command, ParseError> {
    let name = args.positional("NAME", volume_name)?;
    let size_gb = args.required("size", |s| number(s, 1, MAX_SIZE_GB))?;
    // Every grant as (account, mode if known, flag it came from), in the order typed.
    let mut grants = Vec::new();
    for item in args.list_items("cross-account-access")? {
        let (account, mode) = match item.split_once(':') {
            Some((account, mode)) => {
                let mode = choice(mode, "access mode", ACCESS_MODES)
                    .map_err(|reason| invalid("cross-account-access", reason, mode))?;
                (account.to_owned(), Some(mode))
            }
            None => (item, None),
        };
        grants.push((account, mode, "cross-account-access"));
    }
    for (flag, mode) in [
        ("read-only-for", AccessMode::ReadOnly),
        ("read-write-for", AccessMode::ReadWrite),
    ] {
        grants.extend(
            args.list(flag, text)?
                .into_iter()
                .map(|account| (account, Some(mode), flag)),
        );
    }

    let mut accounts: Vec<(String, Option<AccessMode>)> = Vec::new();
    for (account, mode, flag) in grants {
        if account.is_empty() {
            return Err(invalid(flag, InvalidReason::Empty, account));
        }
        match accounts.iter_mut().find(|(known, _)| *known == account) {
            None => accounts.push((account, mode)),
            Some((_, known @ None)) => *known = mode,
            Some((_, Some(known))) if mode.is_some_and(|mode| mode != *known) => {
                return Err(invalid(
                    flag,
                    InvalidReason::ConflictingAccessModes,
                    account,
                ));
            }
            Some(_) => {}
        }
    }
    let access = accounts
        .into_iter()
        .map(|(account, mode)| match mode {
            Some(mode) => Ok(CrossAccountAccess { account, mode }),
            None => Err(invalid(
                "cross-account-access",
                InvalidReason::MissingAccessMode,
                account,
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Command::Volume(VolumeCommand::Create(VolumeCreate {
        name,
        size_gb,
        access,
    })))
}

pub(crate) const MOUNT: CommandSpec = CommandSpec {
    name: "volume mount",
    usage: "/cws volume mount NAME WORKSPACE [--mode read-only|read-write]",
    summary: "Mount a volume on a running workspace, at /mnt/NAME.",
    arguments: &[
        ArgSpec {
            name: "NAME",
            doc: "Volume name.",
        },
        ArgSpec {
            name: "WORKSPACE",
            doc: "Workspace name.",
        },
    ],
    flags: &[FlagSpec {
        name: FlagName::Exact("mode"),
        value: FlagValue::One("MODE"),
        doc: "read-only or read-write; by default the mode your account was granted.",
    }],
    takes_body: false,
    parse: |args| {
        Ok(Command::Volume(VolumeCommand::Mount {
            volume: args.positional("NAME", volume_name)?,
            workspace: args.positional("WORKSPACE", workspace_name)?,
            mode: args.value("mode", |s| choice(s, "access mode", ACCESS_MODES))?,
        }))
    },
};

pub(crate) const LIST: CommandSpec = CommandSpec {
    name: "volume list",
    usage: "/cws volume list",
    summary: "List shared volumes.",
    arguments: &[],
    flags: &[],
    takes_body: false,
    parse: |_| Ok(Command::Volume(VolumeCommand::List)),
};

pub(crate) const STATUS: CommandSpec = CommandSpec {
    name: "volume status",
    usage: "/cws volume status NAME",
    summary: "Show a volume's size, mounts and cross-account access.",
    arguments: NAME,
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Volume(VolumeCommand::Status {
            name: args.positional("NAME", volume_name)?,
        }))
    },
};

pub(crate) const HOMES: CommandSpec = CommandSpec {
    name: "volume homes",
    usage: "/cws volume homes NAME",
    summary: "Put research users' homes on a volume: each launch mounts the user's own \
              /home/USER from it, so their work outlives the workspace.",
    arguments: NAME,
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Volume(VolumeCommand::Homes {
            name: args.positional("NAME", volume_name)?,
        }))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{ParseErrorKind, parse};

    fn access(text: &str) -> Vec<(String, AccessMode)> {
        match parse(text) {
            Ok(Command::Volume(VolumeCommand::Create(create))) => create
                .access
                .into_iter()
                .map(|a| (a.account, a.mode))
                .collect(),
            other => panic!("{text}: {other:?}"),
        }
    }

    fn grants(pairs: &[(&str, AccessMode)]) -> Vec<(String, AccessMode)> {
        pairs
            .iter()
            .map(|(account, mode)| (account.to_string(), *mode))
            .collect()
    }

    #[test]
    fn both_seed_spellings_normalise_alike() {
        use AccessMode::*;
        let expected = grants(&[
            ("mit-csail", ReadOnly),
            ("berkeley-neuroscience", ReadWrite),
        ]);
        for text in [
            "volume create d --size 1 --cross-account-access mit-csail,berkeley-neuroscience \
             --read-only-for mit-csail --read-write-for berkeley-neuroscience",
            "volume create d --size 1 --cross-account-access mit-csail:read-only berkeley-neuroscience:read-write",
            "volume create d --size 1 --cross-account-access mit-csail:read-only,berkeley-neuroscience:READ-WRITE",
            "volume create d --size 1 --cross-account-access mit-csail berkeley-neuroscience:read-write \
             --read-only-for mit-csail",
            "volume create d --size 1 --read-only-for mit-csail --read-write-for berkeley-neuroscience",
        ] {
            assert_eq!(access(text), expected, "{text}");
        }
        assert_eq!(access("volume create d --size 1"), []);
    }

    #[test]
    fn access_errors_name_the_account_or_mode() {
        let cases = [
            (
                "volume create d --size 1 --cross-account-access mit-csail",
                "account `mit-csail` has no access mode: write `mit-csail:read-only` or \
                 `mit-csail:read-write`, or list it in --read-only-for or --read-write-for",
                "mit-csail",
            ),
            (
                "volume create d --size 1 --cross-account-access mit-csail:write-only",
                "unknown access mode `write-only`: choose one of read-only, read-write",
                "write-only",
            ),
            (
                "volume create d --size 1 --cross-account-access mit-csail:read-only --read-write-for mit-csail",
                "account `mit-csail` is given both read-only and read-write access",
                "mit-csail",
            ),
            (
                "volume create d --size 1 --cross-account-access :read-only",
                "--cross-account-access must not be empty",
                "",
            ),
            (
                "volume create d --size 0",
                "--size must be between 1 and 10000000, got `0`",
                "0",
            ),
        ];
        let cases: Vec<_> = cases
            .iter()
            .map(|&(text, message, token)| (text, message, Some(token)))
            .collect();
        crate::command::tests::assert_errors(&cases, CREATE.usage);
    }

    #[test]
    fn the_name_goes_before_the_variadic_flag() {
        let error =
            parse("volume create --size 1 --cross-account-access a:read-only d").unwrap_err();
        assert_eq!(
            error.kind(),
            &ParseErrorKind::MissingArgument { name: "NAME" }
        );
    }

    #[test]
    fn mount_validates_the_workspace_and_the_mode() {
        for (text, mode) in [
            ("volume mount neuro-dataset mit-algorithm-dev", None),
            (
                "volume mount neuro-dataset mit-algorithm-dev --mode read-write",
                Some(AccessMode::ReadWrite),
            ),
            (
                "volume mount neuro-dataset mit-algorithm-dev --mode READ-ONLY",
                Some(AccessMode::ReadOnly),
            ),
        ] {
            assert_eq!(
                parse(text),
                Ok(Command::Volume(VolumeCommand::Mount {
                    volume: "neuro-dataset".into(),
                    workspace: "mit-algorithm-dev".parse().unwrap(),
                    mode,
                })),
                "{text}"
            );
        }
        crate::command::tests::assert_errors(
            &[
                (
                    "volume mount neuro-dataset mit-algorithm-dev --mode write",
                    "unknown access mode `write`: choose one of read-only, read-write",
                    Some("write"),
                ),
                (
                    "volume mount ../etc mit-algorithm-dev",
                    "NAME expects a volume name: up to 63 lowercase letters, digits and hyphens, \
                 starting with a letter or digit, got `../etc`",
                    Some("../etc"),
                ),
            ],
            MOUNT.usage,
        );
        let error = parse("volume mount neuro-dataset <instance-name>").unwrap_err();
        assert!(matches!(
            error.kind(),
            ParseErrorKind::InvalidArgument {
                name: "WORKSPACE",
                ..
            }
        ));
    }

    #[test]
    fn homes_names_one_volume() {
        assert_eq!(
            parse("volume homes lab-homes"),
            Ok(Command::Volume(VolumeCommand::Homes {
                name: "lab-homes".into(),
            }))
        );
        crate::command::tests::assert_errors(
            &[
                (
                    "volume homes Lab_Homes",
                    "NAME expects a volume name: up to 63 lowercase letters, digits and hyphens, \
                 starting with a letter or digit, got `Lab_Homes`",
                    Some("Lab_Homes"),
                ),
                ("volume homes", "missing argument NAME", None),
            ],
            HOMES.usage,
        );
    }
}
