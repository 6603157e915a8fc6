//! Shared EFS volumes across accounts (seed problem 1): which configured account may mount a
//! volume and how, and the two policy documents that say so — the file system's resource
//! policy (in the lead account) and the identity policy each collaborator account attaches.
//!
//! Each grant is bound to its own access point, so a grant can be used only through the access
//! point that fixes its POSIX identity and root directory: a read-only account gets
//! `ClientMount` alone (EFS then mounts it read-only), a read-write one `ClientMount` and
//! `ClientWrite`, and nothing more. Every statement also requires TLS in transit.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::account::{Account, Accounts};
use crate::command::{AccessMode, CrossAccountAccess};
use crate::efs_utils::EfsUtils;
use crate::identity::ChatIdentity;
use crate::ports::{AccessPoint, FileSystem, MountTarget, PosixIdentity};

/// A shared volume as the state keeps it. Built up step by step by the job that creates it,
/// so a retried job continues where the first one stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    pub project: String,
    pub size_gb: u64,
    pub created_by: ChatIdentity,
    /// The job that creates it: a re-run of that job may continue, anyone else is refused.
    pub job: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub file_system: Option<FileSystem>,
    pub grants: Vec<VolumeGrant>,
    /// The lead account's own door, made at its first mount: the owner's identity, read-write.
    #[serde(default)]
    pub lead_access_point: Option<AccessPoint>,
}

/// A shared volume's access points' root: owner and group may write; the setgid bit keeps new
/// files in the root's group, so collaborators' files stay readable to the project.
pub const SHARED_ROOT_PERMISSIONS: &str = "2775";

/// A research user's home on the homes volume: theirs alone, as `useradd` makes a home.
pub const HOME_ROOT_PERMISSIONS: &str = "0750";

/// A research user's home directory, on the instance and as the root of their access point on
/// the homes volume (so the volume's tree mirrors `/home`).
pub fn home_directory(username: &str) -> String {
    format!("/home/{username}")
}

/// The key a research user's home access point is made once for: per project, homes volume and
/// research user.
pub fn home_access_point_key(project: &str, volume: &str, username: &str) -> String {
    format!("{project}:{volume}:home:{username}")
}

/// Where every volume is mounted on a workspace.
pub fn mount_point(volume: &str) -> String {
    format!("/mnt/{volume}")
}

/// A volume mounted on a workspace, as the state keeps it (one per volume and workspace; a
/// later mount with another mode replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    pub volume: String,
    pub workspace: String,
    pub instance_id: String,
    /// The institution whose grant the mount uses (the lead's for the lead's own people).
    pub institution: String,
    pub mode: AccessMode,
    pub by: ChatIdentity,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The run command that mounted it, for the operator who wants its output.
    pub command_id: String,
}

/// The script that mounts `file_system` through `access_point` at [`mount_point`]: the `efs`
/// mount type with TLS and IAM authorization, `ro` for a read-only mount (EFS refuses writes
/// without `ClientWrite` anyway; `ro` makes the refusal immediate and clear), and `_netdev` so
/// the `/etc/fstab` line waits for the network at boot.
///
/// `mount_target_ip` is for a workspace in another account: the file system's DNS name does
/// not resolve there, so it connects to a mount target's address (over VPC peering or a transit
/// gateway) instead.
///
/// The script first waits for the first boot, which installs amazon-efs-utils, and installs it
/// itself, the `efs_utils` way (the workspace's template's: [`crate::template::Catalog::efs_utils`]),
/// if it is still missing; with no way known, it mounts only where it is already installed.
pub fn mount_script(
    volume: &str,
    file_system_id: &str,
    access_point_id: &str,
    mode: AccessMode,
    mount_target_ip: Option<&str>,
    efs_utils: Option<&EfsUtils>,
) -> String {
    let mut options = format!("_netdev,tls,iam,accesspoint={access_point_id}");
    if mode == AccessMode::ReadOnly {
        options.push_str(",ro");
    }
    if let Some(ip) = mount_target_ip {
        options.push_str(&format!(",mounttargetip={ip}"));
    }
    crate::shell::render(
        crate::shell::Script::MountVolume,
        &json!({
            "file_system": file_system_id,
            "mount_point": mount_point(volume),
            "options": options,
            "efs_utils": efs_utils,
        }),
    )
}

/// The mount target an instance in zone `zone_id` connects to: the one in its own zone (no
/// cross-zone traffic), else the first.
pub fn nearest_mount_target<'a>(
    targets: &'a [MountTarget],
    zone_id: Option<&str>,
) -> Option<&'a MountTarget> {
    targets
        .iter()
        .find(|target| zone_id.is_some() && target.zone_id.as_deref() == zone_id)
        .or_else(|| targets.first())
}

/// One institution's mounts of a volume, for `volume status` and `volume list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionMounts {
    pub institution: String,
    pub mode: AccessMode,
    pub workspaces: Vec<String>,
}

