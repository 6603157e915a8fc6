//! Projects: budgets that workspaces are charged to.
//!
//! - `project create NAME --budget USD [--description TEXT] [--alert-threshold PCT]
//!   [--type collaboration] [--duration DURATION] [--account ACCOUNT_ID] [--timezone TZ]
//!   [--institution NAME]`
//! - `project status NAME [--detail]`
//! - `project cost NAME [--by-user | --by-institution] [--month YYYY-MM]`
//! - `project chargeback NAME --enable [--mode report|aws|hybrid] [--INSTITUTION-account ID]...`
//!   [--month YYYY-MM] where each `--mit-account 123456789012` names the AWS account billed for
//!   one institution; `--month` alone writes that month's statement now.
//! - `project reconcile NAME [--month YYYY-MM]`
//! - `project idle NAME [--cpu-below PCT] [--after-minutes N] [--grace-minutes N]
//!   [--action notify|hibernate|stop] [--off]`
//! - `project budget NAME [--amount USD] [--hard-limit USD]
//!   [--action prevent_launch|hibernate_all|stop_all] [--lift]`
//! - `project approvers NAME [--add WHO] [--remove WHO]`
//! - `project archive NAME`: read-only from then on (seed 000's last step)

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, Args, CommandSpec, FlagName, FlagSpec, FlagValue};
use super::error::{InvalidReason, ParseError, ParseErrorKind};
use super::values::{
    AwsAccountId, Institution, Months, ProjectName, TimeZoneName, UsdCents, YearMonth, choice,
    months, number, project_name, text, usd_cents,
};
use crate::identity::ChatIdentity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectCommand {
    Create(ProjectCreate),
    Status(ProjectStatus),
    Cost(ProjectCost),
    Chargeback(ProjectChargeback),
    Reconcile(ProjectReconcile),
    Budget(ProjectBudget),
    Idle(ProjectIdle),
    Approvers(ProjectApprovers),
    /// Makes the project read-only: nothing launches or starts in it; reports and audit stay.
    Archive {
        name: ProjectName,
    },
}

/// Who decides exceptions besides the owner and admins: `project approvers NAME [--add WHO]
/// [--remove WHO]`; with no flag, shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectApprovers {
    pub name: ProjectName,
    pub add: Vec<PersonRef>,
    pub remove: Vec<PersonRef>,
}

/// A person named in a command: a chat mention (`<@U0456>`, `<@U0456|jane>`), which means
/// someone on the caller's own platform and workspace, or a full chat identity
/// (`slack:T0123:U0456`, `discord:1234`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersonRef {
    Mention(String),
    Identity(ChatIdentity),
}

fn person(s: &str) -> Result<PersonRef, InvalidReason> {
    const EXPECTED: &str =
        "a person: a mention such as <@U0456>, or slack:TEAM:USER or discord:USER";
    if let Some(inner) = s.strip_prefix("<@").and_then(|rest| rest.strip_suffix('>')) {
        let user = inner.split_once('|').map_or(inner, |(user, _)| user);
        if !user.is_empty() && user.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(PersonRef::Mention(user.to_owned()));
        }
        return Err(InvalidReason::Format { expected: EXPECTED });
    }
    s.parse()
        .map(PersonRef::Identity)
        .map_err(|_| InvalidReason::Format { expected: EXPECTED })
}

/// Idle detection: `project idle NAME [--cpu-below PCT] [--after-minutes N]
/// [--grace-minutes N] [--action notify|hibernate|stop] [--off]`; with no flag, shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectIdle {
    pub name: ProjectName,
    pub cpu_below: Option<u8>,
    pub after_minutes: Option<u32>,
    pub grace_minutes: Option<u32>,
    pub action: Option<IdleAction>,
    /// Turns idle detection off.
    pub off: bool,
}

/// What happens to a workspace idle past its grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleAction {
    /// Only the warning.
    Notify,
    /// Hibernate (stop where it cannot).
    #[default]
    Hibernate,
    Stop,
}

impl IdleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            IdleAction::Notify => "notify",
            IdleAction::Hibernate => "hibernate",
            IdleAction::Stop => "stop",
        }
    }
}

