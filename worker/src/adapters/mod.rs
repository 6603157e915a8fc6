//! One real adapter per port, plus the embedded stand-ins used when nothing is configured.

pub mod assume_role;
pub mod aws;
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
pub mod terminal_chat;

use domain::ports::Clock;
use time::OffsetDateTime;

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
