//! The workspace templates on offer (the deployment's catalog, `CWS_TEMPLATES_DIR`).
//!
//! - `templates list`

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::CommandSpec;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplatesCommand {
    List,
}

impl TemplatesCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            TemplatesCommand::List => &LIST,
        }
    }
}

pub(crate) const LIST: CommandSpec = CommandSpec {
    name: "templates list",
    usage: "/cws templates list",
    summary: "List the workspace templates: what each installs, its sizes, regions and services.",
    arguments: &[],
    flags: &[],
    takes_body: false,
    parse: |_| Ok(Command::Templates(TemplatesCommand::List)),
};
