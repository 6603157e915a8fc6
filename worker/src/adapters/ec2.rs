//! EC2 through the official AWS SDK.

use std::sync::Arc;

use crate::adapters::assume_role::AssumedRoles;
use crate::adapters::aws::classify;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, HibernationOptionsRequest, HttpTokensState,
    Instance, InstanceMetadataOptionsRequest, InstanceStateName, InstanceType, OperationType,
    ResourceType, Tag, TagSpecification, VolumeType,
};
use base64::Engine;
use domain::account::Account;
use domain::launch::{LaunchPlan, TAG_CLIENT_TOKEN, TAG_PROJECT, TAG_SNAPSHOT_KEY};
use domain::ports::{
    AccountClouds, Cloud, InstanceState, InstanceStatus, LaunchedInstance, PortError, Snapshot,
};
use time::OffsetDateTime;

pub struct Ec2Cloud {
    client: Client,
}

/// EC2's answer for an instance id it does not know (or has forgotten since it terminated).
const INSTANCE_NOT_FOUND: &str = "InvalidInstanceID.NotFound";

/// EC2's answer for a snapshot id it does not know.
const SNAPSHOT_NOT_FOUND: &str = "InvalidSnapshot.NotFound";

/// Where the Ubuntu AMIs every template uses keep their root volume.
const ROOT_DEVICE: &str = "/dev/sda1";

impl Ec2Cloud {
    pub fn new(config: &SdkConfig) -> Ec2Cloud {
        Ec2Cloud {
            client: Client::new(config),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn tag_specification(resource: ResourceType, plan: &LaunchPlan) -> TagSpecification {
    let tags = plan
        .tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(tags))
        .build()
}

/// Throttling, capacity and connection problems are transient; anything the request itself
/// caused (bad AMI, bad parameter, no permission) is not.
/// EC2's refusal to stop or start an instance that is terminated or on its way there.
pub(crate) fn incorrect_instance_state(instance_id: &str, verb: &str) -> PortError {
    PortError::Rejected {
        code: "IncorrectInstanceState".to_owned(),
        message: format!(
            "This instance '{instance_id}' is not in a state from which it can be {verb}."
        ),
    }
}

/// EC2's refusal to hibernate an instance launched without hibernation.
pub(crate) fn unsupported_hibernation(instance_id: &str) -> PortError {
    PortError::Rejected {
        code: "UnsupportedHibernationConfiguration".to_owned(),
        message: format!("The instance '{instance_id}' was not launched with hibernation enabled."),
    }
}

/// EC2's refusal of an instance id it does not know.
pub(crate) fn snapshot_not_found(snapshot_id: &str) -> PortError {
    PortError::Rejected {
        code: SNAPSHOT_NOT_FOUND.to_owned(),
        message: format!("The snapshot '{snapshot_id}' does not exist."),
    }
}

pub(crate) fn instance_not_found(instance_id: &str) -> PortError {
    PortError::Rejected {
        code: INSTANCE_NOT_FOUND.to_owned(),
        message: format!("The instance ID '{instance_id}' does not exist"),
    }
}

/// Hibernation writes RAM to the root volume, which EC2 requires to be encrypted EBS with room
/// for it. Other workspaces keep their AMI's own root volume: some (the GPU images) are larger.
/// The root volume the plan sized (room for the RAM image when it hibernates), encrypted as
/// hibernation requires and as research data deserves either way.
fn root_volume(size_gb: u32) -> BlockDeviceMapping {
    BlockDeviceMapping::builder()
        .device_name(ROOT_DEVICE)
        .ebs(
            EbsBlockDevice::builder()
                .volume_size(i32::try_from(size_gb).expect("a volume size EC2 accepts"))
                .volume_type(VolumeType::Gp3)
                .encrypted(true)
                .delete_on_termination(true)
                .build(),
        )
        .build()
}

fn instance_state(instance: &Instance) -> Result<InstanceState, PortError> {
    match instance.state().and_then(|s| s.name()) {
        Some(InstanceStateName::Pending) => Ok(InstanceState::Pending),
        Some(InstanceStateName::Running) => Ok(InstanceState::Running),
        Some(InstanceStateName::Stopping) => Ok(InstanceState::Stopping),
        Some(InstanceStateName::Stopped) => Ok(InstanceState::Stopped),
        Some(InstanceStateName::ShuttingDown) => Ok(InstanceState::ShuttingDown),
        Some(InstanceStateName::Terminated) => Ok(InstanceState::Terminated),
        other => Err(PortError::Rejected {
            code: "UnknownInstanceState".to_owned(),
            message: format!(
                "EC2 reported the state {:?} for {}",
                other.map(InstanceStateName::as_str),
                instance.instance_id().unwrap_or_default()
            ),
        }),
    }
}

fn status(instance: &Instance) -> Result<InstanceStatus, PortError> {
    Ok(InstanceStatus {
        instance_id: instance.instance_id().unwrap_or_default().to_owned(),
        state: instance_state(instance)?,
        instance_type: instance
            .instance_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        public_ip: instance.public_ip_address().map(str::to_owned),
        private_ip: instance.private_ip_address().map(str::to_owned),
        launched_at: instance
            .launch_time()
            .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()),
        zone_id: instance
            .placement()
            .and_then(|p| p.availability_zone_id())
            .map(str::to_owned),
    })
}

fn launched(instance: &Instance) -> LaunchedInstance {
    LaunchedInstance {
        instance_id: instance.instance_id().unwrap_or_default().to_owned(),
        state: instance
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_owned())
            .unwrap_or_else(|| "pending".to_owned()),
        private_ip: instance.private_ip_address().map(str::to_owned),
    }
}

