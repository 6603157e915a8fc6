//! `cws jobs dead …`: the dead-lettered jobs in Redis, listed, shown and replayed for an
//! operator at a terminal.

use anyhow::Context;
use apalis_redis::ConnectionManager;
use clap::Subcommand;
use queue::DeadLetter;
use time::format_description::well_known::Rfc3339;

#[derive(Subcommand)]
pub enum DeadCommand {
    /// Every dead-lettered job by kind: id, reference, when it died, its last error.
    List,
    /// One dead-lettered job's payload, as JSON.
    Show { id: String },
    /// Put a dead-lettered job back on its queue (attempts reset) for a worker to run again.
    Replay {
        /// The job's id, from `cws jobs dead list`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Replay every dead-lettered job.
        #[arg(long)]
        all: bool,
    },
}

pub async fn run(connection: &ConnectionManager, command: DeadCommand) -> anyhow::Result<()> {
    match command {
        DeadCommand::List => {
            let letters = queue::dead_letters(connection).await?;
            print!("{}", list(&letters));
        }
        DeadCommand::Show { id } => {
            let job = queue::dead_job(connection, &id).await?;
            println!("{}", serde_json::to_string_pretty(&job.payload)?);
        }
        DeadCommand::Replay { id: Some(id), .. } => {
            let letter = queue::replay(connection, &id).await?;
            println!("{}", replayed(&letter));
        }
        DeadCommand::Replay { id: None, .. } => match queue::replay_all(connection).await {
            Ok(letters) => {
                for letter in &letters {
                    println!("{}", replayed(letter));
                }
                println!("{} job(s) replayed.", letters.len());
            }
            Err((letters, error)) => {
                for letter in &letters {
                    println!("{}", replayed(letter));
                }
                return Err(error)
                    .with_context(|| format!("stopped after {} job(s) replayed", letters.len()));
            }
        },
    }
    Ok(())
}

/// The list, a block per kind in the registration order, so an empty queue says so too.
fn list(letters: &[DeadLetter]) -> String {
    let mut text = String::new();
    for (kind, _) in domain::job::REGISTERED {
        let of_kind: Vec<_> = letters.iter().filter(|l| l.kind == *kind).collect();
        if of_kind.is_empty() {
            text.push_str(&format!("{kind}: no dead-lettered jobs\n"));
            continue;
        }
        text.push_str(&format!("{kind}: {} dead-lettered\n", of_kind.len()));
        for letter in of_kind {
            let died = letter
                .died_at
                .and_then(|at| at.format(&Rfc3339).ok())
                .unwrap_or_else(|| "unknown".to_owned());
            text.push_str(&format!(
                "  {}  reference {}  died {died}\n",
                letter.id,
                letter.key.as_deref().unwrap_or("(none)"),
            ));
            if let Some(error) = &letter.error {
                text.push_str(&format!("    error: {error}\n"));
            }
        }
    }
    text
}

fn replayed(letter: &DeadLetter) -> String {
    format!(
        "replayed {} job {} (reference {})",
        letter.kind,
        letter.id,
        letter.key.as_deref().unwrap_or("(none)")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_every_kind_and_each_job_with_its_reference_death_and_error() {
        let letters = [DeadLetter {
            kind: "launch",
            id: "01KBXYZ".to_owned(),
            key: Some("slack:T1:trigger-1".to_owned()),
            died_at: time::OffsetDateTime::from_unix_timestamp(1_796_000_000).ok(),
            error: Some("AWS refused the launch: InvalidParameterValue".to_owned()),
        }];
        assert_eq!(
            list(&letters),
            "launch: 1 dead-lettered\n  \
             01KBXYZ  reference slack:T1:trigger-1  died 2026-11-30T00:53:20Z\n    \
             error: AWS refused the launch: InvalidParameterValue\n\
             command: no dead-lettered jobs\n\
             action: no dead-lettered jobs\n\
             verification: no dead-lettered jobs\n"
        );
    }
}
