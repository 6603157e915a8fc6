//! One real adapter per port, plus the embedded stand-ins used when nothing is configured.

pub mod assume_role;
pub mod aws;
pub mod canvas;
pub mod cloudwatch;
pub mod cost_explorer;
pub mod discord;
pub mod ec2;
pub mod efs;
pub mod folder_store;
pub mod globus;
pub mod iam;
pub mod mail;
pub mod memory_records;
pub mod memory_store;
pub mod platform_chat;
pub mod redis_records;
pub mod redis_store;
pub mod s3;
pub mod simulated_cloud;
pub mod simulated_efs;
pub mod slack;
pub mod ssm;
pub mod studio;
pub mod terminal_chat;

use domain::ports::{Clock, PortError, SharedFile};
use time::OffsetDateTime;

/// Downloads a file someone shared in chat (a collaborators CSV) and reads it as text. A
/// server error may pass, so it is retried; any other refusal is not.
pub(crate) async fn download_shared_file(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<Option<SharedFile>, PortError> {
    let response = request
        .send()
        .await
        .map_err(|e| PortError::Transient(format!("{what}: {e}")))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(PortError::Transient(format!("{what}: HTTP {status}")));
    }
    if !status.is_success() {
        return Err(PortError::Rejected {
            code: format!("HTTP {}", status.as_u16()),
            message: format!("{what} refused"),
        });
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| PortError::Transient(format!("{what}: {e}")))?;
    Ok(Some(match String::from_utf8(body.to_vec()) {
        Ok(text) => SharedFile::Text(text),
        Err(_) => SharedFile::NotText,
    }))
}

/// The machine's clock, moved forward by `CWS_CLOCK_OFFSET` for demos and acceptance runs.
pub struct SystemClock {
    offset: time::Duration,
}

impl SystemClock {
    pub fn shifted(offset: std::time::Duration) -> SystemClock {
        SystemClock {
            offset: time::Duration::try_from(offset).unwrap_or(time::Duration::ZERO),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset
    }
}

/// A Redis error as the jobs see it: Redis being away (refused, dropped, timed out, loading
/// its data after a restart) is waited out; anything else is an ordinary transient failure.
pub(crate) fn redis_error(error: redis::RedisError) -> domain::ports::PortError {
    use domain::ports::PortError;
    let away = error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_io_error()
        || error.is_timeout()
        // LOADING (replaying its AOF after a restart), TRYAGAIN and the like.
        || matches!(error.retry_method(), redis::RetryMethod::WaitAndRetry);
    if away {
        PortError::StoreUnavailable(format!("redis: {error}"))
    } else {
        PortError::Transient(format!("redis: {error}"))
    }
}
