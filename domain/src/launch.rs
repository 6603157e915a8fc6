//! Turning a parsed `launch` into exactly what to ask EC2 for, or into the reason it cannot be.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::command::{Launch, WorkspaceName};
use crate::job::JobKey;
use crate::pricing::{Money, PricingTable};
use crate::profile::Profile;
use crate::template::{Catalog, ImageSource, Platform, Size, UnknownTemplate};

/// To whom a resource's cost belongs. Every resource is tagged with all four.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub project: String,
    pub user: String,
    pub institution: String,
    pub invitation: String,
}

/// Root volume of a workspace that does not hibernate, in GB: the OS and the template's
/// packages. Charged per GB-month while it exists.
pub const ROOT_VOLUME_GB: u32 = 30;

/// What the OS and packages take on a hibernating workspace's root volume, beside the RAM image.
const HIBERNATION_OS_GB: u32 = 20;

/// EC2 hibernates Linux instances with at most this much RAM.
pub const HIBERNATION_MAX_MEMORY_GIB: u32 = 150;

/// The root volume and whether the instance launches able to hibernate: a template that
/// hibernates gets room for the whole RAM image (rounded up to whole GB) beside the OS, as EC2
/// requires; an instance type with too much RAM, or whose RAM the table does not list,
/// launches without hibernation (and `hibernate` falls back to a stop, and says so).
pub fn root_volume(template_hibernates: bool, memory_gib: Option<u32>) -> (u32, bool) {
    match memory_gib {
        Some(memory) if template_hibernates && memory <= HIBERNATION_MAX_MEMORY_GIB => {
            // GiB to GB, rounded up: 1 GiB is 1.073741824 GB.
            let image_gb = (u64::from(memory) * 1_073_741_824).div_ceil(1_000_000_000) as u32;
            ((HIBERNATION_OS_GB + image_gb).max(ROOT_VOLUME_GB), true)
        }
        _ => (ROOT_VOLUME_GB, false),
    }
}

/// The `cws:invitation` tag of a project owner's own workspaces.
pub const OWNER_INVITATION: &str = "owner";

impl Attribution {
    /// Attribution of a member launching through their profile: the research user (the same
    /// on all their devices), their institution, and the invitation that let them in by name.
    pub fn of(profile: &Profile, invitation_name: Option<&str>) -> Attribution {
        Attribution {
            project: profile.project.clone(),
            user: profile.research_user.username.clone(),
            institution: profile.institution.clone(),
            invitation: invitation_name.unwrap_or(OWNER_INVITATION).to_owned(),
        }
    }
}

pub const TAG_PROJECT: &str = "cws:project";
pub const TAG_USER: &str = "cws:user";
pub const TAG_INSTITUTION: &str = "cws:institution";
pub const TAG_INVITATION: &str = "cws:invitation";
pub const TAG_TEMPLATE: &str = "cws:template";
pub const TAG_WORKSPACE: &str = "cws:workspace";
/// The launch's client token, so an instance can be found again by the job that made it.
pub const TAG_CLIENT_TOKEN: &str = "cws:client-token";
/// On a snapshot: what made it, so making it again finds it instead of making a second one.
pub const TAG_SNAPSHOT_KEY: &str = "cws:snapshot-key";
/// On a snapshot: whose work it holds (`invitation:{id}` or `owner:{project}`).
pub const TAG_COLLABORATOR: &str = "cws:collaborator";
/// On a snapshot: why it was made (`export` or `collaboration-end`).
pub const TAG_PURPOSE: &str = "cws:purpose";

/// Everything the cloud adapter needs to start one workspace; nothing left to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchPlan {
    pub workspace: WorkspaceName,
    pub template: String,
    #[serde(default)]
    pub platform: Platform,
    pub size: Size,
    pub region: String,
    pub instance_type: String,
    /// Where the image comes from; the cloud resolves it in `region` at launch.
    pub image: ImageSource,
    pub hourly: Money,
    pub hibernation: bool,
    /// Root volume, GB: [`root_volume`].
    pub root_volume_gb: u32,
    /// The first-boot script that provisions the research user (plain text; the cloud
    /// adapter encodes it).
    pub user_data: Option<String>,
    /// EC2 `ClientToken`: the same job always sends the same token, so EC2 starts one instance.
    pub client_token: String,
    pub tags: Vec<(String, String)>,
    /// Whose workspace it is: the research user's name and POSIX identity, which a platform
    /// without a first-boot script (Studio's user profile) is given directly.
    pub research_user: Option<PlannedUser>,
    /// The research user's home on the project's homes volume, where there is one.
    #[serde(default)]
    pub home: Option<PlannedHome>,
    /// The project's idle policy, for a platform that stops idle workspaces itself
    /// ([`crate::ports::Cloud::apply_idle_policy`]).
    #[serde(default)]
    pub idle: Option<crate::idle::IdlePolicy>,
}

