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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::command::{Command, ProjectCommand, parse};
    use crate::identity::ChatIdentity;
    use crate::project::ProjectOwner;

    fn archived() -> Project {
        let Ok(Command::Project(ProjectCommand::Create(create))) =
            parse("project create nih-neuro-consortium --budget 5000")
        else {
            panic!()
        };
        let mut project = Project::create(
            &create,
            ProjectOwner {
                identity: ChatIdentity::slack("T1", "U0SMITH"),
                user_id: "U0SMITH",
                user_name: "jennifer.smith",
                institution: "stanford",
                channel_id: "C1",
            },
            "stanford-neuroscience",
            datetime!(2026-01-15 0:00 UTC),
        );
        project.archived_at = Some(datetime!(2027-06-02 9:00 UTC));
        project
    }

    #[test]
    fn archiving_says_what_read_only_means_and_what_still_costs() {
        let project = archived();
        let message = project_archived(&project, &["mit-dev".to_owned()], false);
        insta::assert_snapshot!(message.text, @"🗄️ Project *nih-neuro-consortium* is archived (June 2, 2027): it is read-only. Nothing launches, starts or resumes in it, and no invitations, extensions, volumes, mounts or exceptions are made. Status, costs, reports, chargeback statements and the audit trail still work; stopping, hibernating and terminating still work too. Still running, and still costing money: mit-dev.");
        let refused = project_archived_refused(&project, "launch workspaces");
        insta::assert_snapshot!(refused.text, @"🗄️ Project *nih-neuro-consortium* is archived (June 2, 2027) and read-only: you may not launch workspaces in it. Status, costs, reports and the audit trail still work. Ask the project owner <@U0SMITH> if something must run again.");
    }
}
