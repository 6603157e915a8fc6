//! One real adapter per port, plus the embedded stand-ins used when nothing is configured.

pub mod ec2;
pub mod memory_store;
pub mod redis_store;
pub mod simulated_cloud;
pub mod slack;
pub mod terminal_chat;

use domain::ports::Clock;
use time::OffsetDateTime;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
