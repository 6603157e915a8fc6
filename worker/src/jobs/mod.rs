//! Job handlers, one module per job kind, and the wrapper that retries transient failures
//! with exponential backoff and hands exhausted or permanent ones to the dead-letter set.

pub(crate) mod launch;

use apalis_core::error::AbortError;
use domain::job::JobKey;
use domain::ports::PortError;
use domain::retry::Backoff;

/// A failure that was not retried away, with the attempts it took: the handler tells the user.
pub(crate) struct GaveUp {
    pub error: PortError,
    pub attempts: u32,
}

/// Runs `attempt` until it succeeds, fails permanently, or the backoff schedule is spent.
pub(crate) async fn with_retries<F, Fut>(
    key: &JobKey,
    backoff: &Backoff,
    mut attempt: F,
) -> Result<(), GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), PortError>>,
{
    let mut attempts = 1;
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_transient() => match backoff.delay_before(attempts + 1) {
                Some(delay) => {
                    tracing::warn!(job = %key, attempts, ?delay, %error, "transient failure, retrying");
                    tokio::time::sleep(delay).await;
                    attempts += 1;
                }
                None => return Err(GaveUp { error, attempts }),
            },
            Err(error) => return Err(GaveUp { error, attempts }),
        }
    }
}

/// What apalis records for a job that will not be retried: it lands in the queue's dead set.
pub(crate) fn dead_letter(key: &JobKey, gave_up: GaveUp) -> AbortError {
    tracing::error!(job = %key, attempts = gave_up.attempts, error = %gave_up.error, "job failed for good");
    AbortError::new(gave_up.error)
}