/// The budget's enforcement: `project budget NAME [--amount USD] [--hard-limit USD]
/// [--action prevent_launch|hibernate_all|stop_all] [--lift]`; with no flag, shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectBudget {
    pub name: ProjectName,
    /// A new monthly budget (raising or lowering the cap launches are checked against).
    pub amount: Option<UsdCents>,
    /// The month's spend at which the action runs; the monthly budget when never set.
    pub hard_limit: Option<UsdCents>,
    pub action: Option<LimitAction>,
    /// No enforcement action for the rest of this month.
    pub lift: bool,
}

/// What happens when a project's spend, projected to the next check, reaches its hard limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitAction {
    /// Only the launch check: nothing running is touched.
    #[default]
    PreventLaunch,
    /// Hibernate every running workspace of the project (stop those that cannot hibernate).
    HibernateAll,
    /// Stop every running workspace of the project.
    StopAll,
}

impl LimitAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitAction::PreventLaunch => "prevent_launch",
            LimitAction::HibernateAll => "hibernate_all",
            LimitAction::StopAll => "stop_all",
        }
    }
}

/// The ledger against the cloud provider's bill, per user and institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectReconcile {
    pub name: ProjectName,
    /// `None` means the current month.
    pub month: Option<YearMonth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCreate {
    pub name: ProjectName,
    /// Monthly budget, as in the seeds' "$5,000/month".
    pub budget: UsdCents,
    pub description: Option<String>,
    /// Percent of the budget (1 to 100) at which to alert.
    pub alert_threshold: Option<u8>,
    pub project_type: Option<ProjectType>,
    pub duration: Option<Months>,
    /// The AWS account the project's workspaces run in; `None` is the deployment's own.
    pub account: Option<AwsAccountId>,
    /// Where the project's weekly digest is timed; `None` is UTC.
    pub time_zone: Option<TimeZoneName>,
    /// The lead institution; `None` is the deployment's (`CWS_INSTITUTION`).
    #[serde(default)]
    pub institution: Option<Institution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectType {
    /// Shared with collaborators from other institutions and AWS accounts.
    Collaboration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectStatus {
    pub name: ProjectName,
    pub detail: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCost {
    pub name: ProjectName,
    pub breakdown: Option<CostBreakdown>,
    /// `None` means the current month.
    pub month: Option<YearMonth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBreakdown {
    ByUser,
    ByInstitution,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectChargeback {
    pub name: ProjectName,
    /// `--enable` turns chargeback on, `--enable false` turns it off; `None` (only with
    /// `--month`) leaves the settings as they are.
    pub enable: Option<bool>,
    pub mode: Option<ChargebackMode>,
    /// One entry per `--INSTITUTION-account`, in the order typed.
    pub accounts: Vec<InstitutionAccount>,
    /// `--month YYYY-MM`: write that month's statement now (so far, for the current month)
    /// instead of waiting for the month to close.
    pub month: Option<YearMonth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargebackMode {
    /// Track costs per institution; the project owner pays.
    Report,
    /// Bill collaborator accounts monthly.
    Aws,
    /// The owner pays and collaborators reimburse through their grants.
    Hybrid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionAccount {
    /// The flag's slug: `mit` for `--mit-account`.
    pub institution: String,
    pub account: AwsAccountId,
}

impl ProjectCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            ProjectCommand::Create(_) => &CREATE,
            ProjectCommand::Status(_) => &STATUS,
            ProjectCommand::Cost(_) => &COST,
            ProjectCommand::Chargeback(_) => &CHARGEBACK,
            ProjectCommand::Reconcile(_) => &RECONCILE,
            ProjectCommand::Budget(_) => &BUDGET,
            ProjectCommand::Idle(_) => &IDLE,
            ProjectCommand::Approvers(_) => &APPROVERS,
            ProjectCommand::Archive { .. } => &ARCHIVE,
        }
    }
}

const NAME: &[ArgSpec] = &[ArgSpec {
    name: "NAME",
    doc: "Project name.",
}];

pub(crate) const CREATE: CommandSpec = CommandSpec {
    name: "project create",
    usage: "/cws project create NAME --budget USD [--description TEXT] [--alert-threshold PCT] \
            [--type collaboration] [--duration DURATION] [--account ACCOUNT_ID] [--timezone TZ] \
            [--institution NAME]",
    summary: "Create a project with a monthly budget (deployment admins; others ask them).",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("budget"),
            value: FlagValue::One("USD"),
            doc: "Required. Monthly budget in US dollars, e.g. 5000 or 2500.50.",
        },
        FlagSpec {
            name: FlagName::Exact("description"),
            value: FlagValue::One("TEXT"),
            doc: "What the project is for; quote it.",
        },
        FlagSpec {
            name: FlagName::Exact("alert-threshold"),
            value: FlagValue::One("PCT"),
            doc: "Alert when spending reaches this percent of the budget (1-100).",
        },
        FlagSpec {
            name: FlagName::Exact("type"),
            value: FlagValue::One("collaboration"),
            doc: "`collaboration` for a project shared with other institutions.",
        },
        FlagSpec {
            name: FlagName::Exact("duration"),
            value: FlagValue::One("DURATION"),
            doc: "How long the project runs, e.g. 18-months or 2-years.",
        },
        FlagSpec {
            name: FlagName::Exact("account"),
            value: FlagValue::One("ACCOUNT_ID"),
            doc: "12-digit AWS account the workspaces run in; defaults to the deployment's.",
        },
        FlagSpec {
            name: FlagName::Exact("timezone"),
            value: FlagValue::One("TZ"),
            doc: "IANA time zone of the weekly digest, e.g. America/Los_Angeles; defaults to UTC.",
        },
        FlagSpec {
            name: FlagName::Exact("institution"),
            value: FlagValue::One("NAME"),
            doc: "The lead institution, e.g. Stanford; defaults to the deployment's.",
        },
    ],
    takes_body: false,
    parse: create,
};

const PROJECT_TYPES: &[(&str, ProjectType)] = &[("collaboration", ProjectType::Collaboration)];

fn create(args: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Project(ProjectCommand::Create(ProjectCreate {
        name: args.positional("NAME", project_name)?,
        budget: args.required("budget", usd_cents)?,
        description: args.value("description", text)?,
        alert_threshold: args.value("alert-threshold", |s| number(s, 1, 100))?,
        project_type: args.value("type", |s| choice(s, "project type", PROJECT_TYPES))?,
        duration: args.value("duration", months)?,
        account: args.value("account", |s| {
            s.parse::<AwsAccountId>().map_err(InvalidReason::from)
        })?,
        time_zone: args.value("timezone", |s| {
            s.parse::<TimeZoneName>().map_err(InvalidReason::from)
        })?,
        institution: args.value("institution", |s| {
            s.parse::<Institution>().map_err(InvalidReason::from)
        })?,
    })))
}

pub(crate) const STATUS: CommandSpec = CommandSpec {
    name: "project status",
    usage: "/cws project status NAME [--detail]",
    summary: "Show a project's budget, spending and workspaces.",
    arguments: NAME,
    flags: &[FlagSpec {
        name: FlagName::Exact("detail"),
        value: FlagValue::Switch,
        doc: "Also list every workspace, shared volume and collaborator.",
    }],
    takes_body: false,
    parse: |args| {
        Ok(Command::Project(ProjectCommand::Status(ProjectStatus {
            name: args.positional("NAME", project_name)?,
            detail: args.enabled("detail")?,
        })))
    },
};

pub(crate) const COST: CommandSpec = CommandSpec {
    name: "project cost",
    usage: "/cws project cost NAME [--by-user | --by-institution] [--month YYYY-MM]",
    summary: "Show what a project has cost, optionally per user or per institution.",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("by-user"),
            value: FlagValue::Switch,
            doc: "Break costs down by user.",
        },
        FlagSpec {
            name: FlagName::Exact("by-institution"),
            value: FlagValue::Switch,
            doc: "Break costs down by institution.",
        },
        FlagSpec {
            name: FlagName::Exact("month"),
            value: FlagValue::One("YYYY-MM"),
            doc: "Month to report; defaults to the current month.",
        },
    ],
    takes_body: false,
    parse: cost,
};

