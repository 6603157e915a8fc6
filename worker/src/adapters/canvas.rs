//! SageMaker Canvas as a cloud for workspaces (templates with `platform: sagemaker_canvas`):
//! a person's Canvas is the `Canvas` app of their Canvas user profile in the project's Studio
//! domain. That profile is apart from their Studio one because a profile has one execution
//! role, and Canvas's is the project's Canvas role under the deployment's Canvas policy
//! (`CWS_CANVAS_POLICY`), which may start SageMaker jobs: rights a JupyterLab terminal must
//! never hold. SageMaker runs one Canvas per profile, so a workspace is a person's Canvas in
//! one project and region. Starting it creates the app, stopping deletes it (Canvas bills while
//! its app runs; the person's datasets and models are in S3), terminating deletes it and keeps
//! the profile.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{AppType, Tag};
use domain::launch::{LaunchPlan, TAG_WORKSPACE};
use domain::network::Placement;
use domain::ports::{Cloud, InstanceState, InstanceStatus, LaunchedInstance, PortError};
use domain::studio;
use domain::template::ImageSource;
use time::OffsetDateTime;

use crate::adapters::aws::classify;
use crate::adapters::ec2::unsupported_hibernation;
use crate::adapters::studio::{AppOf, IN_USE, ProfileKind, StudioCloud, tag_value, to_tags};

/// SageMaker Canvas in one account and region.
pub struct CanvasCloud {
    studio: Arc<StudioCloud>,
}

impl CanvasCloud {
    pub fn new(studio: Arc<StudioCloud>) -> CanvasCloud {
        CanvasCloud { studio }
    }

    /// Starts the profile's Canvas. One already running is this launch's (made by an earlier
    /// run of it), or one opened outside cws, which the workspace takes over and tags; one
    /// that is another workspace's is refused.
    async fn create_app(
        &self,
        domain_id: &str,
        profile: &str,
        workspace: &str,
        tags: Vec<Tag>,
    ) -> Result<(), PortError> {
        let made = self
            .studio
            .client()
            .create_app()
            .domain_id(domain_id)
            .user_profile_name(profile)
            .app_type(AppType::Canvas)
            .app_name(studio::APP_NAME)
            .set_tags(Some(tags.clone()))
            .send()
            .await;
        match made {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(IN_USE) => {
                self.adopt(domain_id, profile, workspace, tags).await
            }
            Err(error) => Err(classify(error)),
        }
    }

    async fn adopt(
        &self,
        domain_id: &str,
        profile: &str,
        workspace: &str,
        tags: Vec<Tag>,
    ) -> Result<(), PortError> {
        let client = self.studio.client();
        let Some(app) = self.studio.app(domain_id, AppOf::Canvas(profile)).await? else {
            return Err(PortError::Transient(format!(
                "{profile}'s Canvas was being deleted; starting it again"
            )));
        };
        let arn = app.app_arn().unwrap_or_default();
        let held_by = client
            .list_tags()
            .resource_arn(arn)
            .send()
            .await
            .map_err(classify)?
            .tags()
            .iter()
            .find(|t| t.key() == Some(TAG_WORKSPACE))
            .and_then(|t| t.value())
            .map(str::to_owned);
        match held_by {
            Some(other) if other != workspace => Err(PortError::Rejected {
                code: "CanvasInUse".to_owned(),
                message: format!(
                    "{profile}'s SageMaker Canvas is the workspace {other}, and SageMaker runs \
                     one per person"
                ),
            }),
            Some(_) => Ok(()),
            None => {
                client
                    .add_tags()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(())
            }
        }
    }
}

/// The domain and user profile of a workspace id this adapter made.
fn parts(id: &str) -> Result<(&str, &str), PortError> {
    studio::parse_canvas_id(id).ok_or_else(|| PortError::Rejected {
        code: "NotACanvasWorkspace".to_owned(),
        message: format!("{id} is not a SageMaker Canvas"),
    })
}

fn status(instance_id: String, state: InstanceState) -> InstanceStatus {
    InstanceStatus {
        instance_id,
        state,
        instance_type: studio::CANVAS_SESSION.to_owned(),
        public_ip: None,
        private_ip: None,
        launched_at: None,
        zone_id: None,
    }
}

#[async_trait]
impl Cloud for CanvasCloud {
    /// The project's Canvas role (refused before anything is made where the deployment set no
    /// Canvas policy), and Studio's domain here, each made once.
    async fn place(
        &self,
        project: &str,
        workspace: &str,
        image: &ImageSource,
    ) -> Result<Placement, PortError> {
        let role_arn = self.studio.ec2().canvas_role(project).await?;
        Ok(Placement {
            instance_profile: role_arn,
            ..self.studio.place(project, workspace, image).await?
        })
    }

