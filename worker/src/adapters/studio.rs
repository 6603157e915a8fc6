//! SageMaker Studio as a cloud for workspaces (templates with `platform: sagemaker_studio`):
//! per project and region one Studio domain, in the deployment's network, with the project's
//! execution role; per research user a user profile carrying their POSIX UID and GID; per
//! workspace a private JupyterLab space whose app runs on the workspace's `ml.*` type. Starting
//! a workspace creates the app, stopping deletes it (the space keeps its storage), terminating
//! deletes both. Everything is tagged like an EC2 workspace, which is how Cost Explorer
//! attributes the apps' hours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    AppInstanceType, AppLifecycleManagement, AppNetworkAccessType, AppType, AuthMode,
    CustomPosixUserConfig, EbsStorageSettings, IdleSettings, JupyterLabAppSettings,
    LifecycleManagement, OwnershipSettings, ResourceSpec, SharingType, SpaceAppLifecycleManagement,
    SpaceIdleSettings, SpaceJupyterLabAppSettings, SpaceSettings, SpaceSharingSettings,
    SpaceStorageSettings, Tag, TagPropagation, UserSettings,
};
use domain::idle::IdlePolicy;
use domain::launch::{LaunchPlan, TAG_PROJECT};
use domain::network::{NOT_SET_UP, Placement};
use domain::ports::{Cloud, InstanceState, InstanceStatus, LaunchedInstance, PortError};
use domain::studio;
use domain::template::ImageSource;
use time::OffsetDateTime;

use crate::adapters::aws::classify;
use crate::adapters::ec2::{Ec2Cloud, unsupported_hibernation};

/// SageMaker's answer for a domain, profile, space or app it does not know.
pub(crate) const NOT_FOUND: &str = "ResourceNotFound";
/// SageMaker's answer for one that already exists, or is busy (a space whose app is still
/// being deleted).
pub(crate) const IN_USE: &str = "ResourceInUse";

/// SageMaker Studio in one account and region.
pub struct StudioCloud {
    client: Client,
    /// The same account and region's EC2: its network (subnets and VPC) and IAM (the
    /// execution role) are the domain's.
    ec2: Arc<Ec2Cloud>,
    /// Each project's domain id, found or made once per process.
    domains: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<String>>>>,
}

impl StudioCloud {
    pub fn new(config: &SdkConfig, ec2: Arc<Ec2Cloud>) -> StudioCloud {
        StudioCloud {
            client: Client::new(config),
            ec2,
            domains: Mutex::default(),
        }
    }

