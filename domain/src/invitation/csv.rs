//! `profiles invitations create-collaboration`: the seed's collaborators CSV, one invitation
//! per row, every row's problem reported without dropping the good rows.
//!
//! The CSV is pasted on the lines below the command, header first:
//!
//! ```text
//! Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost
//! Dr. Michael Johnson,MIT,admin,540,"Python ML;R Research",r5.xlarge,1.00
//! Dr. Sarah Lee,Berkeley,read_write,540,"R Research;Bioinformatics",t3.large,0.50
//! ```
//!
//! - Name, Institution, Type and ValidDays are required; Email, TemplateWhitelist,
//!   MaxInstanceType and MaxHourlyCost are optional columns, and an empty optional cell means
//!   "no restriction of that kind".
//! - Headers are matched ignoring case, spaces and underscores (`max_hourly_cost` is
//!   MaxHourlyCost), in any order. An unknown header is refused rather than ignored, because a
//!   misspelt restriction column would otherwise silently grant more than intended.
//! - Type is `admin`, `read_write` or `read_only`; ValidDays is 1 to 3650; TemplateWhitelist
//!   is `;`-separated template names, slugs or their abbreviations (`Python ML`, `R Research`);
//!   MaxInstanceType is an EC2 type such as `t3.large`; MaxHourlyCost is dollars per hour with
//!   at most four decimals.
//! - Each collaborator's invitation is named after the institution: `berkeley-collaboration`,
//!   then `berkeley-collaboration-2` for a second Berkeley row.

use std::collections::HashSet;

use crate::command::{HourlyRate, InvalidReason, InvitationName, NAME_MAX_LEN, PolicyRestrictions};
use crate::identity::Role;
use crate::template::{Catalog, Template};

/// One collaborator row that passed every check, ready to become an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollaboratorRow {
    /// 1-based line in the pasted text (the header is line 1), so replies can point at it.
    pub line: usize,
    pub name: String,
    pub institution: String,
    pub email: Option<String>,
    /// Unique among the rows of this CSV: institution slug + `-collaboration`, then `-2`, `-3`.
    pub invitation_name: InvitationName,
    pub role: Role,
    pub valid_days: u16,
    /// Whitelisted templates hold full catalog names, so the launch policy compares exactly.
    pub restrictions: PolicyRestrictions,
}

/// Everything wrong with one row, so the inviter can fix the row in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct RowError {
    pub line: usize,
    /// User-facing: names each bad column and value, problems joined with "; ".
    pub problem: String,
}

/// Problems with the whole CSV, where no row can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error(
        "the collaborators CSV is empty: paste it on the lines below the command, header first ({HEADER})"
    )]
    Empty,
    #[error("the CSV header has no {} column: the header needs {REQUIRED}", .0.join(", "))]
    MissingColumns(Vec<&'static str>),
    #[error("the CSV header has unknown column `{}`: the columns are {HEADER}", .0.join("`, `"))]
    UnknownColumns(Vec<String>),
    #[error("the CSV header has the {0} column twice")]
    DuplicateColumn(&'static str),
    #[error("the CSV has a header but no collaborators: add one line per collaborator below it")]
    NoRows,
    #[error("the CSV cannot be read: {0}")]
    Unreadable(String),
}

const HEADER: &str =
    "Name,Institution,Type,ValidDays,Email,TemplateWhitelist,MaxInstanceType,MaxHourlyCost";
const REQUIRED: &str = "Name, Institution, Type and ValidDays";

/// Reads the pasted collaborators CSV: one `Ok` or `Err` per non-blank row, in order.
pub fn parse_collaborators(
    text: &str,
    catalog: &Catalog,
) -> Result<Vec<Result<CollaboratorRow, RowError>>, CsvError> {
    if text.trim().is_empty() {
        return Err(CsvError::Empty);
    }
    // One kind of line ending, so that byte offsets give line numbers.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let layout = Layout::from_headers(reader.headers().map_err(unreadable)?)?;
    let mut lines = Lines::new(&text);
    let mut taken = HashSet::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(unreadable)?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = lines.line_of(&record);
        rows.push(layout.row(&record, line, catalog, &mut taken));
    }
    if rows.is_empty() {
        return Err(CsvError::NoRows);
    }
    Ok(rows)
}