    /// The research user's profile, then its Canvas: a re-run finds both.
    async fn run_instance(
        &self,
        plan: &LaunchPlan,
        placement: &Placement,
    ) -> Result<LaunchedInstance, PortError> {
        let domain_id = &placement.security_group_id;
        let profile = self
            .studio
            .ensure_profile(
                domain_id,
                plan,
                &placement.instance_profile,
                ProfileKind::Canvas,
            )
            .await?;
        self.create_app(
            domain_id,
            &profile,
            plan.workspace.as_str(),
            to_tags(&plan.tags),
        )
        .await?;
        tracing::info!(domain = %domain_id, %profile, "Canvas started");
        Ok(LaunchedInstance {
            instance_id: studio::canvas_workspace_id(domain_id, &profile),
            state: "pending".to_owned(),
            private_ip: None,
        })
    }

    /// A Canvas whose profile is gone is gone; one without a live app is stopped.
    async fn describe(&self, instance_id: &str) -> Result<Option<InstanceStatus>, PortError> {
        let (domain_id, profile) = parts(instance_id)?;
        let app = self.studio.app(domain_id, AppOf::Canvas(profile)).await?;
        let app_status = app.as_ref().and_then(|a| a.status()).map(|s| s.as_str());
        let state = studio::state_of(app_status);
        if state == InstanceState::Stopped
            && !self.studio.profile_exists(domain_id, profile).await?
        {
            return Ok(None);
        }
        Ok(Some(InstanceStatus {
            launched_at: app
                .as_ref()
                .and_then(|a| a.creation_time())
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
                .filter(|_| state == InstanceState::Running),
            ..status(instance_id.to_owned(), state)
        }))
    }

    /// Every profile's Canvas in every domain cws made here: running where its app is live,
    /// stopped elsewhere.
    async fn describe_tagged(&self) -> Result<Vec<InstanceStatus>, PortError> {
        let client = self.studio.client();
        let mut statuses = Vec::new();
        for domain_id in self.studio.cws_domains().await? {
            let live = self.studio.live_apps(&domain_id, AppType::Canvas).await?;
            let mut pages = client
                .list_user_profiles()
                .domain_id_equals(&domain_id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for profile in page.map_err(classify)?.user_profiles() {
                    let Some(name) = profile.user_profile_name() else {
                        continue;
                    };
                    let state = studio::state_of(live.get(name).map(|(status, _)| status.as_str()));
                    statuses.push(status(studio::canvas_workspace_id(&domain_id, name), state));
                }
            }
        }
        Ok(statuses)
    }

    /// Deletes the Canvas app: billing stops, the person's work stays in S3.
    async fn stop(&self, instance_id: &str, hibernate: bool) -> Result<(), PortError> {
        if hibernate {
            return Err(unsupported_hibernation(instance_id));
        }
        let (domain_id, profile) = parts(instance_id)?;
        self.studio
            .delete_app(domain_id, AppOf::Canvas(profile))
            .await
    }

    async fn start(&self, instance_id: &str, tags: &[(String, String)]) -> Result<(), PortError> {
        let (domain_id, profile) = parts(instance_id)?;
        let workspace = tag_value(tags, TAG_WORKSPACE).unwrap_or_default();
        self.create_app(domain_id, profile, workspace, to_tags(tags))
            .await
    }

    /// Deletes the Canvas app and keeps the profile: the person's next Canvas in the project
    /// uses it again.
    async fn terminate(&self, instance_id: &str) -> Result<(), PortError> {
        let (domain_id, profile) = parts(instance_id)?;
        self.studio
            .delete_app(domain_id, AppOf::Canvas(profile))
            .await
    }

    /// A presigned URL that signs the profile's person in, landing in Canvas, valid for
    /// [`studio::SIGN_IN_LINK_SECONDS`].
    async fn sign_in_link(&self, instance_id: &str) -> Result<Option<String>, PortError> {
        let (domain_id, profile) = parts(instance_id)?;
        let link = self
            .studio
            .client()
            .create_presigned_domain_url()
            .domain_id(domain_id)
            .user_profile_name(profile)
            .landing_uri(studio::CANVAS_LANDING)
            .expires_in_seconds(studio::SIGN_IN_LINK_SECONDS)
            .session_expiration_duration_in_seconds(studio::SESSION_SECONDS)
            .send()
            .await
            .map_err(classify)?;
        Ok(link.authorized_url().map(str::to_owned))
    }
}
