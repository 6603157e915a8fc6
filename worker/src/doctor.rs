//! `cws doctor`: every requirement of the configured deployment, checked against the real
//! services (Redis, Slack, Discord, AWS in each account and region, SMTP), read-only: nothing
//! is created, so it can run against production at any time.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use domain::doctor::{COST_TAGS, Check, SLACK_SCOPES, missing_slack_scopes};
use domain::ports::PortError;
use domain::settings::{AwsSettings, Settings};
use domain::template::{Catalog, ImageSource, Platform};

use crate::adapters::assume_role::AssumedRoles;
use crate::adapters::aws::{classify, sdk_config};
use crate::adapters::ec2::Ec2AccountClouds;
use crate::adapters::redis_records::RedisRecords;
use crate::jobs::templates::offered;
use crate::state::State;

/// How long any one check may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// Every check, in the order an operator would fix them.
pub async fn checks(settings: &Settings) -> Vec<Check> {
    let mut checks = vec![redis(settings).await];
    checks.push(slack(settings).await);
    checks.push(discord(settings).await);
    match &settings.aws {
        Some(aws) => checks.extend(aws_checks(settings, aws).await),
        None => checks.push(Check::not_configured(
            "AWS",
            "AWS_REGION is not set: workspaces run in the simulated cloud",
        )),
    }
    checks.push(smtp(settings).await);
    checks
}

async fn redis(settings: &Settings) -> Check {
    let Some(url) = &settings.redis_url else {
        return Check::not_configured("Redis", "REDIS_URL is not set: state lives in memory");
    };
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(PATIENCE, ping).await {
        Ok(Ok(_)) => Check::met("Redis", "answers PING"),
        Ok(Err(error)) => Check::unmet(
            "Redis",
            format!("does not answer: {error}"),
            "start Redis or correct REDIS_URL (rediss:// for TLS, user:password@ for ACL users)",
        ),
        Err(_) => Check::unmet(
            "Redis",
            "no answer within 10 s",
            "check REDIS_URL and the network path to Redis",
        ),
    }
}

async fn slack(settings: &Settings) -> Check {
    const WHAT: &str = "Slack bot token";
    let Some(slack) = &settings.slack else {
        return Check::not_configured("Slack", "SLACK_SIGNING_SECRET is not set");
    };
    let Some(token) = &slack.bot_token else {
        return Check::unmet(
            WHAT,
            "SLACK_BOT_TOKEN is not set: workers cannot post",
            "set SLACK_BOT_TOKEN to the app's xoxb- token (OAuth & Permissions)",
        );
    };
    let answer = reqwest::Client::new()
        .post(format!("{}auth.test", slack.api_url))
        .bearer_auth(token)
        .timeout(PATIENCE)
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            return Check::unmet(
                WHAT,
                format!("auth.test failed: {error}"),
                "check SLACK_API_URL and the network path to Slack",
            );
        }
    };
    let scopes = response
        .headers()
        .get("x-oauth-scopes")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if body["ok"].as_bool() != Some(true) {
        return Check::unmet(
            WHAT,
            format!(
                "auth.test refused it: {}",
                body["error"].as_str().unwrap_or("no answer")
            ),
            "reinstall the app and copy its Bot User OAuth Token into SLACK_BOT_TOKEN",
        );
    }
    let missing = missing_slack_scopes(&scopes);
    if missing.is_empty() {
        return Check::met(
            WHAT,
            format!(
                "valid for team {}, with every scope needed",
                body["team"].as_str().unwrap_or("?")
            ),
        );
    }
    let needs: Vec<String> = SLACK_SCOPES
        .iter()
        .filter(|(scope, _)| missing.contains(scope))
        .map(|(scope, why)| format!("{scope} ({why})"))
        .collect();
    Check::unmet(
        WHAT,
        format!("missing scopes: {}", needs.join(", ")),
        "add them under OAuth & Permissions (or in the app manifest) and reinstall the app",
    )
}

