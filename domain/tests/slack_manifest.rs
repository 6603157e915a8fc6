//! `deploy/slack-app-manifest.yml` against the code: the routes the bot serves, the scopes
//! `cws doctor` asks for, and every Slack Web API method the workers call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cws_domain::doctor::{SLACK_METHODS, SLACK_SCOPES};
use serde_yaml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(repo().join("deploy/slack-app-manifest.yml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The bot token scopes the manifest asks for.
fn asked_scopes() -> BTreeSet<String> {
    manifest()["oauth_config"]["scopes"]["bot"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|scope| scope.as_str().unwrap().to_owned())
        .collect()
}

fn rust_sources(dir: &Path, into: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// Slack Web API method names written in `text`: `family.method` after a quote or `}` (the
/// `format!("{}files.list", …)` form).
fn slack_methods_in(text: &str) -> BTreeSet<String> {
    const FAMILIES: [&str; 8] = [
        "auth.",
        "chat.",
        "conversations.",
        "files.",
        "users.",
        "usergroups.",
        "views.",
        "reactions.",
    ];
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices(['"', '}']) {
        let rest = &text[at + 1..];
        if !FAMILIES.iter().any(|family| rest.starts_with(family)) {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        if rest[name.len()..].starts_with('"') && name.contains('.') && !name.ends_with('.') {
            found.insert(name);
        }
    }
    found
}

#[test]
fn the_manifest_asks_for_exactly_the_scopes_doctor_checks() {
    let asked = asked_scopes();
    let checked: BTreeSet<String> = SLACK_SCOPES
        .iter()
        .map(|(scope, _)| (*scope).to_owned())
        .collect();
    assert_eq!(asked, checked);
}

#[test]
fn every_slack_method_the_workers_call_is_covered_by_a_manifest_scope() {
    let asked = asked_scopes();
    let mut sources = Vec::new();
    rust_sources(&repo().join("worker/src"), &mut sources);
    let called: BTreeSet<String> = sources
        .iter()
        .flat_map(|(_, text)| slack_methods_in(text))
        .collect();
    assert!(called.contains("chat.postMessage"), "{called:?}");
    assert!(called.contains("files.list"), "{called:?}");
    for method in &called {
        let Some((_, scope)) = SLACK_METHODS.iter().find(|(name, _)| name == method) else {
            panic!("the workers call {method}, which SLACK_METHODS does not list with its scope");
        };
        if let Some(scope) = scope {
            assert!(
                asked.contains(*scope),
                "{method} needs {scope}, which the manifest does not ask for"
            );
        }
    }
}

#[test]
fn the_manifest_points_at_the_routes_the_bot_serves() {
    let manifest = manifest();
    let routes = std::fs::read_to_string(repo().join("bot/src/lib.rs")).unwrap();
    let command = &manifest["features"]["slash_commands"][0];
    assert_eq!(command["command"].as_str(), Some("/cws"));
    let urls = [
        command["url"].as_str().unwrap(),
        manifest["settings"]["interactivity"]["request_url"]
            .as_str()
            .unwrap(),
    ];
    for url in urls {
        let path = url.strip_prefix("https://YOUR-HOST").unwrap();
        // The route is written out, or named by a constant the router uses.
        let named = routes
            .lines()
            .find_map(|line| {
                line.strip_prefix("const ")?
                    .strip_suffix(&format!(": &str = \"{path}\";"))
            })
            .is_some_and(|name| {
                let compact: String = routes.split_whitespace().collect();
                compact.contains(&format!(".route({name},"))
            });
        assert!(
            named
                || routes.contains(&format!(".route(\n            \"{path}\""))
                || routes.contains(&format!(".route(\"{path}\"")),
            "the bot serves no {path}"
        );
    }
}

#[test]
fn methods_are_found_as_the_adapters_write_them() {
    let found = slack_methods_in(
        r#"self.call("chat.postMessage", body); format!("{}files.list", url); "users.""#,
    );
    assert_eq!(
        found,
        BTreeSet::from(["chat.postMessage".to_owned(), "files.list".to_owned()])
    );
}
