//! The usage ledger: every lifecycle event of every workspace, and the pure maths that turns
//! them into hours and money. Stopped and hibernated workspaces accrue no compute; storage
//! accrues while the volume exists.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::pricing::Money;

/// What happened to a workspace. `Observed*` events come from the reconcile job, which sees
/// state changes made outside the bot (console, CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerEventKind {
    Launched,
    Stopped,
    Hibernated,
    Resumed,
    Terminated,
}

/// One line of the ledger. Carries everything the reports group by, so a report never needs
/// another lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: LedgerEventKind,
    pub workspace: String,
    pub instance_id: String,
    pub instance_type: String,
    pub region: String,
    /// On-demand compute rate while running.
    pub hourly: Money,
    /// Root volume size, charged per GB-month while the workspace exists.
    pub storage_gb: u32,
    pub project: String,
    /// The research username (the `cws:user` tag).
    pub user: String,
    pub institution: String,
}