/// The research user a launch is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedUser {
    pub username: String,
    pub uid: u32,
    pub gid: u32,
}

/// A research user's home directory on an EFS volume, through their own access point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedHome {
    pub file_system_id: String,
    pub access_point_id: String,
    /// The directory on the file system (`/home/USER`).
    pub path: String,
}

/// Why a launch request cannot be planned. Each is the user's to fix, so none is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchRefusal {
    #[error(transparent)]
    UnknownTemplate(#[from] UnknownTemplate),
    #[error("{template} has no size {size}")]
    SizeNotOffered {
        template: String,
        size: Size,
        offered: Vec<Size>,
    },
    #[error("{template} is not offered in {region}")]
    RegionNotOffered {
        template: String,
        region: String,
        offered: Vec<String>,
    },
    #[error("there is no price for {instance_type} in {region}")]
    NoPrice {
        instance_type: String,
        region: String,
    },
    #[error("{platform} runs one per person: {existing} is yours in {region}")]
    OnePerPerson {
        platform: &'static str,
        region: String,
        existing: String,
    },
}

/// Checks what the bot can check without state: the template exists and offers the size.
pub fn check_launch_request(launch: &Launch, catalog: &Catalog) -> Result<(), LaunchRefusal> {
    let template = catalog.find(&launch.template)?;
    let size = launch.size.unwrap_or(template.default_size);
    if template.instance_type(size).is_none() {
        return Err(LaunchRefusal::SizeNotOffered {
            template: template.name.clone(),
            size,
            offered: template.offered_sizes(),
        });
    }
    Ok(())
}

pub fn plan_launch(
    launch: &Launch,
    key: &JobKey,
    attribution: &Attribution,
    default_region: &str,
    catalog: &Catalog,
    pricing: &PricingTable,
) -> Result<LaunchPlan, LaunchRefusal> {
    check_launch_request(launch, catalog)?;
    let template = catalog.find(&launch.template)?;
    let size = launch.size.unwrap_or(template.default_size);
    let instance_type = template
        .instance_type(size)
        .expect("check_launch_request accepted this size");
    let region = launch.region.as_deref().unwrap_or(default_region);
    let image = template
        .image_in(region)
        .ok_or_else(|| LaunchRefusal::RegionNotOffered {
            template: template.name.clone(),
            region: region.to_owned(),
            offered: template
                .offered_regions()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })?;
    let hourly = pricing
        .hourly(region, instance_type)
        .ok_or_else(|| LaunchRefusal::NoPrice {
            instance_type: instance_type.to_owned(),
            region: region.to_owned(),
        })?;
    let (root_volume_gb, hibernation) = match template.platform {
        Platform::Ec2 => root_volume(template.hibernation, pricing.memory_gib(instance_type)),
        Platform::SagemakerStudio => (STUDIO_SPACE_GB, false),
        // Canvas keeps a person's datasets and models in S3, outside the workspace.
        Platform::SagemakerCanvas => (0, false),
    };
    let tags = launch_tags(launch.name.as_str(), attribution, &template.name, key);
    Ok(LaunchPlan {
        workspace: launch.name.clone(),
        template: template.name.clone(),
        platform: template.platform,
        size,
        region: region.to_owned(),
        instance_type: instance_type.to_owned(),
        image,
        hourly,
        hibernation,
        root_volume_gb,
        user_data: None,
        client_token: client_token(key),
        tags,
        research_user: None,
        home: None,
        idle: None,
    })
}

/// The tags of everything a launch makes (and a restart makes again, where the platform makes
/// something new to start, as SageMaker does an app): its name, the four attribution tags,
/// its template and workspace, and the launch's client token.
pub fn launch_tags(
    workspace: &str,
    attribution: &Attribution,
    template: &str,
    key: &JobKey,
) -> Vec<(String, String)> {
    vec![
        ("Name".to_owned(), workspace.to_owned()),
        (TAG_PROJECT.to_owned(), attribution.project.clone()),
        (TAG_USER.to_owned(), attribution.user.clone()),
        (TAG_INSTITUTION.to_owned(), attribution.institution.clone()),
        (TAG_INVITATION.to_owned(), attribution.invitation.clone()),
        (TAG_TEMPLATE.to_owned(), template.to_owned()),
        (TAG_WORKSPACE.to_owned(), workspace.to_owned()),
        (TAG_CLIENT_TOKEN.to_owned(), client_token(key)),
    ]
}

