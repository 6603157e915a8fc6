//! Shared volumes: what `volume create` made, a mount's result, `volume list` and
//! `volume status`, and why a request was refused.

use serde_json::{Value, json};

use super::{ChatMessage, render};
use crate::command::AccessMode;
use crate::volume::{
    InstitutionMounts, Volume, VolumeMount, mount_point, mount_policy, mounts_by_institution,
};

/// A size as people say it: `50TB`, `500GB`.
fn size_text(size_gb: u64) -> String {
    if size_gb >= 1_000 && size_gb.is_multiple_of(1_000) {
        format!("{}TB", size_gb / 1_000)
    } else {
        format!("{size_gb}GB")
    }
}

fn lower_mode(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::ReadOnly => "read-only",
        AccessMode::ReadWrite => "read-write",
    }
}

fn mode_text(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::ReadOnly => "Read-only",
        AccessMode::ReadWrite => "Read-write",
    }
}

/// The seed's `volume create` output: the file system, each account's access point, and each
/// account's IAM policy (its ARN, or the document for its IT).
pub fn volume_created(
    volume: &Volume,
    owner_institution: &str,
    mount_targets: usize,
) -> ChatMessage {
    let file_system = volume.file_system.as_ref();
    let grants: Vec<Value> = volume
        .grants
        .iter()
        .map(|grant| {
            json!({
                "account": grant.account,
                "mode": mode_text(grant.mode),
                "access_point": grant.access_point.id,
                "uid": grant.user.uid,
                "policy_arn": grant.policy_arn,
                "policy": mount_policy(
                    file_system.map_or("", |fs| fs.arn.as_str()),
                    &grant.access_point.arn,
                    grant.mode,
                )
                .to_string(),
            })
        })
        .collect();
    render(
        "volume_created",
        &json!({
            "name": volume.name,
            "file_system": file_system.map_or("", |fs| fs.id.as_str()),
            "mount_targets": mount_targets,
            "count": grants.len(),
            "grants": grants,
            "owner_institution": owner_institution,
        }),
    )
}

pub fn volume_refused(reason: &str) -> ChatMessage {
    render("volume_refused", &json!({ "reason": reason }))
}

/// `volume homes`: research users' homes are on `volume` from the next launch on.
pub fn volume_homes_set(project: &str, volume: &str, previous: Option<&str>) -> ChatMessage {
    render(
        "volume_homes_set",
        &json!({ "project": project, "volume": volume, "previous": previous }),
    )
}

/// The seed's `✅ Mounted at /mnt/neuro-dataset (read-only, cross-account)`.
pub fn volume_mounted(volume: &Volume, mount: &VolumeMount, cross_account: bool) -> ChatMessage {
    render(
        "volume_mounted",
        &json!({
            "volume": volume.name,
            "workspace": mount.workspace,
            "mount_point": mount_point(&volume.name),
            "mode": lower_mode(mount.mode),
            "read_only": mount.mode == AccessMode::ReadOnly,
            "cross_account": cross_account,
            "size": size_text(volume.size_gb),
        }),
    )
}

/// The mount script ran and failed on the instance: what it said, and where to look further.
pub fn volume_mount_failed(
    volume: &str,
    workspace: &str,
    status: &str,
    output: &str,
    command_id: &str,
) -> ChatMessage {
    render(
        "volume_mount_failed",
        &json!({
            "volume": volume,
            "workspace": workspace,
            "status": status,
            "output": output,
            "command_id": command_id,
        }),
    )
}

pub(super) fn institution_lines(groups: &[InstitutionMounts]) -> Vec<Value> {
    groups
        .iter()
        .map(|group| {
            json!({
                "institution": group.institution,
                "count": group.workspaces.len(),
                "mode": lower_mode(group.mode),
                "workspaces": group.workspaces.join(", "),
            })
        })
        .collect()
}

/// `volume list`: each volume with its size, grants and mounts per institution.
pub fn volume_list(project: &str, volumes: &[(Volume, Vec<VolumeMount>)]) -> ChatMessage {
    let volumes: Vec<Value> = volumes
        .iter()
        .map(|(volume, mounts)| {
            json!({
                "name": volume.name,
                "size": size_text(volume.size_gb),
                "file_system": volume.file_system.as_ref().map(|fs| fs.id.as_str()),
                "mounts": mounts.len(),
                "institutions": institution_lines(&mounts_by_institution(mounts)),
            })
        })
        .collect();
    render(
        "volume_list",
        &json!({ "project": project, "volumes": volumes }),
    )
}

