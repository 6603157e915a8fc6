//! Shell scripts the system runs as root on workspaces, rendered from `templates/*.sh.hbs`: the
//! launch user data ([`crate::user_data`]), the volume mount ([`crate::volume`]) and the SSH
//! key replacement ([`crate::ssh_key`]) and the home archive of `download`
//! ([`crate::preserve`]); the first two share
//! the amazon-efs-utils install step ([`crate::efs_utils`]) as the partial `install-efs-utils`. A script is
//! not HTML, so nothing is escaped; safety comes from each caller validating its values and from
//! the `quote` helper, which makes every value one single-quoted shell word.

use std::sync::LazyLock;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Script {
    UserData,
    MountVolume,
    ReplaceSshKey,
    ArchiveHome,
}

impl Script {
    fn name(self) -> &'static str {
        match self {
            Script::UserData => "user-data",
            Script::MountVolume => "mount-volume",
            Script::ReplaceSshKey => "replace-ssh-key",
            Script::ArchiveHome => "archive-home",
        }
    }
}

pub(crate) fn render(script: Script, data: &impl Serialize) -> String {
    REGISTRY
        .render(script.name(), data)
        .expect("the scripts are compiled in and rendered by the tests")
}

static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("quote", Box::new(quote_helper));
    for (script, text) in [
        (
            Script::UserData,
            include_str!("../../templates/user-data.sh.hbs"),
        ),
        (
            Script::MountVolume,
            include_str!("../../templates/mount-volume.sh.hbs"),
        ),
        (
            Script::ReplaceSshKey,
            include_str!("../../templates/replace-ssh-key.sh.hbs"),
        ),
        (
            Script::ArchiveHome,
            include_str!("../../templates/archive-home.sh.hbs"),
        ),
    ] {
        registry
            .register_template_string(script.name(), text)
            .expect("the scripts are compiled in and rendered by the tests");
    }
    registry
        .register_partial(
            "install-efs-utils",
            include_str!("../../templates/install-efs-utils.sh.hbs"),
        )
        .expect("the scripts are compiled in and rendered by the tests");
    registry
});

/// `{{quote value}}`: the value as one single-quoted shell word.
fn quote_helper(
    helper: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let value = helper
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("quote", 0))?
        .value();
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    out.write(&shell_quote(&text))?;
    Ok(())
}

/// Single quotes keep everything literal except `'` itself, which closes, escapes and reopens.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