/// The mounts grouped by institution and mode, institutions in name order.
pub fn mounts_by_institution(mounts: &[VolumeMount]) -> Vec<InstitutionMounts> {
    let mut groups: Vec<InstitutionMounts> = Vec::new();
    for mount in mounts {
        match groups
            .iter_mut()
            .find(|g| g.institution == mount.institution && g.mode == mount.mode)
        {
            Some(group) => group.workspaces.push(mount.workspace.clone()),
            None => groups.push(InstitutionMounts {
                institution: mount.institution.clone(),
                mode: mount.mode,
                workspaces: vec![mount.workspace.clone()],
            }),
        }
    }
    for group in &mut groups {
        group.workspaces.sort();
    }
    groups.sort_by(|a, b| (&a.institution, a.mode as u8).cmp(&(&b.institution, b.mode as u8)));
    groups
}

/// One account's access to a volume, as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeGrant {
    pub account: String,
    pub account_id: String,
    pub mode: AccessMode,
    pub user: PosixIdentity,
    pub access_point: AccessPoint,
    /// The mount policy's ARN in the account, when the worker could create it there.
    pub policy_arn: Option<String>,
}

const MOUNT: &str = "elasticfilesystem:ClientMount";
const WRITE: &str = "elasticfilesystem:ClientWrite";

/// The EFS actions a mode allows.
pub fn actions(mode: AccessMode) -> &'static [&'static str] {
    match mode {
        AccessMode::ReadOnly => &[MOUNT],
        AccessMode::ReadWrite => &[MOUNT, WRITE],
    }
}

/// One account's access, with the account resolved from `CWS_ACCOUNTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedGrant<'a> {
    pub account: &'a Account,
    pub mode: AccessMode,
}

/// Accounts named in a `volume create` that `CWS_ACCOUNTS` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown account(s): {}", .unknown.join(", "))]
pub struct UnknownAccounts {
    pub unknown: Vec<String>,
}

/// Resolves every named account, or lists all the unknown ones at once.
pub fn resolve_grants<'a>(
    access: &[CrossAccountAccess],
    accounts: &'a Accounts,
) -> Result<Vec<ResolvedGrant<'a>>, UnknownAccounts> {
    let mut grants = Vec::new();
    let mut unknown = Vec::new();
    for grant in access {
        match accounts.named(&grant.account) {
            Some(account) => grants.push(ResolvedGrant {
                account,
                mode: grant.mode,
            }),
            None => unknown.push(grant.account.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(grants)
    } else {
        Err(UnknownAccounts { unknown })
    }
}

/// A grant bound to its access point, as the resource policy names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundGrant<'a> {
    pub account_id: &'a str,
    pub access_point_arn: &'a str,
    pub mode: AccessMode,
}

/// The file system's resource policy: one statement per account, through its access point.
pub fn file_system_policy(file_system_arn: &str, grants: &[BoundGrant<'_>]) -> Value {
    let statements: Vec<Value> = grants
        .iter()
        .map(|grant| {
            json!({
                "Sid": format!("{}{}", sid(grant.mode), grant.account_id),
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{}:root", grant.account_id) },
                "Action": actions(grant.mode),
                "Resource": file_system_arn,
                "Condition": {
                    "StringEquals": { "elasticfilesystem:AccessPointArn": grant.access_point_arn },
                    "Bool": { "aws:SecureTransport": "true" },
                },
            })
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn sid(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::ReadOnly => "ReadOnlyMount",
        AccessMode::ReadWrite => "ReadWriteMount",
    }
}

/// The identity policy a collaborator account attaches to its researchers' role: the same
/// actions, on the same file system, through the same access point.
pub fn mount_policy(file_system_arn: &str, access_point_arn: &str, mode: AccessMode) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid(mode),
            "Effect": "Allow",
            "Action": actions(mode),
            "Resource": file_system_arn,
            "Condition": {
                "StringEquals": { "elasticfilesystem:AccessPointArn": access_point_arn },
                "Bool": { "aws:SecureTransport": "true" },
            },
        }],
    })
}

/// Why a mount is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountRefusal {
    #[error("{institution} has no grant on {volume}")]
    NoGrant { volume: String, institution: String },
    #[error(
        "{institution} has read-only access to {volume}; a read-write mount needs a read-write grant"
    )]
    ReadOnly { volume: String, institution: String },
}

