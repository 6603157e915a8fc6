//! A launched workspace as the system records it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::job::JobKey;
use crate::launch::{Attribution, LaunchPlan};
use crate::pricing::Money;
use crate::template::Size;

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
}

impl Workspace {
    pub fn launched(
        plan: &LaunchPlan,
        key: &JobKey,
        instance_id: String,
        attribution: Attribution,
        launched_at: OffsetDateTime,
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
        }
    }
}
