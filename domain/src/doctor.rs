//! `cws doctor`: each requirement of a real deployment, checked and reported with what to do
//! about it. The checks themselves reach Redis, Slack, AWS and SMTP (in the worker); this is
//! what they conclude and how it reads.

use std::fmt::Write;

/// How one requirement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Met,
    /// Not met: launches, mounts, messages or mail will fail until it is fixed.
    Unmet,
    /// Not configured, so not checked (the embedded stand-in serves instead).
    NotConfigured,
}

/// One requirement, what was found, and the fix when it is not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub requirement: String,
    pub status: Status,
    pub found: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn met(requirement: impl Into<String>, found: impl Into<String>) -> Check {
        Check {
            requirement: requirement.into(),
            status: Status::Met,
            found: found.into(),
            fix: None,
        }
    }

    pub fn unmet(
        requirement: impl Into<String>,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            requirement: requirement.into(),
            status: Status::Unmet,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn not_configured(requirement: impl Into<String>, found: impl Into<String>) -> Check {
        Check {
            requirement: requirement.into(),
            status: Status::NotConfigured,
            found: found.into(),
            fix: None,
        }
    }
}

/// The report, one line per requirement (and one per fix), then a verdict.
pub fn report(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let mark = match check.status {
            Status::Met => "✅",
            Status::Unmet => "❌",
            Status::NotConfigured => "➖",
        };
        let _ = writeln!(out, "{mark} {}: {}", check.requirement, check.found);
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "   fix: {fix}");
        }
    }
    let unmet = checks.iter().filter(|c| c.status == Status::Unmet).count();
    if unmet == 0 {
        out.push_str("Every configured requirement is met.\n");
    } else {
        let _ = writeln!(out, "{unmet} requirement(s) not met.");
    }
    out
}

pub fn all_met(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Unmet)
}

/// The bot token scopes the code needs, each with the Web API method (or feature) needing it.
pub const SLACK_SCOPES: &[(&str, &str)] = &[
    ("commands", "the /cws slash command"),
    ("chat:write", "chat.postMessage, chat.postEphemeral"),
    ("im:write", "conversations.open (direct messages)"),
    ("users:read", "users.info"),
    ("users:read.email", "users.info's e-mail (expiry warnings)"),
    (
        "usergroups:read",
        "usergroups.users.list (CWS_PROJECT_REQUESTERS groups)",
    ),
    ("files:read", "files.list (CSV invitations)"),
    (
        "files:write",
        "files.getUploadURLExternal, files.completeUploadExternal (long replies as files)",
    ),
];

/// Each Slack Web API method the workers call and the bot token scope it needs (`None`: any
/// token may call it).
pub const SLACK_METHODS: &[(&str, Option<&str>)] = &[
    ("auth.test", None),
    ("chat.postMessage", Some("chat:write")),
    ("chat.postEphemeral", Some("chat:write")),
    ("conversations.open", Some("im:write")),
    ("users.info", Some("users:read")),
    ("usergroups.users.list", Some("usergroups:read")),
    ("files.list", Some("files:read")),
    ("files.getUploadURLExternal", Some("files:write")),
    ("files.completeUploadExternal", Some("files:write")),
];

/// The needed scopes missing from `granted` (Slack's comma-separated `x-oauth-scopes`).
pub fn missing_slack_scopes(granted: &str) -> Vec<&'static str> {
    let granted: Vec<&str> = granted.split(',').map(str::trim).collect();
    SLACK_SCOPES
        .iter()
        .map(|(scope, _)| *scope)
        .filter(|scope| !granted.contains(scope))
        .collect()
}

/// The cost allocation tags Cost Explorer must have active for the ledger to reconcile.
pub const COST_TAGS: [&str; 3] = [
    crate::launch::TAG_PROJECT,
    crate::launch::TAG_USER,
    crate::launch::TAG_INSTITUTION,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_marks_each_requirement_and_gives_the_fixes() {
        let checks = [
            Check::met("Redis", "PONG from redis://127.0.0.1:6379"),
            Check::unmet(
                "instance profile",
                "cws-workstation does not exist in 123456789012",
                "deploy deploy/lead-account.yml",
            ),
            Check::not_configured("SMTP", "mail goes to ./cws-mail/"),
        ];
        assert_eq!(
            report(&checks),
            "✅ Redis: PONG from redis://127.0.0.1:6379\n\
             ❌ instance profile: cws-workstation does not exist in 123456789012\n   \
             fix: deploy deploy/lead-account.yml\n\
             ➖ SMTP: mail goes to ./cws-mail/\n\
             1 requirement(s) not met.\n"
        );
        assert!(!all_met(&checks));
        assert!(all_met(&checks[..1]));
    }

    #[test]
    fn missing_scopes_are_named() {
        assert_eq!(
            missing_slack_scopes("commands,chat:write,im:write,users:read"),
            [
                "users:read.email",
                "usergroups:read",
                "files:read",
                "files:write"
            ]
        );
        let all: Vec<&str> = SLACK_SCOPES.iter().map(|(s, _)| *s).collect();
        assert!(missing_slack_scopes(&all.join(",")).is_empty());
    }
}
