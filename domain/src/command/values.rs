//! Value types that arguments and flags parse into, and the small checks behind them.
//!
//! Money is held in integers so budgets and price limits compare exactly; dates are validated
//! by hand because the domain crate has no date library and only needs shape and calendar checks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::InvalidReason;
use crate::pricing::Money;

/// The longest name accepted for a workspace, project, profile or invitation: a DNS label,
/// because workspace names end up in hostnames, and the other names in the same AWS tags,
/// S3 keys and Redis keys.
pub const NAME_MAX_LEN: usize = 63;

/// What a name names. Every kind follows one rule (lowercase ASCII letters, digits and `-`,
/// starting with a letter or digit, at most [`NAME_MAX_LEN`] characters), so a name can never
/// carry a key separator (`:`), a formula (`=`), or text that reads as the deployment's own
/// (`~identity`); projects, profiles and invitations also refuse [`RESERVED_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    Workspace,
    Project,
    Profile,
    Invitation,
    Snapshot,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Workspace => "workspace",
            NameKind::Project => "project",
            NameKind::Profile => "profile",
            NameKind::Invitation => "invitation",
            NameKind::Snapshot => "snapshot",
        }
    }
}

/// Names a project, profile or invitation may not take, because the system already gives
/// them a meaning and a collaborator's name would be read as the system's:
/// - `identity`, `system`, `deployment`, `cws`: the deployment's own records (its identity
///   audit chain is `~identity`; tags and keys start with `cws`);
/// - `owner`: the `cws:invitation` tag of an owner's own workspaces, so an invitation of that
///   name would be billed as the owner in Cost Explorer;
/// - `admin`, `lead`, `member`: roles and the default account name, which a profile or
///   invitation named so would seem to grant;
/// - `all`, `any`, `none`, `default`, `help`: words that read as a selector or a request
///   rather than as one name.
pub const RESERVED_NAMES: &[&str] = &[
    "identity",
    "system",
    "deployment",
    "cws",
    "owner",
    "admin",
    "lead",
    "member",
    "all",
    "any",
    "none",
    "default",
    "help",
];

/// Checks `s` against the rule for `kind`.
fn check_name(kind: NameKind, s: &str) -> Result<(), InvalidName> {
    let problem = if s.is_empty() {
        Some(NameProblem::Empty)
    } else if let Some(c) = s.chars().find(|c| !is_name_char(*c)) {
        Some(NameProblem::BadChar(c))
    } else if s.starts_with('-') {
        Some(NameProblem::BadStart('-'))
    } else if s.len() > NAME_MAX_LEN {
        Some(NameProblem::TooLong { length: s.len() })
    } else if !matches!(kind, NameKind::Workspace | NameKind::Snapshot)
        && RESERVED_NAMES.contains(&s)
    {
        Some(NameProblem::Reserved)
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(InvalidName {
            kind,
            name: s.to_owned(),
            problem,
        }),
    }
}

/// A name type: only constructed through [`check_name`], including when deserialized.
macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $reader:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                check_name($kind, s).map(|()| $name(s.to_owned()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidName;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                check_name($kind, &s).map(|()| $name(s))
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> Self {
                name.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        /// An argument or flag value of this kind.
        pub(crate) fn $reader(s: &str) -> Result<$name, InvalidReason> {
            s.parse().map_err(InvalidReason::Name)
        }
    };
}

name_type!(
    /// A workspace name (see [`NameKind`]); no name is reserved, since a workspace name
    /// only ever stands for that workspace.
    WorkspaceName,
    NameKind::Workspace,
    workspace_name
);
name_type!(
    /// A project name (see [`NameKind`]): part of Redis keys, S3 keys, AWS tags and every
    /// chargeback statement.
    ProjectName,
    NameKind::Project,
    project_name
);
name_type!(
    /// A profile name (see [`NameKind`]); a project's owner gets a profile named after the
    /// project, so the two follow the same rule.
    ProfileName,
    NameKind::Profile,
    profile_name
);
name_type!(
    /// An invitation name (see [`NameKind`]), typed or made from an institution in the
    /// collaborators CSV.
    InvitationName,
    NameKind::Invitation,
    invitation_name
);
name_type!(
    /// A snapshot name (see [`NameKind`]), unique in the deployment like a workspace's, and
    /// like it reserving nothing: it only ever stands for that snapshot.
    SnapshotName,
    NameKind::Snapshot,
    snapshot_name
);

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// A string that is not a valid name of its kind; the message states the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct InvalidName {
    pub kind: NameKind,
    pub name: String,
    pub problem: NameProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    /// Length in bytes; every accepted character is one byte.
    TooLong {
        length: usize,
    },
    BadStart(char),
    BadChar(char),
    /// One of [`RESERVED_NAMES`].
    Reserved,
}

