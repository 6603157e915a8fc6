//! The end of a cross-institution collaboration and preserving collaborators' work.
//!
//! - `collaboration end PROJECT --date YYYY-MM-DD [--archive-collaborator-work]
//!   [--transfer-snapshots LIST]`
//! - `collaboration export PROFILE [PATH] [--output PATH] [--include-snapshots]`: the path may
//!   also be positional, because the seeds' expiry e-mail tells people to run
//!   `cws collaboration export stanford-collab ~/mit-stanford-work/`
//! - `collaboration report PROJECT [--final] [--export-compliance]`: the compliance report is
//!   the PDF the seed's final report ends with ("Generate compliance report:
//!   --export-compliance")
//! - `collaboration transfer-snapshots PROFILE ACCOUNT`

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue};
use super::error::{InvalidReason, ParseError, ParseErrorKind};
use super::values::{Date, ProfileName, ProjectName, profile_name, project_name, text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollaborationCommand {
    End(CollaborationEnd),
    Export(CollaborationExport),
    Report(CollaborationReport),
    TransferSnapshots {
        profile: ProfileName,
        account: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaborationEnd {
    pub project: ProjectName,
    /// The day collaborator access ends; a later one than the project's current end moves the
    /// invitations that end with the collaboration along.
    pub date: Date,
    pub archive_collaborator_work: bool,
    /// Accounts that get their people's snapshots, e.g. `mit-csail`.
    pub transfer_snapshots: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaborationExport {
    pub profile: ProfileName,
    pub output: Option<String>,
    pub include_snapshots: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaborationReport {
    pub project: ProjectName,
    /// `--final`: the closing report of a finished collaboration.
    pub final_report: bool,
    /// `--export-compliance`: also the compliance report as a PDF in the object store.
    pub export_compliance: bool,
}

impl CollaborationCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            CollaborationCommand::End(_) => &END,
            CollaborationCommand::Export(_) => &EXPORT,
            CollaborationCommand::Report(_) => &REPORT,
            CollaborationCommand::TransferSnapshots { .. } => &TRANSFER_SNAPSHOTS,
        }
    }
}

const PROJECT: &[ArgSpec] = &[ArgSpec {
    name: "PROJECT",
    doc: "Project name.",
}];

pub(crate) const END: CommandSpec = CommandSpec {
    name: "collaboration end",
    usage: "/cws collaboration end PROJECT --date YYYY-MM-DD [--archive-collaborator-work] \
            [--transfer-snapshots LIST]",
    summary: "End a collaboration on a date: warn collaborators, revoke access, preserve their work.",
    arguments: PROJECT,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("date"),
            value: FlagValue::One("YYYY-MM-DD"),
            doc: "Required. The day collaborator access ends; run again to move it earlier or later.",
        },
        FlagSpec {
            name: FlagName::Exact("archive-collaborator-work"),
            value: FlagValue::Switch,
            doc: "Archive collaborators' work to S3 for 90 days.",
        },
        FlagSpec {
            name: FlagName::Exact("transfer-snapshots"),
            value: FlagValue::One("LIST"),
            doc: "Comma-separated accounts to transfer their people's snapshots to.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Collaboration(CollaborationCommand::End(
            CollaborationEnd {
                project: args.positional("PROJECT", project_name)?,
                date: args.required("date", |s| s.parse::<Date>().map_err(InvalidReason::from))?,
                archive_collaborator_work: args.enabled("archive-collaborator-work")?,
                transfer_snapshots: args.list("transfer-snapshots", text)?,
            },
        )))
    },
};

pub(crate) const EXPORT: CommandSpec = CommandSpec {
    name: "collaboration export",
    usage: "/cws collaboration export PROFILE [PATH] [--output PATH] [--include-snapshots]",
    summary: "Export your work from a collaboration profile before access ends.",
    arguments: &[
        ArgSpec {
            name: "PROFILE",
            doc: "The collaboration profile, e.g. stanford-collab.",
        },
        ArgSpec {
            name: "PATH",
            doc: "Where to put the export; the same as --output.",
        },
    ],
    flags: &[
        FlagSpec {
            name: FlagName::Exact("output"),
            value: FlagValue::One("PATH"),
            doc: "Where to put the export.",
        },
        FlagSpec {
            name: FlagName::Exact("include-snapshots"),
            value: FlagValue::Switch,
            doc: "Also snapshot your workspaces.",
        },
    ],
    takes_body: false,
    parse: export,
};