fn cost(args: &mut Args) -> Result<Command, ParseError> {
    let name = args.positional("NAME", project_name)?;
    args.exclusive("by-user", "by-institution")?;
    let breakdown = if args.enabled("by-user")? {
        Some(CostBreakdown::ByUser)
    } else if args.enabled("by-institution")? {
        Some(CostBreakdown::ByInstitution)
    } else {
        None
    };
    Ok(Command::Project(ProjectCommand::Cost(ProjectCost {
        name,
        breakdown,
        month: args.value("month", |s| {
            s.parse::<YearMonth>().map_err(InvalidReason::from)
        })?,
    })))
}

const LIMIT_ACTIONS: &[(&str, LimitAction)] = &[
    ("prevent_launch", LimitAction::PreventLaunch),
    ("hibernate_all", LimitAction::HibernateAll),
    ("stop_all", LimitAction::StopAll),
];

pub(crate) const BUDGET: CommandSpec = CommandSpec {
    name: "project budget",
    usage: "/cws project budget NAME [--amount USD] [--hard-limit USD] \
            [--action prevent_launch|hibernate_all|stop_all] [--lift]",
    summary: "Show or change how a project's budget is enforced.",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("amount"),
            value: FlagValue::One("USD"),
            doc: "A new monthly budget: the cap every launch is checked against.",
        },
        FlagSpec {
            name: FlagName::Exact("hard-limit"),
            value: FlagValue::One("USD"),
            doc: "The month's spend at which the action runs; defaults to the monthly budget.",
        },
        FlagSpec {
            name: FlagName::Exact("action"),
            value: FlagValue::One("prevent_launch|hibernate_all|stop_all"),
            doc: "What happens at the hard limit: only refuse launches (the default), or also \
                  hibernate or stop every running workspace within one check.",
        },
        FlagSpec {
            name: FlagName::Exact("lift"),
            value: FlagValue::Switch,
            doc: "No hibernating or stopping for the rest of this month.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Project(ProjectCommand::Budget(ProjectBudget {
            name: args.positional("NAME", project_name)?,
            amount: args.value("amount", usd_cents)?,
            hard_limit: args.value("hard-limit", usd_cents)?,
            action: args.value("action", |s| choice(s, "limit action", LIMIT_ACTIONS))?,
            lift: args.enabled("lift")?,
        })))
    },
};