async fn discord(settings: &Settings) -> Check {
    const WHAT: &str = "Discord application";
    let Some(discord) = &settings.discord else {
        return Check::not_configured("Discord", "DISCORD_PUBLIC_KEY is not set");
    };
    let (Some(token), Some(application_id)) = (&discord.bot_token, discord.application_id) else {
        return Check::unmet(
            WHAT,
            "DISCORD_BOT_TOKEN or DISCORD_APPLICATION_ID is not set: workers cannot answer",
            "copy both from the Discord developer portal (Bot, General Information)",
        );
    };
    let answer = reqwest::Client::new()
        .get(format!("{}/applications/@me", discord.api_url))
        .header("Authorization", format!("Bot {token}"))
        .timeout(PATIENCE)
        .send()
        .await;
    let body: serde_json::Value = match answer {
        Ok(response) if response.status().is_success() => response.json().await.unwrap_or_default(),
        Ok(response) => {
            return Check::unmet(
                WHAT,
                format!("Discord refused the bot token (HTTP {})", response.status()),
                "reset the bot token in the developer portal and set DISCORD_BOT_TOKEN",
            );
        }
        Err(error) => {
            return Check::unmet(
                WHAT,
                format!("no answer: {error}"),
                "check DISCORD_API_URL and the network path to Discord",
            );
        }
    };
    let id = body["id"].as_str().unwrap_or_default();
    if id == application_id.to_string() {
        Check::met(WHAT, format!("the bot token belongs to application {id}"))
    } else {
        Check::unmet(
            WHAT,
            format!("the bot token belongs to application {id}, not {application_id}"),
            "set DISCORD_APPLICATION_ID to the token's application",
        )
    }
}

async fn aws_checks(settings: &Settings, aws: &AwsSettings) -> Vec<Check> {
    let config = sdk_config(aws).await;
    let mut checks = Vec::new();
    let account_id = match aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => {
            let id = identity.account().unwrap_or_default().to_owned();
            checks.push(Check::met(
                "AWS credentials",
                format!("acting as {}", identity.arn().unwrap_or(&id)),
            ));
            id
        }
        Err(error) => {
            checks.push(Check::unmet(
                "AWS credentials",
                format!("GetCallerIdentity failed: {}", classify(error)),
                "give the worker the cws-worker role (deploy/lead-account.yml) or credentials",
            ));
            return checks;
        }
    };
    let roles = Arc::new(AssumedRoles::new(&config, aws.external_id.clone()));
    let clouds = Ec2AccountClouds::new(&config, roles, aws.network.clone());

    let catalog = offered_catalog(settings).await;
    let offers = |platform: Platform| catalog.templates().iter().any(|t| t.platform == platform);
    // Only a deployment offering Canvas needs a Canvas policy, and only one offering SageMaker
    // a way to it from the operator's subnets.
    let offered = Offered {
        sagemaker: offers(Platform::SagemakerStudio) || offers(Platform::SagemakerCanvas),
        canvas: offers(Platform::SagemakerCanvas),
    };
    checks.extend(placement(&clouds, None, &account_id, &aws.region, offered).await);
    for account in settings.accounts.iter() {
        let Some(role) = &account.role_arn else {
            continue;
        };
        match clouds.ec2_in(Some(account), &aws.region).await {
            Ok(_) => {
                checks.push(Check::met(
                    format!("role in {} ({})", account.name, account.id),
                    format!("{role} can be assumed"),
                ));
                checks.extend(
                    placement(&clouds, Some(account), &account.id, &aws.region, offered).await,
                );
            }
            Err(error) => checks.push(Check::unmet(
                format!("role in {} ({})", account.name, account.id),
                format!("{role} cannot be assumed: {error}"),
                "deploy deploy/collaborator-account.yml there, trusting this account, with \
                 the external id in CWS_ROLE_EXTERNAL_ID",
            )),
        }
    }
    checks.extend(images(&catalog, &clouds).await);
    checks.push(archive_bucket(settings, aws, &config, &account_id).await);
    checks.push(cost_tags(&config).await);
    checks
}

/// Which managed platforms the deployment's templates offer.
#[derive(Debug, Clone, Copy)]
struct Offered {
    /// SageMaker Studio or Canvas.
    sagemaker: bool,
    canvas: bool,
}

