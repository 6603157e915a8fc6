//! What each command accepts (its row in the command table) and the reader that checks the
//! words after the command name against it.
//!
//! [`Args::new`] sorts words into positional arguments and flags, rejecting unknown, repeated
//! and value-less flags; each command's parse function then takes what it needs through typed
//! accessors, which turn bad values into errors naming the value.

use std::cell::Cell;
use std::collections::VecDeque;

use super::Command;
use super::closest;
use super::error::{InvalidReason, ParseError, ParseErrorKind};
use super::lexer::Token;
use super::values::boolean;

/// One row of the command table: the parser resolves words to it and help is rendered from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommandSpec {
    /// The words that select the command, e.g. `project create`; also [`Command::name`].
    pub(crate) name: &'static str,
    pub(crate) usage: &'static str,
    /// One line, shown in `/cws help`.
    pub(crate) summary: &'static str,
    pub(crate) arguments: &'static [ArgSpec],
    pub(crate) flags: &'static [FlagSpec],
    /// Lines after the first are a body kept verbatim (a pasted CSV), not more words.
    pub(crate) takes_body: bool,
    pub(crate) parse: fn(&mut Args) -> Result<Command, ParseError>,
}

impl CommandSpec {
    pub(crate) fn words(&self) -> impl Iterator<Item = &'static str> {
        self.name.split(' ')
    }

    /// How many words the command name has.
    pub(crate) fn depth(&self) -> usize {
        self.words().count()
    }
}

