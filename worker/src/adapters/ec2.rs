//! EC2 through the official AWS SDK.

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, Instance, InstanceMetadataOptionsRequest, InstanceType, ResourceType,
    Tag, TagSpecification,
};
use base64::Engine;
use domain::launch::{LaunchPlan, TAG_CLIENT_TOKEN};
use domain::ports::{Cloud, LaunchedInstance, PortError};
use domain::settings::AwsSettings;

pub struct Ec2Cloud {
    client: Client,
}

/// Error codes AWS documents as worth retrying.
const TRANSIENT_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "InsufficientInstanceCapacity",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
];

impl Ec2Cloud {
    pub async fn connect(settings: &AwsSettings) -> Ec2Cloud {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(settings.region.clone()));
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        Ec2Cloud {
            client: Client::new(&loader.load().await),
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
fn classify<E, R>(error: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or_default().to_owned();
            if TRANSIENT_CODES.contains(&code.as_str()) {
                PortError::Transient(format!("{code}: {message}"))
            } else {
                PortError::Rejected { code, message }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient(DisplayErrorContext(&error).to_string())
        }
        _ => PortError::Rejected {
            code: "ClientError".to_owned(),
            message: DisplayErrorContext(&error).to_string(),
        },
    }
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

impl Ec2Cloud {
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
}
