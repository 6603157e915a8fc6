//! Preserving work on demand: named snapshots (`snapshot create`, `list`, `delete`), a
//! workspace's `transfer` to its owner's institution, and the `download` link, which goes by
//! direct message only.

use serde_json::{Value, json};

use super::{ChatMessage, render};
use crate::command::HomePath;
use crate::preserve::NamedSnapshot;
use crate::time_text;

fn volumes(snapshot: &NamedSnapshot) -> Vec<Value> {
    snapshot
        .snapshots
        .iter()
        .map(|s| json!({ "id": s.snapshot_id, "volume": s.volume_id, "size_gb": s.size_gb }))
        .collect()
}

/// What `snapshot create` took, and what keeping it costs.
pub fn snapshot_created(snapshot: &NamedSnapshot) -> ChatMessage {
    render(
        "snapshot_created",
        &json!({
            "name": snapshot.name.as_str(),
            "workspace": snapshot.workspace,
            "project": snapshot.project,
            "user": snapshot.user,
            "count": snapshot.snapshots.len(),
            "size_gb": snapshot.size_gb(),
            "snapshots": volumes(snapshot),
            "rate": snapshot.storage_rate.display_rate(),
            "monthly": snapshot.monthly_cost().to_string(),
        }),
    )
}

/// `snapshot list [WORKSPACE]`: the snapshots the caller may manage, oldest first.
pub fn snapshot_list(workspace: Option<&str>, snapshots: &[NamedSnapshot]) -> ChatMessage {
    let rows: Vec<Value> = snapshots
        .iter()
        .map(|s| {
            json!({
                "name": s.name.as_str(),
                "workspace": s.workspace,
                "user": s.user,
                "taken": time_text::date(s.taken_at),
                "size_gb": s.size_gb(),
                "monthly": s.monthly_cost().to_string(),
                "shared_with": s.shared_with,
            })
        })
        .collect();
    let total: crate::pricing::Money = snapshots.iter().map(NamedSnapshot::monthly_cost).sum();
    render(
        "snapshot_list",
        &json!({
            "workspace": workspace,
            "count": snapshots.len(),
            "snapshots": rows,
            "monthly_total": total.to_string(),
        }),
    )
}

pub fn snapshot_deleted(snapshot: &NamedSnapshot) -> ChatMessage {
    render(
        "snapshot_deleted",
        &json!({
            "name": snapshot.name.as_str(),
            "workspace": snapshot.workspace,
            "count": snapshot.snapshots.len(),
            "size_gb": snapshot.size_gb(),
            "monthly": snapshot.monthly_cost().to_string(),
        }),
    )
}

pub fn snapshot_unknown(name: &str) -> ChatMessage {
    render("snapshot_unknown", &json!({ "name": name }))
}

/// Another request's snapshot already has the name.
pub fn snapshot_name_taken(existing: &NamedSnapshot) -> ChatMessage {
    render(
        "snapshot_name_taken",
        &json!({ "name": existing.name.as_str(), "workspace": existing.workspace }),
    )
}

/// `transfer`: the snapshot made and the account it was shared with.
pub fn workspace_transferred(
    snapshot: &NamedSnapshot,
    account: &crate::account::Account,
) -> ChatMessage {
    render(
        "workspace_transferred",
        &json!({
            "name": snapshot.name.as_str(),
            "workspace": snapshot.workspace,
            "project": snapshot.project,
            "account": account.name,
            "account_id": account.id,
            "institution": account.institution,
            "snapshots": volumes(snapshot),
            "monthly": snapshot.monthly_cost().to_string(),
        }),
    )
}

/// What a download archives, as people read it: `~/results`, or `home` (e.g. "the home
/// directory") for the whole home.
fn what(path: Option<&HomePath>, home: &str) -> String {
    path.map_or_else(|| home.to_owned(), |path| format!("`~/{}`", path.as_str()))
}

/// In the channel: the link went by direct message.
pub fn download_sent(workspace: &str, path: Option<&HomePath>) -> ChatMessage {
    render(
        "download_sent",
        &json!({ "workspace": workspace, "what": what(path, "The home directory") }),
    )
}

/// The direct message with the link; `size_bytes` is the archive's.
pub fn download_ready(
    workspace: &str,
    path: Option<&HomePath>,
    link: &str,
    size_bytes: u64,
    valid_hours: u64,
) -> ChatMessage {
    render(
        "download_ready",
        &json!({
            "workspace": workspace,
            "what": what(path, "your home directory"),
            "link": link,
            "size": size_text(size_bytes),
            "valid_hours": valid_hours,
        }),
    )
}