impl InvalidName {
    fn message(&self) -> String {
        let (kind, name) = (self.kind.as_str(), &self.name);
        match self.problem {
            NameProblem::Empty => format!("{kind} name must not be empty"),
            NameProblem::TooLong { length } => format!(
                "invalid {kind} name: it is {length} characters long, \
                 at most {NAME_MAX_LEN} are allowed"
            ),
            NameProblem::BadStart(c) => format!(
                "invalid {kind} name `{name}`: it must start with a lowercase letter or digit, not `{c}`"
            ),
            NameProblem::BadChar(c) => {
                let hint = self
                    .fixed()
                    .map(|fixed| format!(" (try `{fixed}`)"))
                    .unwrap_or_default();
                format!(
                    "invalid {kind} name `{name}`: `{c}` is not allowed, \
                     use lowercase letters, digits and '-'{hint}"
                )
            }
            NameProblem::Reserved => format!(
                "{kind} name `{name}` is reserved for the system's own use: choose another name"
            ),
        }
    }

    /// The name lowercased with each run of other characters turned into one `-`, when that
    /// yields a valid name: `My_Box` → `my-box`. Offered as a hint, never applied silently.
    fn fixed(&self) -> Option<String> {
        let mut fixed = String::new();
        for c in self.name.chars().map(|c| c.to_ascii_lowercase()) {
            if is_name_char(c) && c != '-' {
                fixed.push(c);
            } else if !fixed.is_empty() && !fixed.ends_with('-') {
                fixed.push('-');
            }
        }
        let fixed = fixed.trim_end_matches('-');
        check_name(self.kind, fixed)
            .is_ok()
            .then(|| fixed.to_owned())
    }
}

/// An amount of US dollars in whole cents, so sums and comparisons are exact. Typed with at
/// most two decimals (`5000`, `12.50`, `$99.99`), at most [`UsdCents::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UsdCents(pub u64);

impl UsdCents {
    /// The largest monthly budget or limit accepted: $1,000,000. A consortium's whole AWS
    /// footprint is far below it (a month of the largest EC2 instance is about $160,000),
    /// so anything above is a typo, and every sum and product of budgets, rates and hours
    /// stays far inside the ledger's 64-bit micro-dollars.
    pub const MAX: UsdCents = UsdCents(100_000_000);

