//! Institutional approval of templates (seed 001, Epic 7.2): a proposed template reaches the
//! deployment's admins as a diff against what is published and a summary of what it would let
//! people spend and run; an admin's Approve signs it with the deployment's key and publishes it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::exception::RequestId;
use crate::identity::ChatIdentity;
use crate::job::{ReplyTo, Requester};
use crate::pricing::{Money, PricingTable};
use crate::template::{CatalogError, ImageSource, Template, parse_template, unpriced};

/// Largest proposed template accepted: templates are a page of YAML, not a data file.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// A template someone proposed, waiting for a deployment admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateProposal {
    pub id: RequestId,
    pub proposer: Requester,
    /// Where it was proposed: told the decision.
    pub channel: ReplyTo,
    /// The file it came from, as shared.
    pub file_name: String,
    /// The template's text exactly as proposed: what is signed on approval.
    pub text: String,
    pub name: String,
    pub slug: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl TemplateProposal {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

/// A template an admin approved, as kept for every worker: its text and the deployment's
/// signature over it, checked again each time it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTemplate {
    pub slug: String,
    pub text: String,
    /// The `.sig` file's text.
    pub signature: String,
    pub proposal: RequestId,
    pub approved_by: ChatIdentity,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
}

/// Why a proposed template cannot be considered at all.
#[derive(Debug, thiserror::Error)]
pub enum ProposalProblem {
    #[error("it is {0} bytes; a template is at most 64 KiB")]
    TooLarge(usize),
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("{0}")]
    Template(CatalogError),
    #[error("{0}")]
    Unpriced(String),
}

/// The template in `bytes`, sound on its own and priced wherever it is offered.
pub fn check_proposal(bytes: &[u8], pricing: &PricingTable) -> Result<Template, ProposalProblem> {
    if bytes.len() > MAX_TEMPLATE_BYTES {
        return Err(ProposalProblem::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ProposalProblem::NotText)?;
    let template = parse_template(text).map_err(ProposalProblem::Template)?;
    let unpriced: Vec<String> = unpriced(&template, pricing)
        .iter()
        .map(ToString::to_string)
        .collect();
    if unpriced.is_empty() {
        Ok(template)
    } else {
        Err(ProposalProblem::Unpriced(unpriced.join("; ")))
    }
}

/// What a template would let people spend and run, for the admin who decides on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskSummary {
    /// `S t3.medium`, one a size.
    pub sizes: Vec<String>,
    /// Instance types with GPUs or other accelerators: the expensive ones.
    pub accelerated: Vec<String>,
    /// The hourly rate of the cheapest and dearest size anywhere it is offered.
    pub hourly_low: String,
    pub hourly_high: String,
    pub regions: Vec<String>,
    /// Ports it declares beyond SSH. The workspace's security group opens SSH only, so these
    /// are reached through SSM port forwarding, never from the internet.
    pub ports: Vec<u16>,
    pub services: Vec<String>,
    pub packages: Vec<String>,
    pub pip_packages: Vec<String>,
    /// Where pip installs from when not PyPI: code from that host runs as root.
    pub pip_index_url: Option<String>,
    /// Where its image comes from, per region where a pin differs.
    pub image: String,
}

/// Instance families with GPUs or other accelerators.
const ACCELERATED: [&str; 8] = ["p2", "p3", "p4", "p5", "g4", "g5", "g6", "inf"];

impl RiskSummary {
    pub fn of(template: &Template, pricing: &PricingTable) -> RiskSummary {
        let rates: Vec<Money> = template
            .sizes
            .values()
            .flat_map(|instance_type| {
                template
                    .regions
                    .iter()
                    .filter_map(|region| pricing.hourly(region, instance_type))
            })
            .collect();
        let rate = |money: Option<&Money>| {
            money
                .map(|m| m.display_rate())
                .unwrap_or_else(|| "unpriced".to_owned())
        };
        let accelerated: BTreeSet<String> = template
            .sizes
            .values()
            .filter(|instance_type| {
                ACCELERATED
                    .iter()
                    .any(|family| instance_type.starts_with(family))
                    || instance_type.starts_with("trn")
            })
            .cloned()
            .collect();
        let pinned: Vec<String> = template
            .regions
            .iter()
            .filter_map(|region| match template.image_in(region) {
                Some(ImageSource::Pinned(ami)) => Some(format!("{ami} in {region}")),
                _ => None,
            })
            .collect();
        let image = match &template.image {
            None => format!("{}'s own", template.platform.title()),
            Some(image) if pinned.is_empty() => format!("SSM parameter {}", image.parameter),
            Some(image) => format!(
                "SSM parameter {}; pinned {}",
                image.parameter,
                pinned.join(", ")
            ),
        };
        RiskSummary {
            sizes: template
                .sizes
                .iter()
                .map(|(size, instance_type)| format!("{size} {instance_type}"))
                .collect(),
            accelerated: accelerated.into_iter().collect(),
            hourly_low: rate(rates.iter().min()),
            hourly_high: rate(rates.iter().max()),
            regions: template.regions.clone(),
            ports: template
                .ports
                .iter()
                .copied()
                .filter(|&p| p != 22)
                .collect(),
            services: template
                .services
                .iter()
                .map(|service| format!("{} on {}", service.kind, service.port))
                .collect(),
            packages: template.packages.clone(),
            pip_packages: template.pip_packages.clone(),
            pip_index_url: template.pip_index_url.clone(),
            image,
        }
    }
}

