//! Exception requests: `cws:exception:{id}` → request; `…:requested` → set once sent;
//! `…:decision` → the decision that stands (the first).

use domain::exception::{Decision, ExceptionRequest, RequestId};
use domain::ports::PortError;

use super::State;

fn key(id: &RequestId) -> String {
    format!("cws:exception:{id}")
}

impl State {
    /// Stores the request once; a re-run of the same refused launch finds it again.
    pub async fn save_exception(
        &self,
        request: &ExceptionRequest,
    ) -> Result<ExceptionRequest, PortError> {
        self.first_stored(&key(&request.id), request.clone()).await
    }

    pub async fn exception(&self, id: &RequestId) -> Result<Option<ExceptionRequest>, PortError> {
        self.read(&key(id)).await
    }

    /// Marks the request as sent to the owner; `false` if it already was by another job.
    pub async fn mark_exception_requested(
        &self,
        id: &RequestId,
        job: &str,
    ) -> Result<bool, PortError> {
        self.claim(&format!("{}:requested", key(id)), job).await
    }

    pub async fn decision(&self, id: &RequestId) -> Result<Option<Decision>, PortError> {
        self.read(&format!("{}:decision", key(id))).await
    }

    /// Records the decision unless one exists; returns the one that stands.
    pub async fn decide(&self, id: &RequestId, decision: &Decision) -> Result<Decision, PortError> {
        self.first_stored(&format!("{}:decision", key(id)), decision.clone())
            .await
    }
}