/// A second workspace of a platform that runs one per person ([`Platform::one_per_person`]):
/// `existing` is the person's (`attribution`'s) workspace of it in the same project, region
/// and account.
pub fn one_per_person(
    plan: &LaunchPlan,
    attribution: &Attribution,
    account: Option<&str>,
    existing: &[crate::workspace::Workspace],
) -> Result<(), LaunchRefusal> {
    if !plan.platform.one_per_person() {
        return Ok(());
    }
    let mine = existing.iter().find(|w| {
        w.platform == plan.platform
            && w.state != crate::ports::InstanceState::Terminated
            && w.attribution.project == attribution.project
            && w.attribution.user == attribution.user
            && w.region == plan.region
            && w.account.as_deref() == account
            && w.name != plan.workspace.as_str()
    });
    match mine {
        None => Ok(()),
        Some(workspace) => Err(LaunchRefusal::OnePerPerson {
            platform: plan.platform.title(),
            region: plan.region.clone(),
            existing: workspace.name.clone(),
        }),
    }
}

/// The EBS volume of a Studio space, GB: SageMaker's default, charged per GB-month like a
/// root volume while the space exists.
pub const STUDIO_SPACE_GB: u32 = 5;

/// EC2 accepts at most 64 ASCII characters; a SHA-256 in hex is exactly that and hides the key.
pub fn client_token(key: &JobKey) -> String {
    hex::encode(Sha256::digest(key.as_str().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hibernating_workspaces_get_room_for_their_ram() {
        let cases = [
            ("t3.large, 8 GiB", true, Some(8), (30, true)),
            ("m5.xlarge, 16 GiB", true, Some(16), (38, true)),
            ("r5.4xlarge, 128 GiB", true, Some(128), (158, true)),
            (
                "p3.8xlarge, 244 GiB: too much to hibernate",
                true,
                Some(244),
                (30, false),
            ),
            ("unknown memory", true, None, (30, false)),
            ("template without hibernation", false, Some(8), (30, false)),
        ];
        for (name, hibernates, memory, expected) in cases {
            assert_eq!(root_volume(hibernates, memory), expected, "{name}");
        }
    }

    fn launch(template: &str, name: &str, size: Option<Size>) -> Launch {
        Launch {
            template: template.to_owned(),
            name: name.parse().unwrap(),
            size,
            region: None,
            project: None,
        }
    }

    fn attribution() -> Attribution {
        Attribution {
            project: "nih-neuro-consortium".into(),
            user: "slack:T1:U1".into(),
            institution: "mit".into(),
            invitation: "mit-collaboration".into(),
        }
    }

    fn key() -> JobKey {
        JobKey::try_from("slack:T1:trigger-1".to_owned()).unwrap()
    }

    fn plan(request: &Launch, region: &str) -> Result<LaunchPlan, LaunchRefusal> {
        plan_launch(
            request,
            &key(),
            &attribution(),
            region,
            Catalog::builtin(),
            PricingTable::builtin(),
        )
    }

    #[test]
    fn python_ml_size_m_is_a_tagged_t3_large() {
        let plan = plan(
            &launch(
                "Python Machine Learning",
                "mit-algorithm-dev",
                Some(Size::M),
            ),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(plan.instance_type, "t3.large");
        assert_eq!(plan.hourly, Money::from_micros(83_200));
        let tag = |k: &str| {
            plan.tags
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(tag("Name"), Some("mit-algorithm-dev"));
        assert_eq!(tag(TAG_PROJECT), Some("nih-neuro-consortium"));
        assert_eq!(tag(TAG_USER), Some("slack:T1:U1"));
        assert_eq!(tag(TAG_INSTITUTION), Some("mit"));
        assert_eq!(tag(TAG_INVITATION), Some("mit-collaboration"));
        assert_eq!(tag(TAG_TEMPLATE), Some("Python Machine Learning"));
    }

    #[test]
    fn the_default_size_applies_when_none_is_given() {
        let plan = plan(&launch("Bioinformatics", "bio", None), "us-east-1").unwrap();
        assert_eq!(plan.size, Size::M);
        assert_eq!(plan.instance_type, "m5.xlarge");
    }

    #[test]
    fn the_same_job_always_sends_the_same_client_token() {
        let token = client_token(&key());
        assert_eq!(token.len(), 64);
        assert_eq!(token, client_token(&key()));
        let other = JobKey::try_from("slack:T1:trigger-2".to_owned()).unwrap();
        assert_ne!(token, client_token(&other));
    }

    #[test]
    fn gpu_workstations_are_not_offered_in_us_west_1() {
        let refusal = plan(
            &launch("GPU ML Workstation", "gpu", Some(Size::XL)),
            "us-west-1",
        )
        .unwrap_err();
        assert!(matches!(refusal, LaunchRefusal::RegionNotOffered { .. }));
    }

    #[test]
    fn unknown_templates_are_refused_before_anything_else() {
        let refusal = plan(&launch("Matlab", "m", None), "us-east-1").unwrap_err();
        assert!(matches!(refusal, LaunchRefusal::UnknownTemplate(_)));
    }
}