fn unreadable(error: csv::Error) -> CsvError {
    CsvError::Unreadable(error.to_string())
}

/// Line numbers of record starts, counted in one pass over the text. The csv crate's own line
/// count drifts around blank lines and CRLF, and a record's byte position is where the reader
/// stood before skipping blank lines, so those are skipped here.
struct Lines<'t> {
    text: &'t [u8],
    byte: usize,
    line: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Lines<'t> {
        Lines {
            text: text.as_bytes(),
            byte: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, record: &csv::StringRecord) -> usize {
        let reported = record.position().map_or(self.byte, |p| {
            usize::try_from(p.byte()).unwrap_or(usize::MAX)
        });
        let mut start = reported.clamp(self.byte, self.text.len());
        while self.text.get(start) == Some(&b'\n') {
            start += 1;
        }
        self.line += self.text[self.byte..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.byte = start;
        self.line
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Institution,
    Type,
    ValidDays,
    Email,
    TemplateWhitelist,
    MaxInstanceType,
    MaxHourlyCost,
}

impl Column {
    const ALL: [Column; 8] = [
        Column::Name,
        Column::Institution,
        Column::Type,
        Column::ValidDays,
        Column::Email,
        Column::TemplateWhitelist,
        Column::MaxInstanceType,
        Column::MaxHourlyCost,
    ];

    fn header(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Institution => "Institution",
            Column::Type => "Type",
            Column::ValidDays => "ValidDays",
            Column::Email => "Email",
            Column::TemplateWhitelist => "TemplateWhitelist",
            Column::MaxInstanceType => "MaxInstanceType",
            Column::MaxHourlyCost => "MaxHourlyCost",
        }
    }

    fn required(self) -> bool {
        matches!(
            self,
            Column::Name | Column::Institution | Column::Type | Column::ValidDays
        )
    }

    fn matches(self, header: &str) -> bool {
        let mut written = header.chars().filter(|c| !matches!(c, ' ' | '_'));
        let mut wanted = self.header().chars();
        loop {
            match (written.next(), wanted.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => {}
                _ => return false,
            }
        }
    }
}

/// Where each column sits in this CSV's rows.
struct Layout {
    index: [Option<usize>; Column::ALL.len()],
    width: usize,
}

impl Layout {
    fn from_headers(headers: &csv::StringRecord) -> Result<Layout, CsvError> {
        let mut index = [None; Column::ALL.len()];
        let mut unknown = Vec::new();
        for (position, header) in headers.iter().enumerate() {
            match Column::ALL.into_iter().find(|c| c.matches(header)) {
                Some(column) if index[column as usize].is_some() => {
                    return Err(CsvError::DuplicateColumn(column.header()));
                }
                Some(column) => index[column as usize] = Some(position),
                None => unknown.push(header.to_owned()),
            }
        }
        let missing: Vec<&'static str> = Column::ALL
            .into_iter()
            .filter(|c| c.required() && index[*c as usize].is_none())
            .map(Column::header)
            .collect();
        if !missing.is_empty() {
            return Err(CsvError::MissingColumns(missing));
        }
        if !unknown.is_empty() {
            return Err(CsvError::UnknownColumns(unknown));
        }
        Ok(Layout {
            index,
            width: headers.len(),
        })
    }

