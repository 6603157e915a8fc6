//! Named snapshots (`snapshot create`, `transfer`): `cws:named-snapshot:{name}` → the
//! snapshot, unique in the deployment like a workspace's name; `cws:named-snapshots` → every
//! name, for `snapshot list`.

use domain::ports::PortError;
use domain::preserve::NamedSnapshot;

use super::State;

const NAMES: &str = "cws:named-snapshots";

fn key(name: &str) -> String {
    format!("cws:named-snapshot:{name}")
}

impl State {
    /// Stores the snapshot unless one has its name; returns that one then (the same request's,
    /// when a retried job stores it again).
    pub async fn create_named_snapshot(
        &self,
        snapshot: &NamedSnapshot,
    ) -> Result<Result<(), NamedSnapshot>, PortError> {
        let created = self.create(&key(&snapshot.name), snapshot).await?;
        // Also when it existed: a job that died between the two writes lists it on its re-run.
        self.records.add_member(NAMES, &snapshot.name).await?;
        Ok(created)
    }

    pub async fn named_snapshot(&self, name: &str) -> Result<Option<NamedSnapshot>, PortError> {
        self.read(&key(name)).await
    }

    /// Every named snapshot, by name.
    pub async fn named_snapshots(&self) -> Result<Vec<NamedSnapshot>, PortError> {
        let mut names = self.records.members(NAMES).await?;
        names.sort();
        let keys: Vec<String> = names.iter().map(|name| key(name)).collect();
        self.read_many(&keys).await
    }

    /// Notes that the snapshot was shared with `account` (once, however often it is shared).
    pub async fn record_named_share(&self, name: &str, account: &str) -> Result<(), PortError> {
        // A snapshot deleted meanwhile has nothing left to note.
        self.update(&key(name), |current: &NamedSnapshot| {
            let mut next = current.clone();
            if !next.shared_with.iter().any(|a| a == account) {
                next.shared_with.push(account.to_owned());
            }
            Ok::<_, ()>((next, ()))
        })
        .await?;
        Ok(())
    }

    /// Forgets the snapshot once the cloud deleted it; the name is free again.
    pub async fn forget_named_snapshot(&self, name: &str) -> Result<(), PortError> {
        self.records.remove_member(NAMES, name).await?;
        self.records.delete(&key(name)).await
    }
}
