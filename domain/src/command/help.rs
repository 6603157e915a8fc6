//! `help [COMMAND...]`, and the help text rendered from the command table.
//!
//! `help` lists every command with its usage and summary; `help launch` or
//! `help project create` shows one command with its arguments and flags; a group such as
//! `help project` lists the commands in it. Empty text, a bare group (`/cws project`) and
//! `--help` after any command are requests for help too.

use serde::{Deserialize, Serialize};

use super::args::{ArgSpec, Args, CommandSpec};
use super::error::{ParseError, ParseErrorKind};
use super::{COMMANDS, Command, Resolution, command_words, resolve};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Help {
    /// A command or group path as the table spells it (`project create`, `project`); `None`
    /// for the list of every command. Always one that [`help_text`] accepts.
    pub topic: Option<String>,
}

pub(crate) const HELP: CommandSpec = CommandSpec {
    name: "help",
    usage: "/cws help [COMMAND]",
    summary: "Show every command, or one command's arguments and flags.",
    arguments: &[ArgSpec {
        name: "COMMAND",
        doc: "A command or group, e.g. launch, project create or project.",
    }],
    flags: &[],
    takes_body: false,
    parse: parse_help,
};

fn parse_help(args: &mut Args) -> Result<Command, ParseError> {
    let words = args.rest_positionals();
    let topic = match lookup(&words)? {
        Topic::All => None,
        Topic::Group(group) => Some(group),
        Topic::Command(spec) => Some(spec.name.to_owned()),
    };
    Ok(Command::Help(Help { topic }))
}

enum Topic {
    All,
    Group(String),
    Command(&'static CommandSpec),
}

fn lookup<T: AsRef<str>>(words: &[T]) -> Result<Topic, ParseError> {
    let normalized = command_words(words);
    match resolve(&normalized) {
        Resolution::Command(spec) => match words.get(spec.depth()) {
            Some(extra) => Err(ParseError::at(
                ParseErrorKind::UnexpectedArgument,
                extra.as_ref(),
            )),
            None => Ok(Topic::Command(spec)),
        },
        Resolution::Group if normalized.is_empty() => Ok(Topic::All),
        Resolution::Group => Ok(Topic::Group(normalized.join(" "))),
        Resolution::Unknown { at, suggestion } => {
            let typed: Vec<&str> = words[..=at].iter().map(AsRef::as_ref).collect();
            Err(ParseError::at(
                ParseErrorKind::UnknownCommand {
                    typed: typed.join(" "),
                    suggestion,
                },
                words[at].as_ref(),
            ))
        }
    }
}

/// Help for `topic` (a command such as `launch` or `project create`, or a group such as
/// `project`), or the list of every command for `None`. An unknown topic is an
/// `UnknownCommand` error suggesting the closest command.
pub fn help_text(topic: Option<&str>) -> Result<String, ParseError> {
    let words: Vec<&str> = topic.unwrap_or_default().split_whitespace().collect();
    Ok(match lookup(&words)? {
        Topic::All => list("/cws", COMMANDS.iter().copied()),
        Topic::Group(group) => list(
            &format!("/cws {group}"),
            COMMANDS.iter().copied().filter(|spec| {
                spec.name
                    .strip_prefix(group.as_str())
                    .is_some_and(|rest| rest.starts_with(' '))
            }),
        ),
        Topic::Command(spec) => detail(spec),
    })
}

/// Usage and summary of each command, framed by what to type for more.
fn list<'a>(prefix: &str, specs: impl Iterator<Item = &'a CommandSpec>) -> String {
    let help = prefix.replacen("/cws", "/cws help", 1);
    let mut text = format!("`{prefix}` commands:\n");
    for spec in specs {
        text.push_str(&format!("\n{}\n    {}", spec.usage, spec.summary));
    }
    text.push_str(&format!(
        "\n\nType `{help} COMMAND` to see one command's arguments and flags."
    ));
    text
}

