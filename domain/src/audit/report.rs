//! The compliance report of a collaboration (seed problem 4): what each invitation did, every
//! data access, and the counts an auditor asks for first. Also its JSON and CSV exports, one
//! row per event, each carrying its place and hash in the chain so a row can be checked
//! against the trail, and its PDF, which also prints the chain's head.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::chain::Seal;
use super::{AuditAction, AuditEvent};
use crate::command::{AuditExport, ExportFormat};
use crate::identity::ChatIdentity;
use crate::pdf::{Column, PdfDocument};
use crate::spreadsheet::SpreadsheetCsv;
use crate::time_text;

/// Who an identity is, as far as the project knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The invitee's name, else the research username.
    pub name: String,
    /// The invitation they joined through; `None` for the owner.
    pub invitation: Option<String>,
    /// The institution their verified research identity vouches for, if they verified one.
    pub verified_institution: Option<String>,
}

/// One event of the trail with its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub hash: String,
    pub event: AuditEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitationActivity {
    pub invitation: String,
    pub profile_switches: usize,
    pub launches: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub events: usize,
    pub data_access_events: usize,
    pub collaborator_launches: usize,
    pub policy_violations: usize,
    pub unauthorized_attempts: usize,
}

/// One row of the export and of the data access table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user: String,
    pub identity: String,
    pub institution: String,
    /// `verified` when the person's verified identity vouches for the institution, else
    /// `self-declared`.
    pub institution_check: &'static str,
    pub invitation: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub detail: String,
    pub hash: String,
}

impl Row {
    /// The CSV export's header, in the order of [`Row::cells`].
    const COLUMNS: [&'static str; 12] = [
        "seq",
        "at",
        "user",
        "identity",
        "institution",
        "institution_check",
        "invitation",
        "action",
        "resource",
        "outcome",
        "detail",
        "hash",
    ];

