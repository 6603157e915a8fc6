//! The launch user data: a shell script that provisions the research user on first boot.
//!
//! The script comes from `templates/user-data.sh.hbs`. Values land in a shell script run as
//! root, so each one is checked here against a strict pattern and then single-quoted by the
//! template's `quote` helper ([`crate::shell`]). A value that fails its check is dropped, never repaired, because a
//! guessed repair would provision something nobody asked for:
//!
//! - a username other than `^[a-z][a-z0-9_]{0,31}$`: no research user, so no SSH key, extra
//!   groups, EFS home or services either (they all belong to the user); packages still install;
//! - an SSH public key that is empty or spans lines: no `authorized_keys` entry;
//! - a package, pip package, group or service name other than `^[a-z0-9][a-z0-9+._-]*$`: that
//!   one entry;
//! - a pip index other than `https://` and `^[a-z0-9./_-]*$`: PyPI instead;
//! - an EFS home whose file system or access point id is other than `^[a-z0-9][a-z0-9-]*$`,
//!   or on a template with no way to install amazon-efs-utils: a home on the instance's disk;
//! - without the workspace's [`ServiceSecret`]: every web service, which never runs without
//!   a password.
//!
//! Every web service listens on the instance's loopback only, reached through a Session Manager
//! port forward, and asks for the workspace's password, which the script holds only hashed.

use serde::Serialize;

use crate::efs_utils::EfsUtils;
use crate::profile::ResearchUser;
use crate::service_secret::ServiceSecret;
use crate::shell;
use crate::template::{ServiceKind, Template};

/// Everything the script is made from.
pub struct UserDataInput<'a> {
    pub user: &'a ResearchUser,
    pub template: &'a Template,
    /// Extra groups for the research user, e.g. `sudo`; those missing on the machine are skipped.
    pub groups: &'a [String],
    /// The research user's home on the project's homes volume, mounted at `/home/USER`.
    pub efs_home: Option<EfsHome<'a>>,
    /// The password the template's web services ask for; `None`: they are not set up.
    pub service_secret: Option<&'a ServiceSecret>,
}

/// A home on EFS: the file system and the research user's own access point on it (their
/// UID/GID, rooted at their `/home/USER`), so what they keep there outlives the instance.
#[derive(Debug, Clone, Copy)]
pub struct EfsHome<'a> {
    pub file_system_id: &'a str,
    pub access_point_id: &'a str,
}

/// The user data script for one launch.
pub fn render_user_data(input: &UserDataInput<'_>) -> String {
    shell::render(shell::Script::UserData, &script_data(input))
}

#[derive(Serialize)]
struct ScriptData {
    user: Option<UserData>,
    groups: Vec<String>,
    packages: Vec<String>,
    pip_packages: Vec<String>,
    pip_index_url: Option<String>,
    efs_home: Option<EfsHomeData>,
    services: Vec<ServiceData>,
    /// The research user's password as a SHA-512 crypt, for `chpasswd -e`: RStudio Server
    /// signs them in with it.
    unix_password: Option<String>,
    /// Installed for every machine, research user or not: it is the volume mounts' dependency.
    efs_utils: Option<EfsUtils>,
}

#[derive(Serialize)]
struct EfsHomeData {
    file_system: String,
    /// The `efs` mount type's options, as `volume mount` uses them: TLS, IAM, the access point.
    options: String,
}

#[derive(Serialize)]
struct UserData {
    name: String,
    uid: u32,
    gid: u32,
    ssh_public_key: Option<String>,
}

#[derive(Serialize)]
struct ServiceData {
    unit: String,
    description: &'static str,
    program: &'static str,
    arguments: String,
    runtime_directory: String,
    /// Runs as root rather than as the research user: RStudio Server signs users in through PAM.
    as_root: bool,
    /// `NAME=value` lines of the unit's environment.
    environment: Vec<String>,
    /// The apt package providing `program`, installed with the template's own.
    #[serde(skip)]
    package: Option<&'static str>,
    /// The package file providing `program` where no archive has it.
    deb: Option<&'static Deb>,
    /// The unit that package file starts on every address, stopped for good: ours replaces it.
    packaged_unit: Option<&'static str>,
    /// The release archive providing `program` where its publisher ships no package.
    tarball: Option<&'static Tarball>,
}

