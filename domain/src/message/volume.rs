//! Shared volumes: what `volume create` made, and why one was refused.

use serde_json::{Value, json};

use super::{ChatMessage, render};
use crate::command::AccessMode;
use crate::volume::{Volume, mount_policy};

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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::identity::ChatIdentity;
    use crate::ports::{AccessPoint, FileSystem, PosixIdentity};
    use crate::volume::VolumeGrant;

    #[test]
    fn the_created_volume_shows_each_grant_and_its_policy() {
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
        let volume = Volume {
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
        };
        insta::assert_json_snapshot!(volume_created(&volume, "stanford", 6).blocks);
        let refused = volume_refused("A volume named `x` already exists in nih.");
        assert!(refused.text.contains("already exists"));
    }
}
