//! The embedded mode's shared file systems: made in memory, each once per creation token or
//! key, as EFS makes them. Without AWS there are no other accounts to create policies in, and
//! no instance to run a mount script on.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::account::Account;
use domain::ports::{
    AccessPoint, AccessPointRoot, AccountPolicies, FileSystem, FileSystems, InstanceCommands,
    MountTarget, PortError, PosixIdentity, ScriptOutcome, ScriptRun,
};

const ARN_PREFIX: &str = "arn:aws:elasticfilesystem:local:000000000000";

#[derive(Default)]
pub struct SimulatedFileSystems {
    by_token: Mutex<HashMap<String, FileSystem>>,
    access_points: Mutex<HashMap<String, AccessPoint>>,
}

#[async_trait]
impl FileSystems for SimulatedFileSystems {
    async fn create_file_system(
        &self,
        creation_token: &str,
        _tags: &[(String, String)],
    ) -> Result<FileSystem, PortError> {
        let mut by_token = self.by_token.lock().expect("simulated efs lock");
        let next = by_token.len() + 1;
        Ok(by_token
            .entry(creation_token.to_owned())
            .or_insert_with(|| {
                let id = format!("fs-{next:08x}");
                FileSystem {
                    arn: format!("{ARN_PREFIX}:file-system/{id}"),
                    id,
                }
            })
            .clone())
    }

    async fn ensure_mount_targets(&self, _file_system_id: &str) -> Result<usize, PortError> {
        Ok(1)
    }

    async fn ensure_mount_target_in(
        &self,
        _file_system_id: &str,
        _subnet_id: &str,
    ) -> Result<(), PortError> {
        Ok(())
    }

    async fn create_access_point(
        &self,
        _file_system_id: &str,
        key: &str,
        _user: PosixIdentity,
        _root: AccessPointRoot<'_>,
        _tags: &[(String, String)],
    ) -> Result<AccessPoint, PortError> {
        let mut points = self.access_points.lock().expect("simulated efs lock");
        let next = points.len() + 1;
        Ok(points
            .entry(key.to_owned())
            .or_insert_with(|| {
                let id = format!("fsap-{next:017x}");
                AccessPoint {
                    arn: format!("{ARN_PREFIX}:access-point/{id}"),
                    id,
                }
            })
            .clone())
    }

    async fn mount_targets(&self, _file_system_id: &str) -> Result<Vec<MountTarget>, PortError> {
        Ok(vec![MountTarget {
            ip_address: "10.0.0.20".to_owned(),
            zone_id: None,
        }])
    }

    async fn put_policy(&self, _file_system_id: &str, _policy: &str) -> Result<(), PortError> {
        Ok(())
    }
}

/// No roles in other accounts: every policy document goes to the account's IT.
pub struct NoAccountPolicies;

#[async_trait]
impl AccountPolicies for NoAccountPolicies {
    async fn create_policy(
        &self,
        _account: &Account,
        _name: &str,
        _document: &str,
    ) -> Result<Option<String>, PortError> {
        Ok(None)
    }
}

/// The embedded mode's instances run nothing: a script "succeeds" and is logged, so a mount in
/// the simulated cloud goes through the whole flow.
pub struct SimulatedInstanceCommands;

#[async_trait]
impl InstanceCommands for SimulatedInstanceCommands {
    async fn run_script(
        &self,
        instance_id: &str,
        comment: &str,
        _script: &str,
    ) -> Result<ScriptRun, PortError> {
        tracing::info!(instance_id, comment, "simulated cloud: script not run");
        Ok(ScriptRun {
            command_id: format!("simulated-{instance_id}"),
            outcome: ScriptOutcome::Succeeded,
        })
    }
}
