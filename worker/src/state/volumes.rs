//! Shared volumes and their mounts: `cws:volume:{project}:{name}` → volume;
//! `cws:project:{p}:volumes` → set of names; `cws:volume:{project}:{name}:mount:{workspace}` →
//! a mount; `…:{name}:mounts` → set of workspaces; `cws:project:{p}:homes-volume` → the name
//! of the volume research users' homes live on.

use domain::ports::PortError;
use domain::volume::{Volume, VolumeMount};

use super::{State, to_json};

fn volume_key(project: &str, name: &str) -> String {
    format!("cws:volume:{project}:{name}")
}

fn names_key(project: &str) -> String {
    format!("cws:project:{project}:volumes")
}

fn homes_key(project: &str) -> String {
    format!("cws:project:{project}:homes-volume")
}

impl State {
    /// Names the volume research users' homes live on from the next launch on.
    pub async fn set_homes_volume(&self, project: &str, volume: &str) -> Result<(), PortError> {
        self.records.put(&homes_key(project), volume).await
    }

    /// The volume research users' homes live on, if the project named one.
    pub async fn homes_volume(&self, project: &str) -> Result<Option<Volume>, PortError> {
        match self.records.get(&homes_key(project)).await? {
            Some(name) => self.volume(project, &name).await,
            None => Ok(None),
        }
    }

    /// Stores a new volume unless the project has one by that name; returns that one then.
    pub async fn create_volume(&self, volume: &Volume) -> Result<Result<(), Volume>, PortError> {
        let created = self
            .create(&volume_key(&volume.project, &volume.name), volume)
            .await?;
        if created.is_ok() {
            self.records
                .add_member(&names_key(&volume.project), &volume.name)
                .await?;
        }
        Ok(created)
    }

    pub async fn put_volume(&self, volume: &Volume) -> Result<(), PortError> {
        self.records
            .put(&volume_key(&volume.project, &volume.name), &to_json(volume))
            .await
    }

    pub async fn volume(&self, project: &str, name: &str) -> Result<Option<Volume>, PortError> {
        self.read(&volume_key(project, name)).await
    }

    /// The project's volumes, by name.
    pub async fn volumes(&self, project: &str) -> Result<Vec<Volume>, PortError> {
        let mut names = self.records.members(&names_key(project)).await?;
        names.sort();
        let keys: Vec<String> = names.iter().map(|name| volume_key(project, name)).collect();
        self.read_many(&keys).await
    }

    /// The project's volumes, each with its mounts.
    pub async fn volumes_with_mounts(
        &self,
        project: &str,
    ) -> Result<Vec<(Volume, Vec<VolumeMount>)>, PortError> {
        let mut found = Vec::new();
        for volume in self.volumes(project).await? {
            let mounts = self.mounts(project, &volume.name).await?;
            found.push((volume, mounts));
        }
        Ok(found)
    }

    /// Records a mount, replacing the one of the same volume on the same workspace.
    pub async fn put_mount(&self, project: &str, mount: &VolumeMount) -> Result<(), PortError> {
        let prefix = volume_key(project, &mount.volume);
        self.records
            .put(
                &format!("{prefix}:mount:{}", mount.workspace),
                &to_json(mount),
            )
            .await?;
        self.records
            .add_member(&format!("{prefix}:mounts"), &mount.workspace)
            .await
    }

    /// A volume's mounts, by workspace.
    pub async fn mounts(&self, project: &str, volume: &str) -> Result<Vec<VolumeMount>, PortError> {
        let prefix = volume_key(project, volume);
        let mut workspaces = self.records.members(&format!("{prefix}:mounts")).await?;
        workspaces.sort();
        let keys: Vec<String> = workspaces
            .iter()
            .map(|workspace| format!("{prefix}:mount:{workspace}"))
            .collect();
        self.read_many(&keys).await
    }
}
