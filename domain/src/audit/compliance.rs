//! The compliance report of a whole collaboration, `collaboration report --export-compliance`
//! (the seed's closing "Generate compliance report"): who had access, through which
//! invitation, role and restrictions, from when to when; every launch, policy refusal and
//! exception decision; costs by user and by institution, added up against the ledger's total;
//! and the audit chain, verified, with its head. As PDF to read and sign off, and as CSV, the
//! same data one fact per row, to check in a spreadsheet.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::AuditAction;
use super::chain::Seal;
use super::report::{Entry, Person, Row, grouped, row};
use crate::identity::{ChatIdentity, Role};
use crate::invitation::{Invitation, InvitationStatus};
use crate::ledger::CostReport;
use crate::pdf::{Column, PdfDocument};
use crate::pricing::Money;
use crate::project::Project;
use crate::spreadsheet::SpreadsheetCsv;
use crate::time_text;

/// The events the report lists one by one: what was launched, refused or decided.
const DECISIONS: [AuditAction; 5] = [
    AuditAction::Launch,
    AuditAction::PolicyViolation,
    AuditAction::Refused,
    AuditAction::ExceptionRequest,
    AuditAction::ExceptionDecision,
];

/// One person's access to the project: the owner's, or an invitation's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The invitee's name when the inviter gave one, else who accepted it.
    pub person: String,
    pub institution: String,
    /// `None` for the owner.
    pub invitation: Option<String>,
    pub role: Role,
    /// The launch restrictions and the conditions of joining, as short phrases.
    pub conditions: Vec<String>,
    pub from: OffsetDateTime,
    /// When access ended or ends; `None` for the owner.
    pub to: Option<OffsetDateTime>,
    /// `owner`, `active`, `expired` or `revoked`.
    pub status: &'static str,
    /// Chat identities that accepted the invitation.
    pub devices: usize,
}

/// The owner's grant, then one per invitation with the institution its costs go to. `people`
/// names whoever accepted an invitation whose inviter gave no name.
pub fn grants(
    project: &Project,
    invitations: &[(Invitation, String)],
    people: &HashMap<ChatIdentity, Person>,
    now: OffsetDateTime,
) -> Vec<Grant> {
    let owner = Grant {
        // The owner as the trail's rows name them, when the project knows their profile.
        person: people
            .get(&project.owner)
            .map_or_else(|| project.owner_name.clone(), |p| p.name.clone()),
        institution: project.institution.clone(),
        invitation: None,
        role: Role::Owner,
        conditions: Vec::new(),
        from: project.created_at,
        to: None,
        status: "owner",
        devices: 1,
    };
    let invited = invitations.iter().map(|(invitation, institution)| {
        let mut conditions = invitation
            .restrictions
            .as_ref()
            .map(|r| r.phrases())
            .unwrap_or_default();
        if invitation.device_bound {
            conditions.push(format!("device-bound, at most {}", invitation.max_devices));
        }
        if invitation.require_verified_identity {
            conditions.push("verified identity required".to_owned());
        }
        if let Some(domain) = &invitation.require_domain {
            conditions.push(format!("e-mail domain {domain}"));
        }
        Grant {
            person: invitation.invitee.clone().unwrap_or_else(|| {
                let names: Vec<&str> = invitation
                    .devices
                    .iter()
                    .filter_map(|device| people.get(device))
                    .map(|person| person.name.as_str())
                    .collect();
                if names.is_empty() {
                    "(not accepted)".to_owned()
                } else {
                    names.join(", ")
                }
            }),
            institution: institution.clone(),
            invitation: Some(invitation.name.clone()),
            role: invitation.role,
            conditions,
            from: invitation.created_at,
            to: Some(invitation.ends_at()),
            status: match invitation.status(now) {
                InvitationStatus::Active => "active",
                InvitationStatus::Expired { .. } => "expired",
                InvitationStatus::Revoked { .. } => "revoked",
            },
            devices: invitation.devices.len(),
        }
    });
    std::iter::once(owner).chain(invited).collect()
}

/// Every launch, policy refusal, refusal and exception request or decision of the trail,
/// oldest first, with who made it.
pub fn decisions(entries: &[Entry], people: &HashMap<ChatIdentity, Person>) -> Vec<Row> {
    entries
        .iter()
        .filter(|entry| DECISIONS.contains(&entry.event.action))
        .map(|entry| row(entry, people))
        .collect()
}

