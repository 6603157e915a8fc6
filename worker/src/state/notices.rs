//! Notices sent once (budget alerts, digests, statements):
//! `cws:notice:{kind}:{project}:{period}…` → `taken:{unix time}` or `done`.

use domain::ports::PortError;
use time::OffsetDateTime;

use super::{State, corrupt};

/// How long a taken notice stays with its taker before another worker may send it.
pub const NOTICE_LEASE: time::Duration = time::Duration::minutes(10);
const NOTICE_DONE: &str = "done";

fn notice_key(key: &str) -> String {
    format!("cws:notice:{key}")
}

impl State {
    /// Takes the right to send the notice `key` (a budget alert, a week's digest, a month's
    /// statement): true for exactly one caller until it reports [`State::notice_done`]. A
    /// taker that dies before then lets another take it after [`NOTICE_LEASE`], so a crash
    /// delays a notice instead of losing it.
    pub async fn take_notice(&self, key: &str, now: OffsetDateTime) -> Result<bool, PortError> {
        let key = notice_key(key);
        let taken = format!("taken:{}", now.unix_timestamp());
        loop {
            let current = self.records.get(&key).await?;
            let free = match current.as_deref() {
                None => true,
                Some(NOTICE_DONE) => return Ok(false),
                Some(text) => {
                    let since = text
                        .strip_prefix("taken:")
                        .and_then(|t| t.parse::<i64>().ok())
                        .ok_or_else(|| corrupt(&key, text))?;
                    now.unix_timestamp() - since >= NOTICE_LEASE.whole_seconds()
                }
            };
            if !free {
                return Ok(false);
            }
            if self.records.swap(&key, current.as_deref(), &taken).await? {
                return Ok(true);
            }
        }
    }

    /// The notice `key` went out: nobody takes it again.
    pub async fn notice_done(&self, key: &str) -> Result<(), PortError> {
        self.records.put(&notice_key(key), NOTICE_DONE).await
    }

    /// Whether the notice was sent (not merely taken).
    pub async fn notice_sent(&self, key: &str) -> Result<bool, PortError> {
        Ok(self.records.get(&notice_key(key)).await?.as_deref() == Some(NOTICE_DONE))
    }
}
