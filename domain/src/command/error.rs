//! Typed parse errors. Every error names the offending token when there is one and, once the
//! command being parsed is known, carries that command's usage line so the bot can show both.

use crate::template::UnknownSize;

use super::values::{Date, InvalidName};

/// Why the text after `/cws` is not a command. `Display` is a one-line message for the user
/// that names the bad token; the bot shows [`ParseError::usage`] under it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.kind, .token.as_deref()))]
pub struct ParseError {
    kind: ParseErrorKind,
    token: Option<String>,
    usage: Option<&'static str>,
}

/// What went wrong. Flag names are stored without their leading `--`; the offending text
/// itself is [`ParseError::token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A quote was opened and never closed. `position` counts characters from 1 and points at
    /// the opening quote; the token is the word it starts, up to the end of its line.
    UnterminatedQuote { position: usize },
    /// The words typed (`typed`, e.g. `project creat`) are not a command; the token is the first
    /// word that matched nothing. `suggestion` is the closest command within two edits.
    UnknownCommand {
        typed: String,
        suggestion: Option<&'static str>,
    },
    /// A positional argument such as `NAME` is missing.
    MissingArgument { name: &'static str },
    /// A word was left over after every positional argument was taken.
    UnexpectedArgument,
    /// The command has no such flag; `suggestion` is the closest flag it does have.
    UnknownFlag { suggestion: Option<&'static str> },
    /// The same flag was given twice; the token is the second one.
    DuplicateFlag,
    /// A required flag such as `--budget` is absent.
    MissingFlag { flag: &'static str },
    /// A flag that takes a value was followed by nothing or by another flag.
    MissingFlagValue,
    /// Two flags (or a flag and an argument) that exclude each other; the token is the later
    /// one and `other` the earlier one, both as typed.
    ConflictingFlags { other: String },
    /// A positional argument is malformed.
    InvalidArgument {
        name: &'static str,
        reason: InvalidReason,
    },
    /// A flag's value is malformed.
    InvalidValue { flag: String, reason: InvalidReason },
}

/// Why a value was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidReason {
    /// An empty string where text is needed (`""`).
    Empty,
    /// The text does not have the expected shape; `expected` completes "expects …", e.g.
    /// "a date as YYYY-MM-DD".
    Format {
        expected: &'static str,
    },
    /// A whole number outside the accepted range.
    OutOfRange {
        min: u64,
        max: u64,
    },
    /// A money amount above the most that is accepted; `max` as the message shows it,
    /// e.g. `$1,000,000.00`.
    AboveMaximum {
        max: String,
    },
    /// A money amount with more decimal places than its unit can hold.
    TooManyDecimals {
        max: u8,
    },
    /// Not one of a fixed set of words; `what` names the set, e.g. "invitation type".
    UnknownChoice {
        what: &'static str,
        choices: Vec<&'static str>,
    },
    /// A workspace, project, profile or invitation name that breaks the naming rule.
    Name(InvalidName),
    Size(UnknownSize),
    /// A cross-account access entry names an account without saying read-only or read-write.
    MissingAccessMode,
    /// An account is given both read-only and read-write access.
    ConflictingAccessModes,
    /// A list flag whose value holds no items (`--forbidden-regions ","`).
    EmptyList,
    /// An end date earlier than the start date it goes with.
    EndBeforeStart {
        start: Date,
    },
    /// A pasted SSH public key that is not a sound one.
    SshKey(crate::ssh_key::BadSshKey),
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind) -> Self {
        ParseError {
            kind,
            token: None,
            usage: None,
        }
    }

    pub(crate) fn at(kind: ParseErrorKind, token: impl Into<String>) -> Self {
        ParseError {
            kind,
            token: Some(token.into()),
            usage: None,
        }
    }

    /// Attaches the usage line of the command being parsed, unless an inner parse already did.
    pub(crate) fn with_usage(mut self, usage: &'static str) -> Self {
        self.usage.get_or_insert(usage);
        self
    }

    /// The usage line of the command being parsed, e.g.
    /// `/cws launch TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]`;
    /// `None` when the command itself could not be identified.
    pub fn usage(&self) -> Option<&'static str> {
        self.usage
    }

    /// The offending text as typed (a word, a flag, or a flag's value), if there is one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

