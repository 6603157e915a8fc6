//! cws patch: workers ride through Redis outages instead of stopping.
//!
//! As published, apalis-core's `Persisted` marks the backend dead on the first error from
//! registering, heartbeating, fetching or acknowledging, and the worker stops with "Failed to
//! poll backend". A Redis restart of a few seconds thus stopped every worker for good, and the
//! jobs queued before it never ran. Here an outage (Redis unreachable, the connection dropped
//! or timed out, Redis still loading its data) is waited out: the call is tried again with
//! backoff until Redis answers. While a heartbeat waits the worker fetches nothing (it pauses),
//! jobs already running carry on, and their acks are delivered once Redis is back instead of
//! being lost. Any other error still stops the worker, as before.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;

const FIRST_DELAY: Duration = Duration::from_millis(100);
/// Short enough that a worker resumes within seconds of Redis coming back.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Whether `error` says Redis could not serve the call now, rather than that the call was wrong.
fn is_outage(error: &Error) -> bool {
    let Error::Database(error) = error else {
        return false;
    };
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        // LOADING (replaying the AOF after a restart), TRYAGAIN and the like.
        || matches!(error.retry_method(), redis::RetryMethod::WaitAndRetry)
}

/// Whether Redis refused a call because it does not know the worker: a peer judged it dead
/// during an outage (no heartbeats arrived) and struck it out, or its registration was lost
/// with the data Redis did not persist.
pub(crate) fn is_unregistered(error: &Error) -> bool {
    matches!(error, Error::Database(error) if error.to_string().contains("not registered"))
}

/// Whether an ack named a task the worker no longer holds: a peer re-enqueued it during an
/// outage, or an earlier try of this very ack was applied but its reply was lost.
pub(crate) fn is_not_held(error: &Error) -> bool {
    matches!(error, Error::Database(error) if error.to_string().contains("task not executed by worker"))
}

/// When Redis last came back after an outage, as one storage and its clones (one per call)
/// saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outages(Arc<Mutex<Option<Instant>>>);

impl Outages {
    /// Runs `call` until Redis serves it, then returns what it returned.
    pub(crate) async fn ride<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut delay = FIRST_DELAY;
        let mut waited = false;
        loop {
            match call().await {
                Err(error) if is_outage(&error) => {
                    if !waited {
                        tracing::warn!(%error, "{what}: Redis is unavailable, waiting for it");
                        waited = true;
                    }
                    futures_timer::Delay::new(delay).await;
                    delay = (delay * 2).min(MAX_DELAY);
                }
                served => {
                    if waited {
                        tracing::info!("{what}: Redis is back");
                        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(Instant::now());
                    }
                    return served;
                }
            }
        }
    }

    /// Whether Redis came back from an outage less than `window` ago.
    pub(crate) fn recovered_within(&self, window: Duration) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|back| back.elapsed() < window)
    }
}
