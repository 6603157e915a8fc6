//! The scripts the system runs as root on workspaces pass `bash -n` and ShellCheck: every
//! builtin template's user data, which only runs on a fresh instance, where a syntax error would
//! go unseen until someone cannot log in, and the volume mount in both modes, with each way of
//! installing amazon-efs-utils. `script_sequence.rs` runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use cws_domain::command::AccessMode;
use cws_domain::efs_utils::EfsUtils;
use cws_domain::preserve::archive_script;
use cws_domain::profile::ResearchUser;
use cws_domain::service_secret::ServiceSecret;
use cws_domain::ssh_key::replace_key_script;
use cws_domain::template::Catalog;
use cws_domain::user_data::{EfsHome, UserDataInput, render_user_data};
use cws_domain::volume::mount_script;

#[test]
fn every_builtin_template_renders_a_script_that_bash_and_shellcheck_accept() {
    let user = ResearchUser {
        username: "sarah_lee".to_owned(),
        uid: 5001,
        gid: 5001,
        account: "123456789012".to_owned(),
        ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests sarah's key"
            .to_owned(),
        own_key: false,
        retired_keys: Vec::new(),
    };
    let groups = ["sudo".to_owned(), "docker".to_owned()];
    for template in Catalog::builtin().templates() {
        for efs_home in [
            None,
            Some(EfsHome {
                file_system_id: "fs-0123",
                access_point_id: "fsap-0789",
            }),
        ] {
            let script = render_user_data(&UserDataInput {
                user: &user,
                template,
                groups: &groups,
                efs_home,
                service_secret: Some(&ServiceSecret::from_random([7; 24])),
            });
            let case = format!("{} (EFS home {})", template.name, efs_home.is_some());
            let path = write_script(
                &format!("{}-efs-{}", template.slug, efs_home.is_some()),
                &script,
            );
            check(&case, &path, "bash", &["-n"]);
            check(&case, &path, "shellcheck", &["-s", "bash", "-S", "warning"]);
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn the_volume_mount_script_passes_in_both_modes_and_mounts_read_only_only_when_asked() {
    let ways = [
        EfsUtils::default_for("ubuntu-22.04"),
        Some(EfsUtils::OsRepositories {}),
        None,
    ];
    for (mode, read_only) in [(AccessMode::ReadOnly, true), (AccessMode::ReadWrite, false)] {
        for (way, efs_utils) in ways.iter().enumerate() {
            let script = mount_script(
                "neuro-dataset",
                "fs-0123",
                "fsap-0456",
                mode,
                None,
                efs_utils.as_ref(),
            );
            let fstab_options = script
                .lines()
                .find_map(|line| line.strip_prefix("OPTIONS="))
                .unwrap();
            assert_eq!(
                fstab_options,
                if read_only {
                    "'_netdev,tls,iam,accesspoint=fsap-0456,ro'"
                } else {
                    "'_netdev,tls,iam,accesspoint=fsap-0456'"
                }
            );
            assert!(script.contains("MOUNT_POINT='/mnt/neuro-dataset'"));
            let case = format!("mount {mode:?} {efs_utils:?}");
            let path = write_script(&format!("mount-{mode:?}-{way}"), &script);
            check(&case, &path, "bash", &["-n"]);
            check(&case, &path, "shellcheck", &["-s", "bash", "-S", "warning"]);
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn the_ssh_key_script_passes_with_and_without_retired_keys() {
    let user = ResearchUser {
        username: "sarah_lee".to_owned(),
        uid: 5001,
        gid: 5001,
        account: "123456789012".to_owned(),
        ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINew sarah_lee@cws".to_owned(),
        own_key: true,
        retired_keys: Vec::new(),
    };
    for retired in [vec![], vec!["AAAAOld1".to_owned(), "AAAAOld2".to_owned()]] {
        let user = ResearchUser {
            retired_keys: retired.clone(),
            ..user.clone()
        };
        let script = replace_key_script(&user).unwrap();
        let case = format!("ssh key, {} retired", retired.len());
        let path = write_script(&format!("ssh-key-{}", retired.len()), &script);
        check(&case, &path, "bash", &["-n"]);
        check(&case, &path, "shellcheck", &["-s", "bash", "-S", "warning"]);
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn the_download_archive_script_passes_for_the_home_and_for_a_path() {
    let url =
        "http://127.0.0.1:9000/cws-archive/downloads/p/w/k.tar.gz?X-Amz-Signature=ab&X-Amz-Date=1";
    for path in [None, Some("results/2026".parse().unwrap())] {
        let script = archive_script("sarah_lee", path.as_ref(), url).unwrap();
        let case = format!("download {path:?}");
        let path = write_script(&format!("download-{}", path.is_some()), &script);
        check(&case, &path, "bash", &["-n"]);
        check(&case, &path, "shellcheck", &["-s", "bash", "-S", "warning"]);
        std::fs::remove_file(&path).unwrap();
    }
}

fn write_script(case: &str, script: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("cws-script-{}-{case}.sh", std::process::id()));
    std::fs::write(&path, script).unwrap();
    path
}

/// Runs `program args… script`; the script stays in the temp directory when it fails.
fn check(case: &str, script: &Path, program: &str, args: &[&str]) {
    let output = match Command::new(program).args(args).arg(script).output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` is not installed; it checks the scripts run on workspaces \
             (Debian/Ubuntu: apt-get install {program})"
        ),
        Err(err) => panic!("running `{program}`: {err}"),
    };
    assert!(
        output.status.success(),
        "{program} rejected the script for {case}, left at {}:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
