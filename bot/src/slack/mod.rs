//! Slack's HTTP protocol: signed form posts in, ephemeral JSON answers out.

pub(crate) mod commands;
pub(crate) mod interactions;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use domain::job::Job;
use domain::slack_signature::{self, SignatureRejection};

use crate::Bot;

/// Slack gives up after 3 s; the queue must answer well before that.
const ENQUEUE_TIMEOUT: Duration = Duration::from_millis(2_000);

/// Queues a job within Slack's deadline. `false` when the queue failed or was too slow; the
/// job's key, logged here, is the reference the person is given.
pub(crate) async fn enqueue_in_time(bot: &Bot, job: Job) -> bool {
    let key = job.key().clone();
    // The request's span (metrics::track) carries the key from here on, as the job's does.
    tracing::Span::current().record("key", key.as_str());
    match tokio::time::timeout(ENQUEUE_TIMEOUT, bot.queue.enqueue(job)).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::error!(reference = %key, %error, "could not enqueue a job");
            false
        }
        Err(_) => {
            tracing::error!(reference = %key, "the queue did not answer within {ENQUEUE_TIMEOUT:?}");
            false
        }
    }
}

/// Verifies a request before anything reads its body; 404 where no Slack app is configured.
pub(crate) fn verify_request(
    secret: Option<&[u8]>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (StatusCode, String)> {
    let Some(secret) = secret else {
        return Err((StatusCode::NOT_FOUND, "no Slack app here".to_owned()));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    slack_signature::verify(
        secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        now,
    )
    .map_err(|rejection: SignatureRejection| {
        tracing::warn!(%rejection, "refused an unverified Slack request");
        (
            StatusCode::UNAUTHORIZED,
            format!("invalid request signature: {rejection}"),
        )
    })
}
