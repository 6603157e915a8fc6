//! Preserving work on demand: a named snapshot of a workspace's volumes (`snapshot create`,
//! and the snapshot `transfer` shares), what it costs to keep, and the script that archives a
//! workspace's home for `download`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::command::{HomePath, SnapshotName};
use crate::identity::ChatIdentity;
use crate::job::JobKey;
use crate::launch::{
    TAG_INSTITUTION, TAG_INVITATION, TAG_PROJECT, TAG_PURPOSE, TAG_USER, TAG_WORKSPACE,
};
use crate::ledger::{LedgerEvent, LedgerEventKind, snapshot_key};
use crate::ports::Snapshot;
use crate::pricing::Money;
use crate::shell::{Script, render};
use crate::workspace::Workspace;

/// The tag that carries a named snapshot's name on each of its EBS snapshots.
pub const TAG_SNAPSHOT_NAME: &str = "cws:snapshot-name";

/// Why a named snapshot was made, as its `cws:purpose` tag says.
pub const PURPOSE_SNAPSHOT: &str = "snapshot";
pub const PURPOSE_TRANSFER: &str = "transfer";

/// A named snapshot: one EBS snapshot per volume of the workspace, kept (and charged) until
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedSnapshot {
    pub name: SnapshotName,
    pub workspace: String,
    /// The request that made it: a retried request finds its own snapshot, anyone else's
    /// finds the name taken.
    pub request: JobKey,
    pub requested_by: ChatIdentity,
    /// The workspace's attribution, copied: the snapshot is charged as the workspace is.
    pub project: String,
    pub user: String,
    pub institution: String,
    pub invitation: String,
    pub region: String,
    /// The configured account it lives in (the workspace's), `None` for the project's own.
    pub account: Option<String>,
    pub snapshots: Vec<Snapshot>,
    /// The snapshot storage price when it was taken, $/GB-month.
    pub storage_rate: Money,
    /// The accounts (`CWS_ACCOUNTS` names) it was shared with.
    #[serde(default)]
    pub shared_with: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
}

impl NamedSnapshot {
    /// The snapshot of `workspace`'s volumes `snapshots`, made for `request`.
    pub fn of(
        name: SnapshotName,
        workspace: &Workspace,
        request: JobKey,
        requested_by: ChatIdentity,
        snapshots: Vec<Snapshot>,
        storage_rate: Money,
        taken_at: OffsetDateTime,
    ) -> NamedSnapshot {
        let a = &workspace.attribution;
        NamedSnapshot {
            name,
            workspace: workspace.name.clone(),
            request,
            requested_by,
            project: a.project.clone(),
            user: a.user.clone(),
            institution: a.institution.clone(),
            invitation: a.invitation.clone(),
            region: workspace.region.clone(),
            account: workspace.account.clone(),
            snapshots,
            storage_rate,
            shared_with: Vec::new(),
            taken_at,
        }
    }

    /// The volumes' full size: EBS bills the blocks an incremental snapshot holds, at most this.
    pub fn size_gb(&self) -> u32 {
        self.snapshots.iter().map(|s| s.size_gb).sum()
    }

    /// What keeping it costs per 30-day month.
    pub fn monthly_cost(&self) -> Money {
        Money::from_micros(i64::from(self.size_gb()) * self.storage_rate.micros())
    }

    /// The ledger line for its taking or deletion at `at`.
    pub fn ledger_event(&self, kind: LedgerEventKind, at: OffsetDateTime) -> LedgerEvent {
        LedgerEvent {
            at,
            kind,
            workspace: snapshot_key(&self.name),
            instance_id: self
                .snapshots
                .first()
                .map_or_else(String::new, |s| s.snapshot_id.clone()),
            instance_type: "ebs-snapshot".to_owned(),
            region: self.region.clone(),
            hourly: Money::ZERO,
            storage_gb: self.size_gb(),
            project: self.project.clone(),
            user: self.user.clone(),
            institution: self.institution.clone(),
            storage_rate: Some(self.storage_rate),
        }
    }
}

/// The idempotency key of the EBS snapshots a request makes of a workspace, in the scheme of
/// the end of a collaboration (`end:…`) and of exports (`export:…`): a request run again
/// finds the snapshots it made.
pub fn snapshot_request_key(purpose: &str, request: &JobKey, workspace: &str) -> String {
    format!("{purpose}:{request}:{workspace}")
}

