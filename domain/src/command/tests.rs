//! Grammar-wide tests: every command line from the seeds and the issue excerpts, the error
//! table, help and error snapshots, properties, and the consistency of the command table.

use proptest::prelude::*;

use super::*;
use crate::template::Size;

fn name(s: &str) -> WorkspaceName {
    s.parse().unwrap()
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn launch(template: &str, workspace: &str, size: Option<Size>) -> Launch {
    Launch {
        template: template.into(),
        name: name(workspace),
        size,
        region: None,
        project: None,
    }
}

fn invitation(name: &str, invitation_type: InvitationType) -> InvitationCreate {
    InvitationCreate {
        name: name.parse().unwrap(),
        invitation_type,
        valid_days: 540,
        can_invite: None,
        device_bound: None,
        max_devices: None,
        restrictions: None,
        require_verified_identity: false,
        require_domain: None,
        launch_account: None,
        institution: None,
    }
}

fn neuro_dataset() -> Command {
    Command::Volume(VolumeCommand::Create(VolumeCreate {
        name: "neuro-dataset".into(),
        size_gb: 50_000,
        access: vec![
            CrossAccountAccess {
                account: "mit-csail".into(),
                mode: AccessMode::ReadOnly,
            },
            CrossAccountAccess {
                account: "berkeley-neuroscience".into(),
                mode: AccessMode::ReadWrite,
            },
        ],
    }))
}

const CSV: &str = "Name,Institution,Type,ValidDays,TemplateWhitelist,MaxInstanceType,MaxHourlyCost\n\
                   Dr. Michael Johnson,MIT,admin,540,\"Python ML;R Research\",r5.xlarge,1.00\n\
                   Dr. Sarah Lee,Berkeley,read_write,540,\"R Research;Bioinformatics\",t3.large,0.50";

/// Every command line of the seeds (as typed after `cws`, continuations kept) and of the issue
/// excerpts, with the command it must parse to.
fn command_lines() -> Vec<(String, Command)> {
    use Command::*;
    let lines: Vec<(&str, Command)> = vec![
        // Seed 000, in order of appearance.
        (
            "profile use stanford-neuroscience",
            Profiles(ProfilesCommand::Use {
                profile: "stanford-neuroscience".parse().unwrap(),
            }),
        ),
        (
            "project create nih-neuro-consortium \\\n\
             --budget 5000 \\\n\
             --description \"NIH R01: Multi-site neuroimaging analysis\" \\\n\
             --alert-threshold 75",
            Project(ProjectCommand::Create(ProjectCreate {
                name: "nih-neuro-consortium".parse().unwrap(),
                budget: UsdCents(500_000),
                description: Some("NIH R01: Multi-site neuroimaging analysis".into()),
                alert_threshold: Some(75),
                project_type: None,
                duration: None,
                account: None,
                time_zone: None,
                institution: None,
            })),
        ),
        (
            "profiles invitations create mit-collaboration \\\n\
             --type admin \\\n\
             --valid-days 540 \\\n\
             --can-invite false \\\n\
             --device-bound true \\\n\
             --max-devices 3",
            Profiles(ProfilesCommand::InvitationCreate(InvitationCreate {
                can_invite: Some(false),
                device_bound: Some(true),
                max_devices: Some(3),
                ..invitation("mit-collaboration", InvitationType::Admin)
            })),
        ),
        (
            "profiles invitations create berkeley-collaboration \\\n\
             --type read_write \\\n\
             --valid-days 540 \\\n\
             --device-bound true \\\n\
             --max-devices 2",
            Profiles(ProfilesCommand::InvitationCreate(InvitationCreate {
                device_bound: Some(true),
                max_devices: Some(2),
                ..invitation("berkeley-collaboration", InvitationType::ReadWrite)
            })),
        ),
        (
            "profiles invitations create mit-collaboration --type read_write --valid-days 540 \
             --launch-account mit-csail",
            Profiles(ProfilesCommand::InvitationCreate(InvitationCreate {
                launch_account: Some("mit-csail".into()),
                ..invitation("mit-collaboration", InvitationType::ReadWrite)
            })),
        ),
        (
            "profiles invitations accept <STANFORD-INVITATION-TOKEN> stanford-collab",
            Profiles(ProfilesCommand::InvitationAccept {
                token: "<STANFORD-INVITATION-TOKEN>".into(),
                profile: "stanford-collab".parse().unwrap(),
            }),
        ),
        ("profiles list", Profiles(ProfilesCommand::List)),
        (
            "profiles use stanford-collab",
            Profiles(ProfilesCommand::Use {
                profile: "stanford-collab".parse().unwrap(),
            }),
        ),
        (
            "launch \"Python Machine Learning\" mit-algorithm-dev",
            Launch(launch("Python Machine Learning", "mit-algorithm-dev", None)),
        ),
        (
            "launch \"R Research Environment\" berkeley-analysis",
            Launch(launch("R Research Environment", "berkeley-analysis", None)),
        ),
        (
            "volume create neuro-dataset \\\n\
             --size 50000 \\\n\
             --cross-account-access mit-csail,berkeley-neuroscience \\\n\
             --read-only-for mit-csail \\\n\
             --read-write-for berkeley-neuroscience",
            neuro_dataset(),
        ),
        (
            "volume mount neuro-dataset mit-algorithm-dev",
            Volume(VolumeCommand::Mount {
                volume: "neuro-dataset".into(),
                workspace: name("mit-algorithm-dev"),
                mode: None,
            }),
        ),
        (
            "volume mount neuro-dataset berkeley-analysis",
            Volume(VolumeCommand::Mount {
                volume: "neuro-dataset".into(),
                workspace: name("berkeley-analysis"),
                mode: None,
            }),
        ),
        (
            "project cost nih-neuro-consortium --by-user",
            Project(ProjectCommand::Cost(ProjectCost {
                name: "nih-neuro-consortium".parse().unwrap(),
                breakdown: Some(CostBreakdown::ByUser),
                month: None,
            })),
        ),
        (
            "project chargeback nih-neuro-consortium \\\n\
             --enable \\\n\
             --mit-account 123456789012 \\\n\
             --berkeley-account 987654321098",
            Project(ProjectCommand::Chargeback(ProjectChargeback {
                name: "nih-neuro-consortium".parse().unwrap(),
                enable: Some(true),
                mode: None,
                accounts: vec![
                    InstitutionAccount {
                        institution: "mit".into(),
                        account: "123456789012".parse().unwrap(),
                    },
                    InstitutionAccount {
                        institution: "berkeley".into(),
                        account: "987654321098".parse().unwrap(),
                    },
                ],
                month: None,
            })),
        ),
        (
            "profiles invitations create berkeley-collaboration \\\n\
             --type read_write \\\n\
             --valid-days 540 \\\n\
             --policy-restrictions \\\n\
             --template-whitelist \"R Research Environment,Python Machine Learning\" \\\n\
             --max-instance-types \"t3.large,r5.xlarge\" \\\n\
             --max-hourly-cost 0.50 \\\n\
             --forbidden-regions \"us-west-1,eu-west-1\"",
            Profiles(ProfilesCommand::InvitationCreate(InvitationCreate {
                restrictions: Some(PolicyRestrictions {
                    template_whitelist: strings(&[
                        "R Research Environment",
                        "Python Machine Learning",
                    ]),
                    max_instance_types: strings(&["t3.large", "r5.xlarge"]),
                    max_hourly_cost: Some(HourlyRate(500_000)),
                    forbidden_regions: strings(&["us-west-1", "eu-west-1"]),
                }),
                ..invitation("berkeley-collaboration", InvitationType::ReadWrite)
            })),
        ),
        (
            "launch \"GPU ML Workstation\" expensive-gpu --size XL",
            Launch(launch(
                "GPU ML Workstation",
                "expensive-gpu",
                Some(Size::XL),
            )),
        ),
        (
            "audit collaboration nih-neuro-consortium \\\n\
             --start-date 2026-01-01 \\\n\
             --end-date 2026-06-30 \\\n\
             --export compliance_audit_h1_2026.json",
            Audit(AuditCommand::Collaboration(AuditCollaboration {
                project: "nih-neuro-consortium".parse().unwrap(),
                start_date: date("2026-01-01"),
                end_date: date("2026-06-30"),
                export: Some(AuditExport {
                    format: ExportFormat::Json,
                    file: Some("compliance_audit_h1_2026.json".into()),
                }),
            })),
        ),
        (
            "collaboration end nih-neuro-consortium \\\n\
             --date 2027-06-01 \\\n\
             --archive-collaborator-work \\\n\
             --transfer-snapshots mit-csail,berkeley-neuroscience",
            Collaboration(CollaborationCommand::End(CollaborationEnd {
                project: "nih-neuro-consortium".parse().unwrap(),
                date: date("2027-06-01"),
                archive_collaborator_work: true,
                transfer_snapshots: strings(&["mit-csail", "berkeley-neuroscience"]),
            })),
        ),
        (
            "project create nih-neuro-consortium \\\n\
             --budget 5000 \\\n\
             --type collaboration \\\n\
             --duration 18-months \\\n\
             --description \"NIH R01: Multi-site neuroimaging analysis\"",
            Project(ProjectCommand::Create(ProjectCreate {
                name: "nih-neuro-consortium".parse().unwrap(),
                budget: UsdCents(500_000),
                description: Some("NIH R01: Multi-site neuroimaging analysis".into()),
                alert_threshold: None,
                project_type: Some(ProjectType::Collaboration),
                duration: Some(Months(18)),
                account: None,
                time_zone: None,
                institution: None,
            })),
        ),
        (
            "volume create neuro-dataset \\\n\
             --size 50000 \\\n\
             --cross-account-access \\\n\
             mit-csail:read-only \\\n\
             berkeley-neuroscience:read-write",
            neuro_dataset(),
        ),
        (
            "profiles invitations create-collaboration \\\n\
             --csv-file collaborators.csv \\\n\
             --project nih-neuro-consortium \\\n\
             --output invitations.csv",
            Profiles(ProfilesCommand::InvitationCreateCollaboration(
                InvitationCreateCollaboration {
                    csv_file: "collaborators.csv".into(),
                    project: Some("nih-neuro-consortium".parse().unwrap()),
                    output: Some("invitations.csv".into()),
                    csv: None,
                },
            )),
        ),
        (
            "profiles invitations accept <STANFORD-TOKEN> stanford-collab",
            Profiles(ProfilesCommand::InvitationAccept {
                token: "<STANFORD-TOKEN>".into(),
                profile: "stanford-collab".parse().unwrap(),
            }),
        ),
        (
            "ssh mit-algorithm-dev",
            Workspace(WorkspaceCommand::Ssh {
                name: name("mit-algorithm-dev"),
            }),
        ),
        (
            "ssh berkeley-analysis",
            Workspace(WorkspaceCommand::Ssh {
                name: name("berkeley-analysis"),
            }),
        ),
        (
            "project status nih-neuro-consortium --detail",
            Project(ProjectCommand::Status(ProjectStatus {
                name: "nih-neuro-consortium".parse().unwrap(),
                detail: true,
            })),
        ),
        (
            "collaboration export stanford-collab ~/mit-stanford-work/",
            Collaboration(CollaborationCommand::Export(CollaborationExport {
                profile: "stanford-collab".parse().unwrap(),
                output: Some("~/mit-stanford-work/".into()),
                include_snapshots: false,
            })),
        ),
        (
            "collaboration export stanford-collab \\\n\
             --output ~/mit-stanford-final/ \\\n\
             --include-snapshots",
            Collaboration(CollaborationCommand::Export(CollaborationExport {
                profile: "stanford-collab".parse().unwrap(),
                output: Some("~/mit-stanford-final/".into()),
                include_snapshots: true,
            })),
        ),
        (
            "collaboration transfer-snapshots stanford-collab mit-csail",
            Collaboration(CollaborationCommand::TransferSnapshots {
                profile: "stanford-collab".parse().unwrap(),
                account: "mit-csail".into(),
            }),
        ),
        // Month 17, preserving work on demand.
        (
            "transfer mit-algorithm-dev mit-csail:my-account",
            Preserve(PreserveCommand::Transfer {
                workspace: name("mit-algorithm-dev"),
                account: AccountRef {
                    institution: Some("mit-csail".into()),
                    name: "my-account".into(),
                },
            }),
        ),
        (
            "collaboration report nih-neuro-consortium --final",
            Collaboration(CollaborationCommand::Report(CollaborationReport {
                project: "nih-neuro-consortium".parse().unwrap(),
                final_report: true,
                export_compliance: false,
            })),
        ),
        (
            "collaboration report nih-neuro-consortium --final --export-compliance",
            Collaboration(CollaborationCommand::Report(CollaborationReport {
                project: "nih-neuro-consortium".parse().unwrap(),
                final_report: true,
                export_compliance: true,
            })),
        ),
        // Seed 002.
        (
            "launch python-ml my-project",
            Launch(launch("python-ml", "my-project", None)),
        ),
        // The issue excerpts' commands that the seeds do not show.
        (
            "snapshot create mit-algorithm-dev before-rerun",
            Preserve(PreserveCommand::SnapshotCreate {
                workspace: name("mit-algorithm-dev"),
                name: "before-rerun".parse().unwrap(),
            }),
        ),
        (
            "snapshot list mit-algorithm-dev",
            Preserve(PreserveCommand::SnapshotList {
                workspace: Some(name("mit-algorithm-dev")),
            }),
        ),
        (
            "snapshot delete before-rerun",
            Preserve(PreserveCommand::SnapshotDelete {
                name: "before-rerun".parse().unwrap(),
            }),
        ),
        (
            "download mit-algorithm-dev ~/results",
            Preserve(PreserveCommand::Download {
                workspace: name("mit-algorithm-dev"),
                path: Some("results".parse().unwrap()),
            }),
        ),
        (
            "launch \"Python Machine Learning\" mit-dev --size L --region us-east-1 --project nih-neuro-consortium",
            Launch(super::Launch {
                region: Some("us-east-1".into()),
                project: Some("nih-neuro-consortium".parse().unwrap()),
                ..launch("Python Machine Learning", "mit-dev", Some(Size::L))
            }),
        ),
        (
            "list --project nih-neuro-consortium --mine",
            Workspace(WorkspaceCommand::List(WorkspaceList {
                project: Some("nih-neuro-consortium".parse().unwrap()),
                mine: true,
            })),
        ),
        (
            "stop mit-dev",
            Workspace(WorkspaceCommand::Stop {
                name: name("mit-dev"),
            }),
        ),
        (
            "start mit-dev",
            Workspace(WorkspaceCommand::Start {
                name: name("mit-dev"),
            }),
        ),
        (
            "resume mit-dev",
            Workspace(WorkspaceCommand::Resume {
                name: name("mit-dev"),
            }),
        ),
        (
            "hibernate mit-dev",
            Workspace(WorkspaceCommand::Hibernate {
                name: name("mit-dev"),
            }),
        ),
        (
            "terminate mit-dev",
            Workspace(WorkspaceCommand::Terminate {
                name: name("mit-dev"),
            }),
        ),
        (
            "status mit-dev",
            Workspace(WorkspaceCommand::Status {
                name: name("mit-dev"),
            }),
        ),
        (
            "project cost nih-neuro-consortium --by-institution --month 2026-06",
            Project(ProjectCommand::Cost(ProjectCost {
                name: "nih-neuro-consortium".parse().unwrap(),
                breakdown: Some(CostBreakdown::ByInstitution),
                month: Some("2026-06".parse().unwrap()),
            })),
        ),
        (
            "project chargeback nih-neuro-consortium --enable --mode aws",
            Project(ProjectCommand::Chargeback(ProjectChargeback {
                name: "nih-neuro-consortium".parse().unwrap(),
                enable: Some(true),
                mode: Some(ChargebackMode::Aws),
                accounts: Vec::new(),
                month: None,
            })),
        ),
        (
            "project chargeback nih-neuro-consortium --month 2026-10",
            Project(ProjectCommand::Chargeback(ProjectChargeback {
                name: "nih-neuro-consortium".parse().unwrap(),
                enable: None,
                mode: None,
                accounts: Vec::new(),
                month: Some("2026-10".parse().unwrap()),
            })),
        ),
        (
            "project budget nih-neuro-consortium --hard-limit 5500 --action hibernate_all",
            Project(ProjectCommand::Budget(ProjectBudget {
                name: "nih-neuro-consortium".parse().unwrap(),
                amount: None,
                hard_limit: Some(UsdCents(550_000)),
                action: Some(LimitAction::HibernateAll),
                lift: false,
            })),
        ),
        (
            "project idle nih-neuro-consortium --cpu-below 5 --after-minutes 60 --grace-minutes 30 --action hibernate",
            Project(ProjectCommand::Idle(ProjectIdle {
                name: "nih-neuro-consortium".parse().unwrap(),
                cpu_below: Some(5),
                after_minutes: Some(60),
                grace_minutes: Some(30),
                action: Some(IdleAction::Hibernate),
                off: false,
            })),
        ),
        (
            "project budget nih-neuro-consortium --amount 6000 --lift",
            Project(ProjectCommand::Budget(ProjectBudget {
                name: "nih-neuro-consortium".parse().unwrap(),
                amount: Some(UsdCents(600_000)),
                hard_limit: None,
                action: None,
                lift: true,
            })),
        ),
        (
            "project reconcile nih-neuro-consortium --month 2026-10",
            Project(ProjectCommand::Reconcile(ProjectReconcile {
                name: "nih-neuro-consortium".parse().unwrap(),
                month: Some("2026-10".parse().unwrap()),
            })),
        ),
        (
            "project create nih --budget 500 --timezone America/Los_Angeles",
            Project(ProjectCommand::Create(ProjectCreate {
                name: "nih".parse().unwrap(),
                budget: UsdCents(50_000),
                description: None,
                alert_threshold: None,
                project_type: None,
                duration: None,
                account: None,
                time_zone: Some("America/Los_Angeles".parse().unwrap()),
                institution: None,
            })),
        ),
        (
            "project approvers nih --add <@U0456|jane>,discord:1234 --remove slack:T0123:U0789",
            Project(ProjectCommand::Approvers(ProjectApprovers {
                name: "nih".parse().unwrap(),
                add: vec![
                    PersonRef::Mention("U0456".into()),
                    PersonRef::Identity("discord:1234".parse().unwrap()),
                ],
                remove: vec![PersonRef::Identity("slack:T0123:U0789".parse().unwrap())],
            })),
        ),
        (
            "project create nih --budget 500 --institution Stanford",
            Project(ProjectCommand::Create(ProjectCreate {
                name: "nih".parse().unwrap(),
                budget: UsdCents(50_000),
                description: None,
                alert_threshold: None,
                project_type: None,
                duration: None,
                account: None,
                time_zone: None,
                institution: Some("Stanford".parse().unwrap()),
            })),
        ),
        (
            "profiles invitations create auditor --type read_only --valid-days 90 --require-verified-identity --require-domain stanford.edu",
            Profiles(ProfilesCommand::InvitationCreate(InvitationCreate {
                valid_days: 90,
                require_verified_identity: true,
                require_domain: Some("stanford.edu".into()),
                launch_account: None,
                ..invitation("auditor", InvitationType::ReadOnly)
            })),
        ),
        (
            "profiles invitations list",
            Profiles(ProfilesCommand::InvitationList),
        ),
        (
            "profiles invitations revoke mit-collaboration",
            Profiles(ProfilesCommand::InvitationRevoke {
                name: "mit-collaboration".parse().unwrap(),
            }),
        ),
        (
            "profiles invitations extend mit-collaboration --valid-days 90",
            Profiles(ProfilesCommand::InvitationExtend {
                name: "mit-collaboration".parse().unwrap(),
                valid_days: 90,
            }),
        ),
        (
            "profile invitations extend berkeley-collaboration --valid-days=365",
            Profiles(ProfilesCommand::InvitationExtend {
                name: "berkeley-collaboration".parse().unwrap(),
                valid_days: 365,
            }),
        ),
        ("profiles verify", Profiles(ProfilesCommand::Verify)),
        ("templates list", Templates(TemplatesCommand::List)),
        (
            "templates show \"Python Machine Learning\"",
            Templates(TemplatesCommand::Show {
                template: "Python Machine Learning".to_owned(),
            }),
        ),
        (
            "templates propose genomics.yml",
            Templates(TemplatesCommand::Propose {
                file: "genomics.yml".to_owned(),
            }),
        ),
        // Seed 002's spellings.
        (
            "profiles switch stanford-collab",
            Profiles(ProfilesCommand::Use {
                profile: "stanford-collab".parse().unwrap(),
            }),
        ),
        (
            "profiles accept-invitation --encoded inv-abc --name stanford-collab",
            Profiles(ProfilesCommand::InvitationAccept {
                token: "inv-abc".into(),
                profile: "stanford-collab".parse().unwrap(),
            }),
        ),
        (
            r#"profiles ssh-key add "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk sarah@laptop""#,
            Profiles(ProfilesCommand::SshKeyAdd {
                key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk"
                    .parse()
                    .unwrap(),
            }),
        ),
        // Unquoted, as people paste it.
        (
            "profiles ssh-key add ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk sarah@laptop",
            Profiles(ProfilesCommand::SshKeyAdd {
                key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDDNtVzmIbd+bszyw/O1Z2rtpr37rQOiQSdgnOth5JOk"
                    .parse()
                    .unwrap(),
            }),
        ),
        ("profiles ssh-key rotate", Profiles(ProfilesCommand::SshKeyRotate)),
        (
            "volume create neuro-dataset --size 50000 --cross-account-access mit-csail:read-only,berkeley-neuroscience:read-write",
            neuro_dataset(),
        ),
        ("volume list", Volume(VolumeCommand::List)),
        (
            "volume status neuro-dataset",
            Volume(VolumeCommand::Status {
                name: "neuro-dataset".into(),
            }),
        ),
        (
            "volume homes lab-homes",
            Volume(VolumeCommand::Homes {
                name: "lab-homes".into(),
            }),
        ),
        (
            "audit verify nih-neuro-consortium",
            Audit(AuditCommand::Verify {
                project: "nih-neuro-consortium".parse().unwrap(),
            }),
        ),
        ("policy show", Policy(PolicyCommand::Show)),
        (
            "policy test \"GPU ML Workstation\" x --size XL",
            Policy(PolicyCommand::Test(launch(
                "GPU ML Workstation",
                "x",
                Some(Size::XL),
            ))),
        ),
        // Seed 001's spellings.
        ("profiles current", Policy(PolicyCommand::Show)),
        ("profiles policy show", Policy(PolicyCommand::Show)),
        (
            "profiles policy test \"GPU ML Workstation\" --size XL",
            Policy(PolicyCommand::Test(launch(
                "GPU ML Workstation",
                "policy-test",
                Some(Size::XL),
            ))),
        ),
        (
            "templates list --profile-filtered",
            Templates(TemplatesCommand::ListForProfile),
        ),
        (
            "connect mit-algorithm-dev",
            Workspace(WorkspaceCommand::Ssh {
                name: "mit-algorithm-dev".parse().unwrap(),
            }),
        ),
        (
            "info mit-algorithm-dev",
            Workspace(WorkspaceCommand::Status {
                name: "mit-algorithm-dev".parse().unwrap(),
            }),
        ),
        // Seed 000's last step.
        (
            "project archive nih-neuro-consortium",
            Project(ProjectCommand::Archive {
                name: "nih-neuro-consortium".parse().unwrap(),
            }),
        ),
        ("help", Help(super::Help { topic: None })),
        ("", Help(super::Help { topic: None })),
        (
            "help launch",
            Help(super::Help {
                topic: Some("launch".into()),
            }),
        ),
        (
            "help project create",
            Help(super::Help {
                topic: Some("project create".into()),
            }),
        ),
    ];
    let mut lines: Vec<(String, Command)> = lines
        .into_iter()
        .map(|(line, command)| (line.to_owned(), command))
        .collect();
    lines.push((
        format!("profiles invitations create-collaboration --csv-file collaborators.csv --project nih-neuro-consortium\n{CSV}\n"),
        Profiles(ProfilesCommand::InvitationCreateCollaboration(InvitationCreateCollaboration {
            csv_file: "collaborators.csv".into(),
            project: Some("nih-neuro-consortium".parse().unwrap()),
            output: None,
            csv: Some(CSV.into()),
        })),
    ));
    lines
}

#[test]
fn every_command_line_parses() {
    for (line, expected) in command_lines() {
        assert_eq!(parse(&line), Ok(expected), "{line}");
    }
}

#[test]
fn the_command_lines_cover_every_command() {
    let lines = command_lines();
    let covered: Vec<&str> = lines.iter().map(|(_, command)| command.name()).collect();
    for spec in COMMANDS {
        // A seed's spelling parses to the command it stands for, named by its line.
        let spelled = lines
            .iter()
            .any(|(line, _)| line == spec.name || line.starts_with(&format!("{} ", spec.name)));
        assert!(
            covered.contains(&spec.name) || spelled,
            "no command line for `{}`",
            spec.name
        );
    }
}

#[test]
fn command_lines_parse_the_same_with_slash_cws_smart_quotes_and_padding() {
    for (line, expected) in command_lines() {
        let mut variants = vec![
            format!("  {line}  "),
            format!("cws {line}"),
            format!("/cws {line}"),
        ];
        if !line.contains(CSV) {
            variants.push(line.replacen('"', "“", 1).replacen('"', "”", 1));
        }
        for variant in variants {
            assert_eq!(parse(&variant).as_ref(), Ok(&expected), "{variant}");
        }
    }
}

#[test]
fn commands_roundtrip_through_json() {
    for (line, command) in command_lines() {
        let json = serde_json::to_string(&command).unwrap();
        assert_eq!(
            serde_json::from_str::<Command>(&json).unwrap(),
            command,
            "{line}: {json}"
        );
    }
}

#[test]
fn json_is_validated_on_the_way_in() {
    let json = r#"{"Workspace":{"Stop":{"name":"My_Box"}}}"#;
    assert!(serde_json::from_str::<Command>(json).is_err());
    let json = r#"{"Workspace":{"Stop":{"name":"my-box"}}}"#;
    assert_eq!(
        serde_json::from_str::<Command>(json).unwrap(),
        Command::Workspace(WorkspaceCommand::Stop {
            name: name("my-box")
        })
    );
}

#[test]
fn errors_name_the_token_and_carry_the_usage() {
    let launch_usage = Some(launch::LAUNCH.usage);
    let invitation_usage = Some(profiles::INVITATIONS_CREATE.usage);
    let cases: Vec<(&str, ParseErrorKind, Option<&str>, Option<&str>)> = vec![
        (
            "launch \"Python Machine Learning mit-dev",
            ParseErrorKind::UnterminatedQuote { position: 8 },
            Some("\"Python Machine Learning mit-dev"),
            launch_usage,
        ),
        (
            "lanch x y",
            ParseErrorKind::UnknownCommand {
                typed: "lanch".into(),
                suggestion: Some("launch"),
            },
            Some("lanch"),
            None,
        ),
        (
            "project creat x",
            ParseErrorKind::UnknownCommand {
                typed: "project creat".into(),
                suggestion: Some("project create"),
            },
            Some("creat"),
            None,
        ),
        (
            "backup create x",
            ParseErrorKind::UnknownCommand {
                typed: "backup".into(),
                suggestion: None,
            },
            Some("backup"),
            None,
        ),
        (
            "launch python-ml box --colour red",
            ParseErrorKind::UnknownFlag { suggestion: None },
            Some("--colour"),
            launch_usage,
        ),
        (
            "launch python-ml box --sise L",
            ParseErrorKind::UnknownFlag {
                suggestion: Some("size"),
            },
            Some("--sise"),
            launch_usage,
        ),
        (
            "launch \"Python Machine Learning\"",
            ParseErrorKind::MissingArgument { name: "NAME" },
            None,
            launch_usage,
        ),
        (
            "launch python-ml box --size XXL",
            ParseErrorKind::InvalidValue {
                flag: "size".into(),
                reason: InvalidReason::Size(crate::template::UnknownSize("XXL".into())),
            },
            Some("XXL"),
            launch_usage,
        ),
        (
            "launch python-ml My_Box",
            ParseErrorKind::InvalidArgument {
                name: "NAME",
                reason: InvalidReason::Name(InvalidName {
                    kind: NameKind::Workspace,
                    name: "My_Box".into(),
                    problem: NameProblem::BadChar('M'),
                }),
            },
            Some("My_Box"),
            launch_usage,
        ),
        (
            "profiles invitations create x --type admin --valid-days 540 --max-hourly-cost abc",
            ParseErrorKind::InvalidValue {
                flag: "max-hourly-cost".into(),
                reason: InvalidReason::Format {
                    expected: "a dollar amount per hour such as 0.50",
                },
            },
            Some("abc"),
            invitation_usage,
        ),
        (
            "profiles invitations create x --type admin --valid-days 540 --max-hourly-cost 0.12345",
            ParseErrorKind::InvalidValue {
                flag: "max-hourly-cost".into(),
                reason: InvalidReason::TooManyDecimals { max: 4 },
            },
            Some("0.12345"),
            invitation_usage,
        ),
        (
            "project cost nih --by-user --by-institution",
            ParseErrorKind::ConflictingFlags {
                other: "--by-user".into(),
            },
            Some("--by-institution"),
            Some(project::COST.usage),
        ),
        (
            "launch python-ml box --size L --size XL",
            ParseErrorKind::DuplicateFlag,
            Some("--size"),
            launch_usage,
        ),
        (
            "launch python-ml box --size",
            ParseErrorKind::MissingFlagValue,
            Some("--size"),
            launch_usage,
        ),
        (
            "launch python-ml box --size --region us-east-1",
            ParseErrorKind::MissingFlagValue,
            Some("--size"),
            launch_usage,
        ),
        (
            "launch python-ml box extra",
            ParseErrorKind::UnexpectedArgument,
            Some("extra"),
            launch_usage,
        ),
        (
            "project create nih --description \"NIH",
            ParseErrorKind::UnterminatedQuote { position: 34 },
            Some("\"NIH"),
            Some(project::CREATE.usage),
        ),
    ];
    for (text, kind, token, usage) in cases {
        let error = parse(text).unwrap_err();
        assert_eq!(error.kind(), &kind, "{text}");
        assert_eq!(error.token(), token, "{text}");
        assert_eq!(error.usage(), usage, "{text}");
        if let Some(token) = token {
            assert!(error.to_string().contains(token), "{text}: {error}");
        }
    }
}

#[test]
fn error_messages_read_well() {
    let message = |text: &str| parse(text).unwrap_err().to_string();
    insta::assert_snapshot!(message("launch python-ml box --size XXL"), @"unknown size `XXL`: choose one of S, M, L, XL");
    insta::assert_snapshot!(message("launch \"Python Machine Learning\" My_Box"), @"invalid workspace name `My_Box`: `M` is not allowed, use lowercase letters, digits and '-' (try `my-box`)");
    insta::assert_snapshot!(message("lanch \"Python Machine Learning\" box"), @"unknown command `lanch`: did you mean `/cws launch`?");
    insta::assert_snapshot!(message("launch “Python Machine Learning box --size L"), @"unterminated quote in `“Python Machine Learning box --size L` (the quote at character 8 is never closed)");
}

/// Project, profile and invitation names, wherever a command takes one, follow the naming
/// rule, and the refusal says which rule: a name is a value, never a key fragment, a formula
/// or the deployment's own.
#[test]
fn names_are_refused_with_the_rule() {
    let long = "a".repeat(200);
    let rules = [
        // No hint: `identity` is reserved.
        (
            "~identity",
            "`~` is not allowed, use lowercase letters, digits and '-'",
        ),
        (
            "a:b",
            "`:` is not allowed, use lowercase letters, digits and '-' (try `a-b`)",
        ),
        (
            "=HYPERLINK(1)",
            "`=` is not allowed, use lowercase letters, digits and '-' (try `hyperlink-1`)",
        ),
        (
            "UPPER",
            "`U` is not allowed, use lowercase letters, digits and '-' (try `upper`)",
        ),
        (
            "-lab",
            "it must start with a lowercase letter or digit, not `-`",
        ),
        (
            long.as_str(),
            "it is 200 characters long, at most 63 are allowed",
        ),
        (
            "identity",
            "is reserved for the system's own use: choose another name",
        ),
        (
            "owner",
            "is reserved for the system's own use: choose another name",
        ),
    ];
    let commands = [
        (
            "project create {} --budget 5000",
            "project",
            project::CREATE.usage,
        ),
        ("project status {}", "project", project::STATUS.usage),
        ("audit verify {}", "project", audit::VERIFY.usage),
        (
            "launch python-ml box --project {}",
            "project",
            launch::LAUNCH.usage,
        ),
        ("profiles use {}", "profile", profiles::USE.usage),
        (
            "profiles invitations accept inv-token {}",
            "profile",
            profiles::INVITATIONS_ACCEPT.usage,
        ),
        (
            "collaboration export {}",
            "profile",
            collaboration::EXPORT.usage,
        ),
        (
            "profiles invitations create {} --type read_only --valid-days 30",
            "invitation",
            profiles::INVITATIONS_CREATE.usage,
        ),
        (
            "profiles invitations revoke {}",
            "invitation",
            profiles::INVITATIONS_REVOKE.usage,
        ),
        (
            "profiles invitations extend {} --valid-days 90",
            "invitation",
            profiles::INVITATIONS_EXTEND.usage,
        ),
    ];
    for (template, kind, usage) in commands {
        for (name, rule) in rules {
            let text = template.replace("{}", name);
            let error = parse(&text).unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains(kind) && message.contains(rule),
                "{text}: {message}"
            );
            assert_eq!(
                (error.token(), error.usage()),
                (Some(name), Some(usage)),
                "{text}"
            );
        }
    }
    // The names of the seeds and of the system's own making are names.
    for ok in [
        "nih-neuro-consortium",
        "stanford-collab",
        "berkeley-collaboration",
        "mit-collaboration-2",
    ] {
        assert!(
            parse(&format!("project create {ok} --budget 5")).is_ok(),
            "{ok}"
        );
        assert!(parse(&format!("profiles use {ok}")).is_ok(), "{ok}");
        assert!(
            parse(&format!("profiles invitations revoke {ok}")).is_ok(),
            "{ok}"
        );
    }
    // Workspaces reserve nothing: the name only ever stands for the workspace.
    assert!(parse("launch python-ml help").is_ok());
}

