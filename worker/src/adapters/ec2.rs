//! EC2 through the official AWS SDK, in one account and region: instances, snapshots, and what
//! a launch stands on there (the image from SSM's public parameters, a subnet, the project's
//! security group, the project's workstation role and instance profile in IAM).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::adapters::assume_role::AssumedRoles;
use crate::adapters::aws::classify;
use crate::adapters::canvas::CanvasCloud;
use crate::adapters::cloudwatch::CloudWatch;
use crate::adapters::ssm::Ssm;
use crate::adapters::studio::StudioCloud;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, HibernationOptionsRequest, HttpTokensState,
    IamInstanceProfileSpecification, Instance, InstanceMetadataOptionsRequest, InstanceStateName,
    InstanceType, IpPermission, IpRange, Ipv6Range, OperationType, ResourceType, Tag,
    TagSpecification, VolumeType,
};
use base64::Engine;
use domain::account::Account;
use domain::launch::{LaunchPlan, TAG_CLIENT_TOKEN, TAG_PROJECT, TAG_SNAPSHOT_KEY};
use domain::network::{
    NOT_SET_UP, NetworkSettings, Placement, WORKSTATION_PATH, WORKSTATION_TRUST_POLICY,
    pick_subnet, security_group_name, workstation_policy_arn, workstation_profile_name,
};
use domain::ports::{
    AccountClouds, Cloud, InstanceCommands, InstanceState, InstanceStatus, LaunchedInstance,
    Metrics, PortError, Snapshot,
};
use domain::quota::{VCPU_LIMIT_EXCEEDED, vcpu_limit_explanation};
use domain::studio;
use domain::template::{ImageSource, Platform, is_ami_id};
use time::OffsetDateTime;

pub struct Ec2Cloud {
    client: Client,
    ssm: aws_sdk_ssm::Client,
    /// The account's workstation policy and roles, shared with its other regions.
    workstation: Arc<WorkstationIam>,
    region: String,
    network: Arc<NetworkSettings>,
    /// What this account and region offer a launch, found once per process: subnets (with
    /// their VPC) and each project's security group.
    subnets: tokio::sync::OnceCell<Vec<(String, String)>>,
    /// One cell per (project, VPC), so concurrent first launches make the group once.
    /// Each security group by name and VPC, found or made once per process.
    security_groups: Mutex<HashMap<(String, String), Arc<FoundOnce>>>,
    /// Each public image parameter's value and when it was read, one read at a time.
    images: Mutex<HashMap<String, Arc<KeptFor>>>,
}

/// An id found (or made) once, by the first caller; the others wait for it.
type FoundOnce = tokio::sync::OnceCell<String>;

/// A value and when it was read, read by one caller at a time.
type KeptFor = tokio::sync::Mutex<Option<(Instant, String)>>;

/// How long a public image parameter's value is used before SSM is asked again: publishers
/// change them at most daily, and GetParameter allows 40 calls a second per account.
const IMAGE_KEPT_FOR: Duration = Duration::from_secs(600);

/// EC2's answer for an instance id it does not know (or has forgotten since it terminated).
const INSTANCE_NOT_FOUND: &str = "InvalidInstanceID.NotFound";

/// EC2's answer for a snapshot id it does not know.
const SNAPSHOT_NOT_FOUND: &str = "InvalidSnapshot.NotFound";

/// Where the Ubuntu AMIs every template uses keep their root volume.
const ROOT_DEVICE: &str = "/dev/sda1";

/// The tag on what cws made for itself (security groups, workstation roles), beside the
/// project's.
const TAG_MANAGED: &str = "cws:managed";

/// How long a launch waits, between tries, for a new instance profile to reach EC2.
const PROFILE_PROPAGATION_WAITS: [Duration; 4] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

/// IAM's answer for a name it does not know.
const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// IAM's answer for a name already taken (by an earlier run, or another worker just now).
const ENTITY_EXISTS: &str = "EntityAlreadyExists";

impl Ec2Cloud {
    /// EC2, SSM and IAM as `config` acts (its account, its region), with the deployment's
    /// network settings.
    pub fn new(config: &SdkConfig, network: Arc<NetworkSettings>) -> Ec2Cloud {
        let workstation = Arc::new(WorkstationIam::new(config, network.clone()));
        Ec2Cloud::sharing(config, network, workstation)
    }