pub fn download_failed(workspace: &str, path: Option<&HomePath>, reason: &str) -> ChatMessage {
    render(
        "download_failed",
        &json!({ "workspace": workspace, "what": what(path, "the home directory"), "reason": reason }),
    )
}

/// `5.2 MB`, `812 KB`, `64 bytes`.
fn size_text(bytes: u64) -> String {
    const KB: u64 = 1_000;
    const MB: u64 = 1_000_000;
    const GB: u64 = 1_000_000_000;
    match bytes {
        b if b >= GB => format!("{}.{} GB", b / GB, b % GB / (GB / 10)),
        b if b >= MB => format!("{}.{} MB", b / MB, b % MB / (MB / 10)),
        b if b >= KB => format!("{} KB", b / KB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;

    use super::*;
    use crate::identity::ChatIdentity;
    use crate::job::JobKey;
    use crate::ports::Snapshot;

    fn before_rerun() -> NamedSnapshot {
        NamedSnapshot {
            name: "before-rerun".parse().unwrap(),
            workspace: "mit-algorithm-dev".to_owned(),
            request: JobKey::for_slack("T1", "trigger-1").unwrap(),
            requested_by: ChatIdentity::slack("T1", "U2"),
            project: "nih-neuro-consortium".to_owned(),
            user: "mjohnson".to_owned(),
            institution: "mit-csail".to_owned(),
            invitation: "mit-collaboration".to_owned(),
            region: "us-east-1".to_owned(),
            account: None,
            snapshots: vec![Snapshot {
                snapshot_id: "snap-0abc".to_owned(),
                volume_id: "vol-0def".to_owned(),
                size_gb: 100,
                tags: BTreeMap::new(),
            }],
            storage_rate: "0.05".parse().unwrap(),
            shared_with: vec!["my-account".to_owned()],
            taken_at: datetime!(2027-05-03 14:00 UTC),
        }
    }

    #[test]
    fn a_snapshot_says_what_keeping_it_costs_and_how_to_delete_it() {
        let created = snapshot_created(&before_rerun());
        assert!(
            created.text.contains("about $5.00/month"),
            "{}",
            created.text
        );
        insta::assert_json_snapshot!(created.blocks);
        insta::assert_json_snapshot!(snapshot_list(None, &[before_rerun()]).blocks);
        insta::assert_json_snapshot!(snapshot_list(Some("mit-algorithm-dev"), &[]).blocks);
        insta::assert_json_snapshot!(snapshot_deleted(&before_rerun()).blocks);
    }

    #[test]
    fn a_transfer_names_the_account_and_the_snapshot_left_behind() {
        let account = crate::account::Account {
            name: "my-account".to_owned(),
            id: "333333333333".to_owned(),
            role_arn: None,
            institution: "mit-csail".to_owned(),
        };
        insta::assert_json_snapshot!(workspace_transferred(&before_rerun(), &account).blocks);
    }

    #[test]
    fn the_download_link_goes_only_in_the_direct_message() {
        let path: HomePath = "results".parse().unwrap();
        let link =
            "https://s3.example/cws/downloads/k.tar.gz?X-Amz-Signature=ab&X-Amz-Expires=86400";
        let sent = download_sent("mit-algorithm-dev", Some(&path));
        assert!(!sent.text.contains("https://"), "{}", sent.text);
        assert!(!serde_json::to_string(&sent).unwrap().contains("X-Amz"));
        let ready = download_ready("mit-algorithm-dev", None, link, 5_242_880, 24);
        assert!(ready.text.contains("(5.2 MB)"), "{}", ready.text);
        assert!(ready.text.contains("your home directory"), "{}", ready.text);
        insta::assert_json_snapshot!(ready.blocks);
        // Discord gets the same text with a Markdown link, `&` unescaped.
        let discord = crate::message::discord::discord_messages(&ready);
        assert!(
            discord[0]
                .content
                .contains(&format!("[Download the archive]({link})")),
            "{}",
            discord[0].content
        );
        insta::assert_json_snapshot!(
            download_failed(
                "mit-algorithm-dev",
                Some(&path),
                "~/results does not exist."
            )
            .blocks
        );
    }
}
