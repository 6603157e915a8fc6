//! `audit verify` and `audit collaboration`: whether the trail is intact, and the compliance
//! report with its export link.

use serde_json::{Value, json};

use super::{ChatMessage, render};
use crate::audit::AuditAction;
use crate::audit::chain::{Break, Link};
use crate::audit::report::{ComplianceReport, Row, grouped};
use crate::time_text;

/// The data access rows shown in chat; the export holds them all. Twenty rows of the table
/// stay well inside Slack's 3,000 characters per section.
pub const SHOWN_ACCESS_ROWS: usize = 20;

/// The invitations listed in chat, for the same reason.
pub const SHOWN_INVITATIONS: usize = 25;

/// `audit verify` found every stored link where the chain says it should be.
pub fn audit_verified(project: &str, events: u64) -> ChatMessage {
    render(
        "audit_verify",
        &json!({
            "project": project,
            "intact": true,
            "events": grouped(events as usize),
        }),
    )
}

/// `audit verify` found where the stored chain stops being the one that was written: the
/// first event edited, inserted or removed, with what is known of it.
pub fn audit_broken(project: &str, broken: &Break, links: &[Link]) -> ChatMessage {
    let by_seq = |seq: u64| links.iter().find(|link| link.seq == seq);
    let (finding, event) = match *broken {
        Break::Edited { seq } => (
            format!("event #{seq} was edited after it was written"),
            by_seq(seq),
        ),
        Break::Inserted {
            position,
            claimed_seq,
        } => (
            format!(
                "an event that was never part of the trail was inserted at position {position} \
                 (it claims to be #{claimed_seq})"
            ),
            links.get(position - 1),
        ),
        Break::Removed { first, last } if first == last => {
            (format!("event #{first} was removed"), None)
        }
        Break::Removed { first, last } => {
            (format!("events #{first} to #{last} were removed"), None)
        }
    };
    // For a removal, the events around the gap say when it happened.
    let around = match *broken {
        Break::Removed { first, last } => {
            let before = first.checked_sub(1).and_then(by_seq).map(summary);
            let after = by_seq(last + 1).map(summary);
            json!({ "before": before, "after": after })
        }
        _ => Value::Null,
    };
    render(
        "audit_verify",
        &json!({
            "project": project,
            "intact": false,
            "finding": finding,
            "event": event.map(summary),
            "around": around,
        }),
    )
}

/// What a stored link says of its event, read leniently: an edited event may no longer be one.
fn summary(link: &Link) -> Value {
    let field = |name: &str| link.event.get(name).and_then(Value::as_str);
    let at = field("at").map(|at| {
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .map_or_else(|_| at.to_owned(), time_text::date_time)
    });
    let action = link.event.get("action").map(|action| {
        serde_json::from_value::<AuditAction>(action.clone()).map_or_else(
            |_| action.as_str().unwrap_or("unknown").to_owned(),
            |action| action.describe().to_owned(),
        )
    });
    json!({
        "seq": link.seq,
        "at": at.unwrap_or_else(|| "unknown time".to_owned()),
        "action": action.unwrap_or_else(|| "unknown action".to_owned()),
        "who": field("who").unwrap_or("unknown"),
        "resource": field("resource"),
    })
}

/// Where an export went.
pub struct ExportLink<'a> {
    /// `JSON` or `CSV`.
    pub format: &'a str,
    pub key: &'a str,
    pub link: &'a str,
    pub valid_days: u64,
}

/// The seed's collaboration audit report: invitation activity, the data access table (the
/// first [`SHOWN_ACCESS_ROWS`]), and the compliance summary; with the export's link if one was
/// written.
pub fn audit_report(report: &ComplianceReport, export: Option<&ExportLink<'_>>) -> ChatMessage {
    let invitations: Vec<Value> = report
        .invitation_activity
        .iter()
        .take(SHOWN_INVITATIONS)
        .map(|row| {
            json!({
                "invitation": row.invitation,
                "switches": grouped(row.profile_switches),
                "launches": grouped(row.launches),
            })
        })
        .collect();
    let access: Vec<Value> = report
        .data_access
        .iter()
        .take(SHOWN_ACCESS_ROWS)
        .map(access_row)
        .collect();
    let summary = &report.summary;
    render(
        "audit_report",
        &json!({
            "project": report.project,
            "start": report.start_date,
            "end": report.end_date,
            "invitations": invitations,
            "more_invitations": report.invitation_activity.len().saturating_sub(SHOWN_INVITATIONS),
            "access": access,
            "more_access": grouped(report.data_access.len().saturating_sub(SHOWN_ACCESS_ROWS)),
            "access_hidden": report.data_access.len() > SHOWN_ACCESS_ROWS,
            "shown": SHOWN_ACCESS_ROWS,
            "events": grouped(summary.events),
            "data_access_events": grouped(summary.data_access_events),
            "launches": grouped(summary.collaborator_launches),
            "violations": grouped(summary.policy_violations),
            "violations_ok": summary.policy_violations == 0,
            "unauthorized": grouped(summary.unauthorized_attempts),
            "unauthorized_ok": summary.unauthorized_attempts == 0,
            "export": export.map(|export| json!({
                "format": export.format,
                "key": export.key,
                "link": export.link,
                "valid_days": export.valid_days,
            })),
        }),
    )
}