/// Where the report goes: beside the project's audit exports, named for its period;
/// `extension` is `pdf` or `csv`.
pub fn compliance_key(
    project: &str,
    (from, to): (OffsetDateTime, OffsetDateTime),
    extension: &str,
) -> String {
    format!(
        "audit/{project}/exports/{project}_compliance_{}_{}.{extension}",
        from.date(),
        to.date()
    )
}

/// The CSV's columns; each section fills the ones that apply to it.
const CSV_COLUMNS: [&str; 16] = [
    "section",
    "seq",
    "at",
    "person",
    "institution",
    "invitation",
    "role",
    "action",
    "resource",
    "outcome",
    "detail",
    "from",
    "to",
    "status",
    "hours",
    "cost",
];

/// What the report is made of.
#[derive(Debug)]
pub struct CollaborationCompliance<'a> {
    pub project: &'a Project,
    /// From the project's creation to its end, or to now.
    pub period: (OffsetDateTime, OffsetDateTime),
    pub generated_at: OffsetDateTime,
    pub grants: &'a [Grant],
    pub decisions: &'a [Row],
    /// The ledger's costs over the period.
    pub costs: &'a CostReport,
    pub seal: &'a Seal,
}

/// How the cost tables add up against the ledger's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciliation {
    pub ledger_total: Money,
    pub users_total: Money,
    pub institutions_total: Money,
}

impl Reconciliation {
    pub fn of(costs: &CostReport) -> Reconciliation {
        Reconciliation {
            ledger_total: costs.total,
            users_total: costs
                .by_user
                .iter()
                .map(|u| u.cost)
                .fold(Money::ZERO, |a, b| a + b),
            institutions_total: costs
                .by_institution
                .iter()
                .map(|i| i.cost)
                .fold(Money::ZERO, |a, b| a + b),
        }
    }

    pub fn holds(&self) -> bool {
        self.users_total == self.ledger_total && self.institutions_total == self.ledger_total
    }
}

