//! E-mail text, rendered from `message-templates/mail/`: the first line of a template is the
//! subject, the rest the plain-text body. Nothing is escaped: mail is not markup.

use std::sync::LazyLock;

use handlebars::Handlebars;
use serde_json::Value;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "invitation",
        include_str!("../../../message-templates/mail/invitation.txt.hbs"),
    ),
    (
        "expiry_warning",
        include_str!("../../../message-templates/mail/expiry_warning.txt.hbs"),
    ),
    (
        "access_extended",
        include_str!("../../../message-templates/mail/access_extended.txt.hbs"),
    ),
    (
        "collaboration_ended",
        include_str!("../../../message-templates/mail/collaboration_ended.txt.hbs"),
    ),
    (
        "grace_ending",
        include_str!("../../../message-templates/mail/grace_ending.txt.hbs"),
    ),
    (
        "budget_alert",
        include_str!("../../../message-templates/mail/budget_alert.txt.hbs"),
    ),
    (
        "weekly_digest",
        include_str!("../../../message-templates/mail/weekly_digest.txt.hbs"),
    ),
    (
        "limit_enforced",
        include_str!("../../../message-templates/mail/limit_enforced.txt.hbs"),
    ),
];

/// A rendered e-mail, without its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub body: String,
}

static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("pad", Box::new(super::pad));
    for (name, source) in TEMPLATES {
        registry
            .register_template_string(name, *source)
            .expect("mail templates are compiled in and rendered by the snapshot tests");
    }
    registry
});

pub(super) fn render_mail(template: &str, data: &Value) -> MailText {
    let text = REGISTRY
        .render(template, data)
        .expect("mail data is typed, and every template is rendered by the snapshot tests");
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    MailText {
        subject: subject.trim().to_owned(),
        body: body.trim_start_matches('\n').to_owned(),
    }
}
