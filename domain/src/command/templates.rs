//! The workspace templates on offer (the deployment's catalog, `CWS_TEMPLATES_DIR`).
//!
//! - `templates list [--profile-filtered]`: without the flag the bot answers from the catalog
//!   (a worker, where the deployment publishes approved templates); with it (seed 001) a
//!   worker answers with only what the active profile's policy allows.
//! - `templates show NAME`: one template in full, with its publisher, version and changelog.
//! - `templates propose FILE`: a YAML file shared in the channel goes to the deployment's
//!   admins for approval (seed 001, Epic 7.2).

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, CommandSpec, FlagName, FlagSpec, FlagValue};
use super::error::InvalidReason;
use super::values::text;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplatesCommand {
    List,
    /// Only the templates, sizes and regions the active profile's policy allows.
    ListForProfile,
    Show {
        template: String,
    },
    /// The newest file of this name shared in the channel.
    Propose {
        file: String,
    },
}

impl TemplatesCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            TemplatesCommand::List | TemplatesCommand::ListForProfile => &LIST,
            TemplatesCommand::Show { .. } => &SHOW,
            TemplatesCommand::Propose { .. } => &PROPOSE,
        }
    }
}

/// A template file as the chat platform shows it: no folder, no leading dot, at most 100
/// characters, ending in `.yml` or `.yaml`.
fn template_file_name(s: &str) -> Result<String, InvalidReason> {
    let plain = !s.starts_with('.')
        && s.chars().count() <= 100
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '));
    let lower = s.to_ascii_lowercase();
    let yaml = [".yml", ".yaml"]
        .iter()
        .any(|ext| lower.len() > ext.len() && lower.ends_with(ext));
    if plain && yaml {
        Ok(s.to_owned())
    } else {
        Err(InvalidReason::Format {
            expected: "a plain file name ending in .yml or .yaml, such as genomics.yml",
        })
    }
}

pub(crate) const LIST: CommandSpec = CommandSpec {
    name: "templates list",
    usage: "/cws templates list [--profile-filtered]",
    summary: "List the workspace templates: what each installs, its sizes, regions and services.",
    arguments: &[],
    flags: &[FlagSpec {
        name: FlagName::Exact("profile-filtered"),
        value: FlagValue::Switch,
        doc: "Only what your active profile's launch policy allows: the templates, the sizes \
              within its instance types and hourly cap, and the regions it does not forbid.",
    }],
    takes_body: false,
    parse: |args| {
        Ok(Command::Templates(if args.enabled("profile-filtered")? {
            TemplatesCommand::ListForProfile
        } else {
            TemplatesCommand::List
        }))
    },
};

pub(crate) const SHOW: CommandSpec = CommandSpec {
    name: "templates show",
    usage: "/cws templates show TEMPLATE",
    summary: "One template in full: sizes, prices, packages, its publisher, version and changelog.",
    arguments: &[ArgSpec {
        name: "TEMPLATE",
        doc: "Template name or slug; quote a name with spaces.",
    }],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Templates(TemplatesCommand::Show {
            template: args.positional("TEMPLATE", text)?,
        }))
    },
};

pub(crate) const PROPOSE: CommandSpec = CommandSpec {
    name: "templates propose",
    usage: "/cws templates propose FILE",
    summary: "Propose a template (a YAML file shared in the channel) to the deployment's admins, \
              who see its diff and risks and approve or deny it.",
    arguments: &[ArgSpec {
        name: "FILE",
        doc: "The name of the YAML file you shared in this channel, e.g. genomics.yml.",
    }],
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Templates(TemplatesCommand::Propose {
            file: args.positional("FILE", template_file_name)?,
        }))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    #[test]
    fn profile_filtered_asks_a_worker() {
        for (line, expected) in [
            ("templates list", TemplatesCommand::List),
            (
                "templates list --profile-filtered",
                TemplatesCommand::ListForProfile,
            ),
            (
                "templates list --profile-filtered=false",
                TemplatesCommand::List,
            ),
        ] {
            assert_eq!(parse(line), Ok(Command::Templates(expected)), "{line}");
        }
    }

    #[test]
    fn a_proposal_names_a_yaml_file_shared_in_the_channel() {
        for (line, expected) in [
            (
                "templates propose genomics.yml",
                TemplatesCommand::Propose {
                    file: "genomics.yml".to_owned(),
                },
            ),
            (
                "templates propose \"Stanford Genomics v2.yaml\"",
                TemplatesCommand::Propose {
                    file: "Stanford Genomics v2.yaml".to_owned(),
                },
            ),
            (
                "templates show \"Python Machine Learning\"",
                TemplatesCommand::Show {
                    template: "Python Machine Learning".to_owned(),
                },
            ),
        ] {
            assert_eq!(parse(line), Ok(Command::Templates(expected)), "{line}");
        }
        for line in [
            "templates propose",
            "templates propose genomics.csv",
            "templates propose ../etc/genomics.yml",
            "templates propose .yml",
            "templates show",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
    }
}
