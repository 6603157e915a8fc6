//! The `/cws` slash-command grammar: turns the text people type after `/cws` into a typed
//! [`Command`], or a [`ParseError`] that names the offending token and carries the usage line
//! of the command being parsed.
//!
//! Every command is one row of [`COMMANDS`]: the words that select it, its usage line, a
//! summary, documented arguments and flags, and the function that reads its arguments. The
//! parser resolves the leading words against that table and help is rendered from it, so the
//! grammar and its documentation cannot drift apart. Each command family lives in its own file
//! with its grammar in the doc comments and its tests below it.

mod args;
mod audit;
mod collaboration;
mod discord;
mod error;
mod help;
mod launch;
mod lexer;
mod policy;
mod preserve;
mod profiles;
mod project;
mod templates;
mod values;
mod volume;
mod workspace;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use args::CommandSpec;
use lexer::{Lexer, Token};

pub use audit::{AuditCollaboration, AuditCommand, AuditExport, ExportFormat};
pub use collaboration::{
    CollaborationCommand, CollaborationEnd, CollaborationExport, CollaborationReport,
};
pub use discord::{DISCORD_ARGS_OPTION, DISCORD_COMMAND, discord_command, discord_command_line};
pub use error::{InvalidReason, ParseError, ParseErrorKind};
pub use help::{Help, help_text};
pub use launch::Launch;
pub use policy::PolicyCommand;
pub use preserve::{AccountRef, HomePath, PreserveCommand};
pub use profiles::{
    InvitationCreate, InvitationCreateCollaboration, InvitationType, PolicyRestrictions,
    ProfilesCommand,
};
pub use project::{
    ChargebackMode, CostBreakdown, IdleAction, InstitutionAccount, LimitAction, PersonRef,
    ProjectApprovers, ProjectBudget, ProjectChargeback, ProjectCommand, ProjectCost, ProjectCreate,
    ProjectIdle, ProjectReconcile, ProjectStatus, ProjectType,
};
pub use templates::TemplatesCommand;
pub use values::{
    AwsAccountId, Date, HourlyRate, INSTITUTION_RULE, Institution, InvalidFormat, InvalidName,
    InvitationName, Months, NAME_MAX_LEN, NameKind, NameProblem, ProfileName, ProjectName,
    RESERVED_NAMES, SnapshotName, TimeZoneName, UsdCents, WorkspaceName, YearMonth,
};
/// Value readers the collaborators CSV shares with the flags it mirrors.
pub(crate) use values::{hourly_rate, instance_type};
pub use volume::{AccessMode, CrossAccountAccess, VolumeCommand, VolumeCreate};
pub use workspace::{WorkspaceCommand, WorkspaceList};

/// A parsed `/cws` command, one variant per command family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Launch(Launch),
    Workspace(WorkspaceCommand),
    Project(ProjectCommand),
    Profiles(ProfilesCommand),
    Volume(VolumeCommand),
    Audit(AuditCommand),
    Collaboration(CollaborationCommand),
    Policy(PolicyCommand),
    Preserve(PreserveCommand),
    Templates(TemplatesCommand),
    Help(Help),
}

impl Command {
    /// The canonical command path, e.g. `launch`, `project create`,
    /// `profiles invitations accept`.
    pub fn name(&self) -> &'static str {
        self.spec().name
    }

    fn spec(&self) -> &'static CommandSpec {
        match self {
            Command::Launch(_) => &launch::LAUNCH,
            Command::Workspace(command) => command.spec(),
            Command::Project(command) => command.spec(),
            Command::Profiles(command) => command.spec(),
            Command::Volume(command) => command.spec(),
            Command::Audit(command) => command.spec(),
            Command::Collaboration(command) => command.spec(),
            Command::Policy(command) => command.spec(),
            Command::Preserve(command) => command.spec(),
            Command::Templates(command) => command.spec(),
            Command::Help(_) => &help::HELP,
        }
    }
}

