//! Every builtin template's user data passes `bash -n` and ShellCheck: the script only runs on a
//! fresh instance, where a syntax error would go unseen until someone cannot log in.

use std::path::{Path, PathBuf};
use std::process::Command;

use cws_domain::profile::ResearchUser;
use cws_domain::template::Catalog;
use cws_domain::user_data::{UserDataInput, render_user_data};

#[test]
fn every_builtin_template_renders_a_script_that_bash_and_shellcheck_accept() {
    let user = ResearchUser {
        username: "sarah_lee".to_owned(),
        uid: 5001,
        gid: 5001,
        account: "123456789012".to_owned(),
        ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests sarah's key"
            .to_owned(),
    };
    let groups = ["sudo".to_owned(), "docker".to_owned()];
    for template in Catalog::builtin().templates() {
        for efs_home in [None, Some("fs-0123.efs.us-east-1.amazonaws.com")] {
            let script = render_user_data(&UserDataInput {
                user: &user,
                template,
                groups: &groups,
                efs_home,
            });
            let case = format!("{} (efs_home {efs_home:?})", template.name);
            let path = write_script(&template.slug, efs_home.is_some(), &script);
            check(&case, &path, "bash", &["-n"]);
            check(&case, &path, "shellcheck", &["-s", "bash", "-S", "warning"]);
            std::fs::remove_file(&path).unwrap();
        }
    }
}

fn write_script(slug: &str, efs: bool, script: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "cws-user-data-{}-{slug}-efs-{efs}.sh",
        std::process::id()
    ));
    std::fs::write(&path, script).unwrap();
    path
}

/// Runs `program args… script`; the script stays in the temp directory when it fails.
fn check(case: &str, script: &Path, program: &str, args: &[&str]) {
    let output = match Command::new(program).args(args).arg(script).output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` is not installed; it checks the launch user data \
             (Debian/Ubuntu: apt-get install {program})"
        ),
        Err(err) => panic!("running `{program}`: {err}"),
    };
    assert!(
        output.status.success(),
        "{program} rejected the user data for {case}, left at {}:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