#[test]
fn edit_distance_counts_edits() {
    assert_eq!(edit_distance("lanch", "launch"), 1);
    assert_eq!(edit_distance("", "ssh"), 3);
    assert_eq!(edit_distance("stpo", "stop"), 2);
    assert_eq!(edit_distance("profiles", "profiles"), 0);
}

/// The hand-written usage lines must say exactly what the table declares.
#[test]
fn usage_lines_match_the_table() {
    for spec in COMMANDS {
        let prefix = format!("/cws {}", spec.name);
        let rest = spec
            .usage
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{} does not start with {prefix}", spec.usage));
        let words: Vec<&str> = rest
            .split(|c: char| c.is_whitespace() || "[]|".contains(c))
            .map(|word| word.trim_end_matches("..."))
            .filter(|word| !word.is_empty())
            .collect();
        for arg in spec.arguments {
            assert!(
                words.contains(&arg.name),
                "{}: {} missing",
                spec.name,
                arg.name
            );
        }
        let declared: Vec<String> = spec
            .flags
            .iter()
            .map(|flag| {
                flag.synopsis()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        for flag in &declared {
            assert!(
                words.contains(&flag.as_str()),
                "{}: {flag} missing from usage",
                spec.name
            );
        }
        for word in words.iter().filter(|word| word.starts_with("--")) {
            assert!(
                declared.iter().any(|flag| flag == word),
                "{}: {word} not declared",
                spec.name
            );
        }
        assert!(spec.summary.ends_with('.'), "{}", spec.name);
        assert!(
            spec.flags.iter().all(|flag| flag.doc.ends_with('.')),
            "{}",
            spec.name
        );
        assert!(
            spec.arguments.iter().all(|arg| arg.doc.ends_with('.')),
            "{}",
            spec.name
        );
    }
}

#[test]
fn no_command_name_is_a_prefix_of_another() {
    for a in COMMANDS {
        for b in COMMANDS {
            let a_words: Vec<_> = a.words().collect();
            let b_words: Vec<_> = b.words().collect();
            assert!(
                std::ptr::eq(*a, *b) || !b_words.starts_with(&a_words),
                "`{}` is a prefix of `{}`",
                a.name,
                b.name
            );
        }
    }
}

/// Words that steer random input into the grammar's corners.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,12}",
        prop::sample::select(vec![
            "\"",
            "'",
            "“",
            "”",
            "‘",
            "’",
            "\\",
            "\\\n",
            "\n",
            "=",
            "--",
            "--size",
            "--size=",
            "--help",
            "-",
            "cws",
            "launch",
            "help",
            "project",
            "create",
            "cost",
            "chargeback",
            "profiles",
            "profile",
            "invitations",
            "create-collaboration",
            "volume",
            "--cross-account-access",
            "a:read-only",
            "b:rw",
            "--read-only-for",
            "--by-user",
            "--by-institution",
            "--mit-account",
            "123456789012",
            "--enable",
            "--budget",
            "5000",
            "0.505",
            "--max-hourly-cost",
            "--policy-restrictions",
            "false",
            "--type",
            "admin",
            "--valid-days",
            "audit",
            "collaboration",
            "--start-date",
            "2026-02-29",
            "--end-date",
            "--export",
            "x.json",
            "policy",
            "test",
            "end",
            "export",
            "XL",
            "My_Box",
            "box",
            ",",
            "--month",
            "2026-13",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_command_like_text(
        words in prop::collection::vec(fragment(), 0..12),
        separators in prop::collection::vec(prop::sample::select(vec![" ", "  ", "\n", "\t", ""]), 12),
    ) {
        let text: String = words.iter().zip(&separators).map(|(word, sep)| format!("{word}{sep}")).collect();
        if let Err(error) = parse(&text) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn rendered_launches_parse_back(
        template in "\\PC{1,30}",
        workspace in "[a-z0-9][a-z0-9-]{0,62}",
        size in prop::option::of(prop::sample::select(Size::ALL.to_vec())),
        region in prop::option::of("[a-z]{2}-[a-z]{4,9}-[1-9]"),
        project in prop::option::of(
            "[a-z0-9][a-z0-9-]{0,40}".prop_filter_map("a project name", |p| p.parse::<ProjectName>().ok())
        ),
    ) {
        let launch = Launch { template, name: name(&workspace), size, region, project };
        prop_assert_eq!(parse(&launch.to_string()), Ok(Command::Launch(launch.clone())));
        prop_assert_eq!(parse(&format!("cws {launch}")), Ok(Command::Launch(launch)));
    }

    #[test]
    fn valid_workspace_names_parse_and_invalid_ones_are_named(text in "\\PC{0,70}") {
        match text.parse::<WorkspaceName>() {
            Ok(parsed) => prop_assert_eq!(parsed.as_str(), text.as_str()),
            Err(error) => prop_assert_eq!(error.name, text),
        }
    }
}

/// Checks a table of bad command lines: each error's message, offending token, and the usage
/// line of the command it was parsed as.
pub(super) fn assert_errors(cases: &[(&str, &str, Option<&str>)], usage: &str) {
    for &(text, message, token) in cases {
        let error = parse(text).unwrap_err();
        assert_eq!(
            (error.to_string().as_str(), error.token()),
            (message, token),
            "{text}"
        );
        assert_eq!(error.usage(), Some(usage), "{text}");
    }
}
