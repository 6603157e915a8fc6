//! An institution's own templates and prices (`CWS_TEMPLATES_DIR`): the shipped files plus
//! "Stanford Genomics", with its own packages and an instance type of its own priced in its
//! `pricing.yml`, every file signed by Stanford's research computing (`CWS_TEMPLATE_PUBLISHERS`).
//! The worker launches it in moto; a broken directory, or one byte changed after signing, stops
//! every binary at start, naming the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::template_trust::TemplateSigner;

use crate::harness::{JOHNSON, Slash, TestEnv, tag};
use crate::settings_at_start::{binary, run_with};

const WAIT: Duration = Duration::from_secs(30);

/// Stanford's template: its own packages, and an M of its own (c6i.2xlarge); no XL.
const STANFORD_GENOMICS: &str = "\
name: Stanford Genomics
slug: stanford-genomics
description: GATK, plink and bedtools for the Stanford genomics core.
os: ubuntu-22.04
image:
  parameter: /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id
regions: [us-east-1]
default_size: S
sizes:
  S: m5.large
  M: c6i.2xlarge
  L: r5.4xlarge
hibernation: false
packages: [plink1.9, bedtools, tabix]
ports: [22]
";

/// Stanford research computing's publisher key, which signs the test directories.
pub(crate) fn stanford_rc() -> TemplateSigner {
    TemplateSigner::from_seed("stanford-rc".parse().unwrap(), [11; 32])
}

/// `CWS_TEMPLATE_PUBLISHERS` trusting [`stanford_rc`].
pub(crate) fn publishers() -> String {
    stanford_rc().publisher_entry()
}

/// A directory in the temporary folder, removed when dropped.
struct Directory(PathBuf);