    /// Like [`Ec2Cloud::new`], with the account's IAM side shared with its other regions.
    fn sharing(
        config: &SdkConfig,
        network: Arc<NetworkSettings>,
        workstation: Arc<WorkstationIam>,
    ) -> Ec2Cloud {
        Ec2Cloud {
            client: Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            workstation,
            region: config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default(),
            network,
            subnets: tokio::sync::OnceCell::new(),
            security_groups: Mutex::default(),
            images: Mutex::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn filter(name: &str, values: Vec<String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values))
        .build()
}

/// TCP port 22 from `ranges` (IPv4 and IPv6 alike).
fn ssh_permission(ranges: &[&String]) -> IpPermission {
    let (v6, v4): (Vec<&&String>, Vec<&&String>) = ranges.iter().partition(|r| r.contains(':'));
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .set_ip_ranges(Some(
            v4.iter()
                .map(|r| {
                    IpRange::builder()
                        .cidr_ip(r.as_str())
                        .description("CWS_SSH_CIDRS")
                        .build()
                })
                .collect(),
        ))
        .set_ipv6_ranges(Some(
            v6.iter()
                .map(|r| {
                    Ipv6Range::builder()
                        .cidr_ipv6(r.as_str())
                        .description("CWS_SSH_CIDRS")
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// EC2's refusal of an instance profile IAM has not propagated to it yet: "Value (…) for
/// parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name".
fn profile_not_yet_visible<E: ProvideErrorMetadata, R>(
    error: &aws_sdk_ec2::error::SdkError<E, R>,
) -> bool {
    error.code() == Some("InvalidParameterValue")
        && error
            .message()
            .is_some_and(|m| m.contains("iamInstanceProfile"))
}

fn iam_tag(key: &str, value: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value are set")
}

fn profile_roles(profile: Option<&aws_sdk_iam::types::InstanceProfile>) -> Vec<String> {
    profile
        .map(|p| p.roles().iter().map(|r| r.role_name().to_owned()).collect())
        .unwrap_or_default()
}

/// Where `table`'s default route goes (none without a table).
fn default_route(table: Option<&aws_sdk_ec2::types::RouteTable>) -> studio::DefaultRoute {
    let route = table.and_then(|t| {
        t.routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
    });
    match route {
        // A route whose NAT or gateway was deleted leads nowhere.
        None => studio::DefaultRoute::Missing,
        Some(route) if route.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole) => {
            studio::DefaultRoute::Missing
        }
        Some(route) if route.gateway_id().is_some_and(|g| g.starts_with("igw-")) => {
            studio::DefaultRoute::InternetGateway
        }
        Some(_) => studio::DefaultRoute::Elsewhere,
    }
}

/// What a project's security group is for.
#[derive(Debug, Clone, Copy)]
enum GroupFor {
    /// Its EC2 workspaces: SSH from `CWS_SSH_CIDRS`, nothing else.
    Workstations,
    /// Its Studio apps in an operator's VPC: nothing inbound.
    Studio,
}

impl GroupFor {
    fn name(self, project: &str) -> String {
        match self {
            GroupFor::Workstations => security_group_name(project),
            GroupFor::Studio => studio::security_group_name(project),
        }
    }

    fn description(self, project: &str) -> String {
        match self {
            GroupFor::Workstations => format!(
                "cws workspaces of project {project}: no inbound rule except SSH from \
                 CWS_SSH_CIDRS"
            ),
            GroupFor::Studio => {
                format!("cws SageMaker Studio apps of project {project}: no inbound rule")
            }
        }
    }
}

fn not_set_up(message: String) -> PortError {
    PortError::Rejected {
        code: NOT_SET_UP.to_owned(),
        message,
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
    /// The project's Studio execution role in this account ([`WorkstationIam::studio_role`]).
    pub(crate) async fn studio_role(&self, project: &str) -> Result<String, PortError> {
        self.workstation.studio_role(project).await
    }

    /// The project's Canvas role in this account ([`WorkstationIam::canvas_role`]).
    pub(crate) async fn canvas_role(&self, project: &str) -> Result<String, PortError> {
        self.workstation.canvas_role(project).await
    }

    /// The configured Canvas policy's ARN, once IAM confirmed it exists in this account.
    pub(crate) async fn canvas_policy(&self) -> Result<String, PortError> {
        self.workstation.canvas_policy().await
    }

    /// Where a project's Studio domain goes here: the VPC of the first usable subnet, and
    /// those of the subnets in it.
    pub(crate) async fn studio_subnets(&self) -> Result<(String, Vec<String>), PortError> {
        let subnets = self.subnets().await?;
        let vpc = subnets
            .first()
            .map(|(_, vpc)| vpc.clone())
            .expect("subnets() is never empty");
        let in_vpc = subnets
            .iter()
            .filter(|(_, v)| *v == vpc)
            .map(|(id, _)| id.clone())
            .collect();
        Ok((vpc, in_vpc))
    }

    /// The subnets Studio would use here from which a `VpcOnly` app reaches SageMaker neither
    /// through its endpoints nor out of the VPC ([`studio::subnets_without_sagemaker`]);
    /// `None` where Studio is not `VpcOnly` (the default VPC).
    pub(crate) async fn studio_subnets_without_sagemaker(
        &self,
        region: &str,
    ) -> Result<Option<Vec<String>>, PortError> {
        if !self.managed_network() {
            return Ok(None);
        }
        let (vpc, subnets) = self.studio_subnets().await?;
        let endpoints: Vec<String> = self
            .client
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", vec![vpc.clone()]))
            .send()
            .await
            .map_err(classify)?
            .vpc_endpoints()
            .iter()
            .filter(|e| {
                e.state()
                    .is_some_and(|s| s.as_str().eq_ignore_ascii_case("available"))
            })
            .filter_map(|e| e.service_name().map(str::to_owned))
            .collect();
        let tables = self
            .client
            .describe_route_tables()
            .filters(filter("vpc-id", vec![vpc]))
            .send()
            .await
            .map_err(classify)?;
        let tables = tables.route_tables();
        let main = tables
            .iter()
            .find(|t| t.associations().iter().any(|a| a.main() == Some(true)));
        let routes = subnets
            .into_iter()
            .map(|subnet| {
                let table = tables
                    .iter()
                    .find(|t| {
                        t.associations()
                            .iter()
                            .any(|a| a.subnet_id() == Some(subnet.as_str()))
                    })
                    .or(main);
                (subnet, default_route(table))
            })
            .collect::<Vec<_>>();
        Ok(Some(studio::subnets_without_sagemaker(
            region, &endpoints, &routes,
        )))
    }

    /// Whether the operator named the subnets (`CWS_SUBNETS`) rather than leaving launches to
    /// the default VPC.
    pub(crate) fn managed_network(&self) -> bool {
        !self.network.subnets.is_empty()
    }

    /// The image `image` names here: a pinned id as it is, a public parameter as SSM reads it
    /// in this region now.
    pub(crate) async fn image_id(&self, image: &ImageSource) -> Result<String, PortError> {
        let name = match image {
            ImageSource::Pinned(ami) => return Ok(ami.clone()),
            ImageSource::Parameter(name) => name,
            ImageSource::Managed => {
                return Err(not_set_up(
                    "the template names no EC2 image: it runs on a platform of its own".to_owned(),
                ));
            }
        };
        let slot = self
            .images
            .lock()
            .expect("images lock")
            .entry(name.clone())
            .or_default()
            .clone();
        let mut kept = slot.lock().await;
        if let Some((read_at, ami)) = kept.as_ref()
            && read_at.elapsed() < IMAGE_KEPT_FOR
        {
            return Ok(ami.clone());
        }
        let ami = self.read_image_parameter(name).await?;
        *kept = Some((Instant::now(), ami.clone()));
        Ok(ami)
    }

    async fn read_image_parameter(&self, name: &str) -> Result<String, PortError> {
        let value = match self.ssm.get_parameter().name(name).send().await {
            Ok(output) => output
                .parameter()
                .and_then(|p| p.value())
                .map(str::to_owned),
            Err(error) if error.code() == Some("ParameterNotFound") => {
                return Err(not_set_up(format!(
                    "the image parameter {name} does not exist in {}, so the template cannot \
                     launch there",
                    self.region
                )));
            }
            Err(error) => return Err(classify(error)),
        };
        match value {
            Some(ami) if is_ami_id(&ami) => Ok(ami),
            other => Err(not_set_up(format!(
                "the image parameter {name} in {} holds {other:?}, not an AMI id",
                self.region
            ))),
        }
    }

    /// The subnets a launch may use here, each with its VPC: the configured ones in this
    /// account and region, else the default VPC's default subnets. Kept once found; an empty
    /// answer is not kept, so a fix is seen at the next launch.
    pub(crate) async fn subnets(&self) -> Result<&[(String, String)], PortError> {
        self.subnets
            .get_or_try_init(|| async {
                let configured: Vec<String> = self
                    .network
                    .subnets
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let mut found = if configured.is_empty() {
                    Vec::new()
                } else {
                    self.describe_subnets(vec![filter("subnet-id", configured)])
                        .await?
                };
                if found.is_empty() {
                    let vpcs = self
                        .client
                        .describe_vpcs()
                        .filters(filter("is-default", vec!["true".to_owned()]))
                        .send()
                        .await
                        .map_err(classify)?;
                    if let Some(vpc) = vpcs.vpcs().first().and_then(|v| v.vpc_id()) {
                        found = self
                            .describe_subnets(vec![
                                filter("vpc-id", vec![vpc.to_owned()]),
                                filter("default-for-az", vec!["true".to_owned()]),
                            ])
                            .await?;
                    }
                }
                if found.is_empty() {
                    return Err(not_set_up(format!(
                        "there is no subnet to launch in {}: list subnets of this region in \
                         CWS_SUBNETS, or keep the account's default VPC",
                        self.region
                    )));
                }
                found.sort();
                Ok(found)
            })
            .await
            .map(Vec::as_slice)
    }

    async fn describe_subnets(
        &self,
        filters: Vec<Filter>,
    ) -> Result<Vec<(String, String)>, PortError> {
        let output = self
            .client
            .describe_subnets()
            .set_filters(Some(filters))
            .filters(filter("state", vec!["available".to_owned()]))
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .subnets()
            .iter()
            .filter_map(|s| Some((s.subnet_id()?.to_owned(), s.vpc_id()?.to_owned())))
            .collect())
    }

    /// The configured workstation policy's ARN, once IAM confirmed it exists in this account.
    pub(crate) async fn workstation_policy(&self) -> Result<String, PortError> {
        self.workstation.policy().await
    }

    /// The project's security group in `vpc`, made the first time, with port 22 open to
    /// exactly the configured ranges and nothing else open.
    async fn security_group(&self, project: &str, vpc: &str) -> Result<String, PortError> {
        self.group_once(GroupFor::Workstations, project, vpc).await
    }

    /// The security group of the project's Studio apps in `vpc`, made the first time, with no
    /// inbound rule at all (SageMaker adds its own for the domain's home file system).
    pub(crate) async fn studio_security_group(
        &self,
        project: &str,
        vpc: &str,
    ) -> Result<String, PortError> {
        self.group_once(GroupFor::Studio, project, vpc).await
    }

    async fn group_once(
        &self,
        kind: GroupFor,
        project: &str,
        vpc: &str,
    ) -> Result<String, PortError> {
        let name = kind.name(project);
        let cell = self
            .security_groups
            .lock()
            .expect("groups lock")
            .entry((name.clone(), vpc.to_owned()))
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.make_security_group(kind, &name, project, vpc))
            .await
            .cloned()
    }

    async fn make_security_group(
        &self,
        kind: GroupFor,
        name: &str,
        project: &str,
        vpc: &str,
    ) -> Result<String, PortError> {
        let (id, permissions) = match self.find_group(name, vpc).await? {
            Some(found) => found,
            None => {
                let made = self
                    .client
                    .create_security_group()
                    .group_name(name)
                    .description(kind.description(project))
                    .vpc_id(vpc)
                    .tag_specifications(
                        TagSpecification::builder()
                            .resource_type(ResourceType::SecurityGroup)
                            .tags(Tag::builder().key("Name").value(name).build())
                            .tags(Tag::builder().key(TAG_PROJECT).value(project).build())
                            .tags(Tag::builder().key(TAG_MANAGED).value("true").build())
                            .build(),
                    )
                    .send()
                    .await;
                match made {
                    Ok(made) => (made.group_id().unwrap_or_default().to_owned(), Vec::new()),
                    // Another worker made it first.
                    Err(error) if error.code() == Some("InvalidGroup.Duplicate") => self
                        .find_group(name, vpc)
                        .await?
                        .ok_or_else(|| PortError::Transient(format!("{name} is being made")))?,
                    Err(error) => return Err(classify(error)),
                }
            }
        };
        match kind {
            GroupFor::Workstations => self.keep_ssh_ranges(&id, &permissions).await?,
            // Whatever was opened on it by hand is closed again.
            GroupFor::Studio if !permissions.is_empty() => {
                self.client
                    .revoke_security_group_ingress()
                    .group_id(&id)
                    .set_ip_permissions(Some(permissions))
                    .send()
                    .await
                    .map_err(classify)?;
            }
            GroupFor::Studio => {}
        }
        Ok(id)
    }

    async fn find_group(
        &self,
        name: &str,
        vpc: &str,
    ) -> Result<Option<(String, Vec<IpPermission>)>, PortError> {
        let output = self
            .client
            .describe_security_groups()
            .filters(filter("group-name", vec![name.to_owned()]))
            .filters(filter("vpc-id", vec![vpc.to_owned()]))
            .send()
            .await
            .map_err(classify)?;
        Ok(output.security_groups().first().map(|group| {
            (
                group.group_id().unwrap_or_default().to_owned(),
                group.ip_permissions().to_vec(),
            )
        }))
    }

    /// Opens port 22 to the configured ranges not yet allowed and closes it to ranges no
    /// longer configured, so the group always says what `CWS_SSH_CIDRS` says.
    async fn keep_ssh_ranges(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<(), PortError> {
        let wanted: Vec<String> = self
            .network
            .ssh_cidrs
            .iter()
            .map(ToString::to_string)
            .collect();
        let ssh = permissions.iter().filter(|p| {
            p.ip_protocol() == Some("tcp") && p.from_port() == Some(22) && p.to_port() == Some(22)
        });
        let present: Vec<String> = ssh
            .clone()
            .flat_map(|p| {
                p.ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip().map(str::to_owned))
                    .chain(
                        p.ipv6_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ipv6().map(str::to_owned)),
                    )
            })
            .collect();
        let missing: Vec<&String> = wanted.iter().filter(|c| !present.contains(c)).collect();
        let extra: Vec<&String> = present.iter().filter(|c| !wanted.contains(c)).collect();
        if !missing.is_empty() {
            match self
                .client
                .authorize_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(ssh_permission(&missing))
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if error.code() == Some("InvalidPermission.Duplicate") => {}
                Err(error) => return Err(classify(error)),
            }
        }
        if !extra.is_empty() {
            self.client
                .revoke_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(ssh_permission(&extra))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(())
    }
}

/// What a launch needs from IAM in one account: the workstation policy's ARN and each
/// project's workstation role and profile. IAM is global, so one of these serves every region
/// of the account, and each is found (or made) once per process.
pub(crate) struct WorkstationIam {
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    network: Arc<NetworkSettings>,
    policy_checked: tokio::sync::OnceCell<String>,
    canvas_policy_checked: tokio::sync::OnceCell<String>,
    /// One cell per project, so concurrent first launches make the role and profile once.
    profiles: Mutex<HashMap<String, Arc<FoundOnce>>>,
    /// Each project's Studio execution role ARN, made once the same way.
    studio_roles: Mutex<HashMap<String, Arc<FoundOnce>>>,
    /// Each project's Canvas role ARN, made once the same way.
    canvas_roles: Mutex<HashMap<String, Arc<FoundOnce>>>,
}

/// A role cws makes for each project under the workstation policy.
struct ProjectRole<'a> {
    name: &'a str,
    path: &'a str,
    /// Who may act as it.
    trust: &'a str,
    /// What it is called in a refusal.
    what: &'a str,
    description: String,
}

/// What `make` finds or makes for `project`, once: concurrent first callers wait for one.
async fn once_per_project<F, Fut>(
    cells: &Mutex<HashMap<String, Arc<FoundOnce>>>,
    project: &str,
    make: F,
) -> Result<String, PortError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, PortError>>,
{
    let cell = cells
        .lock()
        .expect("project cells lock")
        .entry(project.to_owned())
        .or_default()
        .clone();
    cell.get_or_try_init(make).await.cloned()
}

impl WorkstationIam {
    /// IAM and STS as `config` acts (its account; the region does not matter to IAM).
    pub(crate) fn new(config: &SdkConfig, network: Arc<NetworkSettings>) -> WorkstationIam {
        WorkstationIam {
            iam: aws_sdk_iam::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            network,
            policy_checked: tokio::sync::OnceCell::new(),
            canvas_policy_checked: tokio::sync::OnceCell::new(),
            profiles: Mutex::default(),
            studio_roles: Mutex::default(),
            canvas_roles: Mutex::default(),
        }
    }

    /// The configured workstation policy's ARN, once IAM confirmed it exists in the account.
    async fn policy(&self) -> Result<String, PortError> {
        let Some(name) = &self.network.workstation_policy else {
            return Err(not_set_up(
                "no workstation policy is configured: set CWS_WORKSTATION_POLICY to the \
                 WorkstationPolicyName output of the deploy/ stacks. Each project's workspaces \
                 get an instance profile under it; without one the SSM agent never registers, \
                 so nobody could connect to the workspace or mount a volume on it"
                    .to_owned(),
            ));
        };
        self.checked(
            &self.policy_checked,
            name,
            "the workstation policy",
            "CWS_WORKSTATION_POLICY",
            "deploy the deploy/ stack there",
        )
        .await
    }

    /// The configured Canvas policy's ARN, once IAM confirmed it exists in the account.
    pub(crate) async fn canvas_policy(&self) -> Result<String, PortError> {
        let Some(name) = &self.network.canvas_policy else {
            return Err(not_set_up(
                "no Canvas policy is configured: set CWS_CANVAS_POLICY to the name of the \
                 managed policy that says what SageMaker Canvas may do in each account (import \
                 data, build and deploy models: jobs that spend outside cws's invitation \
                 policies, so the deployment decides; docs/aws.md says how to write it). Each \
                 project's Canvas runs as its own role under it, apart from Studio spaces and \
                 workstations"
                    .to_owned(),
            ));
        };
        self.checked(
            &self.canvas_policy_checked,
            name,
            "the Canvas policy",
            "CWS_CANVAS_POLICY",
            "write it there (docs/aws.md) and name it in that account's stack (CanvasPolicyName)",
        )
        .await
    }

    /// The ARN of the managed policy `name` in this account, once IAM confirmed it exists.
    async fn checked(
        &self,
        cell: &tokio::sync::OnceCell<String>,
        name: &str,
        what: &str,
        setting: &str,
        fix: &str,
    ) -> Result<String, PortError> {
        cell.get_or_try_init(|| async {
            let caller = self
                .sts
                .get_caller_identity()
                .send()
                .await
                .map_err(classify)?;
            let account = caller.account().unwrap_or_default();
            let partition = caller
                .arn()
                .and_then(|arn| arn.split(':').nth(1))
                .filter(|p| !p.is_empty())
                .unwrap_or("aws");
            let arn = workstation_policy_arn(partition, account, name);
            match self.iam.get_policy().policy_arn(&arn).send().await {
                Ok(_) => Ok(arn),
                Err(error) if error.code() == Some(NO_SUCH_ENTITY) => Err(not_set_up(format!(
                    "{what} {name} ({setting}) does not exist in account {account}, where \
                     this workspace launches: {fix}"
                ))),
                Err(error) => Err(classify(error)),
            }
        })
        .await
        .cloned()
    }

    /// The project's workstation instance profile, made the first time with its role.
    async fn profile(&self, project: &str) -> Result<String, PortError> {
        let policy = self.policy().await?;
        once_per_project(&self.profiles, project, || async {
            let name = workstation_profile_name(project);
            self.project_role(
                &ProjectRole {
                    name: &name,
                    path: WORKSTATION_PATH,
                    trust: WORKSTATION_TRUST_POLICY,
                    what: "workstation role",
                    description: format!(
                        "cws workspaces of project {project}: Session Manager, and mounts of \
                         the project's volumes only"
                    ),
                },
                project,
                &policy,
            )
            .await?;
            self.workstation_instance_profile(&name, project).await?;
            Ok(name)
        })
        .await
    }

    /// The ARN of the project's Studio execution role, made the first time: trusted by
    /// SageMaker alone, bounded by and granted the workstation policy (so, like a workstation,
    /// it reaches its own project's volumes and nothing else), tagged with the project.
    pub(crate) async fn studio_role(&self, project: &str) -> Result<String, PortError> {
        let policy = self.policy().await?;
        let role = ProjectRole {
            name: &studio::execution_role_name(project),
            path: studio::EXECUTION_ROLE_PATH,
            trust: studio::EXECUTION_ROLE_TRUST_POLICY,
            what: "Studio execution role",
            description: format!(
                "cws SageMaker Studio spaces of project {project}: mounts of the project's \
                 volumes only"
            ),
        };
        self.sagemaker_role(&self.studio_roles, &role, project, &policy)
            .await
    }

    /// The ARN of the project's Canvas role, made the first time: trusted by SageMaker alone,
    /// bounded by and granted the operator's Canvas policy (never the workstation policy:
    /// Canvas may start SageMaker jobs, which no workstation or Studio terminal may), tagged
    /// with the project.
    pub(crate) async fn canvas_role(&self, project: &str) -> Result<String, PortError> {
        let policy = self.canvas_policy().await?;
        let role = ProjectRole {
            name: &studio::canvas_role_name(project),
            path: studio::CANVAS_ROLE_PATH,
            trust: studio::EXECUTION_ROLE_TRUST_POLICY,
            what: "Canvas role",
            description: format!(
                "cws SageMaker Canvas of project {project}: what the deployment's Canvas \
                 policy allows"
            ),
        };
        self.sagemaker_role(&self.canvas_roles, &role, project, &policy)
            .await
    }

    /// The ARN of the project's role `role` describes, for SageMaker to act as, found or made
    /// once per process (`cells`).
    async fn sagemaker_role(
        &self,
        cells: &Mutex<HashMap<String, Arc<FoundOnce>>>,
        role: &ProjectRole<'_>,
        project: &str,
        policy: &str,
    ) -> Result<String, PortError> {
        once_per_project(cells, project, || async {
            let made = self.project_role(role, project, policy).await?;
            Ok(made.arn().to_owned())
        })
        .await
    }

    /// The project's role `role` describes (bounded by, and granted, `policy`: the workstation
    /// policy or the Canvas policy; tagged with the project, which is what the policies match
    /// the project's resources on), made if missing.
    /// What is already there is used only if it is exactly that: a same-named role someone
    /// else made, with other permissions or another project's tag, is refused, never used.
    async fn project_role(
        &self,
        role: &ProjectRole<'_>,
        project: &str,
        policy: &str,
    ) -> Result<aws_sdk_iam::types::Role, PortError> {
        let name = role.name;
        let found = match self.iam.get_role().role_name(name).send().await {
            Ok(found) => found.role,
            Err(error) if error.code() == Some(NO_SUCH_ENTITY) => {
                self.create_project_role(role, project, policy).await?
            }
            Err(error) => return Err(classify(error)),
        };
        let found = found.filter(|r| {
            let bounded = r
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                == Some(policy);
            let tagged = r
                .tags()
                .iter()
                .any(|t| t.key() == TAG_PROJECT && t.value() == project);
            bounded && tagged
        });
        let Some(found) = found else {
            return Err(not_set_up(format!(
                "the IAM role {name} exists but is not the {} of project {project} (bounded \
                 by {policy}, tagged {TAG_PROJECT}={project}); cws will not run workspaces as \
                 a role it did not make: delete or rename that role",
                role.what
            )));
        };
        self.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy)
            .send()
            .await
            .map_err(classify)?;
        Ok(found)
    }

    async fn create_project_role(
        &self,
        role: &ProjectRole<'_>,
        project: &str,
        policy: &str,
    ) -> Result<Option<aws_sdk_iam::types::Role>, PortError> {
        let made = self
            .iam
            .create_role()
            .role_name(role.name)
            .path(role.path)
            .assume_role_policy_document(role.trust)
            .permissions_boundary(policy)
            .description(&role.description)
            .tags(iam_tag(TAG_PROJECT, project))
            .tags(iam_tag(TAG_MANAGED, "true"))
            .send()
            .await;
        match made {
            Ok(made) => Ok(made.role),
            // Another worker made it first.
            Err(error) if error.code() == Some(ENTITY_EXISTS) => Ok(self
                .iam
                .get_role()
                .role_name(role.name)
                .send()
                .await
                .map_err(classify)?
                .role),
            Err(error) => Err(classify(error)),
        }
    }

    /// The instance profile `name` holding the role `name`, made (or completed) if need be.
    async fn workstation_instance_profile(
        &self,
        name: &str,
        project: &str,
    ) -> Result<(), PortError> {
        let roles = match self
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(found) => profile_roles(found.instance_profile()),
            Err(error) if error.code() == Some(NO_SUCH_ENTITY) => {
                match self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(name)
                    .path(WORKSTATION_PATH)
                    .tags(iam_tag(TAG_PROJECT, project))
                    .tags(iam_tag(TAG_MANAGED, "true"))
                    .send()
                    .await
                {
                    Ok(made) => profile_roles(made.instance_profile()),
                    Err(error) if error.code() == Some(ENTITY_EXISTS) => Vec::new(),
                    Err(error) => return Err(classify(error)),
                }
            }
            Err(error) => return Err(classify(error)),
        };
        if roles.iter().any(|role| role == name) {
            return Ok(());
        }
        if !roles.is_empty() {
            return Err(not_set_up(format!(
                "the instance profile {name} holds the role {} rather than {name}: delete \
                 that profile, and cws makes it again",
                roles.join(", ")
            )));
        }
        match self
            .iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A profile holds one role: another worker added it just now.
            Err(error) if error.code() == Some("LimitExceeded") => Ok(()),
            Err(error) => Err(classify(error)),
        }
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
    async fn place(
        &self,
        project: &str,
        workspace: &str,
        image: &ImageSource,
    ) -> Result<Placement, PortError> {
        let instance_profile = self.workstation.profile(project).await?;
        let image_id = self.image_id(image).await?;
        let subnets = self.subnets().await?;
        let ids: Vec<String> = subnets.iter().map(|(id, _)| id.clone()).collect();
        let subnet_id = pick_subnet(&ids, workspace)
            .expect("subnets() is never empty")
            .to_owned();
        let vpc = subnets
            .iter()
            .find(|(id, _)| *id == subnet_id)
            .map(|(_, vpc)| vpc.clone())
            .expect("the subnet was picked from these");
        let security_group_id = self.security_group(project, &vpc).await?;
        Ok(Placement {
            image_id: Some(image_id),
            subnet_id,
            security_group_id,
            instance_profile,
        })
    }