/// A positional argument, documented in help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArgSpec {
    pub(crate) name: &'static str,
    pub(crate) doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlagSpec {
    pub(crate) name: FlagName,
    pub(crate) value: FlagValue,
    pub(crate) doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagName {
    /// `--name`, matched case-insensitively.
    Exact(&'static str),
    /// `--SLUG<suffix>` for any lowercase slug, such as `--mit-account`; `placeholder` stands
    /// for the slug in help.
    Pattern {
        placeholder: &'static str,
        suffix: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagValue {
    /// On when given bare; also takes an explicit `true`/`false` (`--can-invite false`).
    Switch,
    /// Exactly one value, `--flag VALUE` or `--flag=VALUE`; the text names it in help.
    One(&'static str),
    /// One or more values up to the next flag, each possibly a comma-separated list.
    Many(&'static str),
}

impl FlagName {
    fn matches(self, name: &str) -> bool {
        match self {
            FlagName::Exact(exact) => exact == name,
            FlagName::Pattern { suffix, .. } => name.strip_suffix(suffix).is_some_and(is_slug),
        }
    }
}

fn is_slug(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl FlagSpec {
    /// How the flag is written in usage lines and help, e.g. `--size S|M|L|XL`.
    pub(crate) fn synopsis(&self) -> String {
        let name = match self.name {
            FlagName::Exact(name) => format!("--{name}"),
            FlagName::Pattern {
                placeholder,
                suffix,
            } => format!("--{placeholder}{suffix}"),
        };
        match self.value {
            FlagValue::Switch => name,
            FlagValue::One(value) => format!("{name} {value}"),
            FlagValue::Many(value) => format!("{name} {value}..."),
        }
    }
}

/// A flag as given on the command line.
struct FlagUse {
    spec: &'static FlagSpec,
    /// Lowercased, without `--`: `size`, `mit-account`.
    name: String,
    /// As typed, for error messages: `--Size`.
    written: String,
    values: Vec<String>,
    /// Set when the parse function asks for the flag, so tests catch a declared flag that the
    /// parse function forgets to read.
    read: Cell<bool>,
}

/// The words after a command's name, sorted into positional arguments and flags.
pub(crate) struct Args {
    spec: &'static CommandSpec,
    positionals: VecDeque<String>,
    flags: Vec<FlagUse>,
    body: Option<String>,
}

impl Args {
    pub(crate) fn new(
        spec: &'static CommandSpec,
        tokens: Vec<Token>,
        body: Option<String>,
    ) -> Result<Self, ParseError> {
        let mut positionals = VecDeque::new();
        let mut flags: Vec<FlagUse> = Vec::new();
        let mut tokens = tokens.into_iter().peekable();
        while let Some(token) = tokens.next() {
            let Some((written_name, inline)) = token.flag() else {
                positionals.push_back(token.text);
                continue;
            };
            let written = format!("--{written_name}");
            let name = written_name.to_lowercase();
            let inline = inline.map(str::to_owned);
            let Some(flag) = spec.flags.iter().find(|flag| flag.name.matches(&name)) else {
                let suggestion = closest(
                    &name,
                    spec.flags.iter().filter_map(|flag| match flag.name {
                        FlagName::Exact(exact) => Some((exact, exact)),
                        FlagName::Pattern { .. } => None,
                    }),
                );
                return Err(ParseError::at(
                    ParseErrorKind::UnknownFlag { suggestion },
                    written,
                ));
            };
            if flags.iter().any(|used| used.name == name) {
                return Err(ParseError::at(ParseErrorKind::DuplicateFlag, written));
            }
            if inline.as_deref() == Some("") {
                return Err(ParseError::at(ParseErrorKind::MissingFlagValue, written));
            }
            let mut values: Vec<String> = inline.into_iter().collect();
            match flag.value {
                FlagValue::Switch => {
                    let explicit = |next: &Token| !next.is_flag() && boolean(&next.text).is_ok();
                    if values.is_empty()
                        && let Some(next) = tokens.next_if(explicit)
                    {
                        values.push(next.text);
                    }
                }
                FlagValue::One(_) | FlagValue::Many(_) => {
                    if values.is_empty() {
                        match tokens.next_if(|next| !next.is_flag()) {
                            Some(next) => values.push(next.text),
                            None => {
                                return Err(ParseError::at(
                                    ParseErrorKind::MissingFlagValue,
                                    written,
                                ));
                            }
                        }
                    }
                    if matches!(flag.value, FlagValue::Many(_)) {
                        while let Some(next) = tokens.next_if(|next| !next.is_flag()) {
                            values.push(next.text);
                        }
                    }
                }
            }
            flags.push(FlagUse {
                spec: flag,
                name,
                written,
                values,
                read: Cell::new(false),
            });
        }
        Ok(Args {
            spec,
            positionals,
            flags,
            body,
        })
    }

    /// The next positional argument, parsed; `MissingArgument` when there is none.
    pub(crate) fn positional<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, InvalidReason>,
    ) -> Result<T, ParseError> {
        self.optional_positional(name, parse)?
            .ok_or_else(|| ParseError::new(ParseErrorKind::MissingArgument { name }))
    }

    pub(crate) fn optional_positional<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, InvalidReason>,
    ) -> Result<Option<T>, ParseError> {
        debug_assert!(
            self.spec.arguments.iter().any(|arg| arg.name == name),
            "argument {name} is not declared for `{}`",
            self.spec.name
        );
        let Some(text) = self.positionals.pop_front() else {
            return Ok(None);
        };
        parse(&text).map(Some).map_err(|reason| {
            ParseError::at(ParseErrorKind::InvalidArgument { name, reason }, text)
        })
    }

    /// Takes every positional argument left, for commands whose arguments are free words.
    pub(crate) fn rest_positionals(&mut self) -> Vec<String> {
        self.positionals.drain(..).collect()
    }

    fn find(&self, flag: &'static str) -> Option<&FlagUse> {
        debug_assert!(
            self.spec
                .flags
                .iter()
                .any(|spec| spec.name == FlagName::Exact(flag)),
            "flag --{flag} is not declared for `{}`",
            self.spec.name
        );
        let used = self
            .flags
            .iter()
            .find(|used| used.spec.name == FlagName::Exact(flag))?;
        used.read.set(true);
        Some(used)
    }

    /// The flag's value, parsed, or `None` when the flag is absent.
    pub(crate) fn value<T>(
        &self,
        flag: &'static str,
        parse: impl FnOnce(&str) -> Result<T, InvalidReason>,
    ) -> Result<Option<T>, ParseError> {
        let Some(used) = self.find(flag) else {
            return Ok(None);
        };
        let text = used.values.join(" ");
        parse(&text)
            .map(Some)
            .map_err(|reason| invalid(flag, reason, text))
    }

    /// Like [`Args::value`], with `MissingFlag` when the flag is absent.
    pub(crate) fn required<T>(
        &self,
        flag: &'static str,
        parse: impl FnOnce(&str) -> Result<T, InvalidReason>,
    ) -> Result<T, ParseError> {
        self.value(flag, parse)?
            .ok_or_else(|| ParseError::new(ParseErrorKind::MissingFlag { flag }))
    }

    /// A switch: `None` when absent, `Some(true)` when bare, else its explicit value.
    pub(crate) fn switch(&self, flag: &'static str) -> Result<Option<bool>, ParseError> {
        let Some(used) = self.find(flag) else {
            return Ok(None);
        };
        match used.values.first() {
            None => Ok(Some(true)),
            Some(text) => boolean(text)
                .map(Some)
                .map_err(|reason| invalid(flag, reason, text.as_str())),
        }
    }

    /// A switch that defaults to off.
    pub(crate) fn enabled(&self, flag: &'static str) -> Result<bool, ParseError> {
        Ok(self.switch(flag)?.unwrap_or(false))
    }

    /// The items of a list flag: its values split on commas and trimmed, empty items dropped.
    /// Empty when the flag is absent; `EmptyList` when it is given without any item.
    pub(crate) fn list_items(&self, flag: &'static str) -> Result<Vec<String>, ParseError> {
        let Some(used) = self.find(flag) else {
            return Ok(Vec::new());
        };
        let items: Vec<String> = used
            .values
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect();
        if items.is_empty() {
            return Err(invalid(
                flag,
                InvalidReason::EmptyList,
                used.values.join(" "),
            ));
        }
        Ok(items)
    }

    /// The items of a list flag, each parsed; a bad item is the error's token.
    pub(crate) fn list<T>(
        &self,
        flag: &'static str,
        parse: impl Fn(&str) -> Result<T, InvalidReason>,
    ) -> Result<Vec<T>, ParseError> {
        self.list_items(flag)?
            .into_iter()
            .map(|item| parse(&item).map_err(|reason| invalid(flag, reason, item)))
            .collect()
    }

    /// The flag as typed (`--by-user`), or `None` when absent.
    pub(crate) fn written(&self, flag: &'static str) -> Option<&str> {
        self.find(flag).map(|used| used.written.as_str())
    }

    /// Fails when both flags are given, naming the one typed last.
    pub(crate) fn exclusive(
        &self,
        first: &'static str,
        second: &'static str,
    ) -> Result<(), ParseError> {
        let position = |flag| {
            self.flags
                .iter()
                .position(|used| used.spec.name == FlagName::Exact(flag))
        };
        let (Some(_), Some(_)) = (self.written(first), self.written(second)) else {
            return Ok(());
        };
        let (a, b) = (position(first), position(second));
        let (earlier, later) = if a < b {
            (first, second)
        } else {
            (second, first)
        };
        Err(ParseError::at(
            ParseErrorKind::ConflictingFlags {
                other: self.written(earlier).unwrap_or_default().to_owned(),
            },
            self.written(later).unwrap_or_default(),
        ))
    }

    /// Every use of a pattern flag, as (slug, parsed value) in the order typed:
    /// `--mit-account 123456789012` gives `("mit", …)`.
    pub(crate) fn pattern<T>(
        &self,
        suffix: &'static str,
        parse: impl Fn(&str) -> Result<T, InvalidReason>,
    ) -> Result<Vec<(String, T)>, ParseError> {
        debug_assert!(
            self.spec.flags.iter().any(
                |spec| matches!(spec.name, FlagName::Pattern { suffix: s, .. } if s == suffix)
            ),
            "pattern flag *{suffix} is not declared for `{}`",
            self.spec.name
        );
        self.flags
            .iter()
            .filter(
                |used| matches!(used.spec.name, FlagName::Pattern { suffix: s, .. } if s == suffix),
            )
            .map(|used| {
                used.read.set(true);
                let slug = used
                    .name
                    .strip_suffix(suffix)
                    .unwrap_or_default()
                    .to_owned();
                let text = used.values.join(" ");
                match parse(&text) {
                    Ok(value) => Ok((slug, value)),
                    Err(reason) => Err(invalid(&used.name, reason, text)),
                }
            })
            .collect()
    }

    /// The pasted body, for commands that take one.
    pub(crate) fn body(&mut self) -> Option<String> {
        self.body.take()
    }

    /// Fails on a positional argument nobody took.
    pub(crate) fn finish(mut self) -> Result<(), ParseError> {
        debug_assert!(
            self.flags.iter().all(|used| used.read.get()),
            "`{}` declares a flag its parse function never reads",
            self.spec.name
        );
        match self.positionals.pop_front() {
            Some(extra) => Err(ParseError::at(ParseErrorKind::UnexpectedArgument, extra)),
            None => Ok(()),
        }
    }
}

/// An `InvalidValue` error for `flag` (without `--`), naming `token`.
pub(crate) fn invalid(flag: &str, reason: InvalidReason, token: impl Into<String>) -> ParseError {
    ParseError::at(
        ParseErrorKind::InvalidValue {
            flag: flag.to_owned(),
            reason,
        },
        token,
    )
}
