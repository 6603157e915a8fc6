//! Research identity verification: the link `profiles verify` answers with, the outcome the
//! callback sends, and the pages the person's browser lands on.

use std::sync::LazyLock;

use handlebars::Handlebars;
use serde_json::json;

use super::{ChatMessage, render};
use crate::job::{Platform, ProviderAnswer, Requester};
use crate::verified_identity::{START_PATH, VerificationFailure, VerifiedIdentity};

/// Web pages with values in them, HTML-escaped (handlebars' default).
static WEB_REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry
        .register_template_string(
            "sign_in_confirm",
            include_str!("../../../message-templates/web/sign_in_confirm.html.hbs"),
        )
        .expect("the page template is compiled in and rendered by its test");
    registry
});

/// The private answer to `profiles verify`: the provider's sign-in link.
pub fn verification_link(url: &str) -> ChatMessage {
    render("verification_link", &json!({ "url": url }))
}

/// Sent by direct message once the provider vouched for the person.
pub fn identity_verified(identity: &VerifiedIdentity) -> ChatMessage {
    let linked: Vec<&str> = identity
        .linked
        .iter()
        .map(|linked| linked.username.as_str())
        .collect();
    render(
        "identity_verified",
        &json!({
            "username": identity.username,
            "institution": identity.organization.as_ref().or(identity.identity_provider.as_ref()),
            "name": identity.name,
            "email": identity.email,
            "linked": linked,
        }),
    )
}

/// Why nothing was verified (also the answer when verification is not configured).
pub fn verification_failed(failure: &VerificationFailure) -> ChatMessage {
    render(
        "verification_failed",
        &json!({ "reason": failure.to_string() }),
    )
}

/// What the browser is told after the provider's redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackPage<'a> {
    /// The answer is queued; the outcome goes to chat.
    Queued(&'a ProviderAnswer),
    /// Neither a `state` with a code nor an error: not a redirect the provider makes.
    Incomplete,
    /// The queue (or the store behind the sign-in page) could not be reached.
    Unavailable,
    /// A `state` nobody issued, or one past its window: nothing was stored or queued.
    Unknown,
    /// A `state` whose callback came already.
    Used,
    /// Continue pressed without the confirmation page's token: not from that page, in this
    /// browser.
    NotConfirmed,
    /// The client sent more requests than the per-address limit allows.
    TooManyRequests,
}