impl Directory {
    /// The shipped templates and prices, with c6i.2xlarge priced in us-east-1, plus `extra`.
    fn with(name: &str, extra: &[(&str, &str)]) -> Directory {
        let dir =
            std::env::temp_dir().join(format!("cws-e2e-templates-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(shipped).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "yml") {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        let pricing = std::fs::read_to_string(dir.join("pricing.yml")).unwrap();
        // The first price list is us-east-1's.
        let priced = pricing.replacen(
            "    p3.16xlarge: \"24.48\"\n",
            "    p3.16xlarge: \"24.48\"\n    c6i.2xlarge: \"0.34\"\n",
            1,
        );
        assert_ne!(priced, pricing, "the shipped pricing.yml changed shape");
        std::fs::write(dir.join("pricing.yml"), priced).unwrap();
        for (file, text) in extra {
            std::fs::write(dir.join(file), text).unwrap();
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut signature = path.into_os_string();
            signature.push(".sig");
            std::fs::write(signature, stanford_rc().sign(&text)).unwrap();
        }
        Directory(dir)
    }

    /// Changes `file` after it was signed.
    fn change(&self, file: &str, from: &str, to: &str) {
        let path = self.0.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text, "{from} is not in {file}");
        std::fs::write(path, changed).unwrap();
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_institutions_own_template_launches_with_its_instance_type_and_packages() {
    let dir = Directory::with("launch", &[("stanford-genomics.yml", STANFORD_GENOMICS)]);
    let mut env = TestEnv::start("templates-dir-launch", 113).await;
    let publishers = publishers();
    let settings = [
        ("CWS_TEMPLATES_DIR", dir.path()),
        ("CWS_TEMPLATE_PUBLISHERS", &publishers),
    ];
    env.start_worker_with_env(&settings);
    env.start_bot_process_with_env(&settings).await;
    env.create_project(
        JOHNSON,
        "nih-neuro-consortium --budget 5000 --institution mit-csail",
    )
    .await;

    let answer = env
        .slash(&Slash::new(r#"launch "Stanford Genomics" g-box --size M"#))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.text().contains("Launching *g-box*"),
        "{}",
        answer.body
    );
    let posted = env
        .slack
        .expect("announcing the instance", WAIT, |p| {
            p.method == "chat.postMessage" && p.text().contains("launched *g-box*")
        })
        .await;
    // The rate is the directory's own price for its own instance type.
    assert!(posted.text().contains("$0.34/h"), "{}", posted.text());

    let instances = env.instances_named("g-box").await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(
        instances[0].instance_type().unwrap().as_str(),
        "c6i.2xlarge"
    );
    assert_eq!(
        tag(&instances[0], "cws:template"),
        Some("Stanford Genomics")
    );
    let script = env.user_data_of("g-box").await;
    for package in ["plink1.9", "bedtools", "tabix"] {
        assert!(script.contains(package), "{package} missing from {script}");
    }
    env.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_the_institutions_template_does_not_offer_is_refused_before_any_aws_call() {
    let dir = Directory::with("sizes", &[("stanford-genomics.yml", STANFORD_GENOMICS)]);
    let mut env = TestEnv::start("templates-dir-sizes", 114).await;
    let publishers = publishers();
    let settings = [
        ("CWS_TEMPLATES_DIR", dir.path()),
        ("CWS_TEMPLATE_PUBLISHERS", &publishers),
    ];
    env.start_worker_with_env(&settings);
    env.start_bot_process_with_env(&settings).await;
    env.create_project(
        JOHNSON,
        "nih-neuro-consortium --budget 5000 --institution mit-csail",
    )
    .await;

    // Templates are governed, so the worker checks the launch against the catalog of now
    // (an admin may have published a template since the bot started).
    let answer = env
        .slash(&Slash::new(r#"launch "Stanford Genomics" g-big --size XL"#))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.text().contains("Launching *g-big*"),
        "{}",
        answer.body
    );
    env.reply_containing("Stanford Genomics has no size XL")
        .await;
    assert_eq!(env.aws_front.run_instances_calls(), 0);
    env.finish();
}

#[test]
fn a_broken_templates_directory_stops_every_binary_at_start_naming_the_file() {
    let unknown_field = format!("{STANFORD_GENOMICS}colour: cardinal\n");
    let broken = Directory::with("broken", &[("stanford-genomics.yml", &unknown_field)]);
    // One byte of a signed file changed: a cheaper-looking price, or a bigger machine.
    let tampered = Directory::with("tampered", &[("stanford-genomics.yml", STANFORD_GENOMICS)]);
    tampered.change("stanford-genomics.yml", "m5.large", "m5.largf");
    let missing = std::env::temp_dir().join("cws-e2e-no-such-templates-dir");
    // (directory, what the message must say)
    let cases = [
        (
            broken.path(),
            ["stanford-genomics.yml: unknown field `colour`", "line 16"],
        ),
        (
            tampered.path(),
            [
                "stanford-genomics.yml: its signature by `stanford-rc` does not match its text",
                "changed after signing",
            ],
        ),
        (
            missing.to_str().unwrap(),
            ["No such file", "unset it to use those"],
        ),
    ];
    let binaries = [
        (binary("cws-bot"), vec![]),
        (binary("cws-worker"), vec![]),
        (binary("cws"), vec!["worker"]),
    ];
    for (program, args) in &binaries {
        for (dir, says) in &cases {
            let publishers = publishers();
            let settings = [
                ("CWS_TEMPLATES_DIR", *dir),
                ("CWS_TEMPLATE_PUBLISHERS", &publishers),
                ("SLACK_SIGNING_SECRET", "0123456789abcdef"),
            ];
            let (succeeded, stderr) = run_with(program, args, &settings);
            let who = format!(
                "{} {args:?} with CWS_TEMPLATES_DIR={dir}",
                program.display()
            );
            assert!(!succeeded, "{who} started: {stderr}");
            assert!(
                stderr.contains(&format!("CWS_TEMPLATES_DIR={dir}")),
                "{who} does not name the setting: {stderr}"
            );
            for part in says {
                assert!(
                    stderr.contains(part),
                    "{who} does not say {part:?}: {stderr}"
                );
            }
            assert!(!stderr.contains("panicked"), "{who} panicked: {stderr}");
        }
    }
}

#[test]
fn an_unsigned_templates_directory_is_refused_until_its_publisher_is_trusted() {
    let dir = Directory::with("unsigned", &[("stanford-genomics.yml", STANFORD_GENOMICS)]);
    let (succeeded, stderr) = run_with(
        &binary("cws"),
        &["worker"],
        &[
            ("CWS_TEMPLATES_DIR", dir.path()),
            ("SLACK_SIGNING_SECRET", "0123456789abcdef"),
        ],
    );
    assert!(!succeeded, "{stderr}");
    assert!(
        stderr.contains("templates from a directory must be signed by a publisher the deployment trusts: set CWS_TEMPLATE_PUBLISHERS"),
        "{stderr}"
    );
    std::fs::remove_file(dir.0.join("bioinformatics.yml.sig")).unwrap();
    let (succeeded, stderr) = run_with(
        &binary("cws"),
        &["worker"],
        &[
            ("CWS_TEMPLATES_DIR", dir.path()),
            ("CWS_TEMPLATE_PUBLISHERS", &publishers()),
            ("SLACK_SIGNING_SECRET", "0123456789abcdef"),
        ],
    );
    assert!(!succeeded, "{stderr}");
    assert!(
        stderr.contains("bioinformatics.yml: unsigned: no signature file beside it"),
        "{stderr}"
    );
}

/// `cws templates keygen` then `cws templates sign`, as a site signs its directory: the
/// binaries then start with it.
#[test]
fn a_site_signs_its_directory_with_the_cws_binary() {
    let dir = Directory::with(
        "site-signed",
        &[("stanford-genomics.yml", STANFORD_GENOMICS)],
    );
    let key = dir
        .0
        .join("..")
        .join(format!("cws-e2e-site-key-{}", std::process::id()));
    let _ = std::fs::remove_file(&key);
    let output = std::process::Command::new(binary("cws"))
        .args(["templates", "keygen", "stanford-hpc", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let entry = printed
        .lines()
        .find(|line| line.starts_with("stanford-hpc="))
        .unwrap_or_else(|| panic!("no publisher entry in {printed}"))
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the secret is readable by its owner alone"
        );
    }
    let again = std::process::Command::new(binary("cws"))
        .args(["templates", "keygen", "stanford-hpc", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing key is never overwritten"
    );

    let files: Vec<PathBuf> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    let signed = std::process::Command::new(binary("cws"))
        .args(["templates", "sign", "--key-file"])
        .arg(&key)
        .args(&files)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{signed:?}");
    let settings = [
        ("CWS_TEMPLATES_DIR", dir.path()),
        ("CWS_TEMPLATE_PUBLISHERS", entry.as_str()),
        ("SLACK_SIGNING_SECRET", "0123456789abcdef"),
    ];
    // `say` reads the settings, then finds no bot on a closed port: what it says is about the
    // bot, not the directory.
    let (_, stderr) = run_with(
        &binary("cws"),
        &["say", "--url", "http://127.0.0.1:9", "/cws help"],
        &settings,
    );
    assert!(
        !stderr.contains("CWS_TEMPLATES_DIR") && !stderr.is_empty(),
        "the signed directory is accepted: {stderr}"
    );
    let _ = std::fs::remove_file(&key);
}