/// `volume status NAME`: the seed's "Shared Data Access" block for one volume, with who may
/// mount it and how.
pub fn volume_status(
    volume: &Volume,
    mounts: &[VolumeMount],
    owner_institution: &str,
) -> ChatMessage {
    let grants: Vec<Value> = volume
        .grants
        .iter()
        .map(|grant| {
            json!({
                "account": grant.account,
                "account_id": grant.account_id,
                "mode": lower_mode(grant.mode),
                "access_point": grant.access_point.id,
            })
        })
        .collect();
    render(
        "volume_status",
        &json!({
            "name": volume.name,
            "project": volume.project,
            "size": size_text(volume.size_gb),
            "file_system": volume.file_system.as_ref().map(|fs| fs.id.as_str()),
            "created": crate::time_text::date(volume.created_at),
            "owner_institution": owner_institution,
            "grants": grants,
            "mounts": mounts.len(),
            "institutions": institution_lines(&mounts_by_institution(mounts)),
        }),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::identity::ChatIdentity;
    use crate::ports::{AccessPoint, FileSystem, PosixIdentity};
    use crate::volume::VolumeGrant;

    fn neuro_dataset() -> Volume {
        let grant = |account: &str, mode, policy_arn: Option<&str>| VolumeGrant {
            account: account.into(),
            account_id: "111111111111".into(),
            mode,
            user: PosixIdentity {
                uid: 5001,
                gid: 5001,
            },
            access_point: AccessPoint {
                id: format!("fsap-{account}"),
                arn: format!("arn:ap/fsap-{account}"),
            },
            policy_arn: policy_arn.map(str::to_owned),
        };
        Volume {
            name: "neuro-dataset".into(),
            project: "nih".into(),
            size_gb: 50_000,
            created_by: ChatIdentity::slack("T1", "USMITH"),
            job: "slack:T1:1".into(),
            created_at: datetime!(2026-01-05 10:00 UTC),
            file_system: Some(FileSystem {
                id: "fs-1".into(),
                arn: "arn:fs/fs-1".into(),
            }),
            grants: vec![
                grant(
                    "mit-csail",
                    AccessMode::ReadOnly,
                    Some("arn:aws:iam::111111111111:policy/p"),
                ),
                grant("berkeley-neuroscience", AccessMode::ReadWrite, None),
            ],
            lead_access_point: None,
        }
    }

    fn mount(workspace: &str, institution: &str, mode: AccessMode) -> VolumeMount {
        VolumeMount {
            volume: "neuro-dataset".into(),
            workspace: workspace.into(),
            instance_id: format!("i-{workspace}"),
            institution: institution.into(),
            mode,
            by: ChatIdentity::slack("T1", "U1"),
            at: datetime!(2026-06-01 10:00 UTC),
            command_id: "c-1".into(),
        }
    }

    #[test]
    fn the_created_volume_shows_each_grant_and_its_policy() {
        let volume = neuro_dataset();
        insta::assert_json_snapshot!(volume_created(&volume, "stanford", 6).blocks);
        let refused = volume_refused("A volume named `x` already exists in nih.");
        assert!(refused.text.contains("already exists"));
    }

    #[test]
    fn the_homes_volume_says_what_changes_and_when() {
        let set = volume_homes_set("nih-neuro-consortium", "lab-homes", None);
        assert_eq!(
            set.text,
            "🏠 Research users' homes in nih-neuro-consortium are now on lab-homes."
        );
        insta::assert_json_snapshot!(
            volume_homes_set("nih-neuro-consortium", "lab-homes", Some("old-homes")).blocks
        );
    }

    #[test]
    fn a_mount_says_where_and_how_as_the_seed_does() {
        let volume = neuro_dataset();
        let mounted = volume_mounted(
            &volume,
            &mount("mit-algorithm-dev", "MIT", AccessMode::ReadOnly),
            true,
        );
        assert_eq!(
            mounted.text,
            "✅ Mounted neuro-dataset on mit-algorithm-dev at /mnt/neuro-dataset \
             (read-only, cross-account)."
        );
        insta::assert_json_snapshot!(mounted.blocks);
        let failed = volume_mount_failed(
            "neuro-dataset",
            "mit-algorithm-dev",
            "Failed",
            "cws: amazon-efs-utils is not installed",
            "c-9",
        );
        insta::assert_json_snapshot!(failed.blocks);
    }

    #[test]
    fn status_and_list_count_mounts_per_institution_and_mode() {
        let volume = neuro_dataset();
        let mounts = [
            mount("stanford-viz-3", "Stanford", AccessMode::ReadWrite),
            mount("mit-test-1", "MIT", AccessMode::ReadOnly),
            mount("stanford-integration-1", "Stanford", AccessMode::ReadWrite),
            mount("mit-algorithm-dev", "MIT", AccessMode::ReadOnly),
            mount("berkeley-analysis", "Berkeley", AccessMode::ReadWrite),
        ];
        let status = volume_status(&volume, &mounts, "Stanford");
        assert_eq!(status.text, "neuro-dataset: 50TB, 5 active mount(s).");
        insta::assert_json_snapshot!(status.blocks);
        let list = volume_list("nih", &[(volume, mounts.to_vec())]);
        insta::assert_json_snapshot!(list.blocks);
    }
}
