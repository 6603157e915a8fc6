//! The launch policy of the current profile (the restrictions an invitation carries).
//!
//! - `policy show`
//! - `policy test TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]`: the
//!   arguments of `launch`, checked against the policy without launching anything.

use serde::{Deserialize, Serialize};

use super::Command;
use super::args::CommandSpec;
use super::launch::{self, Launch, launch_args};

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
