//! A project's ledger from the start of the month in progress, for every worker at the cost
//! of reading that month: `cws:ledger-checkpoint:{project}` → the ledger brought to the month's
//! first instant ([`Checkpoint`]: each closed month's total, one or two events standing for each
//! workspace), the ledger entry it was made through, and the month's events up to that entry.
//! A worker's first report then reads the checkpoint and the entries after it, not 18 months.
//!
//! The checkpoint checks itself: an entry appended after it that is dated before the month
//! (a late observation, a re-run job) would change a closed month, so whoever reads such an
//! entry makes the checkpoint again from the whole ledger. Workers racing to make it write the
//! same thing; one made through an older entry is still right, only longer to read.

use std::sync::Arc;

use domain::budget::month_bounds;
use domain::ledger::LedgerEvent;
use domain::ledger::checkpoint::Checkpoint;
use domain::ports::PortError;
use domain::pricing::Money;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{State, corrupt, to_json};

fn key(project: &str) -> String {
    format!("cws:ledger-checkpoint:{project}")
}

/// The checkpoint as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    checkpoint: Checkpoint,
    /// The last ledger entry it was made from (`None`: the ledger was empty).
    through: Option<String>,
    /// The entries up to `through` dated in the month or later.
    later: Vec<LedgerEvent>,
}

/// A project's ledger for any window from the start of the month in progress on.
#[derive(Clone)]
pub struct MonthLedger {
    pub checkpoint: Arc<Checkpoint>,
    /// The checkpoint's carry, then every event dated in the month or later.
    pub events: Arc<Vec<LedgerEvent>>,
}

/// What this process has of a project's month.
pub(super) struct CachedMonth {
    month: MonthLedger,
    /// The last ledger entry read into it.
    through: Option<String>,
}

impl State {
    /// The project's ledger from the start of `now`'s month: from this process's copy, else the
    /// stored checkpoint, else (once a month for all workers, or after a late entry) the whole
    /// ledger. `since` is when the project began; `ebs_rate` prices storage.
    pub async fn month_ledger(
        &self,
        project: &str,
        since: OffsetDateTime,
        now: OffsetDateTime,
        ebs_rate: impl Fn(&str) -> Money,
    ) -> Result<MonthLedger, PortError> {
        let at = month_bounds(now).0;
        let cached = self
            .months
            .lock()
            .expect("month cache lock")
            .get(project)
            .cloned()
            .filter(|cached| cached.month.checkpoint.at == at);
        if let Some(cached) = cached
            && let Some(month) = self.read_on(project, &cached).await?
        {
            return Ok(month);
        }
        let stored: Option<Stored> = self.read(&key(project)).await?;
        let stored_at = stored.as_ref().map(|s| s.checkpoint.at);
        if let Some(stored) =
            stored.filter(|s| s.checkpoint.at == at && s.checkpoint.priced_as(&ebs_rate))
        {
            let cached = CachedMonth {
                through: stored.through,
                month: MonthLedger {
                    events: Arc::new(
                        stored
                            .checkpoint
                            .with_later(&stored.later)
                            .ok_or_else(|| corrupt(&key(project), "an event before its month"))?,
                    ),
                    checkpoint: Arc::new(stored.checkpoint),
                },
            };
            if let Some(month) = self.read_on(project, &cached).await? {
                return Ok(month);
            }
        }
        self.make_checkpoint(project, since, at, stored_at, ebs_rate)
            .await
    }

    /// `cached` with the entries appended since, unless one of them is dated before its month.
    async fn read_on(
        &self,
        project: &str,
        cached: &CachedMonth,
    ) -> Result<Option<MonthLedger>, PortError> {
        let log = format!("cws:ledger:{project}");
        let fresh = self
            .records
            .entries_after(&log, cached.through.as_deref())
            .await?;
        let Some(last) = fresh.last().map(|entry| entry.id.clone()) else {
            self.keep_month(project, cached.month.clone(), cached.through.clone());
            return Ok(Some(cached.month.clone()));
        };
        let fresh = fresh
            .iter()
            .map(|entry| serde_json::from_str(&entry.entry).map_err(|e| corrupt(&log, e)))
            .collect::<Result<Vec<LedgerEvent>, _>>()?;
        if fresh
            .iter()
            .any(|event| event.at < cached.month.checkpoint.at)
        {
            return Ok(None);
        }
        let mut events = cached.month.events.to_vec();
        events.extend(fresh);
        let month = MonthLedger {
            checkpoint: cached.month.checkpoint.clone(),
            events: Arc::new(events),
        };
        self.keep_month(project, month.clone(), Some(last));
        Ok(Some(month))
    }

    /// Brings the whole ledger to `at` and stores the result for every worker, unless the
    /// checkpoint found stored (`stored_at`, read just before) is of a later month.
    async fn make_checkpoint(
        &self,
        project: &str,
        since: OffsetDateTime,
        at: OffsetDateTime,
        stored_at: Option<OffsetDateTime>,
        ebs_rate: impl Fn(&str) -> Money,
    ) -> Result<MonthLedger, PortError> {
        let (events, through) = self.ledger_through(project).await?;
        let checkpoint = Checkpoint::close(&events, since, at, ebs_rate);
        let later: Vec<LedgerEvent> = events.iter().filter(|e| e.at >= at).cloned().collect();
        let month = MonthLedger {
            events: Arc::new(
                checkpoint
                    .with_later(&later)
                    .expect("the later events are dated in the month"),
            ),
            checkpoint: Arc::new(checkpoint.clone()),
        };
        // A worker whose clock is still in the month before must not move it back.
        let newer_stored = stored_at.is_some_and(|stored| stored > at);
        if !newer_stored {
            let stored = Stored {
                checkpoint,
                through: through.clone(),
                later,
            };
            self.records.put(&key(project), &to_json(&stored)).await?;
        }
        self.keep_month(project, month.clone(), through);
        Ok(month)
    }

    fn keep_month(&self, project: &str, month: MonthLedger, through: Option<String>) {
        self.months
            .lock()
            .expect("month cache lock")
            .insert(project.to_owned(), Arc::new(CachedMonth { month, through }));
    }
}
