//! Slack's HTTP protocol: signed form posts in, ephemeral JSON answers out.

pub(crate) mod commands;
pub(crate) mod interactions;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use domain::slack_signature::{self, SignatureRejection};

/// Verifies a request before anything reads its body.
pub(crate) fn verify_request(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (StatusCode, String)> {
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