/// A package file fetched from its publisher: pinned, and installed only if its SHA-256 is
/// this one.
#[derive(Debug, Serialize)]
pub struct Deb {
    pub url: &'static str,
    pub sha256: &'static str,
}

/// RStudio Server for Ubuntu 22.04 (jammy, amd64), from Posit, who publish it only as this file.
/// A newer release: its URL and the SHA-256 Posit lists beside it.
pub const RSTUDIO_SERVER: Deb = Deb {
    url: "https://download2.rstudio.org/server/jammy/amd64/rstudio-server-2023.12.0-369-amd64.deb",
    sha256: "452804d61bfee2996d98d1c406b31d93e03e58df2a34996b821925ce0c04ffe8",
};

/// A release archive fetched from its publisher: pinned, unpacked as `directory` inside
/// `parent` (its top folder renamed so) only if its SHA-512 is this one.
#[derive(Debug, Serialize)]
pub struct Tarball {
    pub url: &'static str,
    pub sha512: &'static str,
    pub parent: &'static str,
    pub directory: &'static str,
}

/// code-server (VS Code in the browser) for Linux amd64, from Coder's releases, with its own
/// Node.js; the digest is the one Coder's Arch Linux package pins for this release.
pub const CODE_SERVER: Tarball = Tarball {
    url: "https://github.com/coder/code-server/releases/download/v4.108.2/code-server-4.108.2-linux-amd64.tar.gz",
    sha512: "4687c8e612d89f93e2aaf9a5e79453e90eee79ddfbd5d597d245122cc48bc067cdd9d7d629945edb4a8d6ea6a5ce05f68f72db6045d86abe893bcaa6e28e00ed",
    parent: "/usr/lib",
    directory: "code-server",
};

fn script_data(input: &UserDataInput<'_>) -> ScriptData {
    let user = &input.user;
    if !is_username(&user.username) {
        return ScriptData {
            user: None,
            groups: Vec::new(),
            packages: valid_names(&input.template.packages),
            pip_packages: valid_names(&input.template.pip_packages),
            pip_index_url: pip_index(input.template),
            efs_home: None,
            services: Vec::new(),
            unix_password: None,
            efs_utils: input.template.efs_utils(),
        };
    }
    let key = user.ssh_public_key.trim();
    let ssh_public_key =
        (!key.is_empty() && !key.chars().any(char::is_control)).then(|| key.to_owned());
    let efs_utils = input.template.efs_utils();
    // The access point needs amazon-efs-utils: without a way to install it, no EFS home.
    let efs_home = input
        .efs_home
        .filter(|home| is_id(home.file_system_id) && is_id(home.access_point_id))
        .filter(|_| efs_utils.is_some())
        .map(|home| EfsHomeData {
            file_system: home.file_system_id.to_owned(),
            options: format!("_netdev,tls,iam,accesspoint={}", home.access_point_id),
        });
    let services: Vec<ServiceData> = input
        .service_secret
        .map(|secret| {
            input
                .template
                .services
                .iter()
                .map(|service| web_service(service.kind, service.port, &user.username, secret))
                .collect()
        })
        .unwrap_or_default();
    let unix_password = input
        .service_secret
        .filter(|_| services.iter().any(|service| service.as_root))
        .map(ServiceSecret::unix_crypt);

    let mut packages = valid_names(&input.template.packages);
    let implied = services
        .iter()
        .filter_map(|service| service.package)
        .chain((!input.template.pip_packages.is_empty()).then_some("python3-pip"));
    for package in implied {
        if !packages.iter().any(|p| p == package) {
            packages.push(package.to_owned());
        }
    }

    ScriptData {
        user: Some(UserData {
            name: user.username.clone(),
            uid: user.uid,
            gid: user.gid,
            ssh_public_key,
        }),
        groups: valid_names(input.groups),
        packages,
        pip_packages: valid_names(&input.template.pip_packages),
        pip_index_url: pip_index(input.template),
        efs_home,
        services,
        unix_password,
        efs_utils,
    }
}

