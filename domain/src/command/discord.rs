//! The `/cws` application command Discord shows, generated from [`COMMANDS`], the table the
//! parser and `/cws help` use. Discord nests at most two levels below a command, and the
//! grammar has three (`profiles invitations accept`), so each first word of the table is a
//! subcommand taking the rest of the line as one `args` text: `/cws launch args: "Python
//! Machine Learning" mit-dev --size M` reads exactly as the Slack command does.

use serde_json::{Value, json};

use super::COMMANDS;

/// The application command's name, and the subcommand option carrying the rest of the line.
pub const DISCORD_COMMAND: &str = "cws";
pub const DISCORD_ARGS_OPTION: &str = "args";
/// Discord's limits on names and descriptions of commands and options, and subcommands.
const DESCRIPTION_LIMIT: usize = 100;
const SUBCOMMAND_LIMIT: usize = 25;

/// The body of Discord's "create application command" for `/cws` (type 1, chat input).
pub fn discord_command() -> Value {
    let mut firsts: Vec<&'static str> = Vec::new();
    for spec in COMMANDS {
        let first = spec.words().next().expect("every command has a word");
        if !firsts.contains(&first) {
            firsts.push(first);
        }
    }
    assert!(
        firsts.len() <= SUBCOMMAND_LIMIT,
        "Discord takes 25 subcommands"
    );
    let subcommands: Vec<Value> = firsts
        .iter()
        .map(|first| {
            let specs: Vec<_> = COMMANDS
                .iter()
                .filter(|spec| spec.words().next() == Some(first))
                .collect();
            let (description, args) = match specs.as_slice() {
                [only] if only.depth() == 1 => {
                    let usage = only.usage.trim_start_matches("/cws ");
                    let rest = usage.strip_prefix(first).unwrap_or(usage).trim();
                    let args = if rest.is_empty() {
                        "Nothing, or --help".to_owned()
                    } else {
                        rest.to_owned()
                    };
                    (only.summary.to_owned(), args)
                }
                _ => {
                    let rest: Vec<String> = specs
                        .iter()
                        .map(|spec| spec.words().skip(1).collect::<Vec<_>>().join(" "))
                        .collect();
                    (
                        format!("{first}: {}", rest.join(", ")),
                        format!("One of: {}, then its arguments and flags", rest.join(", ")),
                    )
                }
            };
            json!({
                "type": 1,
                "name": first,
                "description": shorten(&description),
                "options": [{
                    "type": 3,
                    "name": DISCORD_ARGS_OPTION,
                    "description": shorten(&args),
                    "required": false,
                }],
            })
        })
        .collect();
    json!({
        "type": 1,
        "name": DISCORD_COMMAND,
        "description": "Research workstations on AWS: /cws help lists every command",
        "options": subcommands,
    })
}

/// The command line a Discord `/cws SUBCOMMAND args: …` stands for, for [`super::parse`].
pub fn discord_command_line(subcommand: &str, args: Option<&str>) -> String {
    match args.map(str::trim).filter(|a| !a.is_empty()) {
        Some(args) => format!("{subcommand} {args}"),
        None => subcommand.to_owned(),
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_LIMIT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(DESCRIPTION_LIMIT - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, parse};

    #[test]
    fn every_grammar_word_is_a_subcommand_within_discords_limits() {
        let command = discord_command();
        let subcommands = command["options"].as_array().unwrap();
        assert!(subcommands.len() <= 25);
        for spec in COMMANDS {
            let first = spec.words().next().unwrap();
            assert!(
                subcommands.iter().any(|s| s["name"] == first),
                "{}",
                spec.name
            );
        }
        for subcommand in subcommands {
            for text in [
                &subcommand["description"],
                &subcommand["options"][0]["description"],
            ] {
                let text = text.as_str().unwrap();
                assert!((1..=100).contains(&text.chars().count()), "{text}");
            }
            let name = subcommand["name"].as_str().unwrap();
            assert!(name.len() <= 32 && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        }
        insta::assert_json_snapshot!(command["options"][0], @r#"
        {
          "description": "Launch a workspace from a template.",
          "name": "launch",
          "options": [
            {
              "description": "TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]",
              "name": "args",
              "required": false,
              "type": 3
            }
          ],
          "type": 1
        }
        "#);
    }

    #[test]
    fn a_discord_command_reads_as_the_slack_line() {
        let line = discord_command_line(
            "launch",
            Some(r#" "Python Machine Learning" box --size M "#),
        );
        assert!(matches!(parse(&line), Ok(Command::Launch(_))));
        assert_eq!(discord_command_line("help", None), "help");
        assert_eq!(
            discord_command_line("profiles", Some("invitations list")),
            "profiles invitations list"
        );
    }
}
