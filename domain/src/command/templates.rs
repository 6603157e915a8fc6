//! The workspace templates on offer (the deployment's catalog, `CWS_TEMPLATES_DIR`).
//!
//! - `templates list [--profile-filtered]`: without the flag the bot answers from the catalog;
//!   with it (seed 001) a worker answers with only what the active profile's policy allows.

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{CommandSpec, FlagName, FlagSpec, FlagValue};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplatesCommand {
    List,
    /// Only the templates, sizes and regions the active profile's policy allows.
    ListForProfile,
}

impl TemplatesCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            TemplatesCommand::List | TemplatesCommand::ListForProfile => &LIST,
        }
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
}
