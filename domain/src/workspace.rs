//! A launched workspace as the system records it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::job::JobKey;
use crate::launch::{
    Attribution, LaunchPlan, ROOT_VOLUME_GB, TAG_COLLABORATOR, TAG_INSTITUTION, TAG_INVITATION,
    TAG_PROJECT, TAG_PURPOSE, TAG_USER, TAG_WORKSPACE,
};
use crate::ledger::{LedgerEvent, LedgerEventKind};
use crate::ports::InstanceState;
use crate::pricing::Money;
use crate::template::{Platform, Size};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub name: String,
    pub instance_id: String,
    pub job: JobKey,
    pub template: String,
    pub size: Size,
    pub instance_type: String,
    pub region: String,
    pub hourly: Money,
    pub attribution: Attribution,
    #[serde(with = "time::serde::rfc3339")]
    pub launched_at: OffsetDateTime,
    /// The state the system last saw or caused; the cloud stays the authority.
    #[serde(default = "running")]
    pub state: InstanceState,
    /// Whether the instance was launched able to hibernate.
    #[serde(default)]
    pub hibernation: bool,
    /// The chat user who launched it: idle warnings go to them.
    #[serde(default)]
    pub owner_user_id: Option<String>,
    /// Root volume, GB, charged per GB-month while the workspace exists.
    #[serde(default = "default_root_volume")]
    pub storage_gb: u32,
    /// The configured account (`CWS_ACCOUNTS` name) it runs and is billed in, when its
    /// invitation said so; `None`: the project's own account.
    #[serde(default)]
    pub account: Option<String>,
    /// The AMI it was launched from, as resolved for its region at launch.
    #[serde(default)]
    pub image_id: Option<String>,
    /// What it runs on (records from before Studio are EC2 instances).
    #[serde(default)]
    pub platform: Platform,
}

fn default_root_volume() -> u32 {
    ROOT_VOLUME_GB
}

impl Workspace {
    /// The tags of a snapshot of this workspace's disks: its attribution, whose work it holds
    /// (`collaborator`, a [`crate::profile::Collaborator`] key) and why it was made.
    pub fn snapshot_tags(&self, collaborator: &str, purpose: &str) -> Vec<(String, String)> {
        let a = &self.attribution;
        [
            (TAG_PROJECT, a.project.as_str()),
            (TAG_USER, a.user.as_str()),
            (TAG_INSTITUTION, a.institution.as_str()),
            (TAG_INVITATION, a.invitation.as_str()),
            (TAG_WORKSPACE, self.name.as_str()),
            (TAG_COLLABORATOR, collaborator),
            (TAG_PURPOSE, purpose),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The tags it was launched with ([`crate::launch::launch_tags`]).
    pub fn tags(&self) -> Vec<(String, String)> {
        crate::launch::launch_tags(&self.name, &self.attribution, &self.template, &self.job)
    }

    /// The ledger line for something that happened to this workspace at `at`.
    pub fn ledger_event(&self, kind: LedgerEventKind, at: OffsetDateTime) -> LedgerEvent {
        LedgerEvent {
            at,
            kind,
            workspace: self.name.clone(),
            instance_id: self.instance_id.clone(),
            instance_type: self.instance_type.clone(),
            region: self.region.clone(),
            hourly: self.hourly,
            storage_gb: self.storage_gb,
            project: self.attribution.project.clone(),
            user: self.attribution.user.clone(),
            institution: self.attribution.institution.clone(),
            storage_rate: None,
        }
    }
}

fn running() -> InstanceState {
    InstanceState::Running
}

impl Workspace {
    pub fn launched(
        plan: &LaunchPlan,
        key: &JobKey,
        instance_id: String,
        attribution: Attribution,
        launched_at: OffsetDateTime,
        owner_user_id: &str,
    ) -> Workspace {
        Workspace {
            name: plan.workspace.to_string(),
            instance_id,
            job: key.clone(),
            template: plan.template.clone(),
            size: plan.size,
            instance_type: plan.instance_type.clone(),
            region: plan.region.clone(),
            hourly: plan.hourly,
            attribution,
            launched_at,
            state: InstanceState::Running,
            hibernation: plan.hibernation,
            owner_user_id: Some(owner_user_id.to_owned()),
            storage_gb: plan.root_volume_gb,
            account: None,
            image_id: None,
            platform: plan.platform,
        }
    }
}