impl CollaborationCompliance<'_> {
    fn count(&self, action: AuditAction) -> usize {
        self.decisions
            .iter()
            .filter(|row| row.action == action.describe())
            .count()
    }

    /// The report as CSV, one fact per row: `access` (one per grant, its conditions in
    /// `detail`), `decision` (one per event, its hash in `detail` after the event's own),
    /// `user_cost`, `institution_cost`, `ledger_total` (`detail` says whether the costs
    /// reconcile) and `audit_chain` (the head in `seq` and `detail`).
    pub fn to_csv(&self) -> String {
        let mut csv = SpreadsheetCsv::new();
        csv.row(CSV_COLUMNS);
        let rfc3339 = |at: OffsetDateTime| {
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| at.to_string())
        };
        let row = |cells: &[(&str, String)]| {
            CSV_COLUMNS.map(|column| {
                cells
                    .iter()
                    .find(|(name, _)| *name == column)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            })
        };
        for grant in self.grants {
            csv.row(row(&[
                ("section", "access".to_owned()),
                ("person", grant.person.clone()),
                ("institution", grant.institution.clone()),
                ("invitation", grant.invitation.clone().unwrap_or_default()),
                ("role", grant.role.as_str().to_owned()),
                ("detail", grant.conditions.join("; ")),
                ("from", rfc3339(grant.from)),
                ("to", grant.to.map(rfc3339).unwrap_or_default()),
                ("status", grant.status.to_owned()),
            ]));
        }
        for decision in self.decisions {
            let detail = if decision.detail.is_empty() {
                format!("hash {}", decision.hash)
            } else {
                format!("{}; hash {}", decision.detail, decision.hash)
            };
            csv.row(row(&[
                ("section", "decision".to_owned()),
                ("seq", decision.seq.to_string()),
                ("at", rfc3339(decision.at)),
                ("person", decision.user.clone()),
                ("institution", decision.institution.clone()),
                ("invitation", decision.invitation.clone()),
                ("action", decision.action.clone()),
                ("resource", decision.resource.clone()),
                ("outcome", decision.outcome.clone()),
                ("detail", detail),
            ]));
        }
        let costs = self.costs;
        for (user, cost) in costs.by_user.iter().zip(costs.user_cents()) {
            csv.row(row(&[
                ("section", "user_cost".to_owned()),
                ("person", user.user.clone()),
                ("institution", user.institution.clone()),
                ("hours", user.hours.to_string()),
                ("cost", cost.to_string()),
            ]));
        }
        for (institution, cost) in costs.by_institution.iter().zip(costs.institution_cents()) {
            csv.row(row(&[
                ("section", "institution_cost".to_owned()),
                ("institution", institution.institution.clone()),
                ("detail", format!("{}%", institution.percent)),
                ("hours", institution.hours.to_string()),
                ("cost", cost.to_string()),
            ]));
        }
        let reconciled = if Reconciliation::of(costs).holds() {
            "reconciled"
        } else {
            "not reconciled"
        };
        csv.row(row(&[
            ("section", "ledger_total".to_owned()),
            ("detail", reconciled.to_owned()),
            ("from", rfc3339(self.period.0)),
            ("to", rfc3339(self.period.1)),
            ("hours", costs.compute_hours.to_string()),
            ("cost", costs.total.to_string()),
        ]));
        csv.row(row(&[
            ("section", "audit_chain".to_owned()),
            (
                "seq",
                self.seal
                    .head
                    .as_ref()
                    .map(|head| head.seq.to_string())
                    .unwrap_or_default(),
            ),
            (
                "detail",
                format!("{}; head {}", self.seal.describe(), self.seal.head_text()),
            ),
        ]));
        csv.finish()
    }

    /// The report as PDF.
    pub fn to_pdf(&self) -> Vec<u8> {
        let project = self.project;
        let (from, to) = self.period;
        let mut pdf = PdfDocument::new(
            "Collaboration Compliance Report",
            &format!(
                "{} compliance report, {} to {}",
                project.name,
                from.date(),
                to.date()
            ),
            self.generated_at,
        );
        pdf.facts(&[
            ("Project", project.name.clone()),
            (
                "Owner",
                format!("{} ({})", project.owner_name, project.institution),
            ),
            (
                "Period",
                format!("{} to {}", time_text::date(from), time_text::date(to)),
            ),
            ("Generated", time_text::date_time(self.generated_at)),
            ("Audit chain", self.seal.describe()),
            ("Chain head", self.seal.head_text()),
        ]);

        pdf.heading("Who Had Access");
        let date = |at: OffsetDateTime| at.date().to_string();
        pdf.table(
            &[
                Column {
                    heading: "Person",
                    width: 18,
                },
                Column {
                    heading: "Institution",
                    width: 21,
                },
                Column {
                    heading: "Invitation",
                    width: 22,
                },
                Column {
                    heading: "Role",
                    width: 10,
                },
                Column {
                    heading: "From",
                    width: 10,
                },
                Column {
                    heading: "To",
                    width: 10,
                },
                Column {
                    heading: "Status",
                    width: 7,
                },
                Column {
                    heading: "Devices",
                    width: 7,
                },
            ],
            self.grants.iter().map(|grant| {
                vec![
                    grant.person.clone(),
                    grant.institution.clone(),
                    grant.invitation.clone().unwrap_or_else(|| "-".to_owned()),
                    grant.role.as_str().to_owned(),
                    date(grant.from),
                    grant.to.map_or_else(|| "-".to_owned(), date),
                    grant.status.to_owned(),
                    grant.devices.to_string(),
                ]
            }),
            "Nobody.",
        );
        pdf.heading("Restrictions and Conditions");
        let conditions: Vec<(&str, String)> = self
            .grants
            .iter()
            .filter_map(|grant| {
                let invitation = grant.invitation.as_deref()?;
                let conditions = if grant.conditions.is_empty() {
                    "none (only the project budget limits launches)".to_owned()
                } else {
                    grant.conditions.join("; ")
                };
                Some((invitation, conditions))
            })
            .collect();
        if conditions.is_empty() {
            pdf.text("No invitations.");
        } else {
            pdf.facts(&conditions);
        }

        pdf.heading("Launches, Policy Refusals and Exception Decisions");
        pdf.facts(&[
            (
                "Workspace launches",
                grouped(self.count(AuditAction::Launch)),
            ),
            (
                "Policy refusals",
                grouped(self.count(AuditAction::PolicyViolation)),
            ),
            (
                "Refused (not permitted)",
                grouped(self.count(AuditAction::Refused)),
            ),
            (
                "Exception requests",
                grouped(self.count(AuditAction::ExceptionRequest)),
            ),
            (
                "Exception decisions",
                grouped(self.count(AuditAction::ExceptionDecision)),
            ),
        ]);
        pdf.table(
            &[
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
                    heading: "Action",
                    width: 18,
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
                    heading: "Detail",
                    width: 22,
                },
            ],
            self.decisions.iter().map(|row| {
                vec![
                    row.seq.to_string(),
                    super::report::utc_minute(row.at),
                    row.user.clone(),
                    row.action.clone(),
                    row.resource.clone(),
                    row.outcome.clone(),
                    row.detail.clone(),
                ]
            }),
            "None.",
        );

        let costs = self.costs;
        pdf.heading("Costs by User");
        pdf.table(
            &[
                Column {
                    heading: "User",
                    width: 24,
                },
                Column {
                    heading: "Institution",
                    width: 22,
                },
                Column {
                    heading: "Workspaces",
                    width: 10,
                },
                Column {
                    heading: "Hours",
                    width: 10,
                },
                Column {
                    heading: "Cost",
                    width: 14,
                },
            ],
            costs
                .by_user
                .iter()
                .zip(costs.user_cents())
                .map(|(user, cost)| {
                    vec![
                        user.user.clone(),
                        user.institution.clone(),
                        user.instances.to_string(),
                        user.hours.to_string(),
                        cost.to_string(),
                    ]
                }),
            "Nothing spent.",
        );
        pdf.heading("Costs by Institution");
        pdf.table(
            &[
                Column {
                    heading: "Institution",
                    width: 24,
                },
                Column {
                    heading: "Hours",
                    width: 10,
                },
                Column {
                    heading: "Share",
                    width: 6,
                },
                Column {
                    heading: "Cost",
                    width: 14,
                },
            ],
            costs
                .by_institution
                .iter()
                .zip(costs.institution_cents())
                .map(|(institution, cost)| {
                    vec![
                        institution.institution.clone(),
                        institution.hours.to_string(),
                        format!("{}%", institution.percent),
                        cost.to_string(),
                    ]
                }),
            "Nothing spent.",
        );
        let reconciliation = Reconciliation::of(costs);
        pdf.facts(&[
            ("Ledger total", costs.total.to_string()),
            ("Users add up to", reconciliation.users_total.to_string()),
            (
                "Institutions add up to",
                reconciliation.institutions_total.to_string(),
            ),
            (
                "Reconciled with the ledger",
                if reconciliation.holds() {
                    "yes".to_owned()
                } else {
                    "NO: the tables do not add up to the ledger's total".to_owned()
                },
            ),
            ("Budget", costs.budget.to_string()),
        ]);

        pdf.heading("Audit Chain");
        pdf.text(&format!(
            "The project's audit trail was walked from its first event to its head when this \
             report was made: {}. Head: {}. `/cws audit verify {}` walks it again; every \
             event listed above carries its place (Seq) in it.",
            self.seal.describe(),
            self.seal.head_text(),
            project.name
        ));
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::audit::AuditEvent;
    use crate::audit::chain::Link;
    use crate::command::{Command, ProfilesCommand, parse};
    use crate::invitation::NewInvitation;
    use crate::ledger::{LedgerEvent, LedgerEventKind, cost_report};
    use crate::pdf::tests::pdf_pages;
    use crate::token::InvitationId;

    fn lee() -> ChatIdentity {
        ChatIdentity::slack("T1", "ULEE")
    }

    fn berkeley() -> Invitation {
        let Ok(Command::Profiles(ProfilesCommand::InvitationCreate(create))) = parse(
            r#"profiles invitations create berkeley-collaboration --type read_write --valid-days 540 --template-whitelist "R Research Environment" --max-hourly-cost 0.50"#,
        ) else {
            panic!("the invitation parses")
        };
        let mut invitation = Invitation::create(
            &create,
            NewInvitation {
                id: InvitationId::from_bytes([7; 16]),
                project: "nih".into(),
                created_by: ChatIdentity::slack("T1", "USMITH"),
                now: datetime!(2026-01-02 00:00 UTC),
            },
        );
        invitation.devices = vec![lee()];
        invitation
    }

    fn launched(user: &str, institution: &str, hourly: &str) -> LedgerEvent {
        LedgerEvent {
            at: datetime!(2026-03-01 00:00 UTC),
            kind: LedgerEventKind::Launched,
            workspace: format!("{user}-ws"),
            instance_id: format!("i-{user}"),
            instance_type: "t3.large".into(),
            region: "us-east-1".into(),
            hourly: hourly.parse().unwrap(),
            storage_gb: 0,
            project: "nih".into(),
            user: user.into(),
            institution: institution.into(),
            storage_rate: None,
        }
    }

    #[test]
    fn the_compliance_pdf_shows_access_decisions_reconciled_costs_and_the_head() {
        let project = crate::message::digest::tests::project();
        let people = HashMap::from([(
            lee(),
            Person {
                name: "sarah_lee".into(),
                invitation: Some("berkeley-collaboration".into()),
                verified_institution: None,
            },
        )]);
        let event = |who: &str, action, resource: &str, outcome: &str, detail: &str| AuditEvent {
            action,
            who: ChatIdentity::slack("T1", who),
            institution: "berkeley".into(),
            resource: resource.into(),
            outcome: outcome.into(),
            detail: Some(detail.into()).filter(|d: &String| !d.is_empty()),
            at: datetime!(2026-03-01 09:00 UTC),
        };
        let events = [
            event("ULEE", AuditAction::Launch, "analysis", "launched", ""),
            event("ULEE", AuditAction::Command, "list", "ok", ""),
            event(
                "ULEE",
                AuditAction::PolicyViolation,
                "gpu",
                "refused",
                "p3.8xlarge",
            ),
            event(
                "ULEE",
                AuditAction::ExceptionRequest,
                "gpu",
                "requested",
                "",
            ),
            event(
                "USMITH",
                AuditAction::ExceptionDecision,
                "gpu",
                "denied",
                "Use the queue",
            ),
        ];
        let mut links: Vec<Link> = Vec::new();
        for event in &events {
            let head = links.last().map(Link::head);
            links.push(Link::after(head.as_ref(), event));
        }
        let head = links.last().map(Link::head);
        let seal = Seal::of(&links, head.as_ref());
        let entries: Vec<Entry> = links
            .iter()
            .map(|link| Entry {
                seq: link.seq,
                hash: link.hash.clone(),
                event: link.audit_event().unwrap(),
            })
            .collect();
        let period = (project.created_at, datetime!(2026-03-02 00:00 UTC));
        let costs = cost_report(
            &[
                launched("sarah_lee", "berkeley", "3.06"),
                launched("jennifer_smith", "stanford", "0.0832"),
            ],
            period,
            Money::from_cents(1_000_000),
            Money::ZERO,
            |_| Money::ZERO,
        );
        let now = datetime!(2026-03-02 00:00 UTC);
        let grants = grants(&project, &[(berkeley(), "berkeley".into())], &people, now);
        let decisions = decisions(&entries, &people);
        assert_eq!(decisions.len(), 4, "the command is not a decision");
        let pdf = CollaborationCompliance {
            project: &project,
            period,
            generated_at: now,
            grants: &grants,
            decisions: &decisions,
            costs: &costs,
            seal: &seal,
        }
        .to_pdf();
        let csv = CollaborationCompliance {
            project: &project,
            period,
            generated_at: now,
            grants: &grants,
            decisions: &decisions,
            costs: &costs,
            seal: &seal,
        }
        .to_csv();
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
        let sections: Vec<&str> = rows.iter().map(|row| &row[0]).collect();
        assert_eq!(
            sections,
            [
                "access",
                "access",
                "decision",
                "decision",
                "decision",
                "decision",
                "user_cost",
                "user_cost",
                "institution_cost",
                "institution_cost",
                "ledger_total",
                "audit_chain"
            ]
        );
        assert!(
            rows[1][10].starts_with("templates R Research Environment; $0.50/hr cap"),
            "{:?}",
            rows[1]
        );
        assert_eq!(&rows[10][15], "$75.44");
        assert_eq!(&rows[10][10], "reconciled");
        assert!(rows[11][10].ends_with(&links[4].hash), "{:?}", rows[11]);
        let text = pdf_pages(&pdf).concat();
        let hash = &links[4].hash;
        for expected in [
            "Collaboration Compliance Report",
            "Owner:       Dr. Smith (stanford)",
            "Period:      January 1, 2026 to March 2, 2026",
            "Audit chain: verified intact, 5 events",
            &format!("Chain head:  #5 {hash}"),
            "Dr. Smith          stanford              -                      owner      2026-01-01 -          owner   1",
            "sarah_lee          berkeley              berkeley-collaboration read_write 2026-01-02 2027-06-26 active  1",
            "berkeley-collaboration: templates R Research Environment; $0.50/hr cap",
            "Policy refusals:         1",
            "Exception decisions:     1",
            "3       2026-03-01 09:00 sarah_lee          Policy Violation   gpu                  refused    p3.8xlarge",
            "4       2026-03-01 09:00 sarah_lee          Exception Request  gpu                  requested",
            "5       2026-03-01 09:00 slack:T1:USMITH",
            "sarah_lee                berkeley               1          24         $73.44",
            "jennifer_smith           stanford               1          24         $2.00",
            "berkeley                 24         97%    $73.44",
            "Ledger total:               $75.44",
            "Users add up to:            $75.44",
            "Reconciled with the ledger: yes",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
    }
}
