//! Job handlers, one module per job kind, and the wrapper that retries transient failures
//! with exponential backoff and hands exhausted or permanent ones to the dead-letter set.

pub(crate) mod launch;

use std::time::Duration;

use apalis_core::error::AbortError;
use domain::job::JobKey;
use domain::ports::PortError;
use domain::retry::Backoff;

/// How a job run ended when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    #[error(transparent)]
    Port(#[from] PortError),
}

impl JobError {
    fn is_transient(&self) -> bool {
        match self {
            JobError::Port(error) => error.is_transient(),
        }
    }
}

/// A failure that was not retried away, with the attempts it took: the handler tells the user.
pub(crate) struct GaveUp {
    pub error: JobError,
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
    Fut: Future<Output = Result<(), JobError>>,
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

/// Tests and benchmarks shorten the schedule; production uses the default.
pub(crate) fn backoff_from_env() -> Backoff {
    let millis = std::env::var("CWS_RETRY_FIRST_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    match millis {
        Some(ms) => Backoff {
            first_delay: Duration::from_millis(ms),
            ..Backoff::default()
        },
        None => Backoff::default(),
    }
}