/// The unit of one web service: on loopback only, behind the workspace's password.
fn web_service(
    kind: ServiceKind,
    port: u16,
    username: &str,
    secret: &ServiceSecret,
) -> ServiceData {
    let unit_stem = format!("{kind}-{username}");
    let service = ServiceData {
        unit: format!("{unit_stem}.service"),
        description: kind.title(),
        program: "",
        arguments: String::new(),
        runtime_directory: unit_stem.clone(),
        as_root: false,
        environment: Vec::new(),
        package: None,
        deb: None,
        packaged_unit: None,
        tarball: None,
    };
    match kind {
        ServiceKind::Jupyter => ServiceData {
            program: "/usr/bin/jupyter-notebook",
            arguments: format!(
                "--no-browser --ip=127.0.0.1 --port={port} --NotebookApp.token= \
                 --NotebookApp.password={}",
                secret.jupyter_hash()
            ),
            package: Some("jupyter-notebook"),
            ..service
        },
        ServiceKind::Rstudio => ServiceData {
            program: "/usr/lib/rstudio-server/bin/rserver",
            arguments: format!(
                "--server-daemonize=0 --www-address=127.0.0.1 --www-port={port} \
                 --server-data-dir=/run/{unit_stem}"
            ),
            as_root: true,
            // Posit ships RStudio Server as a .deb of its own, not through the Ubuntu archive.
            deb: Some(&RSTUDIO_SERVER),
            packaged_unit: Some("rstudio-server.service"),
            ..service
        },
        ServiceKind::Vscode => ServiceData {
            program: "/usr/lib/code-server/bin/code-server",
            arguments: format!(
                "--bind-addr=127.0.0.1:{port} --auth=password --disable-telemetry \
                 --disable-update-check /home/{username}"
            ),
            environment: vec![format!("HASHED_PASSWORD={}", secret.code_server_hash())],
            tarball: Some(&CODE_SERVER),
            ..service
        },
    }
}

