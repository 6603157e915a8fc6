//! The scripts the system runs as root on workspaces, run: each in a sandbox where `apt-get`,
//! `dnf`, `git`, `mount`, `systemctl`, `cloud-init`, `useradd` and the rest are recording stubs,
//! inside a user and mount namespace (`unshare -Urm`) whose `/etc` is an overlay and whose
//! `/home` and `/mnt` are empty directories. The scripts run exactly as rendered and write
//! nothing outside the sandbox; the tests read what the stubs were asked to do, in order, and
//! the files the scripts left.
//!
//! The stubs behave as far as the sequence needs: `mount` refuses a mount point with no
//! `/etc/fstab` line and the `efs` type while no `mount.efs` is installed, `mountpoint` answers
//! from what `mount` and `umount` did, the efs-utils package installs `mount.efs` once built,
//! and `git rev-parse HEAD` answers `STUB_GIT_HEAD` (the pinned commit unless a test says not).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cws_domain::command::AccessMode;
use cws_domain::efs_utils::EfsUtils;
use cws_domain::preserve::archive_script;
use cws_domain::profile::ResearchUser;
use cws_domain::service_secret::ServiceSecret;
use cws_domain::ssh_key::replace_key_script;
use cws_domain::template::{Catalog, ServiceKind};
use cws_domain::user_data::{EfsHome, UserDataInput, render_user_data};
use cws_domain::volume::mount_script;

const PINNED_COMMIT: &str = "c87d19f3e1db26532f09a7fed338347aacb90e10";
const FSTAB_LINE_RO: &str =
    "fs-0123:/ /mnt/neuro-dataset efs _netdev,tls,iam,accesspoint=fsap-0456,ro 0 0";
const FSTAB_LINE_RW: &str =
    "fs-0123:/ /mnt/neuro-dataset efs _netdev,tls,iam,accesspoint=fsap-0456 0 0";

/// One stub for every name; it records `name args…` as one line of `$SANDBOX/log`.
const STUB: &str = r#"#!/bin/bash
set -euo pipefail
name="${0##*/}"
printf '%s\n' "${name}${*:+ $*}" >>"$SANDBOX/log"
install_efs_utils() {
    printf '#!/bin/sh\n' >"$SANDBOX/installed/mount.efs"
    chmod +x "$SANDBOX/installed/mount.efs"
}
mark() { printf '%s/mounted/%s' "$SANDBOX" "${1//\//_}"; }
case "$name" in
apt-get)
    for arg in "$@"; do
        if [[ "$arg" == *.deb ]]; then
            [[ -f "$arg" ]] || { echo "E: Unsupported file ${arg} given on commandline" >&2; exit 100; }
            if [[ "${arg##*/}" == amazon-efs-utils-*.deb ]]; then install_efs_utils; fi
        fi
    done
    ;;
dnf | yum)
    if [[ "$*" == "install -y amazon-efs-utils" ]]; then install_efs_utils; fi
    ;;
git)
    if [[ "$1" == clone ]]; then
        source="${*: -1}"
        mkdir -p "$source"
        printf '%s\n' '#!/bin/bash' \
            'printf "%s\n" build-deb.sh >>"$SANDBOX/log"' \
            'mkdir -p build && touch build/amazon-efs-utils-1.36.0-1_all.deb' >"$source/build-deb.sh"
        chmod +x "$source/build-deb.sh"
    elif [[ "$1 ${3:-} ${4:-}" == "-C rev-parse HEAD" ]]; then
        echo "$STUB_GIT_HEAD"
    fi
    ;;
cloud-init)
    if [[ -n "${STUB_FIRST_BOOT_INSTALLS:-}" ]]; then install_efs_utils; fi
    ;;
mount)
    dir="${*: -1}"
    type="$(awk -v dir="$dir" '$2 == dir { print $3 }' /etc/fstab)"
    [[ -n "$type" ]] || { echo "mount: ${dir}: can't find in /etc/fstab." >&2; exit 1; }
    if [[ "$type" == efs ]] && ! command -v mount.efs >/dev/null; then
        echo "mount: ${dir}: unknown filesystem type 'efs'." >&2
        exit 32
    fi
    touch "$(mark "$dir")"
    ;;
