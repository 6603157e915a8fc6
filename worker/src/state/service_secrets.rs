//! Web workspaces' passwords: `cws:service-secret:{launch job key}` → the [`ServiceSecret`].
//!
//! Written once per launch, before the instance exists, so a retried launch (whose instance
//! EC2 hands back by its client token, with the same user data) finds the same password; read
//! by `connect` for the owner's direct message; deleted when the workspace is terminated. Only workers read this store: the instance holds
//! hashes alone, and no channel message carries the password.

use domain::job::JobKey;
use domain::ports::PortError;
use domain::service_secret::ServiceSecret;

use super::{State, random_bytes};

fn key(launch: &JobKey) -> String {
    format!("cws:service-secret:{}", launch.as_str())
}

impl State {
    /// The password of the workspace `launch` starts: made now, or the one an earlier run of
    /// the same launch made.
    pub async fn service_secret_for_launch(
        &self,
        launch: &JobKey,
    ) -> Result<ServiceSecret, PortError> {
        let fresh = ServiceSecret::from_random(random_bytes::<24>());
        self.first_stored(&key(launch), fresh).await
    }

    /// The password of the workspace `launch` started; `None` for one launched before web
    /// services had passwords.
    pub async fn service_secret(
        &self,
        launch: &JobKey,
    ) -> Result<Option<ServiceSecret>, PortError> {
        self.read(&key(launch)).await
    }

    /// Drops the password of a terminated workspace: nothing can use it any more.
    pub async fn forget_service_secret(&self, launch: &JobKey) -> Result<(), PortError> {
        self.records.delete(&key(launch)).await
    }
}