const IDLE_ACTIONS: &[(&str, IdleAction)] = &[
    ("notify", IdleAction::Notify),
    ("hibernate", IdleAction::Hibernate),
    ("stop", IdleAction::Stop),
];

pub(crate) const IDLE: CommandSpec = CommandSpec {
    name: "project idle",
    usage: "/cws project idle NAME [--cpu-below PCT] [--after-minutes N] [--grace-minutes N] \
            [--action notify|hibernate|stop] [--off]",
    summary: "Show or change how a project's idle workspaces are found and put to sleep.",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("cpu-below"),
            value: FlagValue::One("PCT"),
            doc: "Idle means CPU stayed below this percent (1-100); default 5.",
        },
        FlagSpec {
            name: FlagName::Exact("after-minutes"),
            value: FlagValue::One("N"),
            doc: "For this long (5-10080 minutes); default 120.",
        },
        FlagSpec {
            name: FlagName::Exact("grace-minutes"),
            value: FlagValue::One("N"),
            doc: "How long the owner has to answer the warning (0-1440); default 30.",
        },
        FlagSpec {
            name: FlagName::Exact("action"),
            value: FlagValue::One("notify|hibernate|stop"),
            doc: "What happens when nobody answers; default hibernate.",
        },
        FlagSpec {
            name: FlagName::Exact("off"),
            value: FlagValue::Switch,
            doc: "Turns idle detection off for the project.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Project(ProjectCommand::Idle(ProjectIdle {
            name: args.positional("NAME", project_name)?,
            cpu_below: args.value("cpu-below", |s| number(s, 1, 100))?,
            after_minutes: args.value("after-minutes", |s| number(s, 5, 10_080))?,
            grace_minutes: args.value("grace-minutes", |s| number(s, 0, 1_440))?,
            action: args.value("action", |s| choice(s, "idle action", IDLE_ACTIONS))?,
            off: args.enabled("off")?,
        })))
    },
};

pub(crate) const APPROVERS: CommandSpec = CommandSpec {
    name: "project approvers",
    usage: "/cws project approvers NAME [--add WHO] [--remove WHO]",
    summary: "Show or change who decides exception requests besides the owner and admins.",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("add"),
            value: FlagValue::One("WHO"),
            doc: "People who may approve or deny exceptions (never their own): mentions such \
                  as @jane, or slack:TEAM:USER / discord:USER, comma-separated.",
        },
        FlagSpec {
            name: FlagName::Exact("remove"),
            value: FlagValue::One("WHO"),
            doc: "People who no longer decide exceptions.",
        },
    ],
    takes_body: false,
    parse: |args| {
        Ok(Command::Project(ProjectCommand::Approvers(
            ProjectApprovers {
                name: args.positional("NAME", project_name)?,
                add: args.list("add", person)?,
                remove: args.list("remove", person)?,
            },
        )))
    },
};