umount) rm "$(mark "${*: -1}")" ;;
mountpoint) [[ -e "$(mark "${*: -1}")" ]] ;;
getent) [[ "$1" == group && " ${STUB_GROUPS} " == *" $2 "* ]] ;;
id) exit 1 ;;
useradd)
    while (($#)); do
        if [[ "$1" == --home-dir ]]; then mkdir -p "$2"; fi
        shift
    done
    ;;
curl)
    while (($#)); do
        if [[ "$1" == -o ]]; then printf 'a package file\n' >"$2"; fi
        if [[ "$1" == --upload-file ]]; then cp -- "$2" "$SANDBOX/uploaded"; fi
        shift
    done
    ;;
sha256sum | sha512sum | chpasswd) cat >/dev/null ;;
tar)
    # A release archive is unpacked outside the sandbox: recorded only. Anything else is real.
    if [[ " $* " != *" --one-top-level="* ]]; then exec /usr/bin/tar "$@"; fi
    ;;
runuser)
    while [[ "$1" != -- ]]; do shift; done
    shift
    exec "$@"
    ;;
esac
"#;

const STUBS: [&str; 22] = [
    "apt-get",
    "dnf",
    "yum",
    "git",
    "cloud-init",
    "mount",
    "umount",
    "mountpoint",
    "systemctl",
    "getent",
    "id",
    "useradd",
    "groupadd",
    "usermod",
    "runuser",
    "chown",
    "curl",
    "sha256sum",
    "sha512sum",
    "tar",
    "chpasswd",
    "pip3",
];

/// Inside the namespace: the overlay and binds first (`set -e`: a failed one stops here, before
/// the script), then the script with the stubs first on `PATH`.
const ENTER: &str = r#"set -euo pipefail
if command -v mount.efs >/dev/null; then
    echo "this host has mount.efs, which would hide whether the scripts install it" >&2
    exit 97
fi
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$SANDBOX/etc,workdir=$SANDBOX/etc-work" /etc
mount --bind "$SANDBOX/home" /home
mount --bind "$SANDBOX/mnt" /mnt
export PATH="$SANDBOX/stubs:$SANDBOX/installed:/usr/sbin:/usr/bin:/sbin:/bin" TMPDIR="$SANDBOX/tmp"
exec /bin/bash "$SANDBOX/script.sh"
"#;

const ROOT_FSTAB: &str = "LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n";

struct Sandbox {
    root: PathBuf,
    env: Vec<(&'static str, String)>,
}

struct Run {
    success: bool,
    code: Option<i32>,
    stderr: String,
}

impl Sandbox {
    fn new(case: &str) -> Sandbox {
        let root = std::env::temp_dir().join(format!("cws-sandbox-{}-{case}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for dir in [
            "stubs",
            "installed",
            "mounted",
            "etc/systemd/system",
            "etc-work",
            "home",
            "mnt",
            "tmp",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        let stub = root.join("stub");
        fs::write(&stub, STUB).unwrap();
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
        for name in STUBS {
            std::os::unix::fs::symlink(&stub, root.join("stubs").join(name)).unwrap();
        }
        fs::write(root.join("etc/fstab"), ROOT_FSTAB).unwrap();
        fs::write(root.join("log"), "").unwrap();
        Sandbox {
            root,
            env: vec![
                ("STUB_GIT_HEAD", PINNED_COMMIT.to_owned()),
                ("STUB_GROUPS", "sudo".to_owned()),
            ],
        }
    }

    fn with(mut self, name: &'static str, value: &str) -> Sandbox {
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.to_owned()));
        self
    }

