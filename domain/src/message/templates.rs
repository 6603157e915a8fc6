//! Messages about the template catalog: one template in full, and the proposals the deployment's
//! admins approve (seed 001, Epic 7.2).

use serde_json::{Value, json};

use super::{AdminDecisionRefusal, ChatMessage, render};
use crate::exception::{Decision, Verdict};
use crate::identity::ChatIdentity;
use crate::template::{Catalog, Template, UnknownTemplate};
use crate::template_review::{RiskSummary, TemplateProposal};

fn mentions(people: &[ChatIdentity]) -> Vec<&str> {
    people
        .iter()
        .filter_map(ChatIdentity::chat_user_id)
        .collect()
}

/// `/cws templates show NAME`.
pub fn template_show(
    catalog: &Catalog,
    template: &Template,
    pricing: &crate::pricing::PricingTable,
) -> ChatMessage {
    let summary = RiskSummary::of(template, pricing);
    let publisher = catalog
        .provenance(template)
        .map(|provenance| provenance.publisher.to_string())
        .unwrap_or_default();
    let sizes: Vec<String> = template
        .sizes
        .iter()
        .map(|(size, instance_type)| {
            let rate = template
                .regions
                .first()
                .and_then(|region| pricing.hourly(region, instance_type))
                .map(|rate| format!(" {}", rate.display_rate()))
                .unwrap_or_default();
            let default = if *size == template.default_size {
                " (default)"
            } else {
                ""
            };
            format!("{size} `{instance_type}`{rate}{default}")
        })
        .collect();
    let changelog: Vec<Value> = template
        .changelog
        .iter()
        .map(|entry| json!({ "version": entry.version, "changes": entry.changes }))
        .collect();
    render(
        "template_show",
        &json!({
            "name": template.name,
            "slug": template.slug,
            "version": template.version,
            "description": template.description,
            "publisher": publisher,
            "sizes": sizes,
            "regions": summary.regions,
            "services": summary.services,
            "image": summary.image,
            "packages": summary.packages,
            "pip_packages": summary.pip_packages,
            "pip_index_url": summary.pip_index_url,
            "changelog": changelog,
        }),
    )
}

/// A template that `templates show` or a proposal's decision could not find.
pub fn template_unknown(unknown: &UnknownTemplate) -> ChatMessage {
    render(
        "template_unknown",
        &json!({ "requested": unknown.requested, "available": unknown.available }),
    )
}

/// To each deployment admin: the proposal, what it would let people spend and run, and its
/// changes against the template it replaces (or its text, when new), with Approve and Deny.
pub fn template_proposal(
    proposal: &TemplateProposal,
    template: &Template,
    summary: &RiskSummary,
    replaces: Option<&str>,
    review: &str,
    button_value: &str,
) -> ChatMessage {
    render(
        "template_proposal",
        &json!({
            "proposer_user_id": proposal.proposer.user_id,
            "name": template.name,
            "slug": template.slug,
            "version": template.version,
            "file": proposal.file_name,
            "channel_id": proposal.channel.channel_id,
            "replaces": replaces,
            "hourly_low": summary.hourly_low,
            "hourly_high": summary.hourly_high,
            "sizes": summary.sizes,
            "accelerated": summary.accelerated,
            "regions": summary.regions,
            "ports": summary.ports,
            "services": summary.services,
            "package_count": summary.packages.len() + summary.pip_packages.len(),
            "packages": summary.packages,
            "pip_packages": summary.pip_packages,
            "pip_index_url": summary.pip_index_url,
            "image": summary.image,
            "review": review,
            "button_value": button_value,
            "expires": crate::time_text::date_time(proposal.expires_at),
        }),
    )
}

/// To the proposer: their template went to the admins.
pub fn template_proposed(proposal: &TemplateProposal, admins: &[ChatIdentity]) -> ChatMessage {
    render(
        "template_proposed",
        &json!({
            "name": proposal.name,
            "file": proposal.file_name,
            "admins": mentions(admins),
        }),
    )
}

/// Why a `templates propose` went nowhere: the file, or the template in it.
pub fn template_proposal_refused(reason: &str) -> ChatMessage {
    render("template_proposal_refused", &json!({ "reason": reason }))
}

/// `templates propose` where no worker can sign what the admins approve.
pub fn template_proposals_off(admins: &[ChatIdentity]) -> ChatMessage {
    render(
        "template_proposals_off",
        &json!({ "admins": mentions(admins) }),
    )
}