/// The workstation policy and a subnet in one account, in the default region; where SageMaker
/// is offered, a way to it from the operator's subnets, and where Canvas is, the Canvas policy.
async fn placement(
    clouds: &Ec2AccountClouds,
    account: Option<&domain::account::Account>,
    account_id: &str,
    region: &str,
    offered: Offered,
) -> Vec<Check> {
    let cloud = match clouds.ec2_in(account, region).await {
        Ok(cloud) => cloud,
        Err(error) => {
            return vec![Check::unmet(
                format!("EC2 in {account_id}"),
                error.to_string(),
                "check the role's permissions (deploy/)",
            )];
        }
    };
    let profile = match cloud.workstation_policy().await {
        Ok(arn) => Check::met(
            format!("workstation policy in {account_id}"),
            format!("{arn} exists; each project's workspaces get their own profile under it"),
        ),
        Err(error) => Check::unmet(
            format!("workstation policy in {account_id}"),
            setup_problem(error),
            "deploy the deploy/ stack for this account and set CWS_WORKSTATION_POLICY to its \
             WorkstationPolicyName output",
        ),
    };
    let subnets = match cloud.subnets().await {
        Ok(subnets) => Check::met(
            format!("subnets in {account_id} {region}"),
            format!(
                "{} usable: {}",
                subnets.len(),
                subnets
                    .iter()
                    .map(|(subnet, vpc)| format!("{subnet} ({vpc})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(error) => Check::unmet(
            format!("subnets in {account_id} {region}"),
            setup_problem(error),
            "list subnets in CWS_SUBNETS or keep the account's default VPC",
        ),
    };
    let mut checks = vec![profile, subnets];
    if offered.sagemaker {
        let what = format!("SageMaker from the subnets in {account_id} {region}");
        match cloud.studio_subnets_without_sagemaker(region).await {
            Ok(None) => {}
            Ok(Some(cut_off)) if cut_off.is_empty() => checks.push(Check::met(
                what,
                "Studio and Canvas apps (VpcOnly there) reach SageMaker's API and runtime",
            )),
            Ok(Some(cut_off)) => {
                let [api, runtime] = domain::studio::sagemaker_endpoints(region);
                checks.push(Check::unmet(
                    what,
                    format!(
                        "Studio and Canvas apps in {} (VpcOnly: no public address) reach \
                         neither SageMaker's endpoints nor a way out of the VPC, so they \
                         would never start",
                        cut_off.join(", ")
                    ),
                    format!(
                        "route 0.0.0.0/0 from those subnets through a NAT gateway (or your \
                         transit gateway), or add the interface endpoints {api} and {runtime} \
                         to the VPC"
                    ),
                ));
            }
            Err(error) => checks.push(Check::unmet(
                what,
                setup_problem(error),
                "give the workers ec2:DescribeRouteTables and ec2:DescribeVpcEndpoints \
                 (deploy/ stacks)",
            )),
        }
    }
    if offered.canvas {
        checks.push(match cloud.canvas_policy().await {
            Ok(arn) => Check::met(
                format!("Canvas policy in {account_id}"),
                format!("{arn} exists; each project's Canvas runs as its own role under it"),
            ),
            Err(error) => Check::unmet(
                format!("Canvas policy in {account_id}"),
                setup_problem(error),
                "write the managed policy saying what SageMaker Canvas may do there (docs/aws.md) \
                 and set CWS_CANVAS_POLICY to its name, or stop offering the SageMaker Canvas \
                 template",
            ),
        });
    }
    checks
}

/// The templates the workers offer: those read at start and, where Redis answers, the
/// published ones whose signatures hold (the Redis check reports one that does not).
async fn offered_catalog(settings: &Settings) -> Arc<Catalog> {
    let published = async {
        let url = settings.redis_url.as_ref()?;
        let client = redis::Client::open(url.as_str()).ok()?;
        let connection = tokio::time::timeout(PATIENCE, client.get_connection_manager())
            .await
            .ok()?
            .ok()?;
        let records = Arc::new(RedisRecords::new(connection));
        let state = State::new(records, settings.token_key.clone());
        tokio::time::timeout(PATIENCE, state.published_templates())
            .await
            .ok()?
            .ok()
    };
    offered(
        &settings.offerings,
        &settings.template_publishers,
        published.await.unwrap_or_default(),
    )
}

/// Each template's image parameter, in each region the template is offered.
async fn images(catalog: &Catalog, clouds: &Ec2AccountClouds) -> Vec<Check> {
    let mut checks = Vec::new();
    // A managed platform's templates bring no image of their own to resolve.
    for template in catalog.templates().iter().filter(|t| t.image.is_some()) {
        let mut unresolved = Vec::new();
        for region in template.offered_regions() {
            let Some(image) = template.image_in(region) else {
                continue;
            };
            let resolved = match clouds.ec2_in(None, region).await {
                Ok(cloud) => cloud.image_id(&image).await,
                Err(error) => Err(error),
            };
            if let Err(error) = resolved {
                unresolved.push(format!("{region}: {}", setup_problem(error)));
            }
        }
        let what = format!("image of {}", template.name);
        let source = match template.image_in(template.offered_regions()[0]) {
            Some(ImageSource::Parameter(name)) => name,
            Some(ImageSource::Pinned(ami)) => ami,
            Some(ImageSource::Managed) | None => String::new(),
        };
        checks.push(if unresolved.is_empty() {
            Check::met(
                what,
                format!(
                    "{source} resolves in {}",
                    template.offered_regions().join(", ")
                ),
            )
        } else {
            Check::unmet(
                what,
                unresolved.join("; "),
                "pin an image for that region in the template (image.pinned) or stop offering it",
            )
        });
    }
    checks
}

async fn archive_bucket(
    settings: &Settings,
    aws: &AwsSettings,
    config: &aws_config::SdkConfig,
    account_id: &str,
) -> Check {
    let name = settings
        .archive_bucket
        .clone()
        .unwrap_or_else(|| format!("cws-archive-{account_id}-{}", aws.region));
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(aws.endpoint_url.is_some())
            .build(),
    );
    match s3
        .head_bucket()
        .bucket(&name)
        .expected_bucket_owner(account_id)
        .send()
        .await
    {
        Ok(_) => Check::met("archive bucket", format!("{name} is this account's")),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Check::met(
            "archive bucket",
            format!("{name} does not exist yet; the first archive creates it in this account"),
        ),
        Err(error) => Check::unmet(
            "archive bucket",
            format!(
                "{name} is not this account's or cannot be read ({})",
                error.code().unwrap_or("no answer")
            ),
            "deploy deploy/lead-account.yml and set CWS_ARCHIVE_BUCKET to its ArchiveBucketName",
        ),
    }
}

async fn cost_tags(config: &aws_config::SdkConfig) -> Check {
    const WHAT: &str = "Cost Explorer tags";
    let listed = aws_sdk_costexplorer::Client::new(config)
        .list_cost_allocation_tags()
        .set_tag_keys(Some(COST_TAGS.iter().map(|t| (*t).to_owned()).collect()))
        .send()
        .await;
    match listed {
        Ok(listed) => {
            let inactive: Vec<&str> = COST_TAGS
                .iter()
                .copied()
                .filter(|tag| {
                    !listed.cost_allocation_tags().iter().any(|t| {
                        t.tag_key() == *tag
                            && *t.status()
                                == aws_sdk_costexplorer::types::CostAllocationTagStatus::Active
                    })
                })
                .collect();
            if inactive.is_empty() {
                Check::met(WHAT, format!("{} are active", COST_TAGS.join(", ")))
            } else {
                Check::unmet(
                    WHAT,
                    format!("not active: {}", inactive.join(", ")),
                    "activate them in Billing → Cost allocation tags (they appear once a tagged \
                     workspace has run); until then the ledger cannot be reconciled",
                )
            }
        }
        Err(error) => Check::unmet(
            WHAT,
            format!("cannot be listed: {}", classify(error)),
            "allow ce:ListCostAllocationTags to the worker role",
        ),
    }
}

async fn smtp(settings: &Settings) -> Check {
    let Some(url) = &settings.smtp_url else {
        return Check::not_configured("SMTP", "SMTP_URL is not set: mail goes to ./cws-mail/");
    };
    let transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor> =
        match lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url) {
            Ok(builder) => builder.timeout(Some(PATIENCE)).build(),
            Err(error) => {
                return Check::unmet(
                    "SMTP",
                    format!("SMTP_URL does not parse: {error}"),
                    "write it as smtp://host:port or smtps://user:password@host",
                );
            }
        };
    match transport.test_connection().await {
        Ok(true) => Check::met("SMTP", "the server answers"),
        Ok(false) | Err(_) => Check::unmet(
            "SMTP",
            "the server does not answer",
            "check SMTP_URL and that the server accepts connections from the workers",
        ),
    }
}

/// What a setup error says, without its code when it is the deployment's own.
fn setup_problem(error: PortError) -> String {
    match error {
        PortError::Rejected { message, .. } => message,
        other => other.to_string(),
    }
}