/// The tags on each EBS snapshot of a named snapshot: the workspace's attribution (project,
/// user, institution, invitation), the workspace, why, and the name. No `cws:collaborator`:
/// the end of a collaboration cleans up the snapshots it made, never ones people named and
/// pay for until they delete them.
pub fn named_snapshot_tags(
    workspace: &Workspace,
    name: &SnapshotName,
    purpose: &str,
) -> Vec<(String, String)> {
    let a = &workspace.attribution;
    [
        (TAG_PROJECT, a.project.as_str()),
        (TAG_USER, a.user.as_str()),
        (TAG_INSTITUTION, a.institution.as_str()),
        (TAG_INVITATION, a.invitation.as_str()),
        (TAG_WORKSPACE, workspace.name.as_str()),
        (TAG_PURPOSE, purpose),
        (TAG_SNAPSHOT_NAME, name.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The name `transfer` gives the snapshot it shares: the workspace's (shortened to fit) and a
/// digest of the request, so a retried transfer names the snapshot it made the same, and two
/// transfers of one workspace do not collide.
pub fn transfer_snapshot_name(workspace: &str, request: &JobKey) -> SnapshotName {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(&Sha256::digest(request.as_str().as_bytes())[..4]);
    let suffix = format!("-transfer-{digest}");
    let room = crate::command::NAME_MAX_LEN - suffix.len();
    let prefix: String = workspace.chars().take(room).collect();
    format!("{}{suffix}", prefix.trim_end_matches('-'))
        .parse()
        .expect("a workspace name's prefix, `-transfer-` and hex digits make a snapshot name")
}

/// Where downloads' archives go in the archive bucket.
pub const DOWNLOADS_PREFIX: &str = "downloads/";

/// Days a download's archive is kept: its link works for one, and the bucket's lifecycle rule
/// deletes it after these (`deploy/lead-account.yml`, or the rule a worker puts on the bucket
/// it makes), so a home's copy does not sit in the archive bucket for good.
pub const DOWNLOAD_RETENTION_DAYS: i32 = 7;

/// Where a download's archive goes in the archive bucket.
pub fn download_object_key(project: &str, workspace: &str, request: &JobKey) -> String {
    format!(
        "{DOWNLOADS_PREFIX}{project}/{workspace}/{}.tar.gz",
        request.as_str().replace(':', "-")
    )
}

#[derive(Serialize)]
struct ArchiveData<'a> {
    user: &'a str,
    path: &'a str,
    upload_url: &'a str,
}

/// The script SSM runs as root for `download`: as the research user, it archives `path` in
/// their home (the whole home when `None`) and uploads it with curl to `upload_url`, a
/// presigned PUT, so the workstation needs no S3 permission. `None` when the username
/// cannot be a Linux user name.
pub fn archive_script(user: &str, path: Option<&HomePath>, upload_url: &str) -> Option<String> {
    let sound_user = user.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    sound_user.then(|| {
        render(
            Script::ArchiveHome,
            &ArchiveData {
                user,
                path: path.map_or(".", HomePath::as_str),
                upload_url,
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_reach_the_script_as_single_quoted_words() {
        let path: HomePath = "results/2026".parse().unwrap();
        let url = "http://127.0.0.1:9/b/k?X-Amz-Signature=a&X-Amz-Date=b";
        let script = archive_script("johnson", Some(&path), url).unwrap();
        assert!(script.contains("RESEARCH_USER='johnson'"), "{script}");
        assert!(script.contains("ARCHIVE_PATH='results/2026'"), "{script}");
        assert!(script.contains(&format!("UPLOAD_URL='{url}'")), "{script}");
        let home = archive_script("johnson", None, url).unwrap();
        assert!(home.contains("ARCHIVE_PATH='.'"), "{home}");
        assert_eq!(archive_script("root;reboot", None, url), None);
    }

    #[test]
    fn a_transfer_snapshot_is_named_after_the_workspace_and_its_request() {
        let request = JobKey::for_slack("T1", "trigger-1").unwrap();
        let name = transfer_snapshot_name("mit-algorithm-dev", &request);
        assert!(name.starts_with("mit-algorithm-dev-transfer-"), "{name}");
        assert_eq!(name, transfer_snapshot_name("mit-algorithm-dev", &request));
        let other = JobKey::for_slack("T1", "trigger-2").unwrap();
        assert_ne!(name, transfer_snapshot_name("mit-algorithm-dev", &other));
        let long = transfer_snapshot_name(&"w".repeat(63), &request);
        assert_eq!(long.len(), 63);
    }
}