/// Lines of a diff shown in chat; the rest is counted, and the whole file is attached.
pub const DIFF_LINES_SHOWN: usize = 40;

/// What an admin reads to review a proposal: a unified diff against the template published
/// under its name, or the proposal's own text when it is new; at most [`DIFF_LINES_SHOWN`]
/// lines, then how many more there are.
pub fn review(published: Option<&str>, proposed: &str) -> String {
    let text = match published {
        None => proposed.to_owned(),
        Some(published) => similar::TextDiff::from_lines(published, proposed)
            .unified_diff()
            .context_radius(2)
            .header("published", "proposed")
            .to_string(),
    };
    if text.trim().is_empty() {
        return "(no change)".to_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= DIFF_LINES_SHOWN {
        return text.trim_end().to_owned();
    }
    format!(
        "{}\n… {} more lines",
        lines[..DIFF_LINES_SHOWN].join("\n"),
        lines.len() - DIFF_LINES_SHOWN
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Catalog;

    const GENOMICS: &str = "\
name: Stanford Genomics
slug: stanford-genomics
description: GATK, plink and bedtools.
os: ubuntu-22.04
image:
  parameter: /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id
regions: [us-east-1, us-west-2]
default_size: S
sizes:
  S: t3.medium
  L: p3.2xlarge
hibernation: false
packages: [plink1.9, bedtools]
pip_packages: [pysam]
pip_index_url: https://pypi.example.org/simple
ports: [22, 8888]
version: \"2.1\"
changelog:
  - version: \"2.1\"
    changes: GPU size for GATK's deep variant caller.
";

    #[test]
    fn the_summary_names_the_cost_range_accelerators_open_ports_and_package_sources() {
        let pricing = PricingTable::builtin();
        let template = check_proposal(GENOMICS.as_bytes(), pricing).unwrap();
        let summary = RiskSummary::of(&template, pricing);
        assert_eq!(summary.sizes, ["S t3.medium", "L p3.2xlarge"]);
        assert_eq!(summary.accelerated, ["p3.2xlarge"]);
        assert_eq!(summary.hourly_low, "$0.0416");
        assert_eq!(summary.hourly_high, "$3.06");
        assert_eq!(summary.ports, [8888]);
        assert_eq!(
            summary.pip_index_url.as_deref(),
            Some("https://pypi.example.org/simple")
        );
        assert_eq!(template.version.as_deref(), Some("2.1"));
    }

    #[test]
    fn a_proposal_must_parse_be_sound_and_be_priced() {
        let pricing = PricingTable::builtin();
        assert!(matches!(
            check_proposal(b"name: [", pricing),
            Err(ProposalProblem::Template(_))
        ));
        assert!(matches!(
            check_proposal(&[0xff, 0xfe], pricing),
            Err(ProposalProblem::NotText)
        ));
        assert!(matches!(
            check_proposal(&vec![b'#'; MAX_TEMPLATE_BYTES + 1], pricing),
            Err(ProposalProblem::TooLarge(_))
        ));
        let unpriced = GENOMICS.replace("t3.medium", "x9.huge");
        let Err(ProposalProblem::Unpriced(why)) = check_proposal(unpriced.as_bytes(), pricing)
        else {
            panic!("an unpriced size is refused");
        };
        assert!(why.contains("x9.huge"), "{why}");
    }

    #[test]
    fn the_diff_is_against_the_published_text_and_bounded() {
        let published = Catalog::builtin().find("python-ml").unwrap();
        let published = Catalog::builtin().provenance(published).unwrap();
        let proposed = published.text.replace("t3.large", "m5.large");
        let shown = review(Some(&published.text), &proposed);
        assert!(shown.contains("-  M: t3.large\n+  M: m5.large"), "{shown}");
        assert!(review(None, &proposed).starts_with("# A workspace template"));
        assert_eq!(
            review(Some(&published.text), &published.text),
            "(no change)"
        );
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let shown = review(Some("other\n"), &long);
        assert_eq!(shown.lines().count(), DIFF_LINES_SHOWN + 1);
        assert!(shown.ends_with("more lines"), "{shown}");
    }
}