pub(crate) const ARCHIVE: CommandSpec = CommandSpec {
    name: "project archive",
    usage: "/cws project archive NAME",
    summary: "Owner only: make a finished project read-only. Nothing launches, starts or \
              resumes in it again; status, costs, reports and the audit trail stay available.",
    arguments: NAME,
    flags: &[],
    takes_body: false,
    parse: |args| {
        Ok(Command::Project(ProjectCommand::Archive {
            name: args.positional("NAME", project_name)?,
        }))
    },
};

pub(crate) const RECONCILE: CommandSpec = CommandSpec {
    name: "project reconcile",
    usage: "/cws project reconcile NAME [--month YYYY-MM]",
    summary: "Compare a project's ledger with AWS Cost Explorer, per user and institution.",
    arguments: NAME,
    flags: &[FlagSpec {
        name: FlagName::Exact("month"),
        value: FlagValue::One("YYYY-MM"),
        doc: "The month to compare; defaults to the current one.",
    }],
    takes_body: false,
    parse: |args| {
        Ok(Command::Project(ProjectCommand::Reconcile(
            ProjectReconcile {
                name: args.positional("NAME", project_name)?,
                month: args.value("month", |s| {
                    s.parse::<YearMonth>().map_err(InvalidReason::from)
                })?,
            },
        )))
    },
};

pub(crate) const CHARGEBACK: CommandSpec = CommandSpec {
    name: "project chargeback",
    usage: "/cws project chargeback NAME --enable [--mode report|aws|hybrid] \
            [--INSTITUTION-account ACCOUNT_ID]... [--month YYYY-MM]",
    summary: "Charge collaborating institutions' AWS accounts for what their people use.",
    arguments: NAME,
    flags: &[
        FlagSpec {
            name: FlagName::Exact("enable"),
            value: FlagValue::Switch,
            doc: "Turns chargeback on (`--enable false` turns it off); required unless --month \
                  is given.",
        },
        FlagSpec {
            name: FlagName::Exact("month"),
            value: FlagValue::One("YYYY-MM"),
            doc: "Write that month's statement (CSV) now; every closed month gets one anyway.",
        },
        FlagSpec {
            name: FlagName::Exact("mode"),
            value: FlagValue::One("report|aws|hybrid"),
            doc: "report: track costs, the owner pays; aws: bill collaborator accounts monthly; \
                  hybrid: the owner pays, collaborators reimburse.",
        },
        FlagSpec {
            name: FlagName::Pattern {
                placeholder: "INSTITUTION",
                suffix: "-account",
            },
            value: FlagValue::One("ACCOUNT_ID"),
            doc: "12-digit AWS account billed for an institution, e.g. --mit-account 123456789012; \
                  once per institution.",
        },
    ],
    takes_body: false,
    parse: chargeback,
};

const CHARGEBACK_MODES: &[(&str, ChargebackMode)] = &[
    ("report", ChargebackMode::Report),
    ("aws", ChargebackMode::Aws),
    ("hybrid", ChargebackMode::Hybrid),
];