fn export(args: &mut Args) -> Result<Command, ParseError> {
    let profile = args.positional("PROFILE", profile_name)?;
    let path = args.optional_positional("PATH", text)?;
    let output = match (path, args.value("output", text)?) {
        (Some(path), Some(_)) => {
            return Err(ParseError::at(
                ParseErrorKind::ConflictingFlags {
                    other: args.written("output").unwrap_or_default().to_owned(),
                },
                path,
            ));
        }
        (path, output) => path.or(output),
    };
    Ok(Command::Collaboration(CollaborationCommand::Export(
        CollaborationExport {
            profile,
            output,
            include_snapshots: args.enabled("include-snapshots")?,
        },
    )))
}

pub(crate) const REPORT: CommandSpec = CommandSpec {
    name: "collaboration report",
    usage: "/cws collaboration report PROJECT [--final] [--export-compliance]",
    summary: "Report a collaboration's costs, participants and health.",
    arguments: PROJECT,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("final"),
            value: FlagValue::Switch,
            doc: "The closing report of a finished collaboration.",
        },
        FlagSpec {
            name: FlagName::Exact("export-compliance"),
            value: FlagValue::Switch,
            doc: "Also the compliance report as a PDF: who had access on which terms, every \
                  launch, policy refusal and exception decision, costs by user and \
                  institution, and the verified audit chain. Owners and admins.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Collaboration(CollaborationCommand::Report(
            CollaborationReport {
                project: args.positional("PROJECT", project_name)?,
                final_report: args.enabled("final")?,
                export_compliance: args.enabled("export-compliance")?,
            },
        )))
    },
};

pub(crate) const TRANSFER_SNAPSHOTS: CommandSpec = CommandSpec {
    name: "collaboration transfer-snapshots",
    usage: "/cws collaboration transfer-snapshots PROFILE ACCOUNT",
    summary: "Transfer your snapshots from a collaboration profile to your own account.",
    arguments: &[
        ArgSpec {
            name: "PROFILE",
            doc: "The collaboration profile the snapshots are in.",
        },
        ArgSpec {
            name: "ACCOUNT",
            doc: "The account to receive them, e.g. mit-csail.",
        },
    ],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Collaboration(
            CollaborationCommand::TransferSnapshots {
                profile: args.positional("PROFILE", profile_name)?,
                account: args.positional("ACCOUNT", text)?,
            },
        ))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    fn export_of(text: &str) -> CollaborationExport {
        match parse(text) {
            Ok(Command::Collaboration(CollaborationCommand::Export(export))) => export,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn export_path_is_positional_or_a_flag() {
        assert_eq!(
            export_of("collaboration export p ~/out/").output.as_deref(),
            Some("~/out/")
        );
        assert_eq!(
            export_of("collaboration export p --output=~/out/")
                .output
                .as_deref(),
            Some("~/out/")
        );
        assert_eq!(export_of("collaboration export p").output, None);
        let error = parse("collaboration export p ~/a/ --output ~/b/").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`~/a/` cannot be combined with `--output`"
        );
        assert_eq!(error.usage(), Some(EXPORT.usage));
    }

    #[test]
    fn end_needs_a_real_date() {
        let error = parse("collaboration end p --date 2027-06-31").unwrap_err();
        assert_eq!(error.token(), Some("2027-06-31"));
        assert_eq!(
            error.to_string(),
            "--date expects a date as YYYY-MM-DD, got `2027-06-31`"
        );
        let error = parse("collaboration end p --date").unwrap_err();
        assert_eq!(error.to_string(), "flag `--date` needs a value");
    }

    #[test]
    fn bare_switches_may_take_an_explicit_value() {
        let report = |text| match parse(text) {
            Ok(Command::Collaboration(CollaborationCommand::Report(report))) => report.final_report,
            other => panic!("{other:?}"),
        };
        assert!(report("collaboration report p --final"));
        assert!(!report("collaboration report p --final=false"));
        assert!(!report("collaboration report p --final no"));
        let error = parse("collaboration report p --final=later").unwrap_err();
        assert_eq!(
            error.to_string(),
            "--final expects true or false, got `later`"
        );
    }
}