fn describe(kind: &ParseErrorKind, token: Option<&str>) -> String {
    let token = token.unwrap_or_default();
    match kind {
        ParseErrorKind::UnterminatedQuote { position } => format!(
            "unterminated quote in `{token}` (the quote at character {position} is never closed)"
        ),
        ParseErrorKind::UnknownCommand { typed, suggestion } => {
            match (suggestion, typed.rsplit_once(' ')) {
                (Some(suggestion), _) => {
                    format!("unknown command `{typed}`: did you mean `/cws {suggestion}`?")
                }
                (None, Some((family, _))) => {
                    format!(
                        "unknown command `{typed}`: type `/cws help {family}` to see its commands"
                    )
                }
                (None, None) => {
                    format!("unknown command `{typed}`: type `/cws help` to see every command")
                }
            }
        }
        ParseErrorKind::MissingArgument { name } => format!("missing argument {name}"),
        ParseErrorKind::UnexpectedArgument => format!("unexpected argument `{token}`"),
        ParseErrorKind::UnknownFlag {
            suggestion: Some(suggestion),
        } => format!("unknown flag `{token}`: did you mean `--{suggestion}`?"),
        ParseErrorKind::UnknownFlag { suggestion: None } => format!("unknown flag `{token}`"),
        ParseErrorKind::DuplicateFlag => format!("flag `{token}` is given more than once"),
        ParseErrorKind::MissingFlag { flag } => format!("missing required flag `--{flag}`"),
        ParseErrorKind::MissingFlagValue => format!("flag `{token}` needs a value"),
        ParseErrorKind::ConflictingFlags { other } => {
            format!("`{token}` cannot be combined with `{other}`")
        }
        ParseErrorKind::InvalidArgument { name, reason } => reason.describe(name, token),
        ParseErrorKind::InvalidValue { flag, reason } => {
            reason.describe(&format!("--{flag}"), token)
        }
    }
}

impl InvalidReason {
    /// The message for `token`, given as `subject` (a flag such as `--budget` or an argument
    /// such as `NAME`).
    fn describe(&self, subject: &str, token: &str) -> String {
        match self {
            InvalidReason::Empty => format!("{subject} must not be empty"),
            InvalidReason::Format { expected } => {
                format!("{subject} expects {expected}, got `{token}`")
            }
            InvalidReason::OutOfRange { min, max } => {
                format!("{subject} must be between {min} and {max}, got `{token}`")
            }
            InvalidReason::AboveMaximum { max } => {
                format!("{subject} is at most {max}, got `{token}`")
            }
            InvalidReason::TooManyDecimals { max } => {
                format!("{subject} takes at most {max} decimal places, got `{token}`")
            }
            InvalidReason::UnknownChoice { what, choices } => {
                format!(
                    "unknown {what} `{token}`: choose one of {}",
                    choices.join(", ")
                )
            }
            InvalidReason::Name(error) => error.to_string(),
            InvalidReason::Size(error) => error.to_string(),
            InvalidReason::MissingAccessMode => format!(
                "account `{token}` has no access mode: write `{token}:read-only` or \
                 `{token}:read-write`, or list it in --read-only-for or --read-write-for"
            ),
            InvalidReason::ConflictingAccessModes => {
                format!("account `{token}` is given both read-only and read-write access")
            }
            InvalidReason::EmptyList => format!("{subject} needs at least one item"),
            InvalidReason::EndBeforeStart { start } => {
                format!("{subject} `{token}` is before the start date {start}")
            }
            InvalidReason::SshKey(error) => format!("{subject}: {error}"),
        }
    }
}
