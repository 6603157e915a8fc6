//! Preserving work on demand (issue 20, seed 000 month 17):
//!
//! - `snapshot create WORKSPACE NAME`: snapshots the workspace's volumes under a name
//! - `snapshot list [WORKSPACE]`
//! - `snapshot delete NAME`
//! - `transfer WORKSPACE ACCOUNT`: snapshots the workspace and shares the snapshots with an
//!   account of the workspace owner's institution; the seed types
//!   `cws transfer mit-algorithm-dev mit-csail:my-account`, so ACCOUNT is an account name,
//!   optionally after the institution it must belong to
//! - `download WORKSPACE [PATH]`: an archive of the home directory (or PATH in it), by link

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, CommandSpec};
use super::error::InvalidReason;
use super::values::{SnapshotName, WorkspaceName, snapshot_name, workspace_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PreserveCommand {
    SnapshotCreate {
        workspace: WorkspaceName,
        name: SnapshotName,
    },
    SnapshotList {
        workspace: Option<WorkspaceName>,
    },
    SnapshotDelete {
        name: SnapshotName,
    },
    Transfer {
        workspace: WorkspaceName,
        account: AccountRef,
    },
    Download {
        workspace: WorkspaceName,
        path: Option<HomePath>,
    },
}

impl PreserveCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            PreserveCommand::SnapshotCreate { .. } => &SNAPSHOT_CREATE,
            PreserveCommand::SnapshotList { .. } => &SNAPSHOT_LIST,
            PreserveCommand::SnapshotDelete { .. } => &SNAPSHOT_DELETE,
            PreserveCommand::Transfer { .. } => &TRANSFER,
            PreserveCommand::Download { .. } => &DOWNLOAD,
        }
    }
}

/// An account named in `transfer`: `mit-csail`, or `mit-csail:my-account` for the account
/// `my-account`, which must then belong to the institution `mit-csail`. Only a name: a bare
/// account number is never accepted, so data cannot be sent to an account nobody configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub institution: Option<String>,
    pub name: String,
}

impl fmt::Display for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.institution {
            Some(institution) => write!(f, "{institution}:{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

const ACCOUNT_SHAPE: &str = "an account name such as mit-csail or INSTITUTION:ACCOUNT";

fn account_part(part: &str) -> Result<String, InvalidReason> {
    let slug = part.starts_with(|c: char| c.is_ascii_alphanumeric())
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let number = part.len() == 12 && part.bytes().all(|b| b.is_ascii_digit());
    if slug && !number {
        Ok(part.to_owned())
    } else {
        Err(InvalidReason::Format {
            expected: ACCOUNT_SHAPE,
        })
    }
}

fn account_ref(s: &str) -> Result<AccountRef, InvalidReason> {
    Ok(match s.split_once(':') {
        Some((institution, name)) => AccountRef {
            institution: Some(account_part(institution)?),
            name: account_part(name)?,
        },
        None => AccountRef {
            institution: None,
            name: account_part(s)?,
        },
    })
}

/// A path inside the research user's home, as `download` takes it: relative (`results`,
/// `~/results/2026`), made of letters, digits and `._-+@` between slashes, never `..`, and never
/// starting with `-`, so it reaches `tar` as a path and not as an option, and cannot leave the
/// home. Stored without the `~/` and trailing slashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HomePath(String);

impl HomePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HOME_PATH_SHAPE: &str = "a path inside your home, such as results or ~/results/2026 \
                               (letters, digits and ._-+@ between slashes, no ..)";

/// A path that [`HomePath`] refuses; the message states the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {HOME_PATH_SHAPE}")]
pub struct InvalidHomePath;

impl FromStr for HomePath {
    type Err = InvalidHomePath;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let relative = s.strip_prefix("~/").unwrap_or(s).trim_end_matches('/');
        let component_ok = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.starts_with('-')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'))
        };
        if !relative.is_empty() && relative.split('/').all(component_ok) {
            Ok(HomePath(relative.to_owned()))
        } else {
            Err(InvalidHomePath)
        }
    }
}

impl TryFrom<String> for HomePath {
    type Error = InvalidHomePath;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HomePath> for String {
    fn from(path: HomePath) -> Self {
        path.0
    }
}

fn home_path(s: &str) -> Result<HomePath, InvalidReason> {
    s.parse().map_err(|_| InvalidReason::Format {
        expected: HOME_PATH_SHAPE,
    })
}

const WORKSPACE: ArgSpec = ArgSpec {
    name: "WORKSPACE",
    doc: "Workspace name.",
};

pub(crate) const SNAPSHOT_CREATE: CommandSpec = CommandSpec {
    name: "snapshot create",
    usage: "/cws snapshot create WORKSPACE NAME",
    summary: "Snapshot a workspace's disks under a name; the snapshot is kept until deleted.",
    arguments: &[
        WORKSPACE,
        ArgSpec {
            name: "NAME",
            doc: "Snapshot name, e.g. before-rerun.",
        },
    ],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Preserve(PreserveCommand::SnapshotCreate {
            workspace: args.positional("WORKSPACE", workspace_name)?,
            name: args.positional("NAME", snapshot_name)?,
        }))
    },
};

pub(crate) const SNAPSHOT_LIST: CommandSpec = CommandSpec {
    name: "snapshot list",
    usage: "/cws snapshot list [WORKSPACE]",
    summary: "List the snapshots you may manage, or one workspace's.",
    arguments: &[ArgSpec {
        name: "WORKSPACE",
        doc: "Only this workspace's snapshots.",
    }],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Preserve(PreserveCommand::SnapshotList {
            workspace: args.optional_positional("WORKSPACE", workspace_name)?,
        }))
    },
};