fn snapshot(snapshot: &aws_sdk_ec2::types::Snapshot) -> Snapshot {
    Snapshot {
        snapshot_id: snapshot.snapshot_id().unwrap_or_default().to_owned(),
        volume_id: snapshot.volume_id().unwrap_or_default().to_owned(),
        size_gb: snapshot
            .volume_size()
            .and_then(|size| u32::try_from(size).ok())
            .unwrap_or(0),
        tags: snapshot
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
            .collect(),
    }
}

impl Ec2Cloud {
    /// Our snapshots whose tag `key` has one of `values`.
    async fn find_snapshots(
        &self,
        key: &str,
        values: &[String],
    ) -> Result<Vec<Snapshot>, PortError> {
        let mut pages = self
            .client
            .describe_snapshots()
            .owner_ids("self")
            .filters(
                Filter::builder()
                    .name(format!("tag:{key}"))
                    .set_values(Some(values.to_vec()))
                    .build(),
            )
            .into_paginator()
            .send();
        let mut snapshots = Vec::new();
        while let Some(page) = pages.next().await {
            snapshots.extend(page.map_err(classify)?.snapshots().iter().map(snapshot));
        }
        Ok(snapshots)
    }

    /// The instance an earlier run of the same job started, found by its client-token tag.
    async fn launched_by(&self, client_token: &str) -> Result<Option<LaunchedInstance>, PortError> {
        let output = self
            .client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{TAG_CLIENT_TOKEN}"))
                    .values(client_token)
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .map(launched))
    }

    async fn instance(&self, instance_id: &str) -> Result<Option<Instance>, PortError> {
        let output = match self
            .client
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.code() == Some(INSTANCE_NOT_FOUND) => return Ok(None),
            Err(error) => return Err(classify(error)),
        };
        Ok(output
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
            .cloned())
    }

    /// Looks before it stops or starts: EC2 itself refuses a terminated instance and a
    /// hibernation it was not launched for, but AWS-compatible endpoints (moto) bring the
    /// terminated instance back and hibernate anything; looking first makes them answer as EC2.
    async fn live_instance(&self, instance_id: &str, verb: &str) -> Result<Instance, PortError> {
        let instance = self
            .instance(instance_id)
            .await?
            .ok_or_else(|| instance_not_found(instance_id))?;
        match instance_state(&instance)? {
            InstanceState::ShuttingDown | InstanceState::Terminated => {
                Err(incorrect_instance_state(instance_id, verb))
            }
            _ => Ok(instance),
        }
    }
}

