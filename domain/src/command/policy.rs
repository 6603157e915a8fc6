//! The launch policy of the current profile (the restrictions an invitation carries).
//!
//! - `policy show`
//! - `policy test TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]`: the
//!   arguments of `launch`, checked against the policy without launching anything.
//!
//! Seed 001 spells them under `profiles`: `profiles policy show`, `profiles current` (the
//! active profile with its restrictions, which is what `policy show` answers) and
//! `profiles policy test TEMPLATE [--size S] [--region R]`, where the workspace name is
//! optional because no rule looks at it.

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::{ArgSpec, CommandSpec};
use super::error::InvalidReason;
use super::launch::{self, Launch, launch_args};
use super::values::{project_name, region, text, workspace_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyCommand {
    Show,
    Test(Launch),
}

impl PolicyCommand {
    pub(crate) fn spec(&self) -> &'static CommandSpec {
        match self {
            PolicyCommand::Show => &SHOW,
            PolicyCommand::Test(_) => &TEST,
        }
    }
}

pub(crate) const SHOW: CommandSpec = CommandSpec {
    name: "policy show",
    usage: "/cws policy show",
    summary: "Show the launch restrictions of the current profile.",
    arguments: &[],
    flags: &[],
    takes_body: false,
    parse: |_| Ok(Command::Policy(PolicyCommand::Show)),
};

pub(crate) const TEST: CommandSpec = CommandSpec {
    name: "policy test",
    usage: "/cws policy test TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]",
    summary: "Check whether a launch would be allowed, without launching.",
    arguments: launch::ARGUMENTS,
    flags: launch::FLAGS,
    takes_body: false,
    parse: |args| launch_args(args).map(|launch| Command::Policy(PolicyCommand::Test(launch))),
};

/// Seed 001's `profiles policy show`.
pub(crate) const PROFILES_POLICY_SHOW: CommandSpec = CommandSpec {
    name: "profiles policy show",
    usage: "/cws profiles policy show",
    summary: "Your effective launch policy: templates, instance types, hourly cap, regions, \
              budget and when your access ends (the same as `policy show`).",
    ..SHOW
};

/// Seed 001's `profiles current`: the active profile is what `policy show` starts with.
pub(crate) const PROFILES_CURRENT: CommandSpec = CommandSpec {
    name: "profiles current",
    usage: "/cws profiles current",
    summary: "Show your active profile and the restrictions it launches under.",
    ..SHOW
};

/// The workspace name a `profiles policy test` without one checks: no rule reads it.
const POLICY_TEST_NAME: &str = "policy-test";

/// Seed 001's `profiles policy test`: the launch's template and flags, the name optional.
pub(crate) const PROFILES_POLICY_TEST: CommandSpec = CommandSpec {
    name: "profiles policy test",
    usage: "/cws profiles policy test TEMPLATE [NAME] [--size S|M|L|XL] [--region REGION] \
            [--project PROJECT]",
    summary: "What a launch would get under your policy: allowed, or every rule it breaks. \
              Launches nothing.",
    arguments: &[
        launch::ARGUMENTS[0],
        ArgSpec {
            name: "NAME",
            doc: "Workspace name, optional: no rule depends on it.",
        },
    ],
    flags: launch::FLAGS,
    takes_body: false,
    parse: |args| {
        let template = args.positional("TEMPLATE", text)?;
        let name = args.optional_positional("NAME", workspace_name)?;
        let launch = Launch {
            template,
            name: name.unwrap_or_else(|| {
                POLICY_TEST_NAME
                    .parse()
                    .expect("the stand-in name is a valid workspace name")
            }),
            size: args.value("size", |s| s.parse().map_err(InvalidReason::Size))?,
            region: args.value("region", region)?,
            project: args.value("project", project_name)?,
        };
        Ok(Command::Policy(PolicyCommand::Test(launch)))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;
    use crate::template::Size;

    #[test]
    fn test_carries_a_launch() {
        let Ok(Command::Policy(PolicyCommand::Test(launch))) =
            parse(r#"policy test "GPU ML Workstation" x --size XL"#)
        else {
            panic!()
        };
        assert_eq!(
            (launch.template.as_str(), launch.name.as_str(), launch.size),
            ("GPU ML Workstation", "x", Some(Size::XL))
        );
        let error = parse("policy test t x --size XXL").unwrap_err();
        assert_eq!(error.usage(), Some(TEST.usage));
    }
}