    async fn run_instance(
        &self,
        plan: &LaunchPlan,
        placement: &Placement,
    ) -> Result<LaunchedInstance, PortError> {
        if let Some(instance) = self.launched_by(&plan.client_token).await? {
            tracing::info!(instance = %instance.instance_id, "this launch already happened");
            return Ok(instance);
        }
        let user_data = plan
            .user_data
            .as_ref()
            .map(|script| base64::engine::general_purpose::STANDARD.encode(script));
        let Some(image_id) = &placement.image_id else {
            return Err(not_set_up(
                "the placement names no EC2 image: the template runs on a platform of its own"
                    .to_owned(),
            ));
        };
        let request = self
            .client
            .run_instances()
            .image_id(image_id)
            .subnet_id(&placement.subnet_id)
            .security_group_ids(&placement.security_group_id)
            .iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name(&placement.instance_profile)
                    .build(),
            )
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
            );
        // A profile made a moment ago is not yet visible to EC2 (IAM is eventually
        // consistent); the same request, with the same client token, is tried again.
        let mut waits = PROFILE_PROPAGATION_WAITS.iter();
        let output = loop {
            match request.clone().send().await {
                Ok(output) => break output,
                Err(error) if profile_not_yet_visible(&error) => match waits.next() {
                    Some(wait) => {
                        tracing::info!(
                            profile = %placement.instance_profile,
                            "the instance profile is not visible to EC2 yet; waiting"
                        );
                        tokio::time::sleep(*wait).await;
                    }
                    None => {
                        return Err(PortError::Transient(format!(
                            "the instance profile {} is not visible to EC2 yet",
                            placement.instance_profile
                        )));
                    }
                },
                Err(error) => {
                    return Err(match classify(error) {
                        PortError::Rejected { code, message } if code == VCPU_LIMIT_EXCEEDED => {
                            PortError::Rejected {
                                message: vcpu_limit_explanation(
                                    &plan.instance_type,
                                    &self.region,
                                    &message,
                                ),
                                code,
                            }
                        }
                        other => other,
                    });
                }
            }
        };
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

    async fn start(&self, instance_id: &str, _tags: &[(String, String)]) -> Result<(), PortError> {
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

    async fn archive_snapshot(&self, snapshot_id: &str) -> Result<(), PortError> {
        self.client
            .modify_snapshot_tier()
            .snapshot_id(snapshot_id)
            .storage_tier(aws_sdk_ec2::types::TargetStorageTier::Archive)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// EC2, SSM and CloudWatch per account and region, each client made once and kept: the lead
/// account's with the workers' own credentials, another account's acting through its role, whose
/// credentials [`AssumedRoles`] renews as they near their expiry (a kept client never outlives them).
pub struct Ec2AccountClouds {
    lead: SdkConfig,
    roles: Arc<AssumedRoles>,
    network: Arc<NetworkSettings>,
    /// By (role ARN, `None` for the lead account; region).
    clouds: Mutex<HashMap<Key, Arc<Ec2Cloud>>>,
    /// By role ARN only: IAM is global, so every region of an account shares one.
    workstations: Mutex<HashMap<Option<String>, Arc<WorkstationIam>>>,
    commands: Mutex<HashMap<Key, Arc<Ssm>>>,
    metrics: Mutex<HashMap<Key, Arc<CloudWatch>>>,
    studios: Mutex<HashMap<Key, Arc<StudioCloud>>>,
    canvases: Mutex<HashMap<Key, Arc<CanvasCloud>>>,
}

type Key = (Option<String>, String);

impl Ec2AccountClouds {
    pub fn new(
        lead: &SdkConfig,
        roles: Arc<AssumedRoles>,
        network: NetworkSettings,
    ) -> Ec2AccountClouds {
        Ec2AccountClouds {
            lead: lead.clone(),
            roles,
            network: Arc::new(network),
            clouds: Mutex::default(),
            workstations: Mutex::default(),
            commands: Mutex::default(),
            metrics: Mutex::default(),
            studios: Mutex::default(),
            canvases: Mutex::default(),
        }
    }

    /// The key and SDK configuration for `account` in `region`: the lead's, or its role's.
    /// The role is assumed (or its credentials found still good) first, so a role that cannot
    /// be assumed is refused with STS's reason.
    async fn config_in(
        &self,
        account: Option<&Account>,
        region: &str,
    ) -> Result<(Key, SdkConfig), PortError> {
        let Some(account) = account else {
            return Ok(((None, region.to_owned()), in_region(&self.lead, region)));
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
        Ok((
            (Some(role_arn.to_owned()), region.to_owned()),
            in_region(&config, region),
        ))
    }
}

impl Ec2AccountClouds {
    /// EC2 (with SSM's parameters and IAM) in `account` and `region`, kept.
    pub(crate) async fn ec2_in(
        &self,
        account: Option<&Account>,
        region: &str,
    ) -> Result<Arc<Ec2Cloud>, PortError> {
        let (key, config) = self.config_in(account, region).await?;
        let workstation = self
            .workstations
            .lock()
            .expect("workstations lock")
            .entry(key.0.clone())
            .or_insert_with(|| Arc::new(WorkstationIam::new(&config, self.network.clone())))
            .clone();
        Ok(kept(&self.clouds, key, || {
            Ec2Cloud::sharing(&config, self.network.clone(), workstation)
        }))
    }
}

/// The client kept under `key`, made from `config` the first time.
fn kept<T>(clients: &Mutex<HashMap<Key, Arc<T>>>, key: Key, make: impl FnOnce() -> T) -> Arc<T> {
    clients
        .lock()
        .expect("clients lock")
        .entry(key)
        .or_insert_with(|| Arc::new(make()))
        .clone()
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
        platform: Platform,
        account: Option<&Account>,
        region: &str,
    ) -> Result<Arc<dyn Cloud>, PortError> {
        let ec2 = self.ec2_in(account, region).await?;
        match platform {
            Platform::Ec2 => Ok(ec2),
            Platform::SagemakerStudio => {
                let (key, config) = self.config_in(account, region).await?;
                let studio: Arc<StudioCloud> =
                    kept(&self.studios, key, || StudioCloud::new(&config, ec2));
                Ok(studio)
            }
            Platform::SagemakerCanvas => {
                let (key, config) = self.config_in(account, region).await?;
                let studio = kept(&self.studios, key.clone(), || {
                    StudioCloud::new(&config, ec2)
                });
                let canvas: Arc<CanvasCloud> =
                    kept(&self.canvases, key, || CanvasCloud::new(studio));
                Ok(canvas)
            }
        }
    }

    async fn commands_in(
        &self,
        account: Option<&Account>,
        region: &str,
    ) -> Result<Arc<dyn InstanceCommands>, PortError> {
        let (key, config) = self.config_in(account, region).await?;
        let commands: Arc<Ssm> = kept(&self.commands, key, || Ssm::new(&config));
        Ok(commands)
    }

    async fn metrics_in(
        &self,
        account: Option<&Account>,
        region: &str,
    ) -> Result<Arc<dyn Metrics>, PortError> {
        let (key, config) = self.config_in(account, region).await?;
        let metrics: Arc<CloudWatch> = kept(&self.metrics, key, || CloudWatch::new(&config));
        Ok(metrics)
    }
}
