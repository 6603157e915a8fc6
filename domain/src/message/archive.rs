//! `project archive`: the owner's answer, and the refusal of anything an archived project no
//! longer does.

use serde_json::json;

use super::{ChatMessage, render};
use crate::project::Project;
use crate::time_text;

/// To the owner: what archiving means, and what still costs money. `already` when the project
/// was archived before this command.
pub fn project_archived(project: &Project, running: &[String], already: bool) -> ChatMessage {
    render(
        "project_archived",
        &json!({
            "project": project.name,
            "since": project.archived_at.map(time_text::date),
            "already": already,
            "running": running,
        }),
    )
}

/// Something an archived project no longer allows: `what` as in "may not {what}".
pub fn project_archived_refused(project: &Project, what: &str) -> ChatMessage {
    render(
        "project_archived_refused",
        &json!({
            "project": project.name,
            "since": project.archived_at.map(time_text::date),
            "what": what,
            "owner_user_id": project.owner_user_id,
        }),
    )
}
