//! Idle workspaces: `cws:idle:{workspace}` → when its owner was warned that it is idle, or told
//! to keep it.

use domain::idle::IdleWatch;
use domain::ports::PortError;

use super::{State, corrupt, to_json};

fn key(workspace: &str) -> String {
    format!("cws:idle:{workspace}")
}

impl State {
    /// What is known of a workspace's idleness, with the exact stored text to swap against.
    pub async fn idle_watch(
        &self,
        workspace: &str,
    ) -> Result<(Option<String>, IdleWatch), PortError> {
        let key = key(workspace);
        let raw = self.records.get(&key).await?;
        let watch = match &raw {
            Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&key, e))?,
            None => IdleWatch::default(),
        };
        Ok((raw, watch))
    }

    /// Stores `next` only if the watch is still `current`: one worker wins each change.
    pub async fn swap_idle_watch(
        &self,
        workspace: &str,
        current: Option<&str>,
        next: &IdleWatch,
    ) -> Result<bool, PortError> {
        self.records
            .swap(&key(workspace), current, &to_json(next))
            .await
    }

    /// The workspace is busy again, or stopped: a later idle spell starts afresh.
    pub async fn forget_idle_watch(&self, workspace: &str) -> Result<(), PortError> {
        self.records.delete(&key(workspace)).await
    }
}
