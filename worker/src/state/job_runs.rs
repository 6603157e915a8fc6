//! What ran already: `cws:schedule:{job}` → the last round of a scheduled job that some worker
//! claimed; `cws:job-finished:{job key}` → set once a command or click job ran to its end (kept
//! for the job retention period).

use domain::job::JobKey;
use domain::ports::PortError;

use super::{State, corrupt};

fn finished_key(key: &JobKey) -> String {
    format!("cws:job-finished:{key}")
}

impl State {
    /// Claims round `round` of a scheduled job for this worker: exactly one worker wins each
    /// round, however many run the schedule, and a round already run is never run again.
    pub async fn claim_round(&self, job: &str, round: u64) -> Result<bool, PortError> {
        let key = format!("cws:schedule:{job}");
        loop {
            let current = self.records.get(&key).await?;
            let last = match current.as_deref() {
                Some(text) => text.parse::<u64>().map_err(|e| corrupt(&key, e))?,
                None => 0,
            };
            if last >= round {
                return Ok(false);
            }
            if self
                .records
                .swap(&key, current.as_deref(), &round.to_string())
                .await?
            {
                return Ok(true);
            }
        }
    }

    /// Whether the command or click `key` already ran to its end.
    pub async fn job_finished(&self, key: &JobKey) -> Result<bool, PortError> {
        Ok(self.records.get(&finished_key(key)).await?.is_some())
    }

    /// Records that the command or click `key` ran to its end, for `retention` (the sweep of
    /// finished jobs forgets it with its job; the expiry is the backstop).
    pub async fn finish_job(
        &self,
        key: &JobKey,
        retention: std::time::Duration,
    ) -> Result<(), PortError> {
        self.records
            .put_expiring(&finished_key(key), "1", retention)
            .await
    }

    /// Forgets that `key` ran: its job is gone from the queue, so it cannot come again.
    pub async fn forget_job(&self, key: &JobKey) -> Result<(), PortError> {
        self.records.delete(&finished_key(key)).await
    }
}
