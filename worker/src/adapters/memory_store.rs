//! The embedded mode's state: the same records as the Redis store, in this process's memory.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use domain::job::JobKey;
use domain::ports::{NameClaim, PortError, WorkspaceStore};
use domain::workspace::Workspace;

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    names: HashMap<String, JobKey>,
    workspaces: HashMap<String, Workspace>,
    by_job: HashMap<JobKey, String>,
    notices: HashSet<(JobKey, String)>,
}

impl MemoryStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("memory store lock")
    }
}

#[async_trait]
impl WorkspaceStore for MemoryStore {
    async fn claim_name(&self, name: &str, key: &JobKey) -> Result<NameClaim, PortError> {
        let mut state = self.state();
        let holder = state
            .names
            .entry(name.to_owned())
            .or_insert_with(|| key.clone());
        Ok(if holder == key {
            NameClaim::Claimed
        } else {
            NameClaim::Taken { by: holder.clone() }
        })
    }

    async fn record(&self, workspace: &Workspace) -> Result<(), PortError> {
        let mut state = self.state();
        state
            .by_job
            .insert(workspace.job.clone(), workspace.name.clone());
        state
            .workspaces
            .insert(workspace.name.clone(), workspace.clone());
        Ok(())
    }

    async fn by_job(&self, key: &JobKey) -> Result<Option<Workspace>, PortError> {
        let state = self.state();
        Ok(state
            .by_job
            .get(key)
            .and_then(|name| state.workspaces.get(name))
            .cloned())
    }

    async fn by_name(&self, name: &str) -> Result<Option<Workspace>, PortError> {
        Ok(self.state().workspaces.get(name).cloned())
    }

    async fn all(&self) -> Result<Vec<Workspace>, PortError> {
        let mut all: Vec<Workspace> = self.state().workspaces.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    async fn notice_sent(&self, key: &JobKey, notice: &str) -> Result<bool, PortError> {
        Ok(self
            .state()
            .notices
            .contains(&(key.clone(), notice.to_owned())))
    }

    async fn mark_notice_sent(&self, key: &JobKey, notice: &str) -> Result<(), PortError> {
        self.state()
            .notices
            .insert((key.clone(), notice.to_owned()));
        Ok(())
    }

    async fn forget_notices(&self, key: &JobKey) -> Result<(), PortError> {
        self.state().notices.retain(|(job, _)| job != key);
        Ok(())
    }
}
