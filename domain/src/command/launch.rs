//! `launch TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]`
//!
//! Starts a workspace from a template, e.g.
//! `/cws launch "Python Machine Learning" mit-algorithm-dev --size L`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::template::Size;

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue};
use super::error::{InvalidReason, ParseError};
use super::lexer::quote;
use super::values::{ProjectName, WorkspaceName, project_name, region, text, workspace_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    /// Template name as typed, without quotes: `Python Machine Learning`.
    pub template: String,
    pub name: WorkspaceName,
    pub size: Option<Size>,
    /// An AWS region such as `us-east-1`; `None` means the profile's default region.
    pub region: Option<String>,
    /// The project whose budget pays for the workspace.
    pub project: Option<ProjectName>,
}

/// Renders the command line (without `/cws`) that parses back to this launch, so a bot can
/// echo exactly what will run.
impl fmt::Display for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "launch {} {}", quote(&self.template), self.name)?;
        if let Some(size) = self.size {
            write!(f, " --size {size}")?;
        }
        if let Some(region) = &self.region {
            write!(f, " --region {}", quote(region))?;
        }
        if let Some(project) = &self.project {
            write!(f, " --project {}", quote(project))?;
        }
        Ok(())
    }
}

pub(crate) const ARGUMENTS: &[ArgSpec] = &[
    ArgSpec {
        name: "TEMPLATE",
        doc: "Template name; quote it when it has spaces, e.g. \"Python Machine Learning\".",
    },
    ArgSpec {
        name: "NAME",
        doc: "Workspace name: lowercase letters, digits and '-', at most 63 characters.",
    },
];

pub(crate) const FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: FlagName::Exact("size"),
        value: FlagValue::One("S|M|L|XL"),
        doc: "Workspace size; the template maps each size to an instance type.",
    },
    FlagSpec {
        name: FlagName::Exact("region"),
        value: FlagValue::One("REGION"),
        doc: "AWS region such as us-east-1; defaults to the profile's region.",
    },
    FlagSpec {
        name: FlagName::Exact("project"),
        value: FlagValue::One("PROJECT"),
        doc: "Project whose budget pays for the workspace.",
    },
];

pub(crate) const LAUNCH: CommandSpec = CommandSpec {
    name: "launch",
    usage: "/cws launch TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]",
    summary: "Launch a workspace from a template.",
    arguments: ARGUMENTS,
    flags: FLAGS,
    takes_body: false,
    parse: |args| launch_args(args).map(Command::Launch),
};

/// Reads a launch; `policy test` reads the same arguments to check a launch without running it.
pub(crate) fn launch_args(args: &mut Args) -> Result<Launch, ParseError> {
    Ok(Launch {
        template: args.positional("TEMPLATE", text)?,
        name: args.positional("NAME", workspace_name)?,
        size: args.value("size", |s| s.parse().map_err(InvalidReason::Size))?,
        region: args.value("region", region)?,
        project: args.value("project", project_name)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{ParseErrorKind, parse};

    fn launch(text: &str) -> Launch {
        match parse(text) {
            Ok(Command::Launch(launch)) => launch,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn reads_template_name_and_flags() {
        let parsed = launch(
            r#"launch "GPU ML Workstation" expensive-gpu --size XL --region=eu-west-1 --project nih"#,
        );
        assert_eq!(parsed.template, "GPU ML Workstation");
        assert_eq!(parsed.name.as_str(), "expensive-gpu");
        assert_eq!(parsed.size, Some(Size::XL));
        assert_eq!(parsed.region.as_deref(), Some("eu-west-1"));
        assert_eq!(parsed.project.as_deref(), Some("nih"));
        assert_eq!(
            launch("launch python-ml my-project --size large").size,
            Some(Size::L)
        );
    }

    #[test]
    fn flags_may_come_first() {
        let parsed = launch("launch --size s python-ml box");
        assert_eq!(
            (parsed.template.as_str(), parsed.size),
            ("python-ml", Some(Size::S))
        );
    }

    #[test]
    fn renders_a_line_that_parses_back() {
        let parsed = launch(
            r#"launch "R \"Research\" Environment" b --size M --region us-east-1 --project "p-q""#,
        );
        assert_eq!(
            parsed.to_string(),
            r#"launch "R \"Research\" Environment" b --size M --region us-east-1 --project p-q"#
        );
        assert_eq!(launch(&parsed.to_string()), parsed);
    }

    #[test]
    fn rejects_bad_values() {
        let error = parse("launch python-ml box --region mars").unwrap_err();
        assert!(
            matches!(error.kind(), ParseErrorKind::InvalidValue { flag, .. } if flag == "region")
        );
        assert_eq!(error.token(), Some("mars"));
        assert_eq!(
            error.to_string(),
            "--region expects an AWS region such as us-east-1, got `mars`"
        );
        let error = parse(r#"launch "" box"#).unwrap_err();
        assert_eq!(error.to_string(), "TEMPLATE must not be empty");
    }
}