/// The mode an institution mounts with: its grant's, if it has one (the lead's own people
/// mount read-write); `wanted` read-write needs a read-write grant.
pub fn mount_mode(
    volume: &str,
    grants: &[(&Account, AccessMode)],
    institution: &str,
    is_lead: bool,
    wanted: Option<AccessMode>,
) -> Result<AccessMode, MountRefusal> {
    if is_lead {
        return Ok(wanted.unwrap_or(AccessMode::ReadWrite));
    }
    let granted = grants
        .iter()
        .find(|(account, _)| account.belongs_to(institution))
        .map(|(_, mode)| *mode)
        .ok_or_else(|| MountRefusal::NoGrant {
            volume: volume.to_owned(),
            institution: institution.to_owned(),
        })?;
    match (granted, wanted) {
        (AccessMode::ReadOnly, Some(AccessMode::ReadWrite)) => Err(MountRefusal::ReadOnly {
            volume: volume.to_owned(),
            institution: institution.to_owned(),
        }),
        (granted, wanted) => Ok(wanted.unwrap_or(granted)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Accounts {
        "mit-csail=111111111111@MIT,berkeley-neuroscience=222222222222"
            .parse()
            .unwrap()
    }

    const FS: &str = "arn:aws:elasticfilesystem:us-east-1:999999999999:file-system/fs-1";

    #[test]
    fn the_resource_policy_grants_each_account_exactly_its_mode_through_its_access_point() {
        let grants = [
            BoundGrant {
                account_id: "111111111111",
                access_point_arn: "arn:ap/fsap-mit",
                mode: AccessMode::ReadOnly,
            },
            BoundGrant {
                account_id: "222222222222",
                access_point_arn: "arn:ap/fsap-berkeley",
                mode: AccessMode::ReadWrite,
            },
        ];
        let policy = file_system_policy(FS, &grants);
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        let of = |account: &str| {
            statements
                .iter()
                .find(|s| s["Principal"]["AWS"] == format!("arn:aws:iam::{account}:root"))
                .unwrap()
        };
        let mit = of("111111111111");
        assert_eq!(mit["Action"], json!(["elasticfilesystem:ClientMount"]));
        assert_eq!(
            mit["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"],
            "arn:ap/fsap-mit"
        );
        let berkeley = of("222222222222");
        assert_eq!(
            berkeley["Action"],
            json!([
                "elasticfilesystem:ClientMount",
                "elasticfilesystem:ClientWrite"
            ])
        );
        for statement in statements {
            assert_eq!(statement["Effect"], "Allow");
            assert_eq!(statement["Resource"], FS);
            assert_eq!(
                statement["Condition"]["Bool"]["aws:SecureTransport"],
                "true"
            );
        }
        let mount = mount_policy(FS, "arn:ap/fsap-mit", AccessMode::ReadOnly);
        assert_eq!(
            mount["Statement"][0]["Action"],
            json!(["elasticfilesystem:ClientMount"])
        );
        assert_eq!(
            mount["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "true"
        );
    }

    #[test]
    fn unknown_accounts_are_all_named() {
        let accounts = accounts();
        let access = [
            CrossAccountAccess {
                account: "mit-csail".into(),
                mode: AccessMode::ReadOnly,
            },
            CrossAccountAccess {
                account: "harvard".into(),
                mode: AccessMode::ReadOnly,
            },
            CrossAccountAccess {
                account: "yale".into(),
                mode: AccessMode::ReadWrite,
            },
        ];
        assert_eq!(
            resolve_grants(&access, &accounts).unwrap_err().to_string(),
            "unknown account(s): harvard, yale"
        );
        assert_eq!(resolve_grants(&access[..1], &accounts).unwrap().len(), 1);
    }

    #[test]
    fn a_mount_needs_a_grant_of_the_right_mode() {
        let accounts = accounts();
        let grants = [
            (accounts.named("mit-csail").unwrap(), AccessMode::ReadOnly),
            (
                accounts.named("berkeley-neuroscience").unwrap(),
                AccessMode::ReadWrite,
            ),
        ];
        let mode =
            |institution: &str, wanted| mount_mode("neuro", &grants, institution, false, wanted);
        assert_eq!(mode("MIT", None), Ok(AccessMode::ReadOnly));
        assert_eq!(
            mode("MIT", Some(AccessMode::ReadWrite))
                .unwrap_err()
                .to_string(),
            "MIT has read-only access to neuro; a read-write mount needs a read-write grant"
        );
        assert_eq!(
            mode("berkeley-neuroscience", None),
            Ok(AccessMode::ReadWrite)
        );
        assert_eq!(
            mode("harvard", None).unwrap_err().to_string(),
            "harvard has no grant on neuro"
        );
        assert_eq!(
            mount_mode("neuro", &grants, "stanford", true, None),
            Ok(AccessMode::ReadWrite)
        );
    }

    #[test]
    fn an_instance_elsewhere_connects_to_the_mount_target_in_its_own_zone() {
        let target = |ip: &str, zone: &str| MountTarget {
            ip_address: ip.into(),
            zone_id: Some(zone.into()),
        };
        let targets = [
            target("10.0.1.5", "use1-az1"),
            target("10.0.2.5", "use1-az2"),
        ];
        let ip = |zone| nearest_mount_target(&targets, zone).map(|t| t.ip_address.as_str());
        assert_eq!(ip(Some("use1-az2")), Some("10.0.2.5"));
        assert_eq!(ip(Some("use1-az6")), Some("10.0.1.5"));
        assert_eq!(ip(None), Some("10.0.1.5"));
        assert_eq!(nearest_mount_target(&[], None), None);
        let script = mount_script(
            "neuro",
            "fs-1",
            "fsap-1",
            AccessMode::ReadWrite,
            Some("10.0.2.5"),
            None,
        );
        assert!(
            script.contains("OPTIONS='_netdev,tls,iam,accesspoint=fsap-1,mounttargetip=10.0.2.5'"),
            "{script}"
        );
    }
}
