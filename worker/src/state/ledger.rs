//! The usage ledger and the budget held against it: `cws:ledger:{project}` → stream of lifecycle
//! events; `cws:project:{p}:reservations` → budget held by launches not yet in the ledger. Each
//! process also keeps the ledgers it read (not stored). The month in progress has its own
//! module, `month_ledger`.

use std::sync::Arc;

use domain::budget::Reservations;
use domain::ledger::LedgerEvent;
use domain::ports::PortError;

use super::{State, corrupt, to_json};

fn ledger_key(project: &str) -> String {
    format!("cws:ledger:{project}")
}

fn reservations_key(project: &str) -> String {
    format!("cws:project:{project}:reservations")
}

/// A project's ledger as far as this process has read it.
pub(super) struct CachedLedger {
    last_id: Option<String>,
    events: Arc<Vec<LedgerEvent>>,
}

impl State {
    /// Appends a lifecycle event to the project's ledger. Appending the same event twice (a
    /// re-run job) is harmless: the ledger maths treats repeated transitions as one.
    pub async fn append_ledger(&self, event: &LedgerEvent) -> Result<(), PortError> {
        self.records
            .append(&ledger_key(&event.project), &to_json(event))
            .await
    }

    /// The project's whole ledger. Each process keeps what it has read and fetches only the
    /// entries appended since (the log only grows), so a report over an 18-month ledger pays
    /// for reading and parsing it once, not on every command.
    pub async fn ledger(&self, project: &str) -> Result<Arc<Vec<LedgerEvent>>, PortError> {
        Ok(self.ledger_through(project).await?.0)
    }

    /// The whole ledger and the id of its last entry (`None`: empty).
    pub(super) async fn ledger_through(
        &self,
        project: &str,
    ) -> Result<(Arc<Vec<LedgerEvent>>, Option<String>), PortError> {
        let log = ledger_key(project);
        let cached = self
            .ledgers
            .lock()
            .expect("ledger cache lock")
            .get(project)
            .cloned();
        let after = cached.as_ref().and_then(|c| c.last_id.clone());
        let fresh = self.records.entries_after(&log, after.as_deref()).await?;
        let Some(last) = fresh.last().map(|entry| entry.id.clone()) else {
            return Ok(cached.map_or_else(Default::default, |c| (c.events.clone(), after)));
        };
        let mut events: Vec<LedgerEvent> = cached.map_or_else(Vec::new, |c| c.events.to_vec());
        for entry in &fresh {
            events.push(serde_json::from_str(&entry.entry).map_err(|e| corrupt(&log, e))?);
        }
        let events = Arc::new(events);
        let mut ledgers = self.ledgers.lock().expect("ledger cache lock");
        // Another task may have read further meanwhile; keep whichever saw more.
        let newer = ledgers
            .get(project)
            .is_none_or(|c| c.events.len() < events.len());
        if newer {
            ledgers.insert(
                project.to_owned(),
                Arc::new(CachedLedger {
                    last_id: Some(last.clone()),
                    events: events.clone(),
                }),
            );
        }
        Ok((events, Some(last)))
    }

    /// The project's budget reservations, with the exact stored text to swap against.
    pub async fn reservations(
        &self,
        project: &str,
    ) -> Result<(Option<String>, Reservations), PortError> {
        let key = reservations_key(project);
        let raw = self.records.get(&key).await?;
        let reservations = match &raw {
            Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&key, e))?,
            None => Reservations::default(),
        };
        Ok((raw, reservations))
    }

    /// Stores `next` only if the reservations are still `current`; `false` means someone else
    /// reserved or released meanwhile, and the caller checks the budget again.
    pub async fn swap_reservations(
        &self,
        project: &str,
        current: Option<&str>,
        next: &Reservations,
    ) -> Result<bool, PortError> {
        self.records
            .swap(&reservations_key(project), current, &to_json(next))
            .await
    }

    /// Drops `job`'s reservation once its launch is in the ledger.
    pub async fn release_reservation(&self, project: &str, job: &str) -> Result<(), PortError> {
        loop {
            let (raw, reservations) = self.reservations(project).await?;
            if raw.is_none()
                || self
                    .swap_reservations(project, raw.as_deref(), &reservations.without(job))
                    .await?
            {
                return Ok(());
            }
        }
    }
}
