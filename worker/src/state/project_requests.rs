//! Project requests awaiting a deployment admin: `cws:project-request:{id}` → the request;
//! `…:decision` → the decision that stands (the first).

use domain::deployment::ProjectRequest;
use domain::exception::{Decision, RequestId};
use domain::ports::PortError;

use super::State;

fn key(id: &RequestId) -> String {
    format!("cws:project-request:{id}")
}

impl State {
    /// Stores the request once; a re-run of the same `project create` finds it again.
    pub async fn save_project_request(
        &self,
        request: &ProjectRequest,
    ) -> Result<ProjectRequest, PortError> {
        self.first_stored(&key(&request.id), request.clone()).await
    }

    pub async fn project_request(
        &self,
        id: &RequestId,
    ) -> Result<Option<ProjectRequest>, PortError> {
        self.read(&key(id)).await
    }

    pub async fn project_request_decision(
        &self,
        id: &RequestId,
    ) -> Result<Option<Decision>, PortError> {
        self.read(&format!("{}:decision", key(id))).await
    }

    /// Records the decision unless one exists; returns the one that stands.
    pub async fn decide_project_request(
        &self,
        id: &RequestId,
        decision: &Decision,
    ) -> Result<Decision, PortError> {
        self.first_stored(&format!("{}:decision", key(id)), decision.clone())
            .await
    }
}