/// Every command, in the order `/cws help` lists them. No name is a prefix of another, so the
/// leading words of a command line select at most one row.
static COMMANDS: &[&CommandSpec] = &[
    &launch::LAUNCH,
    &workspace::LIST,
    &workspace::STATUS,
    &workspace::START,
    &workspace::STOP,
    &workspace::HIBERNATE,
    &workspace::RESUME,
    &workspace::TERMINATE,
    &workspace::SSH,
    &preserve::SNAPSHOT_CREATE,
    &preserve::SNAPSHOT_LIST,
    &preserve::SNAPSHOT_DELETE,
    &preserve::TRANSFER,
    &preserve::DOWNLOAD,
    &workspace::CONNECT,
    &workspace::INFO,
    &project::CREATE,
    &project::STATUS,
    &project::COST,
    &project::CHARGEBACK,
    &project::RECONCILE,
    &project::BUDGET,
    &project::IDLE,
    &project::APPROVERS,
    &project::ARCHIVE,
    &profiles::USE,
    &profiles::SWITCH,
    &profiles::LIST,
    &policy::PROFILES_CURRENT,
    &policy::PROFILES_POLICY_SHOW,
    &policy::PROFILES_POLICY_TEST,
    &profiles::VERIFY,
    &profiles::INVITATIONS_CREATE,
    &profiles::INVITATIONS_CREATE_COLLABORATION,
    &profiles::INVITATIONS_ACCEPT,
    &profiles::ACCEPT_INVITATION,
    &profiles::INVITATIONS_LIST,
    &profiles::INVITATIONS_REVOKE,
    &profiles::INVITATIONS_EXTEND,
    &profiles::SSH_KEY_ADD,
    &profiles::SSH_KEY_ROTATE,
    &volume::CREATE,
    &volume::MOUNT,
    &volume::LIST,
    &volume::STATUS,
    &volume::HOMES,
    &audit::COLLABORATION,
    &audit::VERIFY,
    &collaboration::END,
    &collaboration::EXPORT,
    &collaboration::REPORT,
    &collaboration::TRANSFER_SNAPSHOTS,
    &policy::SHOW,
    &policy::TEST,
    &templates::LIST,
    &templates::SHOW,
    &templates::PROPOSE,
    &help::HELP,
];

/// Parses the text after `/cws`. Surrounding whitespace is ignored; empty text is a request
/// for help. A leading `cws` is skipped so lines pasted from the CLI documentation work.
pub fn parse(text: &str) -> Result<Command, ParseError> {
    let mut lexer = Lexer::new(text);
    let mut tokens = Vec::new();
    let mut lexed = Ok(());
    while lexed.is_ok() && tokens.is_empty() && !lexer.rest().is_empty() {
        lexed = lexer.line_into(&mut tokens);
    }
    if tokens
        .first()
        .is_some_and(|first| !first.quoted && matches!(first.text.as_str(), "cws" | "/cws"))
    {
        tokens.remove(0);
    }
    let mut resolution = resolve(&command_words(leading(&tokens)));
    // Command words may continue on the next line; only a resolved command decides whether
    // later lines are words or a body.
    while lexed.is_ok() && matches!(resolution, Resolution::Group) && !lexer.rest().is_empty() {
        lexed = lexer.line_into(&mut tokens);
        resolution = resolve(&command_words(leading(&tokens)));
    }
    if let Err(error) = lexed {
        return Err(match resolution {
            Resolution::Command(spec) => error.with_usage(spec.usage),
            _ => error,
        });
    }
    match resolution {
        Resolution::Command(spec) => {
            let args = tokens.split_off(spec.depth());
            parse_command(spec, args, &mut lexer).map_err(|error| error.with_usage(spec.usage))
        }
        Resolution::Group => Ok(Command::Help(Help {
            topic: help_topic(&command_words(&tokens)),
        })),
        Resolution::Unknown { at, .. } if is_help_flag(&tokens[at]) => Ok(Command::Help(Help {
            topic: help_topic(&command_words(&tokens[..at])),
        })),
        Resolution::Unknown { at, suggestion } => {
            let typed: Vec<&str> = tokens[..=at]
                .iter()
                .map(|token| token.text.as_str())
                .collect();
            Err(ParseError::at(
                ParseErrorKind::UnknownCommand {
                    typed: typed.join(" "),
                    suggestion,
                },
                tokens[at].text.as_str(),
            ))
        }
    }
}