    pub fn to_money(self) -> Money {
        Money::from_cents(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

/// A cost per hour in micro-dollars (`0.50` is `500_000`), the unit of `crate::pricing`, so a
/// limit compares exactly with a listed price. Typed with at most four decimals, the precision
/// of EC2 on-demand list prices such as `0.0416`; more is taken for a typo. At most
/// [`HourlyRate::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HourlyRate(pub u64);

impl HourlyRate {
    /// The largest hourly cap accepted: $1,000 an hour, several times the most expensive
    /// EC2 on-demand instance (about $400/h), so a real cap always fits and a typo does not.
    pub const MAX: HourlyRate = HourlyRate(1_000_000_000);

    pub fn to_money(self) -> Money {
        Money::from_micros(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

const AMOUNT: &str = "a dollar amount such as 5000 or 12.50";
const HOURLY: &str = "a dollar amount per hour such as 0.50";

pub(crate) fn usd_cents(s: &str) -> Result<UsdCents, InvalidReason> {
    let cents = fixed_point(s, 2, AMOUNT)?;
    if cents > UsdCents::MAX.0 {
        return Err(InvalidReason::AboveMaximum {
            max: UsdCents::MAX.to_money().to_string(),
        });
    }
    Ok(UsdCents(cents))
}

pub(crate) fn hourly_rate(s: &str) -> Result<HourlyRate, InvalidReason> {
    const MICROS_PER_TEN_THOUSANDTH: u64 = 100;
    let micros = fixed_point(s, 4, HOURLY)?.saturating_mul(MICROS_PER_TEN_THOUSANDTH);
    if micros > HourlyRate::MAX.0 {
        return Err(InvalidReason::AboveMaximum {
            max: format!("{}/h", HourlyRate::MAX.to_money()),
        });
    }
    Ok(HourlyRate(micros))
}

/// Parses `[$]digits[.digits]` into an integer count of `10^-decimals` units.
fn fixed_point(s: &str, decimals: u8, expected: &'static str) -> Result<u64, InvalidReason> {
    let bad = || InvalidReason::Format { expected };
    let digits = s.strip_prefix('$').unwrap_or(s);
    let (whole, fraction) = match digits.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some(parts) => parts,
        None => (digits, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(bad());
    }
    if fraction.len() > usize::from(decimals) {
        return Err(InvalidReason::TooManyDecimals { max: decimals });
    }
    let parse = |part: &str| match part {
        "" => Some(0),
        part => part.parse::<u64>().ok(),
    };
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let scale = 10u64.pow(u32::from(decimals));
    parse(whole)
        .and_then(|whole| whole.checked_mul(scale))
        .zip(parse(&padded))
        .and_then(|(whole, fraction)| whole.checked_add(fraction))
        .ok_or_else(bad)
}

/// A whole number of ASCII digits within `min..=max`.
pub(crate) fn number<T>(s: &str, min: T, max: T) -> Result<T, InvalidReason>
where
    T: TryFrom<u64> + Into<u64> + Copy,
{
    let (min, max) = (min.into(), max.into());
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidReason::Format {
            expected: "a whole number",
        });
    }
    let out_of_range = InvalidReason::OutOfRange { min, max };
    match s.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => T::try_from(n).map_err(|_| out_of_range),
        _ => Err(out_of_range),
    }
}

/// `true`/`false`, also `yes`/`no`, in any case.
pub(crate) fn boolean(s: &str) -> Result<bool, InvalidReason> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(InvalidReason::Format {
            expected: "true or false",
        }),
    }
}

/// Any non-empty text.
pub(crate) fn text(s: &str) -> Result<String, InvalidReason> {
    if s.is_empty() {
        Err(InvalidReason::Empty)
    } else {
        Ok(s.to_owned())
    }
}

/// One of a fixed set of words, matched case-insensitively.
pub(crate) fn choice<T: Copy>(
    s: &str,
    what: &'static str,
    table: &[(&'static str, T)],
) -> Result<T, InvalidReason> {
    table
        .iter()
        .find(|(word, _)| word.eq_ignore_ascii_case(s))
        .map(|(_, value)| *value)
        .ok_or_else(|| InvalidReason::UnknownChoice {
            what,
            choices: table.iter().map(|(word, _)| *word).collect(),
        })
}

/// An AWS region such as `us-east-1` or `us-gov-west-1`: two letters, one or more words, a
/// number, all lowercase and joined by `-`.
pub(crate) fn region(s: &str) -> Result<String, InvalidReason> {
    let parts: Vec<&str> = s.split('-').collect();
    let letters = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let valid = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(letters)
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if valid {
        Ok(s.to_owned())
    } else {
        Err(InvalidReason::Format {
            expected: "an AWS region such as us-east-1",
        })
    }
}

/// An EC2 instance type such as `t3.large` or `u-6tb1.metal` (family, a dot, size), or a
/// SageMaker one, which is `ml.` and an EC2 type (`ml.t3.medium`, `ml.p3.2xlarge`).
pub(crate) fn instance_type(s: &str) -> Result<String, InvalidReason> {
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    match s.strip_prefix("ml.").unwrap_or(s).split_once('.') {
        Some((family, size)) if part(family) && part(size) => Ok(s.to_owned()),
        _ => Err(InvalidReason::Format {
            expected: "an instance type such as t3.large, or a SageMaker one such as ml.t3.medium",
        }),
    }
}

/// A DNS domain such as `mit.edu`, stored lowercase so comparisons with e-mail domains work.
pub(crate) fn domain(s: &str) -> Result<String, InvalidReason> {
    let lower = s.to_ascii_lowercase();
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if lower.contains('.') && lower.split('.').all(label) {
        Ok(lower)
    } else {
        Err(InvalidReason::Format {
            expected: "a domain such as mit.edu",
        })
    }
}

/// A length of time in whole months, typed as `18-months` or `2-years` (1 month to 10 years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Months(pub u16);

pub(crate) fn months(s: &str) -> Result<Months, InvalidReason> {
    const MAX_MONTHS: u16 = 120;
    let bad = || InvalidReason::Format {
        expected: "a duration such as 18-months or 2-years, at most 10 years",
    };
    let lower = s.to_ascii_lowercase();
    let (count, unit) = lower.split_once('-').ok_or_else(bad)?;
    let per_unit: u16 = match unit {
        "month" | "months" => 1,
        "year" | "years" => 12,
        _ => return Err(bad()),
    };
    let count = number(count, 1, MAX_MONTHS / per_unit).map_err(|_| bad())?;
    Ok(Months(count * per_unit))
}

/// Text that does not have the shape a value type needs; `expected` reads "a date as
/// YYYY-MM-DD" and the like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not {expected}")]
pub struct InvalidFormat {
    pub text: String,
    pub expected: &'static str,
}

impl From<InvalidFormat> for InvalidReason {
    fn from(error: InvalidFormat) -> Self {
        InvalidReason::Format {
            expected: error.expected,
        }
    }
}

/// A calendar date, typed and serialized as `YYYY-MM-DD`. Fields are ordered so the derived
/// ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }
}

impl FromStr for Date {
    type Err = InvalidFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidFormat {
            text: s.to_owned(),
            expected: "a date as YYYY-MM-DD",
        };
        let mut parts = s.split('-');
        let (Some(year), Some(month), Some(day), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let year = digits(year, 4).filter(|y| *y >= 1).ok_or_else(bad)?;
        let month = digits(month, 2)
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(bad)?;
        let day = digits(day, 2)
            .filter(|d| *d >= 1 && *d <= days_in_month(year, month))
            .ok_or_else(bad)?;
        Ok(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl TryFrom<String> for Date {
    type Error = InvalidFormat;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Date> for String {
    fn from(date: Date) -> Self {
        date.to_string()
    }
}

impl From<Date> for time::Date {
    fn from(date: Date) -> Self {
        let month = time::Month::try_from(date.month).expect("a parsed date has a valid month");
        time::Date::from_calendar_date(i32::from(date.year), month, date.day)
            .expect("a parsed date is a calendar date")
    }
}

/// A calendar month, typed and serialized as `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: u16,
    month: u8,
}

impl YearMonth {
    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// The month `at` falls in, in UTC.
    pub fn of(at: time::OffsetDateTime) -> YearMonth {
        let at = at.to_offset(time::UtcOffset::UTC);
        YearMonth {
            year: at.year().clamp(1, 9999) as u16,
            month: u8::from(at.month()),
        }
    }

    /// Midnight UTC on the month's first day.
    pub fn first_instant(self) -> time::OffsetDateTime {
        let month = time::Month::try_from(self.month).expect("YearMonth months are 1-12");
        time::Date::from_calendar_date(i32::from(self.year), month, 1)
            .expect("the first of a month exists")
            .midnight()
            .assume_utc()
    }

    /// The month before this one.
    pub fn previous(self) -> YearMonth {
        YearMonth::of(self.first_instant() - time::Duration::days(1))
    }
}

impl FromStr for YearMonth {
    type Err = InvalidFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidFormat {
            text: s.to_owned(),
            expected: "a month as YYYY-MM",
        };
        let (year, month) = s.split_once('-').ok_or_else(bad)?;
        let year = digits(year, 4).filter(|y| *y >= 1).ok_or_else(bad)?;
        let month = digits(month, 2)
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(bad)?;
        Ok(YearMonth {
            year,
            month: month as u8,
        })
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl TryFrom<String> for YearMonth {
    type Error = InvalidFormat;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<YearMonth> for String {
    fn from(month: YearMonth) -> Self {
        month.to_string()
    }
}

/// Exactly `len` ASCII digits as a number (at most four digits are ever asked for).
fn digits(s: &str, len: usize) -> Option<u16> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(year: u16, month: u16) -> u16 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A 12-digit AWS account ID. Kept as text: leading zeros are significant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AwsAccountId(String);

impl AwsAccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AwsAccountId {
    type Err = InvalidFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AwsAccountId(s.to_owned()))
        } else {
            Err(InvalidFormat {
                text: s.to_owned(),
                expected: "a 12-digit AWS account ID",
            })
        }
    }
}

impl fmt::Display for AwsAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AwsAccountId {
    type Error = InvalidFormat;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AwsAccountId> for String {
    fn from(id: AwsAccountId) -> Self {
        id.0
    }
}

/// What an institution name may be, for refusals and the settings error.
pub const INSTITUTION_RULE: &str = "an institution: 1 to 64 letters, digits, spaces, `-`, `_` or `.`, starting with a letter or digit, e.g. mit-csail or Stanford";

/// An institution as an inviter, a project's creator or the deployment names it. It becomes an
/// AWS tag value, a report heading and a spreadsheet cell, so it starts with a letter or digit
/// (a leading `=`, `+`, `-` or `@` is a formula to a spreadsheet) and holds nothing a tag
/// refuses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Institution(String);

impl Institution {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Institution {
    type Err = InvalidFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.');
        let valid = s.chars().count() <= 64
            && s.chars().next().is_some_and(char::is_alphanumeric)
            && s.chars().all(allowed);
        if valid {
            Ok(Institution(s.to_owned()))
        } else {
            Err(InvalidFormat {
                text: s.to_owned(),
                expected: INSTITUTION_RULE,
            })
        }
    }
}

impl TryFrom<String> for Institution {
    type Error = InvalidFormat;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Institution> for String {
    fn from(institution: Institution) -> Self {
        institution.0
    }
}

impl fmt::Display for Institution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone name (`America/Los_Angeles`, `UTC`) from the tz database compiled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.0).expect("the name was checked against the same database")
    }
}

impl FromStr for TimeZoneName {
    type Err = InvalidFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match jiff::tz::TimeZone::get(s) {
            Ok(_) => Ok(TimeZoneName(s.to_owned())),
            Err(_) => Err(InvalidFormat {
                text: s.to_owned(),
                expected: "an IANA time zone such as America/New_York or UTC",
            }),
        }
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = InvalidFormat;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TimeZoneName> for String {
    fn from(zone: TimeZoneName) -> Self {
        zone.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_step_back_across_years() {
        let january: YearMonth = "2027-01".parse().unwrap();
        assert_eq!(january.previous().to_string(), "2026-12");
        assert_eq!(
            YearMonth::of(time::macros::datetime!(2026-11-30 23:59 -02:00)).to_string(),
            "2026-12"
        );
        assert_eq!(
            january.first_instant(),
            time::macros::datetime!(2027-01-01 00:00 UTC)
        );
    }

    #[test]
    fn time_zones_come_from_the_tz_database() {
        assert!("America/Los_Angeles".parse::<TimeZoneName>().is_ok());
        assert!("UTC".parse::<TimeZoneName>().is_ok());
        assert!("Mars/Olympus_Mons".parse::<TimeZoneName>().is_err());
        assert!("".parse::<TimeZoneName>().is_err());
    }

    #[test]
    fn workspace_names() {
        for ok in ["a", "mit-algorithm-dev", "0box", "a-", &"a".repeat(63)] {
            assert_eq!(ok.parse::<WorkspaceName>().unwrap().as_str(), ok);
        }
        let problem = |s: &str| s.parse::<WorkspaceName>().unwrap_err().problem;
        assert_eq!(problem(""), NameProblem::Empty);
        assert_eq!(problem("My_Box"), NameProblem::BadChar('M'));
        assert_eq!(problem("my box"), NameProblem::BadChar(' '));
        assert_eq!(problem("-box"), NameProblem::BadStart('-'));
        assert_eq!(
            problem(&"a".repeat(64)),
            NameProblem::TooLong { length: 64 }
        );
        assert!("help".parse::<WorkspaceName>().is_ok());
    }

    #[test]
    fn workspace_name_hint_is_a_valid_name() {
        let error = "My_Box".parse::<WorkspaceName>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid workspace name `My_Box`: `M` is not allowed, use lowercase letters, \
             digits and '-' (try `my-box`)"
        );
        let error = "???".parse::<WorkspaceName>().unwrap_err();
        assert!(!error.to_string().contains("try"), "{error}");
    }

    #[test]
    fn workspace_name_deserializes_through_validation() {
        let name: WorkspaceName = serde_json::from_str(r#""mit-dev""#).unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""mit-dev""#);
        assert!(serde_json::from_str::<WorkspaceName>(r#""My_Box""#).is_err());
    }

    #[test]
    fn money() {
        assert_eq!(usd_cents("5000"), Ok(UsdCents(500_000)));
        assert_eq!(usd_cents("$12.5"), Ok(UsdCents(1250)));
        assert_eq!(usd_cents(".99"), Ok(UsdCents(99)));
        assert_eq!(
            usd_cents("1.234"),
            Err(InvalidReason::TooManyDecimals { max: 2 })
        );
        for bad in [
            "",
            "$",
            "abc",
            "5.",
            "1,000",
            "-5",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(
                matches!(usd_cents(bad), Err(InvalidReason::Format { .. })),
                "{bad}"
            );
        }
        fn above<T>(max: &str) -> Result<T, InvalidReason> {
            Err(InvalidReason::AboveMaximum {
                max: max.to_owned(),
            })
        }
        assert_eq!(usd_cents("1000000"), Ok(UsdCents::MAX));
        assert_eq!(usd_cents("1000000.01"), above("$1,000,000.00"));
        assert_eq!(usd_cents("99999999999999999"), above("$1,000,000.00"));
        assert_eq!(hourly_rate("1000"), Ok(HourlyRate::MAX));
        assert_eq!(hourly_rate("1000.0001"), above("$1,000.00/h"));
        assert_eq!(hourly_rate("184467440737095.5"), above("$1,000.00/h"));
        assert_eq!(hourly_rate("0.50"), Ok(HourlyRate(500_000)));
        assert_eq!(hourly_rate("0.0416"), Ok(HourlyRate(41_600)));
        assert_eq!(
            hourly_rate("0.00001"),
            Err(InvalidReason::TooManyDecimals { max: 4 })
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number::<u16>("540", 1, 3650), Ok(540));
        assert_eq!(
            number::<u8>("0", 1, 100),
            Err(InvalidReason::OutOfRange { min: 1, max: 100 })
        );
        assert_eq!(
            number::<u64>("99999999999999999999999", 1, u64::MAX),
            Err(InvalidReason::OutOfRange {
                min: 1,
                max: u64::MAX
            })
        );
        assert!(matches!(
            number::<u8>("+3", 1, 9),
            Err(InvalidReason::Format { .. })
        ));
    }

    #[test]
    fn dates() {
        let date: Date = "2028-02-29".parse().unwrap();
        assert_eq!((date.year(), date.month(), date.day()), (2028, 2, 29));
        assert_eq!(date.to_string(), "2028-02-29");
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-04-31",
            "2026-6-1",
            "0000-01-01",
            "2026-01-01-",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!("2026-01-01".parse::<Date>().unwrap() < "2026-06-30".parse::<Date>().unwrap());
        let month: YearMonth = "2026-06".parse().unwrap();
        assert_eq!(
            (month.year(), month.month(), month.to_string()),
            (2026, 6, "2026-06".into())
        );
        assert!("2026-00".parse::<YearMonth>().is_err());
        assert!(serde_json::from_str::<Date>(r#""2026-02-30""#).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(months("18-months"), Ok(Months(18)));
        assert_eq!(months("1-Month"), Ok(Months(1)));
        assert_eq!(months("2-years"), Ok(Months(24)));
        assert!(matches!(
            months("11-years"),
            Err(InvalidReason::Format { .. })
        ));
        assert!(matches!(months("18"), Err(InvalidReason::Format { .. })));
        assert!(matches!(
            months("x-months"),
            Err(InvalidReason::Format { .. })
        ));
    }

    #[test]
    fn shapes() {
        for ok in ["us-east-1", "eu-west-1", "us-gov-west-1", "ap-southeast-2"] {
            assert_eq!(region(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "usa-east-1",
            "us--1",
            "us-east-",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
        assert!(instance_type("t3.large").is_ok() && instance_type("u-6tb1.metal").is_ok());
        assert!(instance_type("ml.t3.medium").is_ok() && instance_type("ml.p3.2xlarge").is_ok());
        assert!(instance_type("ml.t3").is_err() && instance_type("ml.t3.medium.x").is_err());
        assert!(instance_type("t3").is_err() && instance_type("T3.large").is_err());
        assert_eq!(domain("MIT.edu").as_deref(), Ok("mit.edu"));
        assert!(
            domain("mit").is_err() && domain("-mit.edu").is_err() && domain("mit..edu").is_err()
        );
        assert!("123456789012".parse::<AwsAccountId>().is_ok());
        assert!("12345678901".parse::<AwsAccountId>().is_err());
        assert_eq!(boolean("Yes"), Ok(true));
        assert_eq!(boolean("false"), Ok(false));
    }
}