/// One line of the monospace table; long values are cut so the columns stay aligned.
fn access_row(row: &Row) -> Value {
    json!({
        "user": cut(&row.user, 20),
        "action": cut(&row.action, 16),
        "resource": cut(&row.resource, 24),
        "date": row.at.date().to_string(),
    })
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().take(width - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use time::macros::{date, datetime};

    use super::*;
    use crate::audit::AuditEvent;
    use crate::audit::report::{Entry, Person, compliance_report};
    use crate::identity::ChatIdentity;

    fn event(n: usize, action: AuditAction, who: &str) -> AuditEvent {
        AuditEvent {
            action,
            who: ChatIdentity::slack("T1", who),
            institution: "mit-csail".into(),
            resource: format!("mit-algorithm-dev-{n}"),
            outcome: "launched".into(),
            detail: None,
            at: datetime!(2026-01-15 09:00 UTC) + time::Duration::hours(n as i64),
        }
    }

    fn chain(events: &[AuditEvent]) -> Vec<Link> {
        let mut links: Vec<Link> = Vec::new();
        for event in events {
            links.push(Link::after(links.last().map(Link::head).as_ref(), event));
        }
        links
    }

    #[test]
    fn verify_says_intact_or_names_the_first_break() {
        insta::assert_snapshot!(audit_verified("nih", 1247).text, @"✅ nih audit trail: 1,247 events, chain intact.");
        let links = chain(&[
            event(1, AuditAction::Launch, "UMIT"),
            event(2, AuditAction::ProfileSwitch, "UMIT"),
            event(3, AuditAction::Launch, "UBERK"),
        ]);
        let edited = audit_broken("nih", &Break::Edited { seq: 2 }, &links);
        insta::assert_snapshot!(edited.text, @"🚨 nih audit trail: event #2 was edited after it was written. Event #2: Profile Switch by slack:T1:UMIT on January 15, 2026 11:00 UTC (mit-algorithm-dev-2).");
        insta::assert_json_snapshot!(edited.blocks);
        let inserted = audit_broken(
            "nih",
            &Break::Inserted {
                position: 3,
                claimed_seq: 42,
            },
            &links,
        );
        insta::assert_snapshot!(inserted.text, @"🚨 nih audit trail: an event that was never part of the trail was inserted at position 3 (it claims to be #42). Event #3: Workspace Launch by slack:T1:UBERK on January 15, 2026 12:00 UTC (mit-algorithm-dev-3).");
        let removed = audit_broken("nih", &Break::Removed { first: 2, last: 2 }, &links);
        insta::assert_snapshot!(removed.text, @"🚨 nih audit trail: event #2 was removed. Before it: #1, Workspace Launch by slack:T1:UMIT on January 15, 2026 10:00 UTC. After it: #3, Workspace Launch by slack:T1:UBERK on January 15, 2026 12:00 UTC.");
    }

    #[test]
    fn the_report_shows_twenty_access_rows_and_says_how_many_more_the_export_has() {
        let mut events = vec![event(0, AuditAction::ProfileSwitch, "UMIT")];
        events.extend((1..=23).map(|n| event(n, AuditAction::Launch, "UMIT")));
        events.push(event(24, AuditAction::Refused, "UBERK"));
        let entries: Vec<Entry> = chain(&events)
            .into_iter()
            .map(|link| Entry {
                seq: link.seq,
                event: link.audit_event().unwrap(),
                hash: link.hash,
            })
            .collect();
        let people = HashMap::from([(
            ChatIdentity::slack("T1", "UMIT"),
            Person {
                name: "Dr. Johnson".into(),
                invitation: Some("mit-collaboration".into()),
                verified_institution: None,
            },
        )]);
        let report = compliance_report(
            "nih-neuro-consortium",
            (date!(2026 - 01 - 01), date!(2026 - 06 - 30)),
            &entries,
            &people,
            &["berkeley-collaboration".into(), "mit-collaboration".into()],
        );
        let message = audit_report(
            &report,
            Some(&ExportLink {
                format: "JSON",
                key: "audit/nih-neuro-consortium/exports/h1.json",
                link: "https://s3.example/h1.json?X-Amz-Signature=abc",
                valid_days: 7,
            }),
        );
        insta::assert_snapshot!(message.text);
        insta::assert_json_snapshot!(message.blocks);
        for block in &message.blocks {
            let text = block["text"]["text"].as_str().unwrap_or_default();
            assert!(text.chars().count() <= 3000, "{text}");
        }
        let without = audit_report(&report, None);
        assert!(
            without
                .blocks
                .to_vec()
                .iter()
                .any(|b| b.to_string().contains("--export json")),
            "{:?}",
            without.blocks
        );
    }
}
