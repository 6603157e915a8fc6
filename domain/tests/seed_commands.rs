//! Every `cws …` command line of the seed documents (`/work/shared/seeds/` 000, 001 and 002),
//! quoted as the seeds write them, continuation backslashes and line breaks included: what
//! people paste after `/cws`. Each is asserted to parse to the command it names, or, in the
//! groups below the first, to be a bare mention of a command in prose, a command another
//! branch adds, or text the seed garbled, each with a clear answer rather than a silent pass.
//!
//! The table was extracted from the seeds with a script (every `cws ` followed by a lowercase
//! word, up to a closing backtick, joined with the lines its trailing backslashes continue
//! onto); a row is `(seed, line, text, command)`.

use cws_domain::command::{Command, Help, ParseErrorKind, parse};

/// Lines that are whole commands, with the canonical name of what they parse to (`profiles
/// switch` is `profiles use`, `profiles current` is `policy show`, `info` is `status`, …).
const PARSED: &[(&str, usize, &str, &str)] = &[
    (
        "000",
        18,
        "cws profile use stanford-neuroscience",
        "profiles use",
    ),
    (
        "000",
        19,
        "cws project create nih-neuro-consortium \\\n--budget 5000 \\\n--description \"NIH R01: Multi-site neuroimaging analysis\" \\\n--alert-threshold 75",
        "project create",
    ),
    (
        "000",
        24,
        "cws profiles invitations create mit-collaboration \\\n--type admin \\\n--valid-days 540 \\\n--can-invite false \\\n--device-bound true \\\n--max-devices 3",
        "profiles invitations create",
    ),
    (
        "000",
        38,
        "cws profiles invitations create berkeley-collaboration \\\n--type read_write \\\n--valid-days 540 \\\n--device-bound true \\\n--max-devices 2",
        "profiles invitations create",
    ),
    (
        "000",
        46,
        "cws profiles invitations accept <STANFORD-INVITATION-TOKEN> stanford-collab",
        "profiles invitations accept",
    ),
    (
        "000",
        50,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    ("000", 52, "cws profiles list", "profiles list"),
    (
        "000",
        57,
        "cws profiles invitations accept <STANFORD-INVITATION-TOKEN> stanford-collab",
        "profiles invitations accept",
    ),
    ("000", 58, "cws profiles list", "profiles list"),
    (
        "000",
        65,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        66,
        "cws launch \"Python Machine Learning\" mit-algorithm-dev",
        "launch",
    ),
    (
        "000",
        72,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        73,
        "cws launch \"R Research Environment\" berkeley-analysis",
        "launch",
    ),
    (
        "000",
        84,
        "cws volume create neuro-dataset \\\n--size 50000 \\\n--cross-account-access mit-csail,berkeley-neuroscience \\\n--read-only-for mit-csail \\\n--read-write-for berkeley-neuroscience",
        "volume create",
    ),
    (
        "000",
        100,
        "cws volume mount neuro-dataset <instance-name>",
        "volume mount",
    ),
    (
        "000",
        102,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        103,
        "cws volume mount neuro-dataset mit-algorithm-dev",
        "volume mount",
    ),
    (
        "000",
        107,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        108,
        "cws volume mount neuro-dataset berkeley-analysis",
        "volume mount",
    ),
    (
        "000",
        116,
        "cws project cost nih-neuro-consortium --by-user",
        "project cost",
    ),
    (
        "000",
        149,
        "cws project chargeback nih-neuro-consortium \\\n--enable \\\n--mit-account 123456789012 \\\n--berkeley-account 987654321098",
        "project chargeback",
    ),
    (
        "000",
        162,
        "cws profiles invitations create berkeley-collaboration \\\n--type read_write \\\n--valid-days 540 \\\n--policy-restrictions \\\n--template-whitelist \"R Research Environment,Python Machine Learning\" \\\n--max-instance-types \"t3.large,r5.xlarge\" \\\n--max-hourly-cost 0.50 \\\n--forbidden-regions \"us-west-1,eu-west-1\"",
        "profiles invitations create",
    ),
    (
        "000",
        171,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        172,
        "cws launch \"GPU ML Workstation\" expensive-gpu --size XL",
        "launch",
    ),
    (
        "000",
        192,
        "cws audit collaboration nih-neuro-consortium \\\n--start-date 2026-01-01 \\\n--end-date 2026-06-30 \\\n--export compliance_audit_h1_2026.json",
        "audit collaboration",
    ),
    (
        "000",
        246,
        "cws collaboration end nih-neuro-consortium \\\n--date 2027-06-01 \\\n--archive-collaborator-work \\\n--transfer-snapshots mit-csail,berkeley-neuroscience",
        "collaboration end",
    ),
    (
        "000",
        266,
        "cws project create nih-neuro-consortium \\\n--budget 5000 \\\n--type collaboration \\\n--duration 18-months \\\n--description \"NIH R01: Multi-site neuroimaging analysis\"",
        "project create",
    ),
    (
        "000",
        272,
        "cws volume create neuro-dataset \\\n--size 50000 \\\n--cross-account-access \\\nmit-csail:read-only \\\nberkeley-neuroscience:read-write",
        "volume create",
    ),
    (
        "000",
        288,
        "cws profiles invitations create-collaboration \\\n--csv-file collaborators.csv \\\n--project nih-neuro-consortium \\\n--output invitations.csv",
        "profiles invitations create-collaboration",
    ),
    (
        "000",
        310,
        "cws profiles invitations accept <STANFORD-TOKEN> stanford-collab",
        "profiles invitations accept",
    ),
    (
        "000",
        312,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        313,
        "cws launch \"Python Machine Learning\" mit-algorithm-dev",
        "launch",
    ),
    (
        "000",
        315,
        "cws volume mount neuro-dataset mit-algorithm-dev",
        "volume mount",
    ),
    ("000", 319, "cws ssh mit-algorithm-dev", "ssh"),
    (
        "000",
        327,
        "cws profiles invitations accept <STANFORD-TOKEN> stanford-collab",
        "profiles invitations accept",
    ),
    (
        "000",
        329,
        "cws profiles use stanford-collab",
        "profiles use",
    ),
    (
        "000",
        330,
        "cws launch \"R Research Environment\" berkeley-analysis",
        "launch",
    ),
    (
        "000",
        332,
        "cws volume mount neuro-dataset berkeley-analysis",
        "volume mount",
    ),
    ("000", 336, "cws ssh berkeley-analysis", "ssh"),
    (
        "000",
        342,
        "cws project status nih-neuro-consortium --detail",
        "project status",
    ),
    (
        "000",
        381,
        "cws collaboration export stanford-collab ~/mit-stanford-work/",
        "collaboration export",
    ),
    (
        "000",
        386,
        "cws collaboration export stanford-collab \\\n--output ~/mit-stanford-final/ \\\n--include-snapshots",
        "collaboration export",
    ),
    (
        "000",
        408,
        "cws collaboration transfer-snapshots stanford-collab mit-csail",
        "collaboration transfer-snapshots",
    ),
    (
        "000",
        412,
        "cws collaboration report nih-neuro-consortium --final",
        "collaboration report",
    ),
    (
        "000",
        466,
        "cws project archive nih-neuro-consortium",
        "project archive",
    ),
    ("001", 66, "cws profiles current", "policy show"),
    (
        "001",
        67,
        "cws templates list --profile-filtered",
        "templates list",
    ),
    ("001", 75, "cws profiles policy show", "policy show"),
    ("001", 155, "cws list", "list"),
    ("002", 151, "cws launch python-ml my-project", "launch"),
    (
        "002",
        231,
        "cws profiles accept-invitation --encoded [token] --name \"Lab Collaboration\"",
        "profiles invitations accept",
    ),
    (
        "002",
        249,
        "cws profiles switch Lab-Collaboration",
        "profiles use",
    ),
];

/// A command named in prose without its arguments (seed 001's task list, seed 000's "Next
/// steps"): the command exists, `--help` after it explains it, and the bare line either runs
/// (no arguments needed) or says which argument or flag is missing.
const MENTIONED: &[(&str, usize, &str, &str)] = &[
    (
        "000",
        286,
        "cws profiles invitations create-collaboration",
        "profiles invitations create-collaboration",
    ),
    (
        "001",
        76,
        "cws profiles policy test",
        "profiles policy test",
    ),
    ("001", 154, "cws launch", "launch"),
    ("001", 155, "cws info", "info"),
    ("001", 156, "cws connect", "connect"),
];

/// Commands the snapshots branch adds (`snapshot`, `transfer`, `download`). Until it is merged
/// they are unknown commands; after, they parse to their own name.
const PARSED_BY_THE_SNAPSHOTS_BRANCH: &[(&str, usize, &str, &str)] = &[
    (
        "000",
        240,
        "cws download mit-algorithm-dev ~/backup.zip",
        "download",
    ),
    (
        "000",
        241,
        "cws snapshot create mit-algorithm-dev mit-final-work",
        "snapshot create",
    ),
    (
        "000",
        242,
        "cws transfer mit-algorithm-dev mit-csail:my-account",
        "transfer",
    ),
];

/// Seed 002's sequence diagram abbreviates the accept message to its token; a profile needs
/// a name, which the same seed gives in full at line 231 (in `PARSED`). Refused, asking for
/// `--name` with the usage line, rather than made up.
const ABBREVIATED: &[(&str, usize, &str)] = &[(
    "002",
    119,
    "cws profiles accept-invitation --encoded [token]",
)];

/// Seed 000's feature-gap list runs `cws project cost --by-user` into the next list item
/// ("reporting- Monthly cost attribution reports"): not a command line anyone types. It is
/// refused, naming the flag it cannot read; the command it means is in `PARSED` (line 116).
const GARBLED: &[(&str, usize, &str)] = &[(
    "000",
    496,
    "cws project cost --by-userreporting- Monthly cost attribution reports",
)];

/// The seeds' placeholders, filled the way a person would before running the line.
fn filled(text: &str) -> String {
    text.replace("<STANFORD-INVITATION-TOKEN>", "inv-AbCdEf123456789")
        .replace("<STANFORD-TOKEN>", "inv-AbCdEf123456789")
        .replace("[token]", "inv-AbCdEf123456789")
        .replace("<instance-name>", "mit-algorithm-dev")
}

#[test]
fn every_seed_command_line_parses_to_the_command_it_names() {
    let mut wrong = Vec::new();
    for (seed, line, text, expected) in PARSED {
        match parse(&filled(text)) {
            Ok(command) if command.name() == *expected && !matches!(command, Command::Help(_)) => {}
            other => wrong.push(format!("seed {seed} line {line}: {text:?} → {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn commands_named_in_prose_exist_and_explain_themselves() {
    for (seed, line, text, command) in MENTIONED {
        let help = parse(&format!("{text} --help"));
        assert_eq!(
            help,
            Ok(Command::Help(Help {
                topic: Some((*command).to_owned())
            })),
            "seed {seed} line {line}"
        );
        match parse(text) {
            Ok(parsed) => assert!(
                !matches!(parsed, Command::Help(_)),
                "seed {seed} line {line}"
            ),
            Err(error) => {
                assert!(
                    matches!(
                        error.kind(),
                        ParseErrorKind::MissingArgument { .. } | ParseErrorKind::MissingFlag { .. }
                    ),
                    "seed {seed} line {line}: {error:?}"
                );
                assert!(error.usage().is_some(), "seed {seed} line {line}: no usage");
            }
        }
    }
}

#[test]
fn snapshot_commands_are_unknown_here_or_parsed_by_their_branch() {
    for (seed, line, text, command) in PARSED_BY_THE_SNAPSHOTS_BRANCH {
        match parse(text) {
            Ok(parsed) => assert_eq!(parsed.name(), *command, "seed {seed} line {line}"),
            Err(error) => assert!(
                matches!(error.kind(), ParseErrorKind::UnknownCommand { .. }),
                "seed {seed} line {line}: {error:?}"
            ),
        }
    }
}

#[test]
fn the_abbreviated_accept_asks_for_the_profile_name() {
    for (seed, line, text) in ABBREVIATED {
        let error = parse(&filled(text)).expect_err("a profile needs a name");
        assert_eq!(
            error.kind(),
            &ParseErrorKind::MissingFlag { flag: "name" },
            "seed {seed} line {line}"
        );
        assert!(error.usage().is_some(), "seed {seed} line {line}");
    }
}

#[test]
fn garbled_seed_text_is_refused_at_the_garbled_word() {
    for (seed, line, text) in GARBLED {
        let error = parse(text).expect_err("garbled text must not pass");
        assert_eq!(
            error.token(),
            Some("--by-userreporting-"),
            "seed {seed} line {line}: {error:?}"
        );
        assert!(error.usage().is_some(), "seed {seed} line {line}");
    }
}