    /// The project's domain here, found by its name or made (once: concurrent first launches
    /// wait for one), in the VPC of the deployment's subnets.
    async fn domain(&self, project: &str, role_arn: &str) -> Result<String, PortError> {
        let cell = self
            .domains
            .lock()
            .expect("domains lock")
            .entry(project.to_owned())
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.find_or_make_domain(project, role_arn))
            .await
            .cloned()
    }

    async fn find_or_make_domain(
        &self,
        project: &str,
        role_arn: &str,
    ) -> Result<String, PortError> {
        let name = studio::domain_name(project);
        if let Some(found) = self.domain_named(&name).await? {
            self.ensure_idle_shutdown(&found).await?;
            return Ok(found);
        }
        let (vpc, in_vpc) = self.ec2.studio_subnets().await?;
        let mut settings = UserSettings::builder()
            .execution_role(role_arn)
            .jupyter_lab_app_settings(idle_shutdown_allowed());
        // In the operator's own subnets (`CWS_SUBNETS`) Studio's traffic stays in the VPC,
        // which then has the endpoints or NAT it needs, and SageMaker requires the apps'
        // security groups; on the default VPC, which has neither, Studio reaches AWS through
        // SageMaker's own internet access.
        let access = if self.ec2.managed_network() {
            let group = self.ec2.studio_security_group(project, &vpc).await?;
            settings = settings.security_groups(group);
            AppNetworkAccessType::VpcOnly
        } else {
            AppNetworkAccessType::PublicInternetOnly
        };
        let made = self
            .client
            .create_domain()
            .domain_name(&name)
            .auth_mode(AuthMode::Iam)
            .default_user_settings(settings.build())
            .vpc_id(vpc)
            .set_subnet_ids(Some(in_vpc))
            .app_network_access_type(access)
            // The tags of profiles and spaces go on what SageMaker makes for them too (a
            // space's volume), so Cost Explorer attributes those as well.
            .tag_propagation(TagPropagation::Enabled)
            .tags(tag(TAG_PROJECT, project))
            .send()
            .await
            .map_err(classify)?;
        made.domain_id()
            .map(str::to_owned)
            .ok_or_else(|| PortError::Rejected {
                code: "NoDomainId".to_owned(),
                message: format!("SageMaker made the domain {name} without an id"),
            })
    }

    /// A domain made before cws enabled idle shutdown gets it, so its spaces can be given the
    /// project's policy.
    async fn ensure_idle_shutdown(&self, domain_id: &str) -> Result<(), PortError> {
        let described = self
            .client
            .describe_domain()
            .domain_id(domain_id)
            .send()
            .await
            .map_err(classify)?;
        let enabled = described
            .default_user_settings()
            .and_then(|s| s.jupyter_lab_app_settings())
            .and_then(|s| s.app_lifecycle_management())
            .and_then(|s| s.idle_settings())
            .and_then(|s| s.lifecycle_management())
            == Some(&LifecycleManagement::Enabled);
        if enabled {
            return Ok(());
        }
        tracing::info!(domain = %domain_id, "enabling idle shutdown on a domain made without it");
        self.client
            .update_domain()
            .domain_id(domain_id)
            .default_user_settings(
                UserSettings::builder()
                    .jupyter_lab_app_settings(idle_shutdown_allowed())
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn domain_named(&self, name: &str) -> Result<Option<String>, PortError> {
        let mut pages = self.client.list_domains().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            if let Some(domain) = page
                .domains()
                .iter()
                .find(|d| d.domain_name() == Some(name) && d.status().is_none_or(live_domain))
            {
                return Ok(domain.domain_id().map(str::to_owned));
            }
        }
        Ok(None)
    }

    /// The ids of the domains cws made here.
    pub(crate) async fn cws_domains(&self) -> Result<Vec<String>, PortError> {
        let mut domains = Vec::new();
        let mut pages = self.client.list_domains().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            for domain in page.domains() {
                if let (Some(id), Some(name)) = (domain.domain_id(), domain.domain_name())
                    && studio::is_cws_domain(name)
                {
                    domains.push(id.to_owned());
                }
            }
        }
        Ok(domains)
    }

    pub(crate) async fn profile_exists(
        &self,
        domain_id: &str,
        profile: &str,
    ) -> Result<bool, PortError> {
        let described = self
            .client
            .describe_user_profile()
            .domain_id(domain_id)
            .user_profile_name(profile)
            .send()
            .await;
        Ok(found(described)?.is_some())
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The same account and region's EC2, whose IAM makes the projects' roles.
    pub(crate) fn ec2(&self) -> &Ec2Cloud {
        &self.ec2
    }

    /// The research user's profile of `kind` in the domain, acting as `role_arn`, made if
    /// missing: their Studio profile carries their POSIX identity, their Canvas profile only
    /// Canvas's role.
    pub(crate) async fn ensure_profile(
        &self,
        domain_id: &str,
        plan: &LaunchPlan,
        role_arn: &str,
        kind: ProfileKind,
    ) -> Result<String, PortError> {
        let user = plan
            .research_user
            .as_ref()
            .ok_or_else(|| PortError::Rejected {
                code: NOT_SET_UP.to_owned(),
                message: "a Studio workspace needs its research user, and the launch named none"
                    .to_owned(),
            })?;
        let (profile, settings) = match kind {
            ProfileKind::Studio => {
                let (uid, gid) = studio::posix_identity(user.uid, user.gid);
                (
                    studio::profile_name(&user.username),
                    UserSettings::builder().custom_posix_user_config(
                        CustomPosixUserConfig::builder().uid(uid).gid(gid).build(),
                    ),
                )
            }
            ProfileKind::Canvas => (
                studio::canvas_profile_name(&user.username),
                UserSettings::builder(),
            ),
        };
        if self.profile_exists(domain_id, &profile).await? {
            return Ok(profile);
        }
        let made = self
            .client
            .create_user_profile()
            .domain_id(domain_id)
            .user_profile_name(&profile)
            .user_settings(settings.execution_role(role_arn).build())
            .set_tags(Some(attribution_tags(plan)))
            .send()
            .await;
        match made {
            Ok(_) => Ok(profile),
            // Another launch of theirs made it just now.
            Err(error) if error.code() == Some(IN_USE) => Ok(profile),
            Err(error) => Err(classify(error)),
        }
    }

    async fn ensure_space(
        &self,
        domain_id: &str,
        space: &str,
        profile: &str,
        plan: &LaunchPlan,
    ) -> Result<(), PortError> {
        let settings = SpaceSettings::builder()
            .app_type(AppType::JupyterLab)
            .jupyter_lab_app_settings(jupyter_lab_settings(
                &plan.instance_type,
                plan.idle.as_ref(),
            ))
            .space_storage_settings(
                SpaceStorageSettings::builder()
                    .ebs_storage_settings(
                        EbsStorageSettings::builder()
                            .ebs_volume_size_in_gb(i32::try_from(plan.root_volume_gb).unwrap_or(5))
                            .build(),
                    )
                    .build(),
            )
            .build();
        let made = self
            .client
            .create_space()
            .domain_id(domain_id)
            .space_name(space)
            .space_display_name(plan.workspace.as_str())
            .ownership_settings(
                OwnershipSettings::builder()
                    .owner_user_profile_name(profile)
                    .build(),
            )
            .space_sharing_settings(
                SpaceSharingSettings::builder()
                    .sharing_type(SharingType::Private)
                    .build(),
            )
            .space_settings(settings)
            .set_tags(Some(to_tags(&plan.tags)))
            .send()
            .await;
        match made {
            Ok(_) => Ok(()),
            // This launch ran before and made it.
            Err(error) if error.code() == Some(IN_USE) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    /// Starts the space's JupyterLab app on `instance_type`; one already running is kept.
    async fn create_app(
        &self,
        domain_id: &str,
        space: &str,
        instance_type: &str,
        tags: Vec<Tag>,
    ) -> Result<(), PortError> {
        let made = self
            .client
            .create_app()
            .domain_id(domain_id)
            .space_name(space)
            .app_type(AppType::JupyterLab)
            .app_name(studio::APP_NAME)
            .resource_spec(resource_spec(instance_type))
            .set_tags(Some(tags))
            .send()
            .await;
        match made {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(IN_USE) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    /// The space's own facts; `None` when it does not exist.
    async fn space(&self, domain_id: &str, space: &str) -> Result<Option<Space>, PortError> {
        let Some(described) = found(
            self.client
                .describe_space()
                .domain_id(domain_id)
                .space_name(space)
                .send()
                .await,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(Space {
            owner: described
                .ownership_settings()
                .and_then(|o| o.owner_user_profile_name())
                .map(str::to_owned),
            instance_type: described
                .space_settings()
                .and_then(|s| s.jupyter_lab_app_settings())
                .and_then(|s| s.default_resource_spec())
                .and_then(|r| r.instance_type())
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        }))
    }

    /// The app as SageMaker describes it; `None` when it never had one.
    pub(crate) async fn app(
        &self,
        domain_id: &str,
        of: AppOf<'_>,
    ) -> Result<Option<aws_sdk_sagemaker::operation::describe_app::DescribeAppOutput>, PortError>
    {
        found(
            self.client
                .describe_app()
                .domain_id(domain_id)
                .set_space_name(of.space())
                .set_user_profile_name(of.profile())
                .app_type(of.app_type())
                .app_name(studio::APP_NAME)
                .send()
                .await,
        )
    }

    /// The domain's live apps of `app_type` (not deleted), by their space or user profile:
    /// their status and type.
    pub(crate) async fn live_apps(
        &self,
        domain_id: &str,
        app_type: AppType,
    ) -> Result<HashMap<String, (String, String)>, PortError> {
        let mut apps = HashMap::new();
        let mut pages = self
            .client
            .list_apps()
            .domain_id_equals(domain_id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for app in page.map_err(classify)?.apps() {
                let status = app.status().map(|s| s.as_str()).unwrap_or_default();
                if let Some(owner) = app.space_name().or(app.user_profile_name())
                    && app.app_type() == Some(&app_type)
                    && status != "Deleted"
                {
                    let instance_type = app
                        .resource_spec()
                        .and_then(|r| r.instance_type())
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default();
                    apps.insert(owner.to_owned(), (status.to_owned(), instance_type));
                }
            }
        }
        Ok(apps)
    }

    /// Deletes the app; one already gone (or deleted before) is stopped, as asked.
    pub(crate) async fn delete_app(&self, domain_id: &str, of: AppOf<'_>) -> Result<(), PortError> {
        found(
            self.client
                .delete_app()
                .domain_id(domain_id)
                .set_space_name(of.space())
                .set_user_profile_name(of.profile())
                .app_type(of.app_type())
                .app_name(studio::APP_NAME)
                .send()
                .await,
        )
        .map(drop)
    }
}

/// Which of a research user's two profiles in a domain.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProfileKind {
    /// Their Studio spaces', under the project's Studio execution role.
    Studio,
    /// Their Canvas's, under the project's Canvas role.
    Canvas,
}

/// Whose app: a space's JupyterLab, or a person's Canvas under their Canvas profile.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AppOf<'a> {
    Space(&'a str),
    Canvas(&'a str),
}

impl AppOf<'_> {
    fn space(self) -> Option<String> {
        match self {
            AppOf::Space(space) => Some(space.to_owned()),
            AppOf::Canvas(_) => None,
        }
    }

    fn profile(self) -> Option<String> {
        match self {
            AppOf::Canvas(profile) => Some(profile.to_owned()),
            AppOf::Space(_) => None,
        }
    }

    fn app_type(self) -> AppType {
        match self {
            AppOf::Space(_) => AppType::JupyterLab,
            AppOf::Canvas(_) => AppType::Canvas,
        }
    }
}

/// SageMaker's answer, `None` where it does not know what was asked for.
pub(crate) fn found<T, E, R>(
    answer: Result<T, aws_sdk_sagemaker::error::SdkError<E, R>>,
) -> Result<Option<T>, PortError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match answer {
        Ok(answer) => Ok(Some(answer)),
        Err(error) if error.code() == Some(NOT_FOUND) => Ok(None),
        Err(error) => Err(classify(error)),
    }
}

/// What [`StudioCloud::space`] found.
struct Space {
    owner: Option<String>,
    /// The type its app runs on: the one it was made with.
    instance_type: String,
}

fn live_domain(status: &aws_sdk_sagemaker::types::DomainStatus) -> bool {
    !matches!(
        status.as_str(),
        "Deleting" | "Failed" | "Delete_Failed" | "Update_Failed"
    )
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

pub(crate) fn to_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| tag(k, v)).collect()
}

/// A profile is the person's across workspaces: it carries who they are, not one workspace.
fn attribution_tags(plan: &LaunchPlan) -> Vec<Tag> {
    use domain::launch::{TAG_INSTITUTION, TAG_USER};
    plan.tags
        .iter()
        .filter(|(k, _)| [TAG_PROJECT, TAG_USER, TAG_INSTITUTION].contains(&k.as_str()))
        .map(|(k, v)| tag(k, v))
        .collect()
}

/// A domain's JupyterLab settings: idle shutdown on, each space choosing its own timeout
/// within SageMaker's bounds, and a space that chose none shut down only after the most.
fn idle_shutdown_allowed() -> JupyterLabAppSettings {
    let (least, most) = studio::IDLE_SHUTDOWN_MINUTES;
    JupyterLabAppSettings::builder()
        .app_lifecycle_management(
            AppLifecycleManagement::builder()
                .idle_settings(
                    IdleSettings::builder()
                        .lifecycle_management(LifecycleManagement::Enabled)
                        .idle_timeout_in_minutes(most)
                        .min_idle_timeout_in_minutes(least)
                        .max_idle_timeout_in_minutes(most)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A space's JupyterLab: its type, and the idle shutdown the project's policy asks for.
fn jupyter_lab_settings(
    instance_type: &str,
    idle: Option<&IdlePolicy>,
) -> SpaceJupyterLabAppSettings {
    let minutes = studio::idle_shutdown_minutes(idle).unwrap_or(studio::IDLE_SHUTDOWN_MINUTES.1);
    SpaceJupyterLabAppSettings::builder()
        .default_resource_spec(resource_spec(instance_type))
        .app_lifecycle_management(
            SpaceAppLifecycleManagement::builder()
                .idle_settings(
                    SpaceIdleSettings::builder()
                        .idle_timeout_in_minutes(minutes)
                        .build(),
                )
                .build(),
        )
        .build()
}

fn resource_spec(instance_type: &str) -> ResourceSpec {
    ResourceSpec::builder()
        .instance_type(AppInstanceType::from(instance_type))
        .build()
}

/// The domain and space of a workspace id this adapter made.
fn parts(id: &str) -> Result<(&str, &str), PortError> {
    studio::parse_workspace_id(id).ok_or_else(|| PortError::Rejected {
        code: "NotAStudioWorkspace".to_owned(),
        message: format!("{id} is not a SageMaker Studio space"),
    })
}

/// The value of the tag `key` among `tags`.
pub(crate) fn tag_value<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[async_trait]
impl Cloud for StudioCloud {
    /// The project's execution role and domain here, each made once.
    async fn place(
        &self,
        project: &str,
        _workspace: &str,
        _image: &ImageSource,
    ) -> Result<Placement, PortError> {
        let role_arn = self.ec2.studio_role(project).await?;
        let domain_id = self.domain(project, &role_arn).await?;
        let subnets = self.ec2.subnets().await?;
        Ok(Placement {
            image_id: None,
            subnet_id: subnets
                .first()
                .map(|(id, _)| id.clone())
                .expect("subnets() is never empty"),
            security_group_id: domain_id,
            instance_profile: role_arn,
        })
    }

    /// The user's profile, the workspace's space and its app: each step finds what an earlier
    /// run of the same launch made, so the launch is made once however often it runs.
    async fn run_instance(
        &self,
        plan: &LaunchPlan,
        placement: &Placement,
    ) -> Result<LaunchedInstance, PortError> {
        let domain_id = &placement.security_group_id;
        let profile = self
            .ensure_profile(
                domain_id,
                plan,
                &placement.instance_profile,
                ProfileKind::Studio,
            )
            .await?;
        let space = studio::space_name(plan.workspace.as_str());
        self.ensure_space(domain_id, &space, &profile, plan).await?;
        self.create_app(domain_id, &space, &plan.instance_type, to_tags(&plan.tags))
            .await?;
        tracing::info!(
            project = tag_value(&plan.tags, TAG_PROJECT).unwrap_or_default(),
            domain = %domain_id,
            %space,
            "Studio space started"
        );
        Ok(LaunchedInstance {
            instance_id: studio::workspace_id(domain_id, &space),
            state: "pending".to_owned(),
            private_ip: None,
        })
    }

    async fn describe(&self, instance_id: &str) -> Result<Option<InstanceStatus>, PortError> {
        let (domain_id, space) = parts(instance_id)?;
        let Some(found) = self.space(domain_id, space).await? else {
            return Ok(None);
        };
        let app = self.app(domain_id, AppOf::Space(space)).await?;
        let state = studio::state_of(app.as_ref().and_then(|a| a.status()).map(|s| s.as_str()));
        Ok(Some(InstanceStatus {
            instance_id: instance_id.to_owned(),
            state,
            instance_type: app
                .as_ref()
                .and_then(|a| a.resource_spec())
                .and_then(|r| r.instance_type())
                .map_or(found.instance_type, |t| t.as_str().to_owned()),
            public_ip: None,
            private_ip: None,
            launched_at: app
                .as_ref()
                .and_then(|a| a.creation_time())
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
                .filter(|_| state == InstanceState::Running),
            zone_id: None,
        }))
    }

    /// Every space of every domain cws made here, with its app's state.
    async fn describe_tagged(&self) -> Result<Vec<InstanceStatus>, PortError> {
        let mut statuses = Vec::new();
        for domain_id in self.cws_domains().await? {
            let apps = self.live_apps(&domain_id, AppType::JupyterLab).await?;
            let mut pages = self
                .client
                .list_spaces()
                .domain_id_equals(&domain_id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for space in page.map_err(classify)?.spaces() {
                    let Some(name) = space.space_name() else {
                        continue;
                    };
                    let app = apps.get(name);
                    statuses.push(InstanceStatus {
                        instance_id: studio::workspace_id(&domain_id, name),
                        state: studio::state_of(app.map(|(status, _)| status.as_str())),
                        instance_type: app.map(|(_, t)| t.clone()).unwrap_or_default(),
                        public_ip: None,
                        private_ip: None,
                        launched_at: None,
                        zone_id: None,
                    });
                }
            }
        }
        Ok(statuses)
    }

    /// Deletes the space's app; the space keeps its storage. A space has no memory to keep,
    /// so hibernation is refused as EC2 refuses it for an instance launched without.
    async fn stop(&self, instance_id: &str, hibernate: bool) -> Result<(), PortError> {
        if hibernate {
            return Err(unsupported_hibernation(instance_id));
        }
        let (domain_id, space) = parts(instance_id)?;
        self.delete_app(domain_id, AppOf::Space(space)).await
    }

    /// A new app on the type the space was made with, tagged as the launch tagged the first,
    /// so Cost Explorer attributes its hours alike.
    async fn start(&self, instance_id: &str, tags: &[(String, String)]) -> Result<(), PortError> {
        let (domain_id, space) = parts(instance_id)?;
        let found = self
            .space(domain_id, space)
            .await?
            .ok_or_else(|| PortError::Rejected {
                code: NOT_FOUND.to_owned(),
                message: format!("the Studio space {space} no longer exists"),
            })?;
        self.create_app(domain_id, space, &found.instance_type, to_tags(tags))
            .await
    }

    /// Deletes the app, then the space with its storage. SageMaker refuses to delete a
    /// space while its app is still being deleted: that is retried.
    async fn terminate(&self, instance_id: &str) -> Result<(), PortError> {
        let (domain_id, space) = parts(instance_id)?;
        self.delete_app(domain_id, AppOf::Space(space)).await?;
        match self
            .client
            .delete_space()
            .domain_id(domain_id)
            .space_name(space)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(NOT_FOUND) => Ok(()),
            Err(error) if error.code() == Some(IN_USE) => Err(PortError::Transient(format!(
                "the Studio space {space}'s app is still being deleted"
            ))),
            Err(error) => Err(classify(error)),
        }
    }

    /// SageMaker shuts the space's JupyterLab down after the policy's idle minutes (from the
    /// app's next start, when SageMaker reads its settings).
    async fn apply_idle_policy(
        &self,
        instance_id: &str,
        policy: Option<&IdlePolicy>,
    ) -> Result<(), PortError> {
        let (domain_id, space) = parts(instance_id)?;
        let Some(found) = self.space(domain_id, space).await? else {
            return Ok(());
        };
        self.client
            .update_space()
            .domain_id(domain_id)
            .space_name(space)
            .space_settings(
                SpaceSettings::builder()
                    .jupyter_lab_app_settings(jupyter_lab_settings(&found.instance_type, policy))
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// A presigned URL that signs the space's owner in to it, valid for
    /// [`studio::SIGN_IN_LINK_SECONDS`].
    async fn sign_in_link(&self, instance_id: &str) -> Result<Option<String>, PortError> {
        let (domain_id, space) = parts(instance_id)?;
        let owner = self
            .space(domain_id, space)
            .await?
            .and_then(|found| found.owner)
            .ok_or_else(|| PortError::Rejected {
                code: NOT_FOUND.to_owned(),
                message: format!("the Studio space {space} has no owner to sign in"),
            })?;
        let link = self
            .client
            .create_presigned_domain_url()
            .domain_id(domain_id)
            .user_profile_name(owner)
            .space_name(space)
            .expires_in_seconds(studio::SIGN_IN_LINK_SECONDS)
            .session_expiration_duration_in_seconds(studio::SESSION_SECONDS)
            .send()
            .await
            .map_err(classify)?;
        Ok(link.authorized_url().map(str::to_owned))
    }
}
