//! Compliance audits of collaboration projects.
//!
//! - `audit collaboration PROJECT --start-date YYYY-MM-DD --end-date YYYY-MM-DD
//!   [--export json|csv|pdf|FILE]`, where a file name ending in `.json`, `.csv` or `.pdf` picks
//!   the format (the seeds write `--export compliance_audit_h1_2026.json`)
//! - `audit verify PROJECT`

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue, invalid};
use super::error::{InvalidReason, ParseError};
use super::values::{Date, ProjectName, project_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditCommand {
    Collaboration(AuditCollaboration),
    Verify { project: ProjectName },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCollaboration {
    pub project: ProjectName,
    pub start_date: Date,
    /// Not before `start_date`.
    pub end_date: Date,
    pub export: Option<AuditExport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditExport {
    pub format: ExportFormat,
    /// The file name when one was given instead of a bare format.
    pub file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
    Pdf,
}

impl ExportFormat {
    /// `JSON`, `CSV` or `PDF`, as replies name the export.
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Json => "JSON",
            ExportFormat::Csv => "CSV",
            ExportFormat::Pdf => "PDF",
        }
    }
}

impl AuditCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            AuditCommand::Collaboration(_) => &COLLABORATION,
            AuditCommand::Verify { .. } => &VERIFY,
        }
    }
}

const PROJECT: &[ArgSpec] = &[ArgSpec {
    name: "PROJECT",
    doc: "Project name.",
}];

pub(crate) const COLLABORATION: CommandSpec = CommandSpec {
    name: "audit collaboration",
    usage: "/cws audit collaboration PROJECT --start-date YYYY-MM-DD --end-date YYYY-MM-DD \
            [--export json|csv|pdf|FILE]",
    summary: "Report who accessed what in a collaboration project, for compliance.",
    arguments: PROJECT,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("start-date"),
            value: FlagValue::One("YYYY-MM-DD"),
            doc: "Required. First day covered.",
        },
        FlagSpec {
            name: FlagName::Exact("end-date"),
            value: FlagValue::One("YYYY-MM-DD"),
            doc: "Required. Last day covered.",
        },
        FlagSpec {
            name: FlagName::Exact("export"),
            value: FlagValue::One("json|csv|pdf|FILE"),
            doc: "Export format, or a file name ending in .json, .csv or .pdf. The PDF prints \
                  the audit chain's head hash, to check it against the trail.",
        },
    ],
    takes_body: false,
    parse: collaboration,
};

fn date(s: &str) -> Result<Date, InvalidReason> {
    s.parse::<Date>().map_err(InvalidReason::from)
}

fn collaboration(args: &mut Args) -> Result<Command, ParseError> {
    let project = args.positional("PROJECT", project_name)?;
    let start_date = args.required("start-date", date)?;
    let end_date = args.required("end-date", date)?;
    if end_date < start_date {
        return Err(invalid(
            "end-date",
            InvalidReason::EndBeforeStart { start: start_date },
            end_date.to_string(),
        ));
    }
    Ok(Command::Audit(AuditCommand::Collaboration(
        AuditCollaboration {
            project,
            start_date,
            end_date,
            export: args.value("export", export)?,
        },
    )))
}

fn export(s: &str) -> Result<AuditExport, InvalidReason> {
    let format = |word: &str| match word.to_ascii_lowercase().as_str() {
        "json" => Some(ExportFormat::Json),
        "csv" => Some(ExportFormat::Csv),
        "pdf" => Some(ExportFormat::Pdf),
        _ => None,
    };
    if let Some(format) = format(s) {
        return Ok(AuditExport { format, file: None });
    }
    match s.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => {
            format(extension).map(|format| AuditExport {
                format,
                file: Some(s.to_owned()),
            })
        }
        _ => None,
    }
    .ok_or(InvalidReason::Format {
        expected: "json, csv, pdf, or a file name ending in .json, .csv or .pdf",
    })
}

pub(crate) const VERIFY: CommandSpec = CommandSpec {
    name: "audit verify",
    usage: "/cws audit verify PROJECT",
    summary: "Check that a project's audit trail is complete.",
    arguments: PROJECT,
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Audit(AuditCommand::Verify {
            project: args.positional("PROJECT", project_name)?,
        }))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    fn export_of(text: &str) -> Option<AuditExport> {
        match parse(text) {
            Ok(Command::Audit(AuditCommand::Collaboration(audit))) => audit.export,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn export_format_comes_from_the_word_or_the_extension() {
        let base = "audit collaboration p --start-date 2026-01-01 --end-date 2026-01-01";
        let cases = [
            ("", None),
            (" --export JSON", Some((ExportFormat::Json, None))),
            (" --export csv", Some((ExportFormat::Csv, None))),
            (
                " --export h1.json",
                Some((ExportFormat::Json, Some("h1.json"))),
            ),
            (
                " --export reports/h1.CSV",
                Some((ExportFormat::Csv, Some("reports/h1.CSV"))),
            ),
            (" --export pdf", Some((ExportFormat::Pdf, None))),
            (
                " --export compliance_h1.pdf",
                Some((ExportFormat::Pdf, Some("compliance_h1.pdf"))),
            ),
        ];
        for (flags, expected) in cases {
            let got = export_of(&format!("{base}{flags}"));
            let got = got.as_ref().map(|e| (e.format, e.file.as_deref()));
            assert_eq!(got, expected, "{flags}");
        }
    }

    #[test]
    fn audit_errors() {
        let cases = [
            (
                "audit collaboration p --start-date 2026-06-30 --end-date 2026-01-01",
                "--end-date `2026-01-01` is before the start date 2026-06-30",
                Some("2026-01-01"),
            ),
            (
                "audit collaboration p --start-date 2026-02-30 --end-date 2026-03-01",
                "--start-date expects a date as YYYY-MM-DD, got `2026-02-30`",
                Some("2026-02-30"),
            ),
            (
                "audit collaboration p --start-date 2026-01-01 --end-date 2026-03-01 --export audit.docx",
                "--export expects json, csv, pdf, or a file name ending in .json, .csv or .pdf, got `audit.docx`",
                Some("audit.docx"),
            ),
            (
                "audit collaboration p --start-date 2026-01-01",
                "missing required flag `--end-date`",
                None,
            ),
        ];
        crate::command::tests::assert_errors(&cases, COLLABORATION.usage);
    }
}