    fn cells(&self) -> [String; 12] {
        [
            self.seq.to_string(),
            self.at
                .format(&Rfc3339)
                .unwrap_or_else(|_| self.at.to_string()),
            self.user.clone(),
            self.identity.clone(),
            self.institution.clone(),
            self.institution_check.to_owned(),
            self.invitation.clone(),
            self.action.clone(),
            self.resource.clone(),
            self.outcome.clone(),
            self.detail.clone(),
            self.hash.clone(),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceReport {
    pub project: String,
    pub start_date: String,
    pub end_date: String,
    pub invitation_activity: Vec<InvitationActivity>,
    pub summary: Summary,
    /// The data access events, oldest first.
    pub data_access: Vec<Row>,
    /// Every event in the period, oldest first: what the export holds.
    pub events: Vec<Row>,
}

/// The report over the events dated `start..=end` (whole days, UTC). `invitations` lists every
/// invitation of the project, so one that did nothing still gets its row.
pub fn compliance_report(
    project: &str,
    (start, end): (Date, Date),
    entries: &[Entry],
    people: &HashMap<ChatIdentity, Person>,
    invitations: &[String],
) -> ComplianceReport {
    let in_period: Vec<&Entry> = entries
        .iter()
        .filter(|entry| (start..=end).contains(&entry.event.at.date()))
        .collect();
    let mut activity: BTreeMap<&str, InvitationActivity> = invitations
        .iter()
        .map(|name| {
            (
                name.as_str(),
                InvitationActivity {
                    invitation: name.clone(),
                    profile_switches: 0,
                    launches: 0,
                },
            )
        })
        .collect();
    let mut collaborator_launches = 0;
    for entry in &in_period {
        let Some(invitation) = people
            .get(&entry.event.who)
            .and_then(|person| person.invitation.as_deref())
        else {
            continue;
        };
        let Some(row) = activity.get_mut(invitation) else {
            continue;
        };
        match entry.event.action {
            AuditAction::ProfileSwitch => row.profile_switches += 1,
            AuditAction::Launch => {
                row.launches += 1;
                collaborator_launches += 1;
            }
            _ => {}
        }
    }
    let rows: Vec<Row> = in_period.iter().map(|entry| row(entry, people)).collect();
    let count = |action| {
        in_period
            .iter()
            .filter(|entry| entry.event.action == action)
            .count()
    };
    let data_access: Vec<Row> = in_period
        .iter()
        .zip(&rows)
        .filter(|(entry, _)| entry.event.action.is_data_access())
        .map(|(_, row)| row.clone())
        .collect();
    ComplianceReport {
        project: project.to_owned(),
        start_date: start.to_string(),
        end_date: end.to_string(),
        invitation_activity: activity.into_values().collect(),
        summary: Summary {
            events: rows.len(),
            data_access_events: data_access.len(),
            collaborator_launches,
            policy_violations: count(AuditAction::PolicyViolation),
            unauthorized_attempts: count(AuditAction::Refused),
        },
        data_access,
        events: rows,
    }
}

pub(super) fn row(entry: &Entry, people: &HashMap<ChatIdentity, Person>) -> Row {
    let event = &entry.event;
    let person = people.get(&event.who);
    Row {
        seq: entry.seq,
        at: event.at,
        user: person.map_or_else(|| event.who.to_string(), |p| p.name.clone()),
        identity: event.who.to_string(),
        institution: event.institution.clone(),
        institution_check: match person.and_then(|p| p.verified_institution.as_deref()) {
            Some(verified) if verified == event.institution => "verified",
            _ => "self-declared",
        },
        invitation: person
            .and_then(|p| p.invitation.clone())
            .unwrap_or_default(),
        action: event.action.describe().to_owned(),
        resource: event.resource.clone(),
        outcome: event.outcome.clone(),
        detail: event.detail.clone().unwrap_or_default(),
        hash: entry.hash.clone(),
    }
}

/// Where an export goes: `audit/{project}/exports/{file}`, the file being the name given (its
/// last path part, so an export stays under its project) or `{project}_{start}_{end}.{ext}`.
pub fn export_key(project: &str, (start, end): (Date, Date), export: &AuditExport) -> String {
    let file = match &export.file {
        Some(file) => file.rsplit(['/', '\\']).next().unwrap_or(file).to_owned(),
        None => format!("{project}_{start}_{end}.{}", extension(export.format)),
    };
    format!("audit/{project}/exports/{file}")
}

fn extension(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Json => "json",
        ExportFormat::Csv => "csv",
        ExportFormat::Pdf => "pdf",
    }
}

/// The columns of an event table in a PDF, as [`event_cells`] fills them.
pub(super) const EVENT_COLUMNS: [Column; 8] = [
    Column {
        heading: "Seq",
        width: 7,
    },
    Column {
        heading: "At (UTC)",
        width: 16,
    },
    Column {
        heading: "User",
        width: 18,
    },
    Column {
        heading: "Institution",
        width: 12,
    },
    Column {
        heading: "Action",
        width: 16,
    },
    Column {
        heading: "Resource",
        width: 20,
    },
    Column {
        heading: "Outcome",
        width: 10,
    },
    Column {
        heading: "Hash",
        width: 10,
    },
];

/// One row of an event table: the hash's first characters, enough to find the link.
pub(super) fn event_cells(row: &Row) -> Vec<String> {
    vec![
        row.seq.to_string(),
        utc_minute(row.at),
        row.user.clone(),
        row.institution.clone(),
        row.action.clone(),
        row.resource.clone(),
        row.outcome.clone(),
        row.hash.chars().take(10).collect(),
    ]
}

/// `2026-12-04 09:05`: when an event happened, to the minute, in UTC, as PDF tables show it.
pub(super) fn utc_minute(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02}", at.date(), at.hour(), at.minute())
}

/// `1,247`.
pub(crate) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl ComplianceReport {
    /// The export in `format`, with its content type. The PDF states `seal`, the chain the
    /// report was read from, and when it was made.
    pub fn export(
        &self,
        format: ExportFormat,
        seal: &Seal,
        generated_at: OffsetDateTime,
    ) -> (Vec<u8>, &'static str) {
        match format {
            ExportFormat::Json => (self.to_json().into_bytes(), "application/json"),
            ExportFormat::Csv => (self.to_csv().into_bytes(), "text/csv"),
            ExportFormat::Pdf => (self.to_pdf(seal, generated_at), "application/pdf"),
        }
    }

    /// The report as PDF: the period and the chain's head first, then the summary, the
    /// invitations' activity, the data access events and every event of the period.
    pub fn to_pdf(&self, seal: &Seal, generated_at: OffsetDateTime) -> Vec<u8> {
        let mut pdf = PdfDocument::new(
            "Collaboration Audit Report",
            &format!(
                "{} audit report, {} to {}",
                self.project, self.start_date, self.end_date
            ),
            generated_at,
        );
        pdf.facts(&[
            ("Project", self.project.clone()),
            (
                "Period",
                format!("{} to {} (UTC, whole days)", self.start_date, self.end_date),
            ),
            ("Generated", time_text::date_time(generated_at)),
            ("Audit chain", seal.describe()),
            ("Chain head", seal.head_text()),
        ]);
        pdf.text(&format!(
            "Each event below carries its place (Seq) and the start of its hash in the audit \
             chain; `/cws audit verify {}` checks the chain, and the JSON and CSV exports hold \
             each event's full hash and detail.",
            self.project
        ));
        let summary = &self.summary;
        pdf.heading("Compliance Summary");
        pdf.facts(&[
            ("Events in the period", grouped(summary.events)),
            ("Data access events", grouped(summary.data_access_events)),
            (
                "Workspace launches by collaborators",
                grouped(summary.collaborator_launches),
            ),
            ("Policy violations", grouped(summary.policy_violations)),
            (
                "Unauthorized access attempts",
                grouped(summary.unauthorized_attempts),
            ),
        ]);
        pdf.heading("Invitation Activity");
        pdf.table(
            &[
                Column {
                    heading: "Invitation",
                    width: 40,
                },
                Column {
                    heading: "Profile switches",
                    width: 16,
                },
                Column {
                    heading: "Workspace launches",
                    width: 18,
                },
            ],
            self.invitation_activity.iter().map(|row| {
                vec![
                    row.invitation.clone(),
                    grouped(row.profile_switches),
                    grouped(row.launches),
                ]
            }),
            "No invitations.",
        );
        pdf.heading("Data Access Events");
        pdf.table(
            &EVENT_COLUMNS,
            self.data_access.iter().map(event_cells),
            "None in this period.",
        );
        pdf.heading("All Events");
        pdf.table(
            &EVENT_COLUMNS,
            self.events.iter().map(event_cells),
            "None in this period.",
        );
        pdf.finish()
    }

    /// The export as one JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    /// The export as CSV: a header, then one row per event, with the JSON export's field
    /// names as columns.
    pub fn to_csv(&self) -> String {
        let mut csv = SpreadsheetCsv::new();
        csv.row(Row::COLUMNS);
        for row in &self.events {
            csv.row(row.cells());
        }
        csv.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn entry(seq: u64, who: &str, action: AuditAction, at: OffsetDateTime) -> Entry {
        Entry {
            seq,
            hash: format!("h{seq}"),
            event: AuditEvent {
                action,
                who: ChatIdentity::slack("T1", who),
                institution: "MIT".to_owned(),
                resource: "neuro-dataset".to_owned(),
                outcome: "ok".to_owned(),
                detail: Some("with, a comma".to_owned()),
                at,
            },
        }
    }

    fn people() -> HashMap<ChatIdentity, Person> {
        HashMap::from([
            (
                ChatIdentity::slack("T1", "UMIT"),
                Person {
                    name: "Dr. Johnson".to_owned(),
                    invitation: Some("mit-collaboration".to_owned()),
                    verified_institution: Some("MIT".to_owned()),
                },
            ),
            (
                ChatIdentity::slack("T1", "UOWNER"),
                Person {
                    name: "jsmith".to_owned(),
                    invitation: None,
                    verified_institution: None,
                },
            ),
        ])
    }

    #[test]
    fn the_report_counts_per_invitation_and_lists_data_access_in_the_period() {
        let entries = [
            entry(
                1,
                "UMIT",
                AuditAction::ProfileSwitch,
                datetime!(2026-01-02 9:00 UTC),
            ),
            entry(
                2,
                "UMIT",
                AuditAction::Launch,
                datetime!(2026-01-15 9:00 UTC),
            ),
            entry(
                3,
                "UMIT",
                AuditAction::VolumeMount,
                datetime!(2026-01-15 9:05 UTC),
            ),
            entry(
                4,
                "UOWNER",
                AuditAction::Launch,
                datetime!(2026-02-01 9:00 UTC),
            ),
            entry(
                5,
                "UMIT",
                AuditAction::Refused,
                datetime!(2026-03-01 9:00 UTC),
            ),
            entry(
                6,
                "UMIT",
                AuditAction::PolicyViolation,
                datetime!(2026-03-01 9:01 UTC),
            ),
            entry(
                7,
                "UMIT",
                AuditAction::Launch,
                datetime!(2026-07-01 0:00 UTC),
            ),
        ];
        let report = compliance_report(
            "nih-neuro",
            (date!(2026 - 01 - 01), date!(2026 - 06 - 30)),
            &entries,
            &people(),
            &[
                "berkeley-collaboration".to_owned(),
                "mit-collaboration".to_owned(),
            ],
        );
        assert_eq!(
            report.invitation_activity,
            [
                InvitationActivity {
                    invitation: "berkeley-collaboration".to_owned(),
                    profile_switches: 0,
                    launches: 0
                },
                InvitationActivity {
                    invitation: "mit-collaboration".to_owned(),
                    profile_switches: 1,
                    launches: 1
                },
            ]
        );
        assert_eq!(
            report.summary,
            Summary {
                events: 6,
                data_access_events: 3,
                collaborator_launches: 1,
                policy_violations: 1,
                unauthorized_attempts: 1,
            }
        );
        let users: Vec<&str> = report.data_access.iter().map(|r| r.user.as_str()).collect();
        assert_eq!(users, ["Dr. Johnson", "Dr. Johnson", "jsmith"]);
    }

    #[test]
    fn exports_stay_under_the_projects_folder() {
        let period = (date!(2026 - 01 - 01), date!(2026 - 06 - 30));
        let key = |format, file: Option<&str>| {
            export_key(
                "nih",
                period,
                &AuditExport {
                    format,
                    file: file.map(str::to_owned),
                },
            )
        };
        assert_eq!(
            key(ExportFormat::Json, None),
            "audit/nih/exports/nih_2026-01-01_2026-06-30.json"
        );
        assert_eq!(
            key(ExportFormat::Csv, Some("../../other/h1.csv")),
            "audit/nih/exports/h1.csv"
        );
        assert_eq!(
            key(ExportFormat::Json, Some("compliance_audit_h1_2026.json")),
            "audit/nih/exports/compliance_audit_h1_2026.json"
        );
    }

    #[test]
    fn the_csv_export_has_a_header_and_quotes_what_needs_it() {
        let entries = [entry(
            1,
            "UMIT",
            AuditAction::Launch,
            datetime!(2026-01-15 9:00 UTC),
        )];
        let report = compliance_report(
            "p",
            (date!(2026 - 01 - 01), date!(2026 - 01 - 31)),
            &entries,
            &people(),
            &[],
        );
        insta::assert_snapshot!(report.to_csv(), @r#"
        seq,at,user,identity,institution,institution_check,invitation,action,resource,outcome,detail,hash
        1,2026-01-15T09:00:00Z,Dr. Johnson,slack:T1:UMIT,MIT,verified,mit-collaboration,Workspace Launch,neuro-dataset,ok,"with, a comma",h1
        "#);
    }

    /// `events` written as a chain, as the worker writes them; with its seal.
    fn chained(events: &[AuditEvent]) -> (Vec<Entry>, Seal) {
        let mut links: Vec<super::super::chain::Link> = Vec::new();
        for event in events {
            let head = links.last().map(|link| link.head());
            links.push(super::super::chain::Link::after(head.as_ref(), event));
        }
        let head = links.last().map(|link| link.head());
        let entries = links
            .iter()
            .map(|link| Entry {
                seq: link.seq,
                hash: link.hash.clone(),
                event: link.audit_event().unwrap(),
            })
            .collect();
        (entries, Seal::of(&links, head.as_ref()))
    }

    #[test]
    fn the_pdf_shows_the_period_the_figures_and_the_chains_head() {
        let events: Vec<AuditEvent> = [
            (
                "UMIT",
                AuditAction::ProfileSwitch,
                datetime!(2026-01-02 9:00 UTC),
            ),
            ("UMIT", AuditAction::Launch, datetime!(2026-01-15 9:00 UTC)),
            (
                "UMIT",
                AuditAction::VolumeMount,
                datetime!(2026-01-15 9:05 UTC),
            ),
            (
                "UOWNER",
                AuditAction::Launch,
                datetime!(2026-02-01 9:00 UTC),
            ),
            ("UMIT", AuditAction::Refused, datetime!(2026-03-01 9:00 UTC)),
            (
                "UMIT",
                AuditAction::PolicyViolation,
                datetime!(2026-03-01 9:01 UTC),
            ),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, (who, action, at))| entry(n as u64 + 1, who, action, at).event)
        .collect();
        let (entries, seal) = chained(&events);
        let report = compliance_report(
            "nih-neuro",
            (date!(2026 - 01 - 01), date!(2026 - 06 - 30)),
            &entries,
            &people(),
            &["mit-collaboration".to_owned()],
        );
        let (pdf, content_type) =
            report.export(ExportFormat::Pdf, &seal, datetime!(2026-07-01 8:30 UTC));
        assert_eq!(content_type, "application/pdf");
        let pages = crate::pdf::tests::pdf_pages(&pdf);
        assert_eq!(pages.len(), 1);
        let text = &pages[0];
        let head = &entries.last().unwrap().hash;
        for expected in [
            "Collaboration Audit Report",
            "Project:     nih-neuro",
            "Period:      2026-01-01 to 2026-06-30 (UTC, whole days)",
            "Generated:   July 1, 2026 08:30 UTC",
            "Audit chain: verified intact, 6 events",
            &format!("Chain head:  #6 {head}"),
            "Events in the period:                6",
            "Data access events:                  3",
            "Workspace launches by collaborators: 1",
            "Policy violations:                   1",
            "Unauthorized access attempts:        1",
            "mit-collaboration                        1                1",
            "Dr. Johnson",
            "jsmith",
            "nih-neuro audit report, 2026-01-01 to 2026-06-30 - page 1 of 1",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        let launch = format!(
            "2       2026-01-15 09:00 Dr. Johnson        MIT          Workspace Launch neuro-dataset        ok         {}",
            &entries[1].hash[..10]
        );
        assert!(text.contains(&launch), "{launch}\n{text}");
    }

    #[test]
    fn ten_thousand_events_make_a_valid_pdf_of_many_pages() {
        let events: Vec<AuditEvent> = (0..10_000_i64)
            .map(|n| {
                let action = [AuditAction::Launch, AuditAction::Command][n as usize % 2];
                entry(
                    0,
                    "UMIT",
                    action,
                    datetime!(2025-01-01 0:00 UTC) + time::Duration::minutes(25 * n),
                )
                .event
            })
            .collect();
        let (entries, seal) = chained(&events);
        let report = compliance_report(
            "nih",
            (date!(2025 - 01 - 01), date!(2025 - 12 - 31)),
            &entries,
            &people(),
            &["mit-collaboration".to_owned()],
        );
        let pages =
            crate::pdf::tests::pdf_pages(&report.to_pdf(&seal, datetime!(2026-01-01 0:00 UTC)));
        assert!(pages.len() > 100, "{} pages", pages.len());
        assert!(pages[0].contains(&format!("#10000 {}", entries[9_999].hash)));
        let last = pages.last().unwrap();
        assert!(last.contains(&format!("page {} of {}", pages.len(), pages.len())));
        assert!(last.starts_with("Seq"), "the header goes on: {last}");
        // Every event is in the event table once, and each launch also in the access table.
        let rows = pages
            .iter()
            .flat_map(|page| page.lines())
            .filter(|line| line.contains(" Dr. Johnson "))
            .count();
        assert_eq!(rows, 15_000);
        assert!(last.contains("10000   2025-06-23 14:15"), "{last}");
    }

    #[test]
    fn the_csv_export_runs_no_formula() {
        let mut launch = entry(
            1,
            "UMIT",
            AuditAction::Launch,
            datetime!(2026-01-15 9:00 UTC),
        );
        launch.event.institution = "=1+1".into();
        launch.event.detail = Some("@SUM(A1)".into());
        let report = compliance_report(
            "p",
            (date!(2026 - 01 - 01), date!(2026 - 01 - 31)),
            &[launch],
            &people(),
            &[],
        );
        let csv = report.to_csv();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!((&row[4], &row[10]), ("'=1+1", "'@SUM(A1)"));
    }
}