/// `^[a-z][a-z0-9_]{0,31}$`
pub fn is_username(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `^[a-z0-9][a-z0-9+._-]*$`: Debian package names, and safe for group and unit names too.
fn is_name(name: &str) -> bool {
    starts_alphanumeric_then(name, |c| matches!(c, '+' | '.' | '_' | '-'))
}

/// `^[a-z0-9][a-z0-9-]*$`: EFS file system and access point ids (`fs-…`, `fsap-…`).
fn is_id(id: &str) -> bool {
    id.len() <= 128 && starts_alphanumeric_then(id, |c| c == '-')
}

fn starts_alphanumeric_then(text: &str, also: impl Fn(char) -> bool) -> bool {
    let lower_alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = text.chars();
    chars.next().is_some_and(lower_alphanumeric) && chars.all(|c| lower_alphanumeric(c) || also(c))
}

/// The template's pip index, if it is an `https://` URL of plain characters.
fn pip_index(template: &Template) -> Option<String> {
    template
        .pip_index_url
        .as_deref()
        .and_then(|url| url.strip_prefix("https://"))
        .filter(|rest| starts_alphanumeric_then(rest, |c| matches!(c, '.' | '/' | '_' | '-')))
        .map(|rest| format!("https://{rest}"))
}

fn valid_names(names: &[String]) -> Vec<String> {
    names.iter().filter(|name| is_name(name)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Catalog, ConnectionType, Service};

    fn secret() -> ServiceSecret {
        ServiceSecret::from_random(*b"0123456789abcdefSALTsalt")
    }

    fn alice() -> ResearchUser {
        ResearchUser {
            username: "alice_researcher".to_owned(),
            uid: 5001,
            gid: 5001,
            account: "123456789012".to_owned(),
            ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@cws"
                .to_owned(),
            own_key: false,
            retired_keys: Vec::new(),
        }
    }

    const HOME: EfsHome<'static> = EfsHome {
        file_system_id: "fs-0123456789abcdef0",
        access_point_id: "fsap-0123456789abcdef0",
    };

    fn render(user: &ResearchUser, template: &Template, efs_home: Option<EfsHome<'_>>) -> String {
        render_user_data(&UserDataInput {
            user,
            template,
            groups: &["sudo".to_owned(), "docker".to_owned()],
            efs_home,
            service_secret: Some(&secret()),
        })
    }

    fn python_ml() -> &'static Template {
        Catalog::builtin().find("Python Machine Learning").unwrap()
    }

    #[test]
    fn the_script_creates_the_user_with_its_uid_and_gid() {
        let script = render(&alice(), python_ml(), None);
        assert!(script.starts_with("#!/bin/bash\n"));
        assert!(script.contains("set -euo pipefail"));
        assert!(script.contains("RESEARCH_USER='alice_researcher'"));
        assert!(script.contains("RESEARCH_UID='5001'"));
        assert!(script.contains("RESEARCH_GID='5001'"));
        assert!(script.contains("EXTRA_GROUPS=('sudo' 'docker')"));
    }

    #[test]
    fn each_service_gets_one_unit_on_loopback_behind_the_workspace_password() {
        let mut template = python_ml().clone();
        template.services.extend([
            Service {
                kind: ServiceKind::Rstudio,
                port: 8787,
            },
            Service {
                kind: ServiceKind::Vscode,
                port: 8080,
            },
        ]);
        let script = render(&alice(), &template, None);
        for unit in [
            "jupyter-alice_researcher.service",
            "rstudio-alice_researcher.service",
            "vscode-alice_researcher.service",
        ] {
            let heredoc = format!("cat >\"/etc/systemd/system/{unit}\" <<'UNIT'");
            assert_eq!(script.matches(&heredoc).count(), 1, "{unit}");
        }
        // RStudio Server runs as root to sign the research user in; the others run as them.
        assert_eq!(script.matches("User=alice_researcher\n").count(), 2);
        let secret = secret();
        assert!(script.contains(&format!(
            "--no-browser --ip=127.0.0.1 --port=8888 --NotebookApp.token= \
             --NotebookApp.password={}\n",
            secret.jupyter_hash()
        )));
        assert!(script.contains("--www-address=127.0.0.1 --www-port=8787"));
        assert!(script.contains("systemctl disable --now 'rstudio-server.service'"));
        assert!(script.contains(&format!(
            "printf '%s:%s\\n' \"$RESEARCH_USER\" '{}' | chpasswd -e",
            secret.unix_crypt()
        )));
        assert!(script.contains("--bind-addr=127.0.0.1:8080 --auth=password"));
        assert!(script.contains(&format!(
            "Environment=HASHED_PASSWORD={}\n",
            secret.code_server_hash()
        )));
        assert!(script.contains(&format!("'{}'", CODE_SERVER.url)));
        assert!(script.contains("| sha512sum -c -"));
        assert!(!script.contains("0.0.0.0"));
        assert!(!script.contains("auth-none"));
        assert!(
            !script.contains(secret.password()),
            "the user data is readable in the account: only hashes"
        );
        assert!(script.contains(
            "systemctl enable --now 'jupyter-alice_researcher.service' \
             'rstudio-alice_researcher.service' 'vscode-alice_researcher.service'"
        ));
    }

    #[test]
    fn without_the_workspace_password_no_service_runs() {
        let mut template = python_ml().clone();
        template.services.push(Service {
            kind: ServiceKind::Rstudio,
            port: 8787,
        });
        let script = render_user_data(&UserDataInput {
            user: &alice(),
            template: &template,
            groups: &[],
            efs_home: None,
            service_secret: None,
        });
        for absent in ["systemctl", "chpasswd", "/etc/systemd/system", "rstudio"] {
            assert!(!script.contains(absent), "{absent}");
        }
        assert!(script.contains("'jupyter-notebook'") || script.contains("jupyter-notebook"));
        assert_eq!(template.connection_type, ConnectionType::Web);
    }

    #[test]
    fn every_builtin_template_s_services_listen_on_loopback_only() {
        for template in Catalog::builtin().templates() {
            let script = render(&alice(), template, None);
            assert!(!script.contains("0.0.0.0"), "{}", template.name);
            assert!(!script.contains(secret().password()), "{}", template.name);
            for service in &template.services {
                let port = service.port.to_string();
                let loopback = script
                    .lines()
                    .filter(|line| line.starts_with("ExecStart="))
                    .any(|line| line.contains("127.0.0.1") && line.contains(&port));
                assert!(loopback, "{} {}", template.name, service.kind);
            }
        }
    }

    #[test]
    fn the_efs_home_is_mounted_at_the_home_before_the_user_is_made() {
        let without = render(&alice(), python_ml(), None);
        for absent in ["EFS_HOME", "HOME_ENTRY", "fstab", "mountpoint", "/etc/skel"] {
            assert!(!without.contains(absent), "{absent}");
        }

        let with = render(&alice(), python_ml(), Some(HOME));
        assert!(with.contains("EFS_HOME_FILE_SYSTEM='fs-0123456789abcdef0'"));
        assert!(
            with.contains("EFS_HOME_OPTIONS='_netdev,tls,iam,accesspoint=fsap-0123456789abcdef0'")
        );
        assert!(with.contains(r#"HOME_ENTRY="${EFS_HOME_FILE_SYSTEM}:/ ${RESEARCH_HOME} efs "#));
        let mounted = with.find(r#"mount "$RESEARCH_HOME""#).unwrap();
        let efs_utils = with.find("command -v mount.efs").unwrap();
        let useradd = with.find("useradd").unwrap();
        assert!(efs_utils < mounted && mounted < useradd, "{with}");
    }

    #[test]
    fn an_efs_home_needs_a_way_to_install_efs_utils() {
        let mut template = python_ml().clone();
        template.os = "plan9".to_owned();
        template.efs_utils = None;
        assert!(template.efs_utils().is_none());
        let script = render(&alice(), &template, Some(HOME));
        assert!(!script.contains("EFS_HOME"), "{script}");
    }

    #[test]
    fn a_hostile_public_key_stays_one_quoted_word() {
        let mut user = alice();
        user.ssh_public_key = "ssh-ed25519 AAAA x'; rm -rf / #".to_owned();
        let script = render(&user, python_ml(), None);
        assert!(script.contains(r"SSH_PUBLIC_KEY='ssh-ed25519 AAAA x'\''; rm -rf / #'"));
        assert_eq!(script.matches("rm -rf /").count(), 1);
    }

    #[test]
    fn a_key_spanning_lines_is_dropped() {
        let mut user = alice();
        user.ssh_public_key = "ssh-ed25519 AAAA a\nssh-ed25519 BBBB mallory".to_owned();
        let script = render(&user, python_ml(), None);
        assert!(!script.contains("SSH_PUBLIC_KEY"));
        assert!(!script.contains("mallory"));
    }

    #[test]
    fn invalid_names_are_dropped() {
        let mut template = python_ml().clone();
        template.packages = vec!["git".to_owned(), "$(reboot)".to_owned()];
        template.pip_packages = vec!["torch".to_owned(), "torch;reboot".to_owned()];
        template.pip_index_url = Some("https://example.org/$(reboot)".to_owned());
        template.services = vec![Service {
            kind: ServiceKind::Jupyter,
            port: 8888,
        }];
        let script = render_user_data(&UserDataInput {
            user: &alice(),
            template: &template,
            groups: &["wheel".to_owned(), "a b".to_owned()],
            efs_home: Some(EfsHome {
                file_system_id: "fs-1;reboot",
                access_point_id: "fsap-1",
            }),
            service_secret: Some(&secret()),
        });
        assert!(!script.contains("reboot"));
        assert!(!script.contains("unknown"));
        assert!(!script.contains("a b"));
        assert!(!script.contains("EFS_HOME"));
        assert!(script.contains("PACKAGES=('git' 'jupyter-notebook' 'python3-pip')"));
        assert!(
            script.contains("pip3 install --no-cache-dir 'torch'\n"),
            "{script}"
        );
        assert!(script.contains("EXTRA_GROUPS=('wheel')"));
    }

    #[test]
    fn without_a_valid_username_only_packages_are_installed() {
        let mut user = alice();
        user.username = "root; reboot".to_owned();
        let script = render(&user, python_ml(), Some(HOME));
        assert!(!script.contains("reboot"));
        for absent in ["RESEARCH_USER", "useradd", "EFS_HOME", "systemctl"] {
            assert!(!script.contains(absent), "{absent}");
        }
        assert!(script.contains("apt-get -o DPkg::Lock::Timeout=600 install"));
    }

    #[test]
    fn the_username_pattern() {
        assert!(is_username("a"));
        assert!(is_username("alice_researcher2"));
        assert!(is_username(&"a".repeat(32)));
        assert!(!is_username(&"a".repeat(33)));
        assert!(!is_username(""));
        assert!(!is_username("2alice"));
        assert!(!is_username("Alice"));
        assert!(!is_username("alice-r"));
    }

    #[test]
    fn python_machine_learning_script() {
        insta::assert_snapshot!(render(&alice(), python_ml(), Some(HOME)));
    }

    #[test]
    fn rstudio_server_script() {
        let template = Catalog::builtin().find("RStudio Server").unwrap();
        insta::assert_snapshot!(render(&alice(), template, None));
    }

    #[test]
    fn vs_code_server_script() {
        let template = Catalog::builtin().find("VS Code Server").unwrap();
        insta::assert_snapshot!(render(&alice(), template, None));
    }
}