fn chargeback(args: &mut Args) -> Result<Command, ParseError> {
    let name = args.positional("NAME", project_name)?;
    let enable = args.switch("enable")?;
    let month = args.value("month", |s| {
        s.parse::<YearMonth>().map_err(InvalidReason::from)
    })?;
    if enable.is_none() && month.is_none() {
        return Err(ParseError::new(ParseErrorKind::MissingFlag {
            flag: "enable",
        }));
    }
    let mode = args.value("mode", |s| choice(s, "chargeback mode", CHARGEBACK_MODES))?;
    let accounts = args
        .pattern("-account", |s| {
            s.parse::<AwsAccountId>().map_err(InvalidReason::from)
        })?
        .into_iter()
        .map(|(institution, account)| InstitutionAccount {
            institution,
            account,
        })
        .collect();
    Ok(Command::Project(ProjectCommand::Chargeback(
        ProjectChargeback {
            name,
            enable,
            mode,
            accounts,
            month,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    fn project(text: &str) -> ProjectCommand {
        match parse(text) {
            Ok(Command::Project(command)) => command,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn create_reads_money_percent_type_and_duration() {
        let ProjectCommand::Create(create) = project(
            r#"project create nih --budget $5000.50 --alert-threshold 75 --type Collaboration --duration 18-months --description "NIH R01""#,
        ) else {
            panic!()
        };
        assert_eq!(create.budget, UsdCents(500_050));
        assert_eq!(create.alert_threshold, Some(75));
        assert_eq!(create.project_type, Some(ProjectType::Collaboration));
        assert_eq!(create.duration, Some(Months(18)));
        assert_eq!(create.description.as_deref(), Some("NIH R01"));
    }

    #[test]
    fn create_errors() {
        let cases = [
            (
                "project create nih",
                "missing required flag `--budget`",
                None,
            ),
            (
                "project create nih --budget 10.999",
                "--budget takes at most 2 decimal places, got `10.999`",
                Some("10.999"),
            ),
            (
                "project create nih --budget 5 --alert-threshold 150",
                "--alert-threshold must be between 1 and 100, got `150`",
                Some("150"),
            ),
            (
                "project create nih --budget 5 --type lab",
                "unknown project type `lab`: choose one of collaboration",
                Some("lab"),
            ),
            (
                "project create nih --budget",
                "flag `--budget` needs a value",
                Some("--budget"),
            ),
            (
                "project create nih --budget 1000000000",
                "--budget is at most $1,000,000.00, got `1000000000`",
                Some("1000000000"),
            ),
            (
                "project create nih --budget 18446744073709551615",
                "--budget expects a dollar amount such as 5000 or 12.50, got `18446744073709551615`",
                Some("18446744073709551615"),
            ),
        ];
        crate::command::tests::assert_errors(&cases, CREATE.usage);
        let cases = [
            (
                "project budget nih --amount 1000000.01",
                "--amount is at most $1,000,000.00, got `1000000.01`",
                Some("1000000.01"),
            ),
            (
                "project budget nih --hard-limit 9999999999",
                "--hard-limit is at most $1,000,000.00, got `9999999999`",
                Some("9999999999"),
            ),
        ];
        crate::command::tests::assert_errors(&cases, BUDGET.usage);
    }

    #[test]
    fn cost_breakdowns_exclude_each_other() {
        let ProjectCommand::Cost(cost) =
            project("project cost nih --by-institution --month 2026-06")
        else {
            panic!()
        };
        assert_eq!(cost.breakdown, Some(CostBreakdown::ByInstitution));
        assert_eq!(cost.month, Some("2026-06".parse().unwrap()));
        let error = parse("project cost nih --by-institution --by-user").unwrap_err();
        assert_eq!(error.token(), Some("--by-user"));
        assert_eq!(
            error.to_string(),
            "`--by-user` cannot be combined with `--by-institution`"
        );
        let error = parse("project cost nih --month 2026-13").unwrap_err();
        assert_eq!(
            error.to_string(),
            "--month expects a month as YYYY-MM, got `2026-13`"
        );
    }

    #[test]
    fn chargeback_collects_institution_accounts() {
        let ProjectCommand::Chargeback(chargeback) = project(
            "project chargeback nih --enable --mode hybrid --mit-account 123456789012 --Berkeley-account=987654321098",
        ) else {
            panic!()
        };
        assert_eq!(chargeback.enable, Some(true));
        assert_eq!(chargeback.mode, Some(ChargebackMode::Hybrid));
        let accounts: Vec<_> = chargeback
            .accounts
            .iter()
            .map(|a| (a.institution.as_str(), a.account.as_str()))
            .collect();
        assert_eq!(
            accounts,
            [("mit", "123456789012"), ("berkeley", "987654321098")]
        );
    }

    #[test]
    fn chargeback_errors() {
        let cases = [
            (
                "project chargeback nih",
                "missing required flag `--enable`",
                None,
            ),
            (
                "project chargeback nih --enable --mit-account 1234",
                "--mit-account expects a 12-digit AWS account ID, got `1234`",
                Some("1234"),
            ),
            (
                "project chargeback nih --enable --mit-account 123456789012 --mit-account 123456789012",
                "flag `--mit-account` is given more than once",
                Some("--mit-account"),
            ),
            (
                "project chargeback nih --enable --account 123456789012",
                "unknown flag `--account`",
                Some("--account"),
            ),
            (
                "project chargeback nih --enable --mode all",
                "unknown chargeback mode `all`: choose one of report, aws, hybrid",
                Some("all"),
            ),
            (
                "project chargeback nih --enabel",
                "unknown flag `--enabel`: did you mean `--enable`?",
                Some("--enabel"),
            ),
        ];
        crate::command::tests::assert_errors(&cases, CHARGEBACK.usage);
    }
}