/// The page the provider's redirect lands on (static: nothing it received is echoed).
pub fn verification_callback_page(page: CallbackPage<'_>) -> &'static str {
    match page {
        CallbackPage::Queued(ProviderAnswer::Code(_)) => {
            include_str!("../../../message-templates/web/verification_received.html")
        }
        CallbackPage::Queued(ProviderAnswer::Error { .. }) => {
            include_str!("../../../message-templates/web/verification_cancelled.html")
        }
        CallbackPage::Incomplete => {
            include_str!("../../../message-templates/web/verification_incomplete.html")
        }
        CallbackPage::Unavailable => {
            include_str!("../../../message-templates/web/verification_unavailable.html")
        }
        CallbackPage::Unknown => {
            include_str!("../../../message-templates/web/sign_in_unknown.html")
        }
        CallbackPage::Used => include_str!("../../../message-templates/web/sign_in_used.html"),
        CallbackPage::NotConfirmed => {
            include_str!("../../../message-templates/web/sign_in_not_confirmed.html")
        }
        CallbackPage::TooManyRequests => {
            include_str!("../../../message-templates/web/too_many_requests.html")
        }
    }
}

/// The page the sign-in link opens: whose chat account the login will be bound to, and a
/// Continue button (a form, so a link scanner fetching the page goes no further) that carries
/// the `state` and this page's `confirm` token on to the provider.
pub fn sign_in_confirm_page(requester: &Requester, state: &str, confirm: &str) -> String {
    let (platform, place, team) = match requester.platform {
        Platform::Slack => (
            "Slack",
            "workspace",
            format!("{} ({})", requester.team_domain, requester.team_id),
        ),
        Platform::Discord => ("Discord", "server", requester.team_domain.clone()),
    };
    WEB_REGISTRY
        .render(
            "sign_in_confirm",
            &json!({
                "platform": platform,
                "place": place,
                "team": team,
                "user_name": requester.user_name,
                "user_id": requester.user_id,
                "action": START_PATH,
                "state": state,
                "confirm": confirm,
            }),
        )
        .expect("the page's data is typed, and the page is rendered by its test")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::verified_identity::LinkedIdentity;

    #[test]
    fn the_link_is_offered_privately_with_its_window() {
        insta::assert_snapshot!(
            verification_link("https://auth.globus.org/v2/oauth2/authorize?state=abc&x=<y>").text,
            @"🔐 Verify your research identity with your home institution's login: https://auth.globus.org/v2/oauth2/authorize?state=abc&amp;x=&lt;y&gt; (the link is yours alone and works once, for 10 minutes)."
        );
    }

    #[test]
    fn a_verified_identity_names_login_institution_and_links() {
        let identity = VerifiedIdentity {
            subject: "b1f5".into(),
            username: "sarah.lee@berkeley.edu".into(),
            name: Some("Sarah Lee".into()),
            email: Some("slee@berkeley.edu".into()),
            organization: Some("University of California, Berkeley".into()),
            identity_provider: None,
            linked: vec![LinkedIdentity {
                subject: "0000-0002".into(),
                username: "0000-0002-1825-0097@orcid.org".into(),
                organization: None,
            }],
            verified_at: datetime!(2026-01-01 00:00 UTC),
        };
        insta::assert_json_snapshot!(identity_verified(&identity), @r#"
        {
          "text": "✅ Research identity verified: sarah.lee@berkeley.edu (University of California, Berkeley). Invitations that require a verified identity now accept you.",
          "blocks": [
            {
              "text": {
                "text": "✅ Research identity verified: *sarah.lee@berkeley.edu* (University of California, Berkeley), Sarah Lee, slee@berkeley.edu.\nLinked identities: 0000-0002-1825-0097@orcid.org.\nInvitations that require a verified identity now accept you; `/cws profiles list` shows it.",
                "type": "mrkdwn"
              },
              "type": "section"
            }
          ]
        }
        "#);
    }

    #[test]
    fn failures_say_nothing_was_stored() {
        insta::assert_snapshot!(
            verification_failed(&VerificationFailure::Cancelled).text,
            @"❌ Research identity not verified: you cancelled the sign-in at the identity provider. Nothing was stored."
        );
        insta::assert_snapshot!(
            verification_failed(&VerificationFailure::NotConfigured).text,
            @"❌ Research identity not verified: identity verification is not configured on this deployment (it needs GLOBUS_CLIENT_ID and GLOBUS_CLIENT_SECRET). Nothing was stored."
        );
    }

    #[test]
    fn the_confirmation_page_names_the_chat_account_and_escapes_it() {
        let requester = Requester {
            platform: Platform::Slack,
            team_id: "T0CONSORTIUM".into(),
            team_domain: "berkeley-neuroscience".into(),
            user_id: "U0BERKLEE".into(),
            user_name: "sarah<script>".into(),
        };
        let page = sign_in_confirm_page(&requester, "st-1", "c0nf");
        assert!(page.contains("Slack user <strong>sarah&lt;script&gt;</strong> (U0BERKLEE)"));
        assert!(
            page.contains("in workspace <strong>berkeley-neuroscience (T0CONSORTIUM)</strong>")
        );
        assert!(page.contains(r#"<form method="post" action="/oauth/globus/start">"#));
        assert!(page.contains(r#"name="state" value="st-1""#));
        assert!(page.contains(r#"name="confirm" value="c0nf""#));
        let discord = Requester {
            platform: Platform::Discord,
            team_domain: "1100000000000000001".into(),
            ..requester
        };
        assert!(
            sign_in_confirm_page(&discord, "s", "c")
                .contains("in server <strong>1100000000000000001</strong>")
        );
    }

    #[test]
    fn the_callback_page_never_echoes_what_the_provider_sent() {
        let code = ProviderAnswer::Code("c0de".into());
        let page = verification_callback_page(CallbackPage::Queued(&code));
        assert!(page.contains("Return to Slack"));
        assert!(!page.contains("c0de"));
        assert!(verification_callback_page(CallbackPage::Incomplete).contains("incomplete"));
        assert!(
            verification_callback_page(CallbackPage::Unavailable).contains("nothing was stored")
        );
    }
}