fn parse_command(
    spec: &'static CommandSpec,
    mut tokens: Vec<Token>,
    lexer: &mut Lexer<'_>,
) -> Result<Command, ParseError> {
    let body = if spec.takes_body {
        Some(lexer.rest().trim())
            .filter(|body| !body.is_empty())
            .map(str::to_owned)
    } else {
        while !lexer.rest().is_empty() {
            lexer.line_into(&mut tokens)?;
        }
        None
    };
    if tokens.iter().any(is_help_flag) {
        return Ok(Command::Help(Help {
            topic: Some(spec.name.to_owned()),
        }));
    }
    let mut args = args::Args::new(spec, tokens, body)?;
    let command = (spec.parse)(&mut args)?;
    args.finish()?;
    Ok(command)
}

/// `--help` anywhere asks for help on the command typed so far.
fn is_help_flag(token: &Token) -> bool {
    !token.quoted && token.text.eq_ignore_ascii_case("--help")
}

fn help_topic(words: &[Cow<'_, str>]) -> Option<String> {
    (!words.is_empty()).then(|| words.join(" "))
}

/// Words as the command table spells them: lowercase (phones capitalise the first word), and
/// `profile` read as `profiles` because the CLI documentation uses both.
fn command_words<T: AsRef<str>>(words: &[T]) -> Vec<Cow<'_, str>> {
    words
        .iter()
        .enumerate()
        .map(|(index, word)| {
            let word = word.as_ref();
            let word = if word
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
            {
                Cow::Borrowed(word)
            } else {
                Cow::Owned(word.to_lowercase())
            };
            match word {
                word if index == 0 && word == "profile" => Cow::Borrowed("profiles"),
                word => word,
            }
        })
        .collect()
}

/// What the leading words of a command line select in [`COMMANDS`].
enum Resolution {
    /// The first `depth()` words name this command; the rest are its arguments.
    Command(&'static CommandSpec),
    /// The words (possibly none) are a group such as `project` or `profiles invitations`.
    Group,
    /// Word `at` continues no command; `suggestion` is the closest command path that would.
    Unknown {
        at: usize,
        suggestion: Option<&'static str>,
    },
}

/// Each command's name split into its words, once: every request resolves its words
/// against all of them.
static COMMAND_PATHS: std::sync::LazyLock<Vec<(Vec<&'static str>, &'static CommandSpec)>> =
    std::sync::LazyLock::new(|| {
        COMMANDS
            .iter()
            .map(|spec| (spec.words().collect(), *spec))
            .collect()
    });

/// The tokens that can be command words: no command name is longer, so [`resolve`] reads no
/// further (the rest are arguments, left as typed).
fn leading(tokens: &[Token]) -> &[Token] {
    static LONGEST: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
        COMMAND_PATHS
            .iter()
            .map(|(path, _)| path.len())
            .max()
            .unwrap_or(0)
    });
    &tokens[..tokens.len().min(*LONGEST)]
}

fn resolve<T: AsRef<str>>(words: &[T]) -> Resolution {
    let mut depth = 0;
    loop {
        let under = || {
            COMMAND_PATHS.iter().filter(move |(path, _)| {
                path.len() >= depth
                    && path
                        .iter()
                        .zip(&words[..depth])
                        .all(|(a, b)| *a == b.as_ref())
            })
        };
        if let Some((_, spec)) = under().find(|(path, _)| path.len() == depth) {
            return Resolution::Command(spec);
        }
        let Some(word) = words.get(depth).map(AsRef::as_ref) else {
            return Resolution::Group;
        };
        if !under().any(|(path, _)| path.get(depth) == Some(&word)) {
            let candidates = under().filter_map(|(path, spec)| {
                let next = *path.get(depth)?;
                Some((next, path_prefix(spec.name, depth + 1)))
            });
            return Resolution::Unknown {
                at: depth,
                suggestion: closest(word, candidates),
            };
        }
        depth += 1;
    }
}

/// The first `words` words of a command name: `path_prefix("project create", 1) == "project"`.
fn path_prefix(name: &'static str, words: usize) -> &'static str {
    name.match_indices(' ')
        .nth(words - 1)
        .map_or(name, |(end, _)| &name[..end])
}

/// The value whose key is closest to `word`, within two edits; ties go to the first.
pub(crate) fn closest<'a, T>(
    word: &str,
    candidates: impl IntoIterator<Item = (&'a str, T)>,
) -> Option<T> {
    candidates
        .into_iter()
        .map(|(key, value)| (edit_distance(word, key), value))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, value)| value)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