pub(crate) const SNAPSHOT_DELETE: CommandSpec = CommandSpec {
    name: "snapshot delete",
    usage: "/cws snapshot delete NAME",
    summary: "Delete a snapshot; its storage stops being charged.",
    arguments: &[ArgSpec {
        name: "NAME",
        doc: "Snapshot name.",
    }],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Preserve(PreserveCommand::SnapshotDelete {
            name: args.positional("NAME", snapshot_name)?,
        }))
    },
};

pub(crate) const TRANSFER: CommandSpec = CommandSpec {
    name: "transfer",
    usage: "/cws transfer WORKSPACE ACCOUNT",
    summary: "Snapshot a workspace and share the snapshots with its owner's institution's account.",
    arguments: &[
        WORKSPACE,
        ArgSpec {
            name: "ACCOUNT",
            doc: "A configured account of the owner's institution, e.g. mit-csail or \
                  mit-csail:my-account.",
        },
    ],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Preserve(PreserveCommand::Transfer {
            workspace: args.positional("WORKSPACE", workspace_name)?,
            account: args.positional("ACCOUNT", account_ref)?,
        }))
    },
};

pub(crate) const DOWNLOAD: CommandSpec = CommandSpec {
    name: "download",
    usage: "/cws download WORKSPACE [PATH]",
    summary: "Archive a workspace's home (or a folder in it) and get a download link by DM.",
    arguments: &[
        WORKSPACE,
        ArgSpec {
            name: "PATH",
            doc: "A folder or file inside the home, e.g. results; the whole home when absent.",
        },
    ],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Preserve(PreserveCommand::Download {
            workspace: args.positional("WORKSPACE", workspace_name)?,
            path: args.optional_positional("PATH", home_path)?,
        }))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;
    use crate::command::tests::assert_errors;

    fn workspace(s: &str) -> WorkspaceName {
        s.parse().unwrap()
    }

    #[test]
    fn parses_each_command() {
        let cases = [
            (
                "snapshot create mit-algorithm-dev before-rerun",
                PreserveCommand::SnapshotCreate {
                    workspace: workspace("mit-algorithm-dev"),
                    name: "before-rerun".parse().unwrap(),
                },
            ),
            (
                "snapshot list",
                PreserveCommand::SnapshotList { workspace: None },
            ),
            (
                "Snapshot list mit-algorithm-dev",
                PreserveCommand::SnapshotList {
                    workspace: Some(workspace("mit-algorithm-dev")),
                },
            ),
            (
                "snapshot delete before-rerun",
                PreserveCommand::SnapshotDelete {
                    name: "before-rerun".parse().unwrap(),
                },
            ),
            (
                "transfer mit-algorithm-dev mit-csail",
                PreserveCommand::Transfer {
                    workspace: workspace("mit-algorithm-dev"),
                    account: AccountRef {
                        institution: None,
                        name: "mit-csail".into(),
                    },
                },
            ),
            (
                "download mit-algorithm-dev",
                PreserveCommand::Download {
                    workspace: workspace("mit-algorithm-dev"),
                    path: None,
                },
            ),
            (
                "download mit-algorithm-dev ~/results/2026/",
                PreserveCommand::Download {
                    workspace: workspace("mit-algorithm-dev"),
                    path: Some(HomePath("results/2026".into())),
                },
            ),
            (
                "download mit-algorithm-dev .config/R",
                PreserveCommand::Download {
                    workspace: workspace("mit-algorithm-dev"),
                    path: Some(HomePath(".config/R".into())),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(Command::Preserve(expected)), "{text}");
        }
    }

    #[test]
    fn download_paths_stay_inside_the_home_and_out_of_the_shell() {
        let refused = |path: &str| format!("PATH expects {HOME_PATH_SHAPE}, got `{path}`");
        let paths = [
            "/etc",
            "../other-user",
            "results/../../etc",
            "-exec=sh",
            "$(reboot)",
            "a;b",
            "a b",
            "~",
            "~other/x",
            "a//b",
        ];
        let cases: Vec<(String, String, &str)> = paths
            .iter()
            .map(|path| (format!("download box '{path}'"), refused(path), *path))
            .collect();
        let mut table: Vec<(&str, &str, Option<&str>)> = cases
            .iter()
            .map(|(text, message, path)| (text.as_str(), message.as_str(), Some(*path)))
            .collect();
        // Never a path at all: the grammar reads it as a flag and knows none.
        table.push((
            "download box --checkpoint-action=exec=sh",
            "unknown flag `--checkpoint-action`",
            Some("--checkpoint-action"),
        ));
        assert_errors(&table, DOWNLOAD.usage);
    }

    #[test]
    fn accounts_are_names_never_numbers() {
        let expected = format!("ACCOUNT expects {ACCOUNT_SHAPE}, got `111111111111`");
        assert_errors(
            &[
                (
                    "transfer box 111111111111",
                    expected.as_str(),
                    Some("111111111111"),
                ),
                (
                    "transfer box mit-csail:",
                    "ACCOUNT expects an account name such as mit-csail or \
                     INSTITUTION:ACCOUNT, got `mit-csail:`",
                    Some("mit-csail:"),
                ),
            ],
            TRANSFER.usage,
        );
    }
}
