//! Template proposals and the templates the deployment's admins published:
//! `cws:template-proposal:{id}` → the proposal; `…:decision` → the decision that stands;
//! `cws:templates:published` → the published slugs; `cws:template:published:{slug}` → its
//! signed text.

use domain::exception::{Decision, RequestId};
use domain::ports::PortError;
use domain::template_review::{PublishedTemplate, TemplateProposal};

use super::{State, to_json};

fn proposal_key(id: &RequestId) -> String {
    format!("cws:template-proposal:{id}")
}

const PUBLISHED: &str = "cws:templates:published";

fn published_key(slug: &str) -> String {
    format!("cws:template:published:{slug}")
}

impl State {
    /// Stores the proposal once; a re-run of the same `templates propose` finds it again.
    pub async fn save_template_proposal(
        &self,
        proposal: &TemplateProposal,
    ) -> Result<TemplateProposal, PortError> {
        self.first_stored(&proposal_key(&proposal.id), proposal.clone())
            .await
    }

    pub async fn template_proposal(
        &self,
        id: &RequestId,
    ) -> Result<Option<TemplateProposal>, PortError> {
        self.read(&proposal_key(id)).await
    }

    pub async fn template_proposal_decision(
        &self,
        id: &RequestId,
    ) -> Result<Option<Decision>, PortError> {
        self.read(&format!("{}:decision", proposal_key(id))).await
    }

    /// Records the decision unless one exists; returns the one that stands.
    pub async fn decide_template_proposal(
        &self,
        id: &RequestId,
        decision: &Decision,
    ) -> Result<Decision, PortError> {
        self.first_stored(&format!("{}:decision", proposal_key(id)), decision.clone())
            .await
    }

    /// Publishes `template`, replacing what was published under its slug.
    pub async fn publish_template(&self, template: &PublishedTemplate) -> Result<(), PortError> {
        self.records
            .put(&published_key(&template.slug), &to_json(template))
            .await?;
        self.records.add_member(PUBLISHED, &template.slug).await
    }

    /// Every published template, in slug order, as stored: the reader checks the signatures.
    pub async fn published_templates(&self) -> Result<Vec<PublishedTemplate>, PortError> {
        let mut slugs = self.records.members(PUBLISHED).await?;
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        slugs.sort();
        let keys: Vec<String> = slugs.iter().map(|slug| published_key(slug)).collect();
        self.read_many(&keys).await
    }
}
