//! An institution's own templates and prices (`CWS_TEMPLATES_DIR`): the shipped files plus
//! "Stanford Genomics", with its own packages and an instance type of its own priced in its
//! `pricing.yml`. The bot process accepts it at the edge and the worker launches it in moto;
//! a broken directory stops every binary at start, naming the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

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
        Directory(dir)
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
    env.start_worker_with_env(&[("CWS_TEMPLATES_DIR", dir.path())]);
    env.start_bot_process_with_env(&[("CWS_TEMPLATES_DIR", dir.path())])
        .await;
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
async fn the_bot_refuses_a_size_the_institutions_template_does_not_offer() {
    let dir = Directory::with("sizes", &[("stanford-genomics.yml", STANFORD_GENOMICS)]);
    let mut env = TestEnv::start("templates-dir-sizes", 114).await;
    env.start_bot_process_with_env(&[("CWS_TEMPLATES_DIR", dir.path())])
        .await;

    let answer = env
        .slash(&Slash::new(r#"launch "Stanford Genomics" g-big --size XL"#))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let text = answer.text();
    assert!(
        text.contains("Stanford Genomics has no size XL"),
        "{}",
        answer.body
    );
    assert_eq!(env.queued_launch_jobs().await, 0);
    env.finish();
}

#[test]
fn a_broken_templates_directory_stops_every_binary_at_start_naming_the_file() {
    let unknown_field = format!("{STANFORD_GENOMICS}colour: cardinal\n");
    let broken = Directory::with("broken", &[("stanford-genomics.yml", &unknown_field)]);
    let missing = std::env::temp_dir().join("cws-e2e-no-such-templates-dir");
    // (directory, what the message must say)
    let cases = [
        (
            broken.path(),
            ["stanford-genomics.yml: unknown field `colour`", "line 16"],
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
            let settings = [
                ("CWS_TEMPLATES_DIR", *dir),
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