#[async_trait]
impl Cloud for Ec2Cloud {
    /// Looks before it launches: EC2's ClientToken already makes a repeated RunInstances return
    /// the same instance, and the lookup keeps that promise on AWS-compatible endpoints that
    /// ignore the token.
    async fn run_instance(&self, plan: &LaunchPlan) -> Result<LaunchedInstance, PortError> {
        if let Some(instance) = self.launched_by(&plan.client_token).await? {
            tracing::info!(instance = %instance.instance_id, "this launch already happened");
            return Ok(instance);
        }
        let user_data = plan
            .user_data
            .as_ref()
            .map(|script| base64::engine::general_purpose::STANDARD.encode(script));
        let output = self
            .client
            .run_instances()
            .image_id(&plan.ami)
            .set_user_data(user_data)
            .instance_type(InstanceType::from(plan.instance_type.as_str()))
            .min_count(1)
            .max_count(1)
            .client_token(&plan.client_token)
            .tag_specifications(tag_specification(ResourceType::Instance, plan))
            .tag_specifications(tag_specification(ResourceType::Volume, plan))
            .set_hibernation_options(plan.hibernation.then(|| {
                HibernationOptionsRequest::builder()
                    .configured(true)
                    .build()
            }))
            .block_device_mappings(root_volume(plan.root_volume_gb))
            .metadata_options(
                InstanceMetadataOptionsRequest::builder()
                    .http_tokens(HttpTokensState::Required)
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        let instance = output
            .instances()
            .first()
            .ok_or_else(|| PortError::Rejected {
                code: "NoInstance".to_owned(),
                message: "RunInstances returned no instance".to_owned(),
            })?;
        Ok(launched(instance))
    }

    /// One DescribeInstances page per 1,000 instances, filtered on the project tag.
    async fn describe_tagged(&self) -> Result<Vec<InstanceStatus>, PortError> {
        let mut pages = self
            .client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("tag-key")
                    .values(TAG_PROJECT)
                    .build(),
            )
            .max_results(1000)
            .into_paginator()
            .send();
        let mut statuses = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                statuses.push(status(instance)?);
            }
        }
        Ok(statuses)
    }

    async fn describe(&self, instance_id: &str) -> Result<Option<InstanceStatus>, PortError> {
        self.instance(instance_id)
            .await?
            .as_ref()
            .map(status)
            .transpose()
    }

    async fn stop(&self, instance_id: &str, hibernate: bool) -> Result<(), PortError> {
        let instance = self.live_instance(instance_id, "stopped").await?;
        let configured = instance
            .hibernation_options()
            .and_then(|h| h.configured())
            .unwrap_or(false);
        if hibernate && !configured {
            return Err(unsupported_hibernation(instance_id));
        }
        self.client
            .stop_instances()
            .instance_ids(instance_id)
            .hibernate(hibernate)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn start(&self, instance_id: &str) -> Result<(), PortError> {
        self.live_instance(instance_id, "started").await?;
        self.client
            .start_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Terminating a terminated instance is already a success on EC2.
    async fn terminate(&self, instance_id: &str) -> Result<(), PortError> {
        self.client
            .terminate_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn snapshot_volumes(
        &self,
        instance_id: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<Snapshot>, PortError> {
        let instance = self
            .instance(instance_id)
            .await?
            .ok_or_else(|| instance_not_found(instance_id))?;
        let volumes: Vec<String> = instance
            .block_device_mappings()
            .iter()
            .filter_map(|mapping| mapping.ebs()?.volume_id().map(str::to_owned))
            .collect();
        let snapshot_key = |volume: &str| format!("{key}:{volume}");
        let keys: Vec<String> = volumes.iter().map(|v| snapshot_key(v)).collect();
        let mut snapshots = if keys.is_empty() {
            Vec::new()
        } else {
            self.find_snapshots(TAG_SNAPSHOT_KEY, &keys).await?
        };
        for volume in &volumes {
            let wanted = snapshot_key(volume);
            if snapshots
                .iter()
                .any(|s| s.tags.get(TAG_SNAPSHOT_KEY) == Some(&wanted))
            {
                continue;
            }
            let all_tags = tags
                .iter()
                .map(|(key, value)| Tag::builder().key(key).value(value).build())
                .chain([Tag::builder().key(TAG_SNAPSHOT_KEY).value(&wanted).build()])
                .collect();
            let made = self
                .client
                .create_snapshot()
                .volume_id(volume)
                .description(format!("cws: {key}"))
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::Snapshot)
                        .set_tags(Some(all_tags))
                        .build(),
                )
                .send()
                .await
                .map_err(classify)?;
            snapshots.push(Snapshot {
                snapshot_id: made.snapshot_id().unwrap_or_default().to_owned(),
                volume_id: volume.clone(),
                size_gb: made
                    .volume_size()
                    .and_then(|size| u32::try_from(size).ok())
                    .unwrap_or(0),
                tags: made
                    .tags()
                    .iter()
                    .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
                    .collect(),
            });
        }
        Ok(snapshots)
    }

    async fn snapshots_tagged(&self, key: &str, value: &str) -> Result<Vec<Snapshot>, PortError> {
        self.find_snapshots(key, &[value.to_owned()]).await
    }

    /// The flat `OperationType` + `UserIds` form: the one every EC2-compatible endpoint
    /// honours (moto ignores the structured `CreateVolumePermission` form).
    async fn share_snapshot(&self, snapshot_id: &str, account_id: &str) -> Result<(), PortError> {
        self.client
            .modify_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .operation_type(OperationType::Add)
            .user_ids(account_id)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<(), PortError> {
        match self
            .client
            .delete_snapshot()
            .snapshot_id(snapshot_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(SNAPSHOT_NOT_FOUND) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }
}

/// EC2 per account and region: the lead account's clients are kept per region; another
/// account's are made from its role's credentials, which `AssumedRoles` keeps until shortly
/// before they expire (so a client is never held past its credentials).
pub struct Ec2AccountClouds {
    lead: SdkConfig,
    roles: Arc<AssumedRoles>,
    lead_clouds: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn Cloud>>>,
}

impl Ec2AccountClouds {
    pub fn new(lead: &SdkConfig, roles: Arc<AssumedRoles>) -> Ec2AccountClouds {
        Ec2AccountClouds {
            lead: lead.clone(),
            roles,
            lead_clouds: std::sync::Mutex::default(),
        }
    }
}

/// `config`, acting in `region`.
fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

#[async_trait]
impl AccountClouds for Ec2AccountClouds {
    async fn cloud_in(
        &self,
        account: Option<&Account>,
        region: &str,
    ) -> Result<Arc<dyn Cloud>, PortError> {
        let Some(account) = account else {
            let mut clouds = self.lead_clouds.lock().expect("clouds lock");
            let cloud = clouds.entry(region.to_owned()).or_insert_with(|| {
                Arc::new(Ec2Cloud::new(&in_region(&self.lead, region))) as Arc<dyn Cloud>
            });
            return Ok(cloud.clone());
        };
        let role_arn = account
            .role_arn
            .as_deref()
            .ok_or_else(|| PortError::Rejected {
                code: "NoRole".to_owned(),
                message: format!(
                    "no role is configured for account {} ({}): workers act in another account \
                     only through a role ARN in CWS_ACCOUNTS",
                    account.name, account.id
                ),
            })?;
        let config = self.roles.config_for(role_arn).await?;
        Ok(Arc::new(Ec2Cloud::new(&in_region(&config, region))))
    }
}