    /// The cell of `column`, empty when the column is absent.
    fn cell<'r>(&self, record: &'r csv::StringRecord, column: Column) -> &'r str {
        self.index[column as usize]
            .and_then(|i| record.get(i))
            .unwrap_or("")
    }

    fn row(
        &self,
        record: &csv::StringRecord,
        line: usize,
        catalog: &Catalog,
        taken: &mut HashSet<InvitationName>,
    ) -> Result<CollaboratorRow, RowError> {
        if record.len() != self.width {
            // Cells would land in the wrong columns, so checking them would only confuse.
            return Err(RowError {
                line,
                problem: format!(
                    "the row has {} cells but the header has {} columns \
                     (a cell containing a comma needs \"quotes\")",
                    record.len(),
                    self.width
                ),
            });
        }
        let cell = |column| self.cell(record, column);
        let mut problems = Problems::default();
        let name = problems.take(required(Column::Name, cell(Column::Name)));
        let institution = problems.take(required(Column::Institution, cell(Column::Institution)));
        let role = problems.take(role(cell(Column::Type)));
        let valid_days = problems.take(valid_days(cell(Column::ValidDays)));
        let email = problems.take(email(cell(Column::Email)));
        let templates = problems.take(template_whitelist(cell(Column::TemplateWhitelist), catalog));
        let instance_type = problems.take(instance_type(cell(Column::MaxInstanceType)));
        let hourly_cost = problems.take(hourly_cost(cell(Column::MaxHourlyCost)));
        match (
            name,
            institution,
            role,
            valid_days,
            email,
            templates,
            instance_type,
            hourly_cost,
        ) {
            (
                Some(name),
                Some(institution),
                Some(role),
                Some(valid_days),
                Some(email),
                Some(template_whitelist),
                Some(max_instance_type),
                Some(max_hourly_cost),
            ) => Ok(CollaboratorRow {
                line,
                invitation_name: invitation_name(&institution, taken),
                name,
                institution,
                email,
                role,
                valid_days,
                restrictions: PolicyRestrictions {
                    template_whitelist,
                    max_instance_types: max_instance_type.into_iter().collect(),
                    max_hourly_cost,
                    forbidden_regions: Vec::new(),
                },
            }),
            _ => Err(RowError {
                line,
                problem: problems.0.join("; "),
            }),
        }
    }
}

/// Collects every cell's problem instead of stopping at the first.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn take<T>(&mut self, checked: Result<T, String>) -> Option<T> {
        checked.map_err(|problem| self.0.push(problem)).ok()
    }
}

fn required(column: Column, cell: &str) -> Result<String, String> {
    if cell.is_empty() {
        Err(format!("{} is empty", column.header()))
    } else {
        Ok(cell.to_owned())
    }
}

/// Roles a CSV may grant. Owner is left out on purpose: a bulk paste should not hand out
/// control of the project's budget and its end.
const ROLES: [(&str, Role); 3] = [
    ("admin", Role::Admin),
    ("read_write", Role::ReadWrite),
    ("read_only", Role::ReadOnly),
];

fn role(cell: &str) -> Result<Role, String> {
    let written = cell.replace('-', "_");
    if let Some((_, role)) = ROLES.iter().find(|(w, _)| w.eq_ignore_ascii_case(&written)) {
        return Ok(*role);
    }
    let choices = "use admin, read_write or read_only";
    Err(match cell {
        "" => format!("Type is empty: {choices}"),
        owner if owner.eq_ignore_ascii_case("owner") => format!(
            "Type `{owner}` cannot be granted from a CSV: {choices}, and invite an owner on \
             their own with `/cws profiles invitations create`"
        ),
        other => format!("Type `{other}` is not a role: {choices}"),
    })
}

fn valid_days(cell: &str) -> Result<u16, String> {
    const MAX_DAYS: u16 = 3650;
    let digits = !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit());
    match cell.parse::<u16>() {
        Ok(days) if digits && (1..=MAX_DAYS).contains(&days) => Ok(days),
        _ if cell.is_empty() => Err("ValidDays is empty".to_owned()),
        _ => Err(format!(
            "ValidDays must be a whole number of days from 1 to {MAX_DAYS}, got `{cell}`"
        )),
    }
}