fn detail(spec: &CommandSpec) -> String {
    let mut text = format!("{}\n{}", spec.usage, spec.summary);
    let arguments: Vec<(String, &str)> = spec
        .arguments
        .iter()
        .map(|arg| (arg.name.to_owned(), arg.doc))
        .collect();
    let flags: Vec<(String, &str)> = spec
        .flags
        .iter()
        .map(|flag| (flag.synopsis(), flag.doc))
        .collect();
    for (heading, rows) in [("Arguments", arguments), ("Flags", flags)] {
        if rows.is_empty() {
            continue;
        }
        let width = rows
            .iter()
            .map(|(term, _)| term.chars().count())
            .max()
            .unwrap_or_default();
        text.push_str(&format!("\n\n{heading}:"));
        for (term, doc) in rows {
            text.push_str(&format!("\n  {term:<width$}  {doc}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    #[test]
    fn help_topics_are_validated_and_canonical() {
        let topic = |text: &str| match parse(text) {
            Ok(Command::Help(help)) => help.topic,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(topic(""), None);
        assert_eq!(topic("   "), None);
        assert_eq!(topic("help"), None);
        assert_eq!(topic("HELP Launch"), Some("launch".into()));
        assert_eq!(topic("help profile use"), Some("profiles use".into()));
        assert_eq!(topic("help project"), Some("project".into()));
        assert_eq!(topic("project"), Some("project".into()));
        assert_eq!(
            topic("profiles invitations"),
            Some("profiles invitations".into())
        );
        assert_eq!(topic("launch --help"), Some("launch".into()));
        assert_eq!(topic("project --help"), Some("project".into()));
        assert_eq!(topic("--help"), None);
        let error = parse("help lanch").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown command `lanch`: did you mean `/cws launch`?"
        );
        assert_eq!(error.usage(), Some(HELP.usage));
        let error = parse("help launch now").unwrap_err();
        assert_eq!(
            (error.kind(), error.token()),
            (&ParseErrorKind::UnexpectedArgument, Some("now"))
        );
    }

    #[test]
    fn every_parsed_topic_has_help() {
        for spec in COMMANDS {
            let Ok(Command::Help(help)) = parse(&format!("help {}", spec.name)) else {
                panic!("{}", spec.name)
            };
            assert!(help_text(help.topic.as_deref()).is_ok(), "{}", spec.name);
        }
    }

    #[test]
    fn help_lists_every_command() {
        let text = help_text(None).unwrap();
        for spec in COMMANDS {
            assert!(
                text.contains(spec.usage) && text.contains(spec.summary),
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn help_for_a_group() {
        insta::assert_snapshot!(help_text(Some("profiles invitations")).unwrap(), @r"
        `/cws profiles invitations` commands:

        /cws profiles invitations create NAME --type admin|read_write|read_only|owner --valid-days DAYS [--can-invite BOOL] [--device-bound BOOL] [--max-devices N] [--policy-restrictions] [--template-whitelist LIST] [--max-instance-types LIST] [--max-hourly-cost USD] [--forbidden-regions LIST] [--require-verified-identity] [--require-domain DOMAIN] [--launch-account ACCOUNT] [--institution NAME]
            Invite someone to use this profile's AWS account, for a limited time.
        /cws profiles invitations create-collaboration --csv-file FILE [--project PROJECT] [--output FILE]
            Create one invitation per collaborator listed in a CSV; paste the CSV on the lines below the command.
        /cws profiles invitations accept TOKEN PROFILE
            Accept an invitation and save it as a new profile.
        /cws profiles invitations list
            List the invitations you have created.
        /cws profiles invitations revoke NAME
            Revoke an invitation, ending the access it gave.
        /cws profiles invitations extend NAME --valid-days DAYS
            Extend an invitation, e.g. for a no-cost grant extension: its end moves later.

        Type `/cws help profiles invitations COMMAND` to see one command's arguments and flags.
        ");
    }

    #[test]
    fn help_text_for_everything() {
        insta::assert_snapshot!(help_text(None).unwrap(), @r"
        `/cws` commands:

        /cws launch TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]
            Launch a workspace from a template.
        /cws list [--project PROJECT] [--mine]
            List workspaces.
        /cws status NAME
            Show a workspace's state, size and cost.
        /cws start NAME
            Start a stopped workspace.
        /cws stop NAME
            Stop a workspace; its disk is kept and compute billing stops.
        /cws hibernate NAME
            Hibernate a workspace, saving its memory to disk so it resumes where it left off.
        /cws resume NAME
            Resume a hibernated workspace.
        /cws terminate NAME
            Delete a workspace and its disk for good.
        /cws ssh NAME
            Show how to connect to a workspace over SSH.
        /cws snapshot create WORKSPACE NAME
            Snapshot a workspace's disks under a name; the snapshot is kept until deleted.
        /cws snapshot list [WORKSPACE]
            List the snapshots you may manage, or one workspace's.
        /cws snapshot delete NAME
            Delete a snapshot; its storage stops being charged.
        /cws transfer WORKSPACE ACCOUNT
            Snapshot a workspace and share the snapshots with its owner's institution's account.
        /cws download WORKSPACE [PATH]
            Archive a workspace's home (or a folder in it) and get a download link by DM.
        /cws connect NAME
            The same as `ssh NAME`: how to connect, and a waiting SSH key by direct message.
        /cws info NAME
            The same as `status NAME`.
        /cws project create NAME --budget USD [--description TEXT] [--alert-threshold PCT] [--type collaboration] [--duration DURATION] [--account ACCOUNT_ID] [--timezone TZ] [--institution NAME]
            Create a project with a monthly budget (deployment admins; others ask them).
        /cws project status NAME [--detail]
            Show a project's budget, spending and workspaces.
        /cws project cost NAME [--by-user | --by-institution] [--month YYYY-MM]
            Show what a project has cost, optionally per user or per institution.
        /cws project chargeback NAME --enable [--mode report|aws|hybrid] [--INSTITUTION-account ACCOUNT_ID]... [--month YYYY-MM]
            Charge collaborating institutions' AWS accounts for what their people use.
        /cws project reconcile NAME [--month YYYY-MM]
            Compare a project's ledger with AWS Cost Explorer, per user and institution.
        /cws project budget NAME [--amount USD] [--hard-limit USD] [--action prevent_launch|hibernate_all|stop_all] [--lift]
            Show or change how a project's budget is enforced.
        /cws project idle NAME [--cpu-below PCT] [--after-minutes N] [--grace-minutes N] [--action notify|hibernate|stop] [--off]
            Show or change how a project's idle workspaces are found and put to sleep.
        /cws project approvers NAME [--add WHO] [--remove WHO]
            Show or change who decides exception requests besides the owner and admins.
        /cws project archive NAME
            Owner only: make a finished project read-only. Nothing launches, starts or resumes in it again; status, costs, reports and the audit trail stay available.
        /cws profiles use PROFILE
            Switch to another profile, such as one created by accepting an invitation.
        /cws profiles switch PROFILE
            The same as `profiles use PROFILE`.
        /cws profiles list
            List your profiles and when invitation profiles expire.
        /cws profiles current
            Show your active profile and the restrictions it launches under.
        /cws profiles policy show
            Your effective launch policy: templates, instance types, hourly cap, regions, budget and when your access ends (the same as `policy show`).
        /cws profiles policy test TEMPLATE [NAME] [--size S|M|L|XL] [--region REGION] [--project PROJECT]
            What a launch would get under your policy: allowed, or every rule it breaks. Launches nothing.
        /cws profiles verify
            Verify your research identity through Globus Auth, your home institution's login.
        /cws profiles invitations create NAME --type admin|read_write|read_only|owner --valid-days DAYS [--can-invite BOOL] [--device-bound BOOL] [--max-devices N] [--policy-restrictions] [--template-whitelist LIST] [--max-instance-types LIST] [--max-hourly-cost USD] [--forbidden-regions LIST] [--require-verified-identity] [--require-domain DOMAIN] [--launch-account ACCOUNT] [--institution NAME]
            Invite someone to use this profile's AWS account, for a limited time.
        /cws profiles invitations create-collaboration --csv-file FILE [--project PROJECT] [--output FILE]
            Create one invitation per collaborator listed in a CSV; paste the CSV on the lines below the command.
        /cws profiles invitations accept TOKEN PROFILE
            Accept an invitation and save it as a new profile.
        /cws profiles accept-invitation --encoded TOKEN --name PROFILE
            The same as `profiles invitations accept TOKEN PROFILE`.
        /cws profiles invitations list
            List the invitations you have created.
        /cws profiles invitations revoke NAME
            Revoke an invitation, ending the access it gave.
        /cws profiles invitations extend NAME --valid-days DAYS
            Extend an invitation, e.g. for a no-cost grant extension: its end moves later.
        /cws profiles ssh-key add KEY
            Use your own SSH public key on this profile's workspaces, running ones included; paste the one line of your .pub file, never the private key.
        /cws profiles ssh-key rotate
            Replace this profile's SSH key with a new pair, on running workspaces too; the private key comes by direct message.
        /cws volume create NAME --size GB [--cross-account-access ACCOUNT[:MODE]...] [--read-only-for LIST] [--read-write-for LIST]
            Create a shared EFS volume, optionally mountable from other AWS accounts.
        /cws volume mount NAME WORKSPACE [--mode read-only|read-write]
            Mount a volume on a running workspace, at /mnt/NAME.
        /cws volume list
            List shared volumes.
        /cws volume status NAME
            Show a volume's size, mounts and cross-account access.
        /cws volume homes NAME
            Put research users' homes on a volume: each launch mounts the user's own /home/USER from it, so their work outlives the workspace.
        /cws audit collaboration PROJECT --start-date YYYY-MM-DD --end-date YYYY-MM-DD [--export json|csv|pdf|FILE]
            Report who accessed what in a collaboration project, for compliance.
        /cws audit verify PROJECT
            Check that a project's audit trail is complete.
        /cws collaboration end PROJECT --date YYYY-MM-DD [--archive-collaborator-work] [--transfer-snapshots LIST]
            End a collaboration on a date: warn collaborators, revoke access, preserve their work.
        /cws collaboration export PROFILE [PATH] [--output PATH] [--include-snapshots]
            Export your work from a collaboration profile before access ends.
        /cws collaboration report PROJECT [--final] [--export-compliance]
            Report a collaboration's costs, participants and health.
        /cws collaboration transfer-snapshots PROFILE ACCOUNT
            Transfer your snapshots from a collaboration profile to your own account.
        /cws policy show
            Show the launch restrictions of the current profile.
        /cws policy test TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]
            Check whether a launch would be allowed, without launching.
        /cws templates list [--profile-filtered]
            List the workspace templates: what each installs, its sizes, regions and services.
        /cws templates show TEMPLATE
            One template in full: sizes, prices, packages, its publisher, version and changelog.
        /cws templates propose FILE
            Propose a template (a YAML file shared in the channel) to the deployment's admins, who see its diff and risks and approve or deny it.
        /cws help [COMMAND]
            Show every command, or one command's arguments and flags.

        Type `/cws help COMMAND` to see one command's arguments and flags.
        ");
    }

    #[test]
    fn help_text_for_launch() {
        insta::assert_snapshot!(help_text(Some("launch")).unwrap(), @r#"
        /cws launch TEMPLATE NAME [--size S|M|L|XL] [--region REGION] [--project PROJECT]
        Launch a workspace from a template.

        Arguments:
          TEMPLATE  Template name; quote it when it has spaces, e.g. "Python Machine Learning".
          NAME      Workspace name: lowercase letters, digits and '-', at most 63 characters.

        Flags:
          --size S|M|L|XL    Workspace size; the template maps each size to an instance type.
          --region REGION    AWS region such as us-east-1; defaults to the profile's region.
          --project PROJECT  Project whose budget pays for the workspace.
        "#);
    }

    #[test]
    fn help_text_for_a_pattern_flag() {
        insta::assert_snapshot!(help_text(Some("project chargeback")).unwrap(), @r"
        /cws project chargeback NAME --enable [--mode report|aws|hybrid] [--INSTITUTION-account ACCOUNT_ID]... [--month YYYY-MM]
        Charge collaborating institutions' AWS accounts for what their people use.

        Arguments:
          NAME  Project name.

        Flags:
          --enable                          Turns chargeback on (`--enable false` turns it off); required unless --month is given.
          --month YYYY-MM                   Write that month's statement (CSV) now; every closed month gets one anyway.
          --mode report|aws|hybrid          report: track costs, the owner pays; aws: bill collaborator accounts monthly; hybrid: the owner pays, collaborators reimburse.
          --INSTITUTION-account ACCOUNT_ID  12-digit AWS account billed for an institution, e.g. --mit-account 123456789012; once per institution.
        ");
    }

    #[test]
    fn unknown_help_topic() {
        let error = help_text(Some("project creat")).unwrap_err();
        assert_eq!(error.token(), Some("creat"));
        assert_eq!(
            error.to_string(),
            "unknown command `project creat`: did you mean `/cws project create`?"
        );
        let error = help_text(Some("backup")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown command `backup`: type `/cws help` to see every command"
        );
    }
}
