//! The audit trail: `cws:audit:{project}` → the audit hash chain, a stream with ids `0-{seq}`;
//! `cws:audit-head:{project}` → its newest link's place and hash;
//! `cws:audit-archived:{project}` → the last day (`YYYY-MM-DD`) archived to object storage.

use std::sync::Arc;

use domain::audit::AuditEvent;
use domain::audit::chain::{Head, Link};
use domain::ports::PortError;
use time::Date;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use super::{State, corrupt, to_json};

/// One project's turn to write its audit chain in this process, holding the head this process
/// last wrote there: usually still the chain's head, so the next link needs no read of it.
pub(super) type AuditTurn = Arc<tokio::sync::Mutex<Option<String>>>;

/// How archive days are stored: `2026-03-02`, as `Date` displays them.
const DAY_FORMAT: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");

/// How many times an audit writer looks for the chain's next free place before giving up.
const AUDIT_ATTEMPTS: usize = 100;

fn log_key(project: &str) -> String {
    format!("cws:audit:{project}")
}

fn head_key(project: &str) -> String {
    format!("cws:audit-head:{project}")
}

fn archived_key(project: &str) -> String {
    format!("cws:audit-archived:{project}")
}

impl State {
    /// Appends an event to the project's audit chain. Writers racing on one project each
    /// take the next number in turn; none overwrites another.
    pub async fn audit(&self, project: &str, event: &AuditEvent) -> Result<(), PortError> {
        let log = log_key(project);
        let head_key = head_key(project);
        let turn = self
            .audit_turns
            .lock()
            .expect("audit turns lock")
            .entry(project.to_owned())
            .or_default()
            .clone();
        let mut last_written = turn.lock().await;
        for _ in 0..AUDIT_ATTEMPTS {
            // Another process may have moved the head since: then the link's place is taken,
            // and the next attempt reads the head.
            let head_json = match last_written.take() {
                Some(head) => Some(head),
                None => self.records.get(&head_key).await?,
            };
            let head: Option<Head> = head_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&head_key, e))?;
            let link = Link::after(head.as_ref(), event);
            if self
                .records
                .append_numbered(&log, link.seq, &to_json(&link))
                .await?
            {
                // The head is most likely still the one the link follows: one swap, no read.
                let new_head = to_json(&link.head());
                let moved = self
                    .records
                    .swap(&head_key, head_json.as_deref(), &new_head)
                    .await?;
                if moved {
                    *last_written = Some(new_head);
                } else {
                    self.advance_audit_head(&head_key, link.head()).await?;
                }
                return Ok(());
            }
            // The number is taken, usually by another writer whose head is not written yet
            // (or who died before writing it): its link says where the chain is.
            let Some(newest) = self.records.last_entry(&log).await? else {
                continue;
            };
            if let Ok(newest) = serde_json::from_str::<Link>(&newest.entry)
                && head.as_ref().is_none_or(|head| newest.seq > head.seq)
            {
                self.advance_audit_head(&head_key, newest.head()).await?;
                continue;
            }
            // The newest entry is no link past the head: entries were inserted or rewritten by
            // hand and the stream's numbers ran ahead of the chain. The link goes after the
            // newest entry, still pointing at the head, so the trail stays writable (`audit
            // verify` included) and `audit verify` names what was done.
            let place = newest
                .id
                .rsplit('-')
                .next()
                .and_then(|number| number.parse::<u64>().ok())
                .ok_or_else(|| corrupt(&log, &newest.id))?;
            let link = Link::after_at(head.as_ref(), place + 1, event);
            if self
                .records
                .append_numbered(&log, link.seq, &to_json(&link))
                .await?
            {
                self.advance_audit_head(&head_key, link.head()).await?;
                return Ok(());
            }
        }
        Err(PortError::Transient(format!(
            "{log}: {AUDIT_ATTEMPTS} writers in a row took the next place"
        )))
    }

    /// Moves the head forward to `to`, never back.
    async fn advance_audit_head(&self, key: &str, to: Head) -> Result<(), PortError> {
        loop {
            let current = self.records.get(key).await?;
            if let Some(json) = &current {
                let head: Head = serde_json::from_str(json).map_err(|e| corrupt(key, e))?;
                if head.seq >= to.seq {
                    return Ok(());
                }
            }
            if self
                .records
                .swap(key, current.as_deref(), &to_json(&to))
                .await?
            {
                return Ok(());
            }
        }
    }

    /// The project's audit chain as stored, and its head.
    pub async fn audit_chain(&self, project: &str) -> Result<(Vec<Link>, Option<Head>), PortError> {
        let log = log_key(project);
        let links = self
            .records
            .entries_after(&log, None)
            .await?
            .iter()
            .map(|entry| serde_json::from_str(&entry.entry).map_err(|e| corrupt(&log, e)))
            .collect::<Result<Vec<Link>, _>>()?;
        let head = self.read(&head_key(project)).await?;
        Ok((links, head))
    }

    /// The last day of the project's audit trail archived to object storage.
    pub async fn audit_archived_through(&self, project: &str) -> Result<Option<Date>, PortError> {
        let key = archived_key(project);
        match self.records.get(&key).await? {
            Some(text) => Date::parse(&text, DAY_FORMAT)
                .map(Some)
                .map_err(|e| corrupt(&key, e)),
            None => Ok(None),
        }
    }

    /// Records that the project's audit trail is archived through `day`; never moves back.
    pub async fn set_audit_archived_through(
        &self,
        project: &str,
        day: Date,
    ) -> Result<(), PortError> {
        let key = archived_key(project);
        loop {
            let current = self.records.get(&key).await?;
            if let Some(text) = &current
                && Date::parse(text, DAY_FORMAT).map_err(|e| corrupt(&key, e))? >= day
            {
                return Ok(());
            }
            if self
                .records
                .swap(&key, current.as_deref(), &day.to_string())
                .await?
            {
                return Ok(());
            }
        }
    }

    /// The project's audit events, oldest first. A link whose event no longer parses (edited
    /// by hand) is left out here; `audit verify` names it.
    pub async fn audit_events(&self, project: &str) -> Result<Vec<AuditEvent>, PortError> {
        let (links, _) = self.audit_chain(project).await?;
        Ok(links.iter().filter_map(Link::audit_event).collect())
    }
}
