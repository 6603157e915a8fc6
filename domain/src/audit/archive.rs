//! The daily archive of the audit trail: once a UTC day has closed, its links go to object
//! storage as one JSON-lines file, `audit/{project}/{YYYY-MM-DD}.jsonl`, written once and never
//! again. A rewrite of the chain in Redis can then be compared with what was archived.

use time::{Date, Duration, OffsetDateTime};

use super::chain::Link;

/// How long after midnight a day is archived. An event is stamped a moment before it is
/// appended (and a launch when its instance came back), so the last events of a day can land
/// just after midnight; an hour also covers workers whose clocks differ a little.
pub const ARCHIVE_AFTER: Duration = Duration::hours(1);

/// The object a day's links are archived to.
pub fn archive_key(project: &str, day: Date) -> String {
    format!("audit/{project}/{day}.jsonl")
}

/// The days to archive now, oldest first: every day after `archived_through` (or from the
/// day the project was created) whose end is [`ARCHIVE_AFTER`] in the past.
pub fn days_to_archive(
    created: OffsetDateTime,
    archived_through: Option<Date>,
    now: OffsetDateTime,
) -> Vec<Date> {
    let first = match archived_through {
        Some(day) => day.next_day(),
        None => Some(created.date()),
    };
    let last_closed = (now - ARCHIVE_AFTER).date().previous_day();
    let mut days = Vec::new();
    let mut day = first;
    while let (Some(current), Some(last)) = (day, last_closed) {
        if current > last {
            break;
        }
        days.push(current);
        day = current.next_day();
    }
    days
}

/// The UTC date a stored link's event carries; `None` when the stored event has no readable
/// time (edited by hand: `audit verify` names it).
pub fn link_day(link: &Link) -> Option<Date> {
    let at = link.event.get("at")?.as_str()?;
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|at| at.to_offset(time::UtcOffset::UTC).date())
}

/// The day's links as JSON lines, in chain order; `None` for a day without events, which gets
/// no object (the links' consecutive numbers show that nothing lies between two archives).
pub fn day_lines(links: &[Link], day: Date) -> Option<String> {
    let mut lines = String::new();
    for link in links.iter().filter(|link| link_day(link) == Some(day)) {
        lines.push_str(&serde_json::to_string(link).expect("links serialize"));
        lines.push('\n');
    }
    (!lines.is_empty()).then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditAction, AuditEvent};
    use crate::identity::ChatIdentity;
    use time::macros::{date, datetime};

    #[test]
    fn closed_days_are_archived_an_hour_after_midnight_and_missed_ones_caught_up() {
        let created = datetime!(2026-03-01 15:00 UTC);
        assert!(days_to_archive(created, None, datetime!(2026-03-02 00:59 UTC)).is_empty());
        assert_eq!(
            days_to_archive(created, None, datetime!(2026-03-02 01:00 UTC)),
            [date!(2026 - 03 - 01)]
        );
        assert_eq!(
            days_to_archive(
                created,
                Some(date!(2026 - 03 - 01)),
                datetime!(2026-03-04 02:00 UTC)
            ),
            [date!(2026 - 03 - 02), date!(2026 - 03 - 03)]
        );
        assert!(
            days_to_archive(
                created,
                Some(date!(2026 - 03 - 03)),
                datetime!(2026-03-04 23:00 UTC)
            )
            .is_empty()
        );
    }

    #[test]
    fn a_days_file_holds_that_days_links_one_per_line() {
        let mut links: Vec<Link> = Vec::new();
        for at in [
            datetime!(2026-03-01 23:59:59 UTC),
            datetime!(2026-03-02 00:00 UTC),
            datetime!(2026-03-02 18:00 UTC),
        ] {
            let event = AuditEvent {
                action: AuditAction::Command,
                who: ChatIdentity::slack("T1", "U1"),
                institution: "mit".into(),
                resource: "list".into(),
                outcome: "allowed".into(),
                detail: None,
                at,
            };
            links.push(Link::after(links.last().map(Link::head).as_ref(), &event));
        }
        let lines = day_lines(&links, date!(2026 - 03 - 02)).unwrap();
        let seqs: Vec<u64> = lines
            .lines()
            .map(|line| serde_json::from_str::<Link>(line).unwrap().seq)
            .collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(day_lines(&links, date!(2026 - 03 - 03)), None);
        assert_eq!(
            archive_key("nih", date!(2026 - 03 - 02)),
            "audit/nih/2026-03-02.jsonl"
        );
    }
}