/// Checked loosely (one `@`, a dot in the domain): the mail server is the real judge.
fn email(cell: &str) -> Result<Option<String>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    let valid = match cell.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !cell.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(Some(cell.to_owned()))
    } else {
        Err(format!(
            "Email `{cell}` is not an e-mail address such as sarah.lee@berkeley.edu"
        ))
    }
}

fn template_whitelist(cell: &str, catalog: &Catalog) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for entry in cell.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        match resolve_template(entry, catalog) {
            Ok(template) if names.contains(&template.name) => {}
            Ok(template) => names.push(template.name.clone()),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(names)
    } else {
        Err(problems.join("; "))
    }
}

/// A whitelist entry to one template: its name or slug; else the words joined by `-` as a
/// slug (`Python ML` is `python-ml`); else the one template whose name starts with the words
/// (`R Research` is R Research Environment). Spreadsheets carry such abbreviations.
fn resolve_template<'c>(entry: &str, catalog: &'c Catalog) -> Result<&'c Template, String> {
    if let Ok(template) = catalog.find(entry) {
        return Ok(template);
    }
    let lower = entry.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let slug = words.join("-");
    let templates = catalog.templates();
    if let Some(template) = templates
        .iter()
        .find(|t| t.slug.eq_ignore_ascii_case(&slug))
    {
        return Ok(template);
    }
    let starting: Vec<&Template> = templates
        .iter()
        .filter(|t| {
            let name = t.name.to_lowercase();
            name.split_whitespace()
                .collect::<Vec<_>>()
                .starts_with(&words)
        })
        .collect();
    let names = |ts: &[&Template], separator: &str| {
        ts.iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(separator)
    };
    match starting.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "TemplateWhitelist has unknown template `{entry}`: the templates are {}",
            names(&templates.iter().collect::<Vec<_>>(), ", ")
        )),
        several => Err(format!(
            "TemplateWhitelist entry `{entry}` could be {}: write more of the name",
            names(several, " or ")
        )),
    }
}

/// The same shape `--max-instance-types` accepts: lowercase family, a dot, size.
fn instance_type(cell: &str) -> Result<Option<String>, String> {
    optional(cell, "MaxInstanceType", crate::command::instance_type)
}

/// Dollars per hour (`0.50`, `$1`) to micro-dollars, as `--max-hourly-cost` reads them.
fn hourly_cost(cell: &str) -> Result<Option<HourlyRate>, String> {
    optional(cell, "MaxHourlyCost", crate::command::hourly_rate)
}

/// An optional cell read like the flag it mirrors, its problem named after the column.
fn optional<T>(
    cell: &str,
    column: &str,
    read: fn(&str) -> Result<T, InvalidReason>,
) -> Result<Option<T>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    read(cell).map(Some).map_err(|reason| match reason {
        InvalidReason::TooManyDecimals { max } => {
            format!("{column} takes at most {max} decimal places, got `{cell}`")
        }
        InvalidReason::Format { expected } => format!("{column} expects {expected}, got `{cell}`"),
        InvalidReason::AboveMaximum { max } => format!("{column} is at most {max}, got `{cell}`"),
        _ => format!("{column} cannot be `{cell}`"),
    })
}