    fn run(&self, script: &str) -> Run {
        fs::write(self.root.join("script.sh"), script).unwrap();
        let output = match Command::new("unshare")
            .args(["-Urm", "/bin/bash", "-c", ENTER])
            .env("SANDBOX", &self.root)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .output()
        {
            Ok(output) => output,
            Err(err) => panic!("running `unshare` (util-linux): {err}"),
        };
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_ne!(
            output.status.code(),
            Some(97),
            "the sandbox could not start: {stderr}"
        );
        assert!(
            !stderr.contains("unshare: "),
            "the sandbox needs user and mount namespaces (`unshare -Urm`): {stderr}"
        );
        Run {
            success: output.status.success(),
            code: output.status.code(),
            stderr,
        }
    }

    /// What the stubs were asked to do, one call a line, in order.
    fn log(&self) -> Vec<String> {
        fs::read_to_string(self.root.join("log"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn fstab(&self) -> String {
        fs::read_to_string(self.root.join("etc/fstab")).unwrap()
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside)
    }

    fn install_efs_utils_beforehand(&self) {
        let helper = self.path("installed/mount.efs");
        fs::write(&helper, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Best effort: the overlay's work directory may be left unreadable to a non-root user.
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// The index of the first call `wanted` matches; fails, showing the calls, when none does.
fn position(log: &[String], what: &str, wanted: impl Fn(&str) -> bool) -> usize {
    log.iter()
        .position(|call| wanted(call))
        .unwrap_or_else(|| panic!("no call {what} among:\n{}", log.join("\n")))
}

fn none(log: &[String], what: &str, unwanted: impl Fn(&str) -> bool) {
    if let Some(call) = log.iter().find(|call| unwanted(call)) {
        panic!("unexpected call {what}: {call}\namong:\n{}", log.join("\n"));
    }
}

/// A call the log should hold: what to call it in a failure, and how to know it.
type Step<'a> = (&'a str, &'a dyn Fn(&str) -> bool);

/// Each step is a call made after the previous step's call.
fn in_order(log: &[String], steps: &[Step<'_>]) {
    let mut from = 0;
    let mut previous = "the start";
    for (what, wanted) in steps {
        let found = log[from..].iter().position(|call| wanted(call));
        let Some(offset) = found else {
            panic!("no call {what} after {previous}:\n{}", log.join("\n"));
        };
        from += offset + 1;
        previous = what;
    }
}

fn ubuntu() -> Option<EfsUtils> {
    EfsUtils::default_for("ubuntu-22.04")
}

fn mount(mode: AccessMode, efs_utils: Option<&EfsUtils>) -> String {
    mount_script(
        "neuro-dataset",
        "fs-0123",
        "fsap-0456",
        mode,
        None,
        efs_utils,
    )
}

fn is_apt_install(call: &str) -> bool {
    call.starts_with("apt-get -o DPkg::Lock::Timeout=600 install -y ")
}

/// An apt install of the template's packages: neither efs-utils' build tools nor its package.
fn is_template_install(call: &str) -> bool {
    is_apt_install(call) && !call.ends_with(" git binutils") && !is_efs_utils_package(call)
}

fn is_efs_utils_package(call: &str) -> bool {
    is_apt_install(call) && call.ends_with("/build/amazon-efs-utils-1.36.0-1_all.deb")
}

fn is_mount_of(dir: &'static str) -> impl Fn(&str) -> bool {
    move |call| call == format!("mount {dir}")
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.contains(needle)).collect()
}

/// The efs-utils build of the pinned release, in its order, then `then`.
fn builds_efs_utils_then(log: &[String], then: &[Step<'_>]) {
    let build: [Step<'_>; 6] = [
        ("apt-get update", &|c| {
            c == "apt-get -o DPkg::Lock::Timeout=600 update"
        }),
        ("apt-get install git binutils", &|c| {
            is_apt_install(c) && c.ends_with(" git binutils")
        }),
        ("git clone of the pinned tag", &|c| {
            c.starts_with(
                "git clone --quiet --depth 1 --branch v1.36.0 https://github.com/aws/efs-utils ",
            )
        }),
        ("git rev-parse HEAD", &|c| c.ends_with(" rev-parse HEAD")),
        ("build-deb.sh", &|c| c == "build-deb.sh"),
        (
            "apt-get install of the built package",
            &is_efs_utils_package,
        ),
    ];
    in_order(log, &[&build[..], then].concat());
}

#[test]
fn the_mount_script_installs_efs_utils_before_it_mounts_read_only() {
    let sandbox = Sandbox::new("mount-ro");
    let run = sandbox.run(&mount(AccessMode::ReadOnly, ubuntu().as_ref()));
    assert!(run.success, "{}", run.stderr);
    let log = sandbox.log();
    assert_eq!(log[0], "cloud-init status --wait", "{log:?}");
    builds_efs_utils_then(
        &log,
        &[(
            "mount /mnt/neuro-dataset",
            &is_mount_of("/mnt/neuro-dataset"),
        )],
    );
    assert_eq!(
        lines_with(&sandbox.fstab(), "/mnt/neuro-dataset"),
        [FSTAB_LINE_RO]
    );
    assert!(sandbox.fstab().starts_with(ROOT_FSTAB));
    assert_eq!(
        fs::read_dir(sandbox.path("tmp")).unwrap().count(),
        0,
        "the efs-utils checkout is left behind"
    );
}

#[test]
fn a_read_write_mount_has_the_access_point_and_no_ro_option() {
    let sandbox = Sandbox::new("mount-rw");
    let run = sandbox.run(&mount(AccessMode::ReadWrite, ubuntu().as_ref()));
    assert!(run.success, "{}", run.stderr);
    assert_eq!(
        lines_with(&sandbox.fstab(), "/mnt/neuro-dataset"),
        [FSTAB_LINE_RW]
    );
    position(&sandbox.log(), "mount", is_mount_of("/mnt/neuro-dataset"));
}

#[test]
fn running_the_mount_script_again_changes_nothing() {
    let sandbox = Sandbox::new("mount-twice");
    let script = mount(AccessMode::ReadOnly, ubuntu().as_ref());
    assert!(sandbox.run(&script).success);
    let first = sandbox.log().len();
    let run = sandbox.run(&script);
    assert!(run.success, "{}", run.stderr);
    let again = &sandbox.log()[first..];
    assert_eq!(again, ["mountpoint -q /mnt/neuro-dataset"]);
    assert_eq!(
        lines_with(&sandbox.fstab(), "/mnt/neuro-dataset"),
        [FSTAB_LINE_RO]
    );
}

#[test]
fn mounting_in_the_other_mode_replaces_the_fstab_line_and_mounts_afresh() {
    let sandbox = Sandbox::new("mount-remode");
    assert!(
        sandbox
            .run(&mount(AccessMode::ReadOnly, ubuntu().as_ref()))
            .success
    );
    let first = sandbox.log().len();
    let run = sandbox.run(&mount(AccessMode::ReadWrite, ubuntu().as_ref()));
    assert!(run.success, "{}", run.stderr);
    in_order(
        &sandbox.log()[first..],
        &[
            ("umount", &|c| c == "umount /mnt/neuro-dataset"),
            ("mount", &is_mount_of("/mnt/neuro-dataset")),
        ],
    );
    assert_eq!(
        lines_with(&sandbox.fstab(), "/mnt/neuro-dataset"),
        [FSTAB_LINE_RW]
    );
}

#[test]
fn the_mount_script_waits_for_the_first_boot_and_uses_the_efs_utils_it_installed() {
    let sandbox = Sandbox::new("mount-after-boot").with("STUB_FIRST_BOOT_INSTALLS", "1");
    let run = sandbox.run(&mount(AccessMode::ReadOnly, ubuntu().as_ref()));
    assert!(run.success, "{}", run.stderr);
    let log = sandbox.log();
    in_order(
        &log,
        &[
            ("cloud-init status --wait", &|c| {
                c == "cloud-init status --wait"
            }),
            ("mount", &is_mount_of("/mnt/neuro-dataset")),
        ],
    );
    none(&log, "building efs-utils", |c| {
        c.starts_with("apt-get") || c.starts_with("git")
    });
}

#[test]
fn a_checkout_that_is_not_the_pinned_commit_is_neither_built_nor_mounted() {
    let sandbox =
        Sandbox::new("mount-moved-tag").with("STUB_GIT_HEAD", &"0".repeat(PINNED_COMMIT.len()));
    let run = sandbox.run(&mount(AccessMode::ReadOnly, ubuntu().as_ref()));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "efs-utils v1.36.0 is not commit {PINNED_COMMIT}; not installing it"
        )),
        "{}",
        run.stderr
    );
    let log = sandbox.log();
    none(&log, "building or mounting", |c| {
        c == "build-deb.sh" || is_efs_utils_package(c) || c.starts_with("mount ")
    });
    assert_eq!(sandbox.fstab(), ROOT_FSTAB);
    assert_eq!(fs::read_dir(sandbox.path("tmp")).unwrap().count(), 0);
}

#[test]
fn on_amazon_linux_the_mount_script_installs_efs_utils_with_dnf_before_mounting() {
    let sandbox = Sandbox::new("mount-dnf");
    let run = sandbox.run(&mount(
        AccessMode::ReadOnly,
        Some(&EfsUtils::OsRepositories {}),
    ));
    assert!(run.success, "{}", run.stderr);
    let log = sandbox.log();
    in_order(
        &log,
        &[
            ("dnf install", &|c| c == "dnf install -y amazon-efs-utils"),
            ("mount", &is_mount_of("/mnt/neuro-dataset")),
        ],
    );
    none(&log, "apt-get or git", |c| {
        c.starts_with("apt-get") || c.starts_with("git")
    });
    assert_eq!(
        lines_with(&sandbox.fstab(), "/mnt/neuro-dataset"),
        [FSTAB_LINE_RO]
    );
}

#[test]
fn without_a_way_to_install_efs_utils_the_mount_script_stops_rather_than_mount_without_tls() {
    let sandbox = Sandbox::new("mount-no-way");
    let run = sandbox.run(&mount(AccessMode::ReadOnly, None));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains("no longer says how to install it"),
        "{}",
        run.stderr
    );
    none(&sandbox.log(), "mount", |c| c.starts_with("mount "));
    assert_eq!(sandbox.fstab(), ROOT_FSTAB);
}

#[test]
fn a_mount_point_that_is_a_symbolic_link_is_not_mounted_over() {
    let sandbox = Sandbox::new("mount-symlink");
    sandbox.install_efs_utils_beforehand();
    std::os::unix::fs::symlink("/etc", sandbox.path("mnt/neuro-dataset")).unwrap();
    let run = sandbox.run(&mount(AccessMode::ReadWrite, ubuntu().as_ref()));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    none(&sandbox.log(), "mount", |c| c.starts_with("mount "));
    assert_eq!(sandbox.fstab(), ROOT_FSTAB);
}

fn sarah() -> ResearchUser {
    ResearchUser {
        username: "sarah_lee".to_owned(),
        uid: 5001,
        gid: 5001,
        account: "123456789012".to_owned(),
        ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests sarah".to_owned(),
        own_key: false,
        retired_keys: Vec::new(),
    }
}

const EFS_HOME: EfsHome<'static> = EfsHome {
    file_system_id: "fs-0123",
    access_point_id: "fsap-0789",
};
const HOME_FSTAB_LINE: &str =
    "fs-0123:/ /home/sarah_lee efs _netdev,tls,iam,accesspoint=fsap-0789 0 0";

fn user_data(template: &cws_domain::template::Template, efs_home: Option<EfsHome<'_>>) -> String {
    render_user_data(&UserDataInput {
        user: &sarah(),
        template,
        groups: &["sudo".to_owned(), "docker".to_owned()],
        efs_home,
        service_secret: Some(&ServiceSecret::from_random([7; 24])),
    })
}

#[test]
fn every_builtin_template_s_user_data_sets_up_the_user_packages_services_and_efs_utils() {
    // A managed platform's workspaces run no first-boot script.
    let ec2 = Catalog::builtin()
        .templates()
        .iter()
        .filter(|t| t.platform == cws_domain::template::Platform::Ec2);
    for template in ec2 {
        for efs_home in [None, Some(EFS_HOME)] {
            let case = format!("{} (EFS home {})", template.name, efs_home.is_some());
            let sandbox = Sandbox::new(&format!(
                "user-data-{}-{}",
                template.slug,
                efs_home.is_some()
            ));
            let run = sandbox.run(&user_data(template, efs_home));
            assert!(run.success, "{case}: {}", run.stderr);
            let log = sandbox.log();

            in_order(
                &log,
                &[
                    ("groupadd", &|c| c == "groupadd --gid 5001 sarah_lee"),
                    ("useradd", &|c| {
                        c.starts_with("useradd --uid 5001 --gid 5001 --create-home")
                    }),
                    ("the template's packages", &|c| is_template_install(c)),
                ],
            );
            let authorized_keys =
                fs::read_to_string(sandbox.path("home/sarah_lee/.ssh/authorized_keys")).unwrap();
            assert_eq!(authorized_keys, format!("{}\n", sarah().ssh_public_key));

            let packages = &log[position(&log, "the template's packages", is_template_install)];
            for package in &template.packages {
                assert!(
                    packages.split(' ').any(|word| word == package),
                    "{case}: {package} not in `{packages}`"
                );
            }
            assert!(log.contains(&"usermod --append --groups sudo sarah_lee".to_owned()));
            none(&log, "usermod for a group this machine lacks", |c| {
                c.starts_with("usermod") && c.contains("docker")
            });

            let units: Vec<String> = template
                .services
                .iter()
                .map(|service| format!("{}-sarah_lee.service", service.kind))
                .collect();
            for (unit, service) in units.iter().zip(&template.services) {
                let file = sandbox.path(&format!("etc/systemd/system/{unit}"));
                let text = fs::read_to_string(&file)
                    .unwrap_or_else(|_| panic!("{case}: no unit file {unit}"));
                // RStudio Server signs the research user in, so it alone runs as root.
                assert_eq!(
                    text.contains("User=sarah_lee\n"),
                    service.kind != ServiceKind::Rstudio,
                    "{case}: {text}"
                );
                assert!(text.contains("127.0.0.1"), "{case}: {text}");
            }
            assert!(
                !units.is_empty(),
                "{case}: every builtin template runs a service"
            );
            let enable = format!("systemctl enable --now {}", units.join(" "));
            in_order(
                &log,
                &[
                    ("daemon-reload", &|c| c == "systemctl daemon-reload"),
                    ("enable --now", &|c| c == enable),
                ],
            );

            // What the description promises is installed before the services start.
            if !template.pip_packages.is_empty() {
                in_order(
                    &log,
                    &[
                        ("the apt packages, pip among them", &|c| {
                            is_apt_install(c) && c.split(' ').any(|w| w == "python3-pip")
                        }),
                        ("pip installs", &|c| {
                            c.starts_with("pip3 install --no-cache-dir")
                                && template
                                    .pip_packages
                                    .iter()
                                    .all(|p| c.ends_with(p.as_str()))
                        }),
                        ("enable --now", &|c| c == enable),
                    ],
                );
            }
            if template
                .services
                .iter()
                .any(|s| s.kind == ServiceKind::Rstudio)
            {
                in_order(
                    &log,
                    &[
                        ("Posit's package fetched", &|c| {
                            c.starts_with("curl -fsSL --retry 3 -o ")
                                && c.ends_with("/rstudio-server-2023.12.0-369-amd64.deb")
                        }),
                        ("its checksum checked", &|c| c == "sha256sum -c -"),
                        ("the package file installed", &|c| {
                            is_apt_install(c) && c.ends_with(".deb")
                        }),
                        ("the package's own unit stopped", &|c| {
                            c == "systemctl disable --now rstudio-server.service"
                        }),
                        ("the research user's password set", &|c| c == "chpasswd -e"),
                        ("enable --now", &|c| c == enable),
                    ],
                );
            }
            if template
                .services
                .iter()
                .any(|s| s.kind == ServiceKind::Vscode)
            {
                in_order(
                    &log,
                    &[
                        ("Coder's release fetched", &|c| {
                            c.starts_with("curl -fsSL --retry 3 -o ")
                                && c.ends_with("/code-server-4.108.2-linux-amd64.tar.gz")
                        }),
                        ("its checksum checked", &|c| c == "sha512sum -c -"),
                        ("unpacked as /usr/lib/code-server", &|c| {
                            c.starts_with("tar -xzf ")
                                && c.ends_with(
                                    "-C /usr/lib --one-top-level=code-server --strip-components=1",
                                )
                        }),
                        ("enable --now", &|c| c == enable),
                    ],
                );
            }

            let fstab = sandbox.fstab();
            let home_lines = lines_with(&fstab, " /home/sarah_lee ");
            match efs_home {
                None => {
                    assert!(home_lines.is_empty(), "{case}");
                    none(&log, "mount", |c| c.starts_with("mount "));
                    builds_efs_utils_then(&log, &[]);
                    let last = log.last().unwrap();
                    assert!(is_efs_utils_package(last), "{case}: last call {last}");
                }
                Some(_) => {
                    // The home is mounted before the user is made, so useradd finds it there.
                    assert_eq!(home_lines, [HOME_FSTAB_LINE], "{case}");
                    builds_efs_utils_then(
                        &log,
                        &[
                            ("mount", &is_mount_of("/home/sarah_lee")),
                            ("groupadd", &|c| c == "groupadd --gid 5001 sarah_lee"),
                            ("useradd", &|c| c.starts_with("useradd --uid 5001")),
                        ],
                    );
                    assert!(
                        sandbox.path("home/sarah_lee/.ssh/authorized_keys").exists(),
                        "{case}: the key is written into the mounted home"
                    );
                }
            }
        }
    }
}

#[test]
fn running_the_user_data_again_adds_nothing_and_builds_nothing() {
    let template = Catalog::builtin().find("python-ml").unwrap();
    let script = user_data(template, Some(EFS_HOME));
    let sandbox = Sandbox::new("user-data-twice");
    assert!(sandbox.run(&script).success);
    let first = sandbox.log().len();
    let run = sandbox.run(&script);
    assert!(run.success, "{}", run.stderr);
    let again = &sandbox.log()[first..];
    none(again, "building efs-utils or mounting", |c| {
        c.starts_with("git ") || c == "build-deb.sh" || c.starts_with("mount ")
    });
    assert_eq!(lines_with(&sandbox.fstab(), " /home/sarah_lee ").len(), 1);
    let authorized_keys =
        fs::read_to_string(sandbox.path("home/sarah_lee/.ssh/authorized_keys")).unwrap();
    assert_eq!(authorized_keys.lines().count(), 1);
}

#[test]
fn the_sandbox_keeps_the_scripts_away_from_this_machine() {
    let host_fstab = fs::read_to_string("/etc/fstab").ok();
    let sandbox = Sandbox::new("contained");
    assert!(
        sandbox
            .run(&mount(AccessMode::ReadOnly, ubuntu().as_ref()))
            .success
    );
    assert_eq!(fs::read_to_string("/etc/fstab").ok(), host_fstab);
    assert!(!Path::new("/mnt/neuro-dataset").exists());
}

/// A workspace launched with key K0, rotated to K1 while it was stopped, then to the person's own
/// key: the script leaves their own line and the current key, and neither retired key.
#[test]
fn a_replaced_key_leaves_only_the_current_key_and_the_persons_own_lines() {
    let sandbox = Sandbox::new("replace-ssh-key").with("STUB_GROUPS", "");
    let ssh = sandbox.path("home/sarah_lee/.ssh");
    fs::create_dir_all(&ssh).unwrap();
    let own_line = "ssh-rsa AAAAB3NzaC1yc2EOwnLaptopKey sarah@laptop";
    fs::write(
        ssh.join("authorized_keys"),
        format!(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRetiredZero sarah\n{own_line}\n\
             ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRetiredOne sarah_lee@cws\n"
        ),
    )
    .unwrap();
    let user = ResearchUser {
        ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICurrent sarah_lee@cws".to_owned(),
        own_key: true,
        retired_keys: vec![
            "AAAAC3NzaC1lZDI1NTE5AAAAIRetiredZero".to_owned(),
            "AAAAC3NzaC1lZDI1NTE5AAAAIRetiredOne".to_owned(),
        ],
        ..sarah()
    };
    let script = replace_key_script(&user).expect("a valid user and keys");
    for attempt in ["first", "again"] {
        let run = sandbox.run(&script);
        assert!(run.success, "{attempt}: {}", run.stderr);
        let authorized_keys = fs::read_to_string(ssh.join("authorized_keys")).unwrap();
        assert_eq!(
            authorized_keys,
            format!("{own_line}\n{}\n", user.ssh_public_key),
            "{attempt}"
        );
        let mode = fs::metadata(ssh.join("authorized_keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{attempt}");
    }
    assert!(
        sandbox
            .log()
            .contains(&"cloud-init status --wait".to_owned())
    );
}

#[test]
fn a_key_replacement_with_anything_unchecked_is_never_rendered() {
    let injected = ResearchUser {
        retired_keys: vec!["AAAA'; rm -rf / #".to_owned()],
        ..sarah()
    };
    assert_eq!(replace_key_script(&injected), None);
    let two_lines = ResearchUser {
        ssh_public_key: "ssh-ed25519 AAAA sarah\nssh-ed25519 BBBB mallory".to_owned(),
        ..sarah()
    };
    assert_eq!(replace_key_script(&two_lines), None);
}

/// `download`: the research user's folder, and nothing beside it, is archived and uploaded to
/// the presigned link; the temporary archive is gone afterwards; a missing path is refused
/// with a message and nothing is uploaded.
#[test]
fn a_download_archives_the_asked_folder_as_the_research_user_and_uploads_it() {
    let sandbox = Sandbox::new("archive-home");
    let home = sandbox.path("home/sarah_lee");
    fs::create_dir_all(home.join("results/2026")).unwrap();
    fs::write(home.join("results/2026/figure.csv"), "x,y\n1,2\n").unwrap();
    fs::write(home.join("notes.txt"), "not asked for").unwrap();
    let url = "http://127.0.0.1:9/cws-archive/downloads/k.tar.gz?X-Amz-Signature=ab&X-Amz-Date=1";
    let path = "results".parse().unwrap();
    let script = archive_script("sarah_lee", Some(&path), url).unwrap();
    let run = sandbox.run(&script);
    assert!(run.success, "{}", run.stderr);
    let log = sandbox.log();
    position(&log, "tar as the research user", |call| {
        call == "runuser -u sarah_lee -- tar -C /home/sarah_lee -czf - -- results"
    });
    position(&log, "the upload", |call| {
        call.starts_with("curl --fail") && call.contains(" --upload-file ") && call.ends_with(url)
    });
    let listed = Command::new("tar")
        .args(["-tzf"])
        .arg(sandbox.path("uploaded"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("results/2026/figure.csv"), "{listed}");
    assert!(!listed.contains("notes.txt"), "{listed}");
    assert_eq!(fs::read_dir(sandbox.path("tmp")).unwrap().count(), 0);

    let _ = fs::remove_file(sandbox.path("uploaded"));
    let missing = "no-such-folder".parse().unwrap();
    let run = sandbox.run(&archive_script("sarah_lee", Some(&missing), url).unwrap());
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    assert!(
        run.stderr.contains("~/no-such-folder does not exist"),
        "{}",
        run.stderr
    );
    assert!(!sandbox.path("uploaded").exists());
}
