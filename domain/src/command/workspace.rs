//! Commands on existing workspaces:
//!
//! - `list [--project PROJECT] [--mine]`
//! - `status NAME`, `start NAME`, `stop NAME`, `hibernate NAME`, `resume NAME`,
//!   `terminate NAME`
//! - `ssh NAME`: the seeds' daily workflow runs `cws ssh mit-algorithm-dev`; from chat it
//!   can only answer with connection details, which is what the worker does with it.
//! - `connect NAME` and `info NAME`, seed 001's spellings of `ssh` and `status`.

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue};
use super::error::ParseError;
use super::values::{ProjectName, WorkspaceName, project_name, workspace_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceCommand {
    List(WorkspaceList),
    Status { name: WorkspaceName },
    Start { name: WorkspaceName },
    Stop { name: WorkspaceName },
    Hibernate { name: WorkspaceName },
    Resume { name: WorkspaceName },
    Terminate { name: WorkspaceName },
    Ssh { name: WorkspaceName },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceList {
    pub project: Option<ProjectName>,
    /// Only the caller's own workspaces.
    pub mine: bool,
}

impl WorkspaceCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            WorkspaceCommand::List(_) => &LIST,
            WorkspaceCommand::Status { .. } => &STATUS,
            WorkspaceCommand::Start { .. } => &START,
            WorkspaceCommand::Stop { .. } => &STOP,
            WorkspaceCommand::Hibernate { .. } => &HIBERNATE,
            WorkspaceCommand::Resume { .. } => &RESUME,
            WorkspaceCommand::Terminate { .. } => &TERMINATE,
            WorkspaceCommand::Ssh { .. } => &SSH,
        }
    }
}

pub(crate) const LIST: CommandSpec = CommandSpec {
    name: "list",
    usage: "/cws list [--project PROJECT] [--mine]",
    summary: "List workspaces.",
    arguments: &[],
    flags: &[
        FlagSpec {
            name: FlagName::Exact("project"),
            value: FlagValue::One("PROJECT"),
            doc: "Only workspaces paid for by this project.",
        },
        FlagSpec {
            name: FlagName::Exact("mine"),
            value: FlagValue::Switch,
            doc: "Only workspaces you launched.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Workspace(WorkspaceCommand::List(WorkspaceList {
            project: args.value("project", project_name)?,
            mine: args.enabled("mine")?,
        })))
    },
};

const NAME: &[ArgSpec] = &[ArgSpec {
    name: "NAME",
    doc: "Workspace name.",
}];

/// A command whose only argument is a workspace name.
const fn named(
    name: &'static str,
    usage: &'static str,
    summary: &'static str,
    parse: fn(&mut Args) -> Result<Command, ParseError>,
) -> CommandSpec {
    CommandSpec {
        name,
        usage,
        summary,
        arguments: NAME,
        flags: &[],
        takes_body: false,
        parse,
    }
}

fn workspace(args: &mut Args) -> Result<WorkspaceName, ParseError> {
    args.positional("NAME", workspace_name)
}

pub(crate) const STATUS: CommandSpec = named(
    "status",
    "/cws status NAME",
    "Show a workspace's state, size and cost.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Status {
            name: workspace(args)?,
        }))
    },
);

pub(crate) const START: CommandSpec = named(
    "start",
    "/cws start NAME",
    "Start a stopped workspace.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Start {
            name: workspace(args)?,
        }))
    },
);

pub(crate) const STOP: CommandSpec = named(
    "stop",
    "/cws stop NAME",
    "Stop a workspace; its disk is kept and compute billing stops.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Stop {
            name: workspace(args)?,
        }))
    },
);

pub(crate) const HIBERNATE: CommandSpec = named(
    "hibernate",
    "/cws hibernate NAME",
    "Hibernate a workspace, saving its memory to disk so it resumes where it left off.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Hibernate {
            name: workspace(args)?,
        }))
    },
);

pub(crate) const RESUME: CommandSpec = named(
    "resume",
    "/cws resume NAME",
    "Resume a hibernated workspace.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Resume {
            name: workspace(args)?,
        }))
    },
);

pub(crate) const TERMINATE: CommandSpec = named(
    "terminate",
    "/cws terminate NAME",
    "Delete a workspace and its disk for good.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Terminate {
            name: workspace(args)?,
        }))
    },
);

pub(crate) const SSH: CommandSpec = named(
    "ssh",
    "/cws ssh NAME",
    "Show how to connect to a workspace over SSH.",
    |args| {
        Ok(Command::Workspace(WorkspaceCommand::Ssh {
            name: workspace(args)?,
        }))
    },
);

/// Seed 001's `cws connect`.
pub(crate) const CONNECT: CommandSpec = CommandSpec {
    name: "connect",
    usage: "/cws connect NAME",
    summary: "The same as `ssh NAME`: how to connect, and a waiting SSH key by direct message.",
    ..SSH
};

/// Seed 001's `cws info`.
pub(crate) const INFO: CommandSpec = CommandSpec {
    name: "info",
    usage: "/cws info NAME",
    summary: "The same as `status NAME`.",
    ..STATUS
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{ParseErrorKind, parse};

    fn name(s: &str) -> WorkspaceName {
        s.parse().unwrap()
    }

    #[test]
    fn parses_each_command() {
        let cases = [
            ("stop box", WorkspaceCommand::Stop { name: name("box") }),
            ("start box", WorkspaceCommand::Start { name: name("box") }),
            ("resume box", WorkspaceCommand::Resume { name: name("box") }),
            (
                "hibernate box",
                WorkspaceCommand::Hibernate { name: name("box") },
            ),
            (
                "terminate box",
                WorkspaceCommand::Terminate { name: name("box") },
            ),
            ("status box", WorkspaceCommand::Status { name: name("box") }),
            ("ssh box", WorkspaceCommand::Ssh { name: name("box") }),
            ("connect box", WorkspaceCommand::Ssh { name: name("box") }),
            ("info box", WorkspaceCommand::Status { name: name("box") }),
            (
                "list",
                WorkspaceCommand::List(WorkspaceList {
                    project: None,
                    mine: false,
                }),
            ),
            (
                "list --project nih --mine",
                WorkspaceCommand::List(WorkspaceList {
                    project: Some("nih".parse().unwrap()),
                    mine: true,
                }),
            ),
            (
                "List --mine false",
                WorkspaceCommand::List(WorkspaceList {
                    project: None,
                    mine: false,
                }),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(Command::Workspace(expected)), "{text}");
        }
    }

    #[test]
    fn one_name_only() {
        let error = parse("stop a b").unwrap_err();
        assert_eq!(
            (error.kind(), error.token()),
            (&ParseErrorKind::UnexpectedArgument, Some("b"))
        );
        assert_eq!(error.usage(), Some("/cws stop NAME"));
        let error = parse("stop").unwrap_err();
        assert_eq!(
            error.kind(),
            &ParseErrorKind::MissingArgument { name: "NAME" }
        );
        assert_eq!(error.to_string(), "missing argument NAME");
    }
}