/// `berkeley-collaboration`, or the first of `-2`, `-3`… not yet taken by an earlier row. The
/// institution's slug is shortened so the name keeps within the naming rule whatever the
/// institution is called.
fn invitation_name(institution: &str, taken: &mut HashSet<InvitationName>) -> InvitationName {
    let mut slug = String::new();
    for c in institution.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut n = 1;
    loop {
        let suffix = match n {
            1 => "collaboration".to_owned(),
            n => format!("collaboration-{n}"),
        };
        let room = NAME_MAX_LEN.saturating_sub(suffix.len() + 1);
        let name = match slug
            .get(..room.min(slug.len()))
            .unwrap_or("")
            .trim_end_matches('-')
        {
            "" => suffix,
            slug => format!("{slug}-{suffix}"),
        };
        let name: InvitationName = name
            .parse()
            .expect("an ASCII slug and a numbered suffix within the length make a valid name");
        if taken.insert(name.clone()) {
            return name;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SEED: &str = "Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n\
                        Dr. Michael Johnson,MIT,admin,540,\"Python ML;R Research\",r5.xlarge,1.00\n\
                        Dr. Sarah Lee,Berkeley,read_write,540,\"R Research;Bioinformatics\",t3.large,0.50";

    fn parse(text: &str) -> Vec<Result<CollaboratorRow, RowError>> {
        parse_collaborators(text, Catalog::builtin()).expect("the file is readable")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn seed_csv_gives_two_invitations() {
        assert_eq!(
            parse(SEED),
            vec![
                Ok(CollaboratorRow {
                    line: 2,
                    name: "Dr. Michael Johnson".into(),
                    institution: "MIT".into(),
                    email: None,
                    invitation_name: "mit-collaboration".parse().unwrap(),
                    role: Role::Admin,
                    valid_days: 540,
                    restrictions: PolicyRestrictions {
                        template_whitelist: strings(&[
                            "Python Machine Learning",
                            "R Research Environment"
                        ]),
                        max_instance_types: strings(&["r5.xlarge"]),
                        max_hourly_cost: Some(HourlyRate(1_000_000)),
                        forbidden_regions: Vec::new(),
                    },
                }),
                Ok(CollaboratorRow {
                    line: 3,
                    name: "Dr. Sarah Lee".into(),
                    institution: "Berkeley".into(),
                    email: None,
                    invitation_name: "berkeley-collaboration".parse().unwrap(),
                    role: Role::ReadWrite,
                    valid_days: 540,
                    restrictions: PolicyRestrictions {
                        template_whitelist: strings(&["R Research Environment", "Bioinformatics"]),
                        max_instance_types: strings(&["t3.large"]),
                        max_hourly_cost: Some(HourlyRate(500_000)),
                        forbidden_regions: Vec::new(),
                    },
                }),
            ]
        );
    }

    #[test]
    fn bad_rows_say_what_is_wrong() {
        let header =
            "Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost";
        let cases = [
            (
                "A,MIT,superuser,30,,,",
                "Type `superuser` is not a role: use admin, read_write or read_only",
            ),
            (
                "A,MIT,Owner,30,,,",
                "Type `Owner` cannot be granted from a CSV: use admin, read_write or read_only, \
                 and invite an owner on their own with `/cws profiles invitations create`",
            ),
            (
                "A,MIT,admin,0,,,",
                "ValidDays must be a whole number of days from 1 to 3650, got `0`",
            ),
            (
                "A,MIT,admin,3651,,,",
                "ValidDays must be a whole number of days from 1 to 3650, got `3651`",
            ),
            (
                "A,MIT,admin,30,,,1.0.0",
                "MaxHourlyCost expects a dollar amount per hour such as 0.50, got `1.0.0`",
            ),
            (
                "A,MIT,admin,30,,,0.00001",
                "MaxHourlyCost takes at most 4 decimal places, got `0.00001`",
            ),
            (
                "A,MIT,admin,30,Matlab,,",
                "TemplateWhitelist has unknown template `Matlab`: the templates are \
                 Python Machine Learning, R Research Environment, GPU ML Workstation, Bioinformatics, \
                 RStudio Server, VS Code Server, SageMaker Studio, SageMaker Canvas",
            ),
            (
                "A,MIT,admin,30,,R5.XLarge,",
                "MaxInstanceType expects an instance type such as t3.large, or a SageMaker one such as ml.t3.medium, got `R5.XLarge`",
            ),
            ("A,,admin,30,,,", "Institution is empty"),
            (
                "A,MIT,admin,30,,",
                "the row has 6 cells but the header has 7 columns \
                 (a cell containing a comma needs \"quotes\")",
            ),
            (
                ",MIT,owner,x,\"Python ML;Stata\",t3,-1",
                "Name is empty; Type `owner` cannot be granted from a CSV: use admin, read_write \
                 or read_only, and invite an owner on their own with \
                 `/cws profiles invitations create`; \
                 ValidDays must be a whole number of days from 1 to 3650, got `x`; \
                 TemplateWhitelist has unknown template `Stata`: the templates are \
                 Python Machine Learning, R Research Environment, GPU ML Workstation, Bioinformatics, \
                 RStudio Server, VS Code Server, SageMaker Studio, SageMaker Canvas; \
                 MaxInstanceType expects an instance type such as t3.large, or a SageMaker one such as ml.t3.medium, got `t3`; \
                 MaxHourlyCost expects a dollar amount per hour such as 0.50, got `-1`",
            ),
        ];
        for (row, problem) in cases {
            let rows = parse(&format!("{header}\n{row}"));
            assert_eq!(
                rows,
                vec![Err(RowError {
                    line: 2,
                    problem: problem.into()
                })],
                "{row}"
            );
        }
    }

    #[test]
    fn good_rows_survive_bad_ones() {
        let text = "Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n\
                    Dr. A,MIT,admin,30,,,\n\
                    \n\
                    Dr. B,Yale,root,30,,,\n\
                    ,,,,,,\n\
                    Dr. C,Berkeley,read_only,30,gpu,,$2\n";
        let rows = parse(text);
        let summary: Vec<(usize, bool)> = rows
            .iter()
            .map(|row| match row {
                Ok(row) => (row.line, true),
                Err(error) => (error.line, false),
            })
            .collect();
        assert_eq!(summary, [(2, true), (4, false), (6, true)]);
        let berkeley = rows[2].as_ref().unwrap();
        assert_eq!(
            berkeley.restrictions.template_whitelist,
            ["GPU ML Workstation"]
        );
        assert_eq!(
            berkeley.restrictions.max_hourly_cost,
            Some(HourlyRate(2_000_000))
        );
        assert!(berkeley.restrictions.max_instance_types.is_empty());
    }

    #[test]
    fn lines_count_blank_lines_crlf_and_quoted_line_breaks() {
        let text = "\r\nName,Institution,Type,ValidDays,TemplateWhitelist\r\n\r\n\r\n\
                    A,MIT,admin,30,\"Python ML;\r\nR\"\r\n\r\n\
                    B,Yale,admin,30,\r\n";
        let lines: Vec<usize> = parse(text)
            .into_iter()
            .map(|row| row.unwrap().line)
            .collect();
        assert_eq!(lines, [5, 8]);
    }

    #[test]
    fn whole_file_problems() {
        let error = |text: &str| {
            parse_collaborators(text, Catalog::builtin())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(" \n "),
            "the collaborators CSV is empty: paste it on the lines below the command, header \
             first (Name,Institution,Type,ValidDays,Email,TemplateWhitelist,MaxInstanceType,MaxHourlyCost)"
        );
        assert_eq!(
            error("Name,Type,TemplateWhitelist\nA,admin,"),
            "the CSV header has no Institution, ValidDays column: the header needs Name, \
             Institution, Type and ValidDays"
        );
        assert_eq!(
            error("Name,Institution,Type,ValidDays,MaxHourlyCosts\nA,MIT,admin,30,1"),
            "the CSV header has unknown column `MaxHourlyCosts`: the columns are \
             Name,Institution,Type,ValidDays,Email,TemplateWhitelist,MaxInstanceType,MaxHourlyCost"
        );
        assert_eq!(
            error("Name,Institution,Type,ValidDays,name\n"),
            "the CSV header has the Name column twice"
        );
        assert_eq!(
            error("Name,Institution,Type,ValidDays\n\n"),
            "the CSV has a header but no collaborators: add one line per collaborator below it"
        );
    }

    #[test]
    fn headers_in_any_order_and_case() {
        let text = "valid_days, max hourly cost ,EMAIL,type,INSTITUTION,name\n\
                    90,0.0416,sarah.lee@berkeley.edu,Read-Write,UC Berkeley,Dr. Sarah Lee";
        let row = parse(text).remove(0).unwrap();
        assert_eq!(row.name, "Dr. Sarah Lee");
        assert_eq!(row.invitation_name, "uc-berkeley-collaboration");
        assert_eq!(row.email.as_deref(), Some("sarah.lee@berkeley.edu"));
        assert_eq!(row.role, Role::ReadWrite);
        assert_eq!(row.valid_days, 90);
        assert_eq!(
            row.restrictions,
            PolicyRestrictions {
                max_hourly_cost: Some(HourlyRate(41_600)),
                ..PolicyRestrictions::default()
            }
        );
        let bad = parse("Name,Institution,Type,ValidDays,Email\nA,MIT,admin,30,a@b@mit.edu");
        assert_eq!(
            bad[0].as_ref().unwrap_err().problem,
            "Email `a@b@mit.edu` is not an e-mail address such as sarah.lee@berkeley.edu"
        );
    }

    #[test]
    fn same_institution_gets_numbered_names() {
        let text = "Name,Institution,Type,ValidDays\n\
                    A,MIT,admin,30\n\
                    B,MIT,read_only,30\n\
                    C,mit,read_only,30\n\
                    D,Texas A&M,read_only,30";
        let names: Vec<String> = parse(text)
            .into_iter()
            .map(|row| row.unwrap().invitation_name.into())
            .collect();
        assert_eq!(
            names,
            [
                "mit-collaboration",
                "mit-collaboration-2",
                "mit-collaboration-3",
                "texas-a-m-collaboration"
            ]
        );
    }

    #[test]
    fn any_institution_gives_a_valid_invitation_name() {
        let long = "Massachusetts Institute of Technology ".repeat(4);
        let text = format!(
            "Name,Institution,Type,ValidDays\n\
             A,=1+1,admin,30\n\
             B,{long},read_only,30\n\
             C,{long},read_only,30\n\
             D,~identity,read_only,30"
        );
        let names: Vec<String> = parse(&text)
            .into_iter()
            .map(|row| row.unwrap().invitation_name.into())
            .collect();
        assert_eq!(
            names,
            [
                "1-1-collaboration",
                "massachusetts-institute-of-technology-massachuset-collaboration",
                "massachusetts-institute-of-technology-massachus-collaboration-2",
                "identity-collaboration",
            ]
        );
        assert!(names.iter().all(|name| name.len() <= NAME_MAX_LEN));
    }

    #[test]
    fn template_abbreviations() {
        let whitelist = |cell: &str| template_whitelist(cell, Catalog::builtin());
        assert_eq!(
            whitelist("python-ml; R ; gpu ml workstation;Python ML;"),
            Ok(strings(&[
                "Python Machine Learning",
                "R Research Environment",
                "GPU ML Workstation"
            ]))
        );
        let python = include_str!("../../../templates/python-machine-learning.yml");
        let data_science = python
            .replace("name: Python Machine Learning", "name: Python Data Science")
            .replace("slug: python-ml", "slug: python-ds");
        let catalog =
            Catalog::from_sources(&[("python.yml", python), ("data.yml", &data_science)]).unwrap();
        assert_eq!(
            template_whitelist("Python", &catalog),
            Err(
                "TemplateWhitelist entry `Python` could be Python Machine Learning or \
                 Python Data Science: write more of the name"
                    .to_owned()
            )
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_lines_are_in_the_text(
            text in prop_oneof![
                any::<String>(),
                "[a-zA-Z0-9 ,;\"\n.$@_-]{0,200}".prop_map(|rows| format!("{SEED}\n{rows}")),
            ]
        ) {
            let most = 1 + text.matches(['\r', '\n']).count();
            for row in parse_collaborators(&text, Catalog::builtin()).unwrap_or_default() {
                let line = row.map_or_else(|error| error.line, |row| row.line);
                prop_assert!((1..=most).contains(&line), "line {line} of {most}");
            }
        }
    }
}