/// To the proposer, by direct message: the admin's decision.
pub fn template_decided(proposal: &TemplateProposal, decision: &Decision) -> ChatMessage {
    render(
        "template_decided",
        &json!({
            "approved": decision.verdict == Verdict::Approved,
            "by_user_id": decision.by_user_id,
            "name": proposal.name,
            "reason": decision.reason,
        }),
    )
}

/// To the deciding admin: what their click did.
pub fn template_decision_recorded(
    proposal: &TemplateProposal,
    verdict: Verdict,
    publisher: &str,
) -> ChatMessage {
    render(
        "template_decision_recorded",
        &json!({
            "approved": verdict == Verdict::Approved,
            "name": proposal.name,
            "proposer_user_id": proposal.proposer.user_id,
            "publisher": publisher,
        }),
    )
}

pub fn template_decision_refused(
    proposal: &TemplateProposal,
    refusal: AdminDecisionRefusal<'_>,
) -> ChatMessage {
    let decided = match &refusal {
        AdminDecisionRefusal::AlreadyDecided(decision) => Some(*decision),
        _ => None,
    };
    render(
        "template_decision_refused",
        &json!({
            "own": matches!(refusal, AdminDecisionRefusal::Own),
            "not_admin": matches!(refusal, AdminDecisionRefusal::NotAdmin),
            "expired": matches!(refusal, AdminDecisionRefusal::Expired),
            "decided": decided.is_some(),
            "verdict": decided.map(|d| d.verdict.decided()),
            "by_user_id": decided.map(|d| d.by_user_id.as_str()),
            "name": proposal.name,
            "proposer_user_id": proposal.proposer.user_id,
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::exception::RequestId;
    use crate::job::{JobKey, Platform, ReplyTo, Requester};
    use crate::message::limits::fit_to_slack;
    use crate::pricing::PricingTable;
    use crate::template_review::{check_proposal, review};

    fn proposal(text: &str) -> TemplateProposal {
        TemplateProposal {
            id: RequestId::for_template_proposal(&JobKey::try_from("t1".to_owned()).unwrap()),
            proposer: Requester {
                platform: Platform::Slack,
                team_id: "T1".into(),
                team_domain: "stanford".into(),
                user_id: "UCHEN".into(),
                user_name: "wei.chen".into(),
            },
            channel: ReplyTo::slack("C1", None),
            file_name: "python-ml.yml".into(),
            text: text.into(),
            name: "Python Machine Learning".into(),
            slug: "python-ml".into(),
            created_at: datetime!(2026-12-01 09:00 UTC),
            expires_at: datetime!(2026-12-04 09:00 UTC),
        }
    }

    #[test]
    fn the_admins_see_the_cost_range_the_changes_and_both_buttons() {
        let catalog = Catalog::builtin();
        let published = catalog.find("python-ml").unwrap();
        let published_text = &catalog.provenance(published).unwrap().text;
        let text = published_text
            .replace("L: r5.xlarge", "L: p3.2xlarge")
            .replace(
                "regions: [us-east-1, us-east-2, us-west-1, us-west-2, eu-west-1]",
                "regions: [us-east-1, us-west-2]",
            );
        let pricing = PricingTable::builtin();
        let template = check_proposal(text.as_bytes(), pricing).unwrap();
        let summary = RiskSummary::of(&template, pricing);
        let asked = template_proposal(
            &proposal(&text),
            &template,
            &summary,
            Some("cws (shipped)"),
            &review(Some(published_text), &text),
            "template-proposal:x.sig",
        );
        insta::assert_snapshot!(asked.text, @"📝 <@UCHEN> proposes a new version of template *Python Machine Learning*: $0.0416 to $3.06 an hour. Approve or deny it here.");
        let blocks = serde_json::to_string(&asked.blocks).unwrap();
        for wanted in [
            "cws_approve_template",
            "cws_deny_template",
            "template-proposal:x.sig",
            "-  L: r5.xlarge",
            "+  L: p3.2xlarge",
            "⚠️ p3.2xlarge",
            "jupyter on 8888",
        ] {
            assert!(blocks.contains(wanted), "{wanted}: {blocks}");
        }
        assert_eq!(
            fit_to_slack(&asked),
            asked,
            "within Slack's limits as rendered"
        );
    }

    #[test]
    fn show_names_the_publisher_and_the_changelog() {
        let catalog = Catalog::builtin();
        let template = catalog.find("Bioinformatics").unwrap();
        let shown = template_show(catalog, template, PricingTable::builtin());
        assert!(
            shown.text.contains("published by cws (shipped)"),
            "{}",
            shown.text
        );
        let refused = template_decision_refused(&proposal(""), AdminDecisionRefusal::Own);
        assert!(
            refused.text.contains("your own template proposal"),
            "{}",
            refused.text
        );
    }
}
