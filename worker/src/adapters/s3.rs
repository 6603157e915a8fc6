//! S3 as the object store: chargeback statements and archives go to `CWS_ARCHIVE_BUCKET`
//! (created on first use), and people get presigned links instead of bucket access.
//!
//! Bucket names are global, so a name can belong to a stranger. The bucket must be the
//! worker's own account's: its default name carries the account id and region
//! (`cws-archive-123456789012-us-east-1`), creating a bucket another account holds is an error
//! that says so, and every read and write passes the account as the expected bucket owner, so
//! S3 refuses it should the bucket change hands.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
};
use domain::ports::{ObjectStore, PortError};
use domain::preserve::{DOWNLOAD_RETENTION_DAYS, DOWNLOADS_PREFIX};
use tokio::sync::OnceCell;

use crate::adapters::aws::classify;

pub struct S3Store {
    client: Client,
    sts: aws_sdk_sts::Client,
    /// `CWS_ARCHIVE_BUCKET`; `None` for the account's default bucket.
    configured: Option<String>,
    region: String,
    bucket: OnceCell<Bucket>,
}

/// The bucket in use, checked to be the worker's account's.
struct Bucket {
    name: String,
    owner: String,
}

impl S3Store {
    /// `path_style` for endpoints that are not AWS (a local moto has no per-bucket host names).
    pub fn new(config: &SdkConfig, bucket: Option<&str>, path_style: bool) -> S3Store {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        S3Store {
            client: Client::from_conf(s3),
            sts: aws_sdk_sts::Client::new(config),
            configured: bucket.map(str::to_owned),
            region: config
                .region()
                .map_or_else(|| "us-east-1".to_owned(), ToString::to_string),
            bucket: OnceCell::new(),
        }
    }

    /// The worker's account (STS `GetCallerIdentity`, once), and the bucket, created on first
    /// use unless it is already the account's.
    async fn bucket(&self) -> Result<&Bucket, PortError> {
        self.bucket
            .get_or_try_init(|| async {
                let identity = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(classify)?;
                let owner = identity
                    .account()
                    .ok_or_else(|| PortError::Rejected {
                        code: "GetCallerIdentity".to_owned(),
                        message: "STS named no account for the worker's credentials".to_owned(),
                    })?
                    .to_owned();
                let name = match &self.configured {
                    Some(name) => name.clone(),
                    None => format!("cws-archive-{owner}-{}", self.region),
                };
                self.create(&name, &owner).await?;
                Ok(Bucket { name, owner })
            })
            .await
    }

    async fn create(&self, name: &str, owner: &str) -> Result<(), PortError> {
        let mut create = self.client.create_bucket().bucket(name);
        // us-east-1 is the one region that must not be named as a constraint.
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => self.expire_downloads(name, owner).await,
            Err(error) if error.code() == Some("BucketAlreadyOwnedByYou") => {
                self.expire_downloads(name, owner).await
            }
            Err(error) if error.code() == Some("BucketAlreadyExists") => Err(PortError::Rejected {
                code: "BucketAlreadyExists".to_owned(),
                message: format!(
                    "the archive bucket {name} belongs to another AWS account, not to this \
                         worker's account {owner}: set CWS_ARCHIVE_BUCKET to a bucket of account \
                         {owner}, or leave it unset for cws-archive-{owner}-{}",
                    self.region
                ),
            }),
            Err(error) => Err(classify(error)),
        }
    }
}

impl S3Store {
    /// The lifecycle of the bucket the worker made (`deploy/lead-account.yml` sets the same on
    /// the stack's): downloads' archives are deleted after [`DOWNLOAD_RETENTION_DAYS`], and
    /// uploads left incomplete after a week. A configured bucket is the operator's and keeps
    /// its own rules.
    async fn expire_downloads(&self, name: &str, owner: &str) -> Result<(), PortError> {
        if self.configured.is_some() {
            return Ok(());
        }
        let rules = [
            LifecycleRule::builder()
                .id("abort-incomplete-uploads")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(7)
                        .build(),
                )
                .build(),
            LifecycleRule::builder()
                .id("expire-downloads")
                .status(ExpirationStatus::Enabled)
                .filter(
                    LifecycleRuleFilter::builder()
                        .prefix(DOWNLOADS_PREFIX)
                        .build(),
                )
                .expiration(
                    LifecycleExpiration::builder()
                        .days(DOWNLOAD_RETENTION_DAYS)
                        .build(),
                )
                .build(),
        ];
        let mut configuration = BucketLifecycleConfiguration::builder();
        for rule in rules {
            configuration = configuration.rules(rule.map_err(|e| PortError::Rejected {
                code: "LifecycleRule".to_owned(),
                message: e.to_string(),
            })?);
        }
        let configuration = configuration.build().map_err(|e| PortError::Rejected {
            code: "LifecycleConfiguration".to_owned(),
            message: e.to_string(),
        })?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(name)
            .expected_bucket_owner(owner)
            .lifecycle_configuration(configuration)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        valid_for: Duration,
    ) -> Result<String, PortError> {
        let bucket = self.bucket().await?;
        self.client
            .put_object()
            .bucket(&bucket.name)
            .expected_bucket_owner(&bucket.owner)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(classify)?;
        self.get_link(&bucket.name, key, valid_for).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        let bucket = self.bucket().await?;
        let object = match self
            .client
            .get_object()
            .bucket(&bucket.name)
            .expected_bucket_owner(&bucket.owner)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(error) if matches!(error.code(), Some("NoSuchKey" | "NoSuchBucket")) => {
                return Ok(None);
            }
            Err(error) => return Err(classify(error)),
        };
        let bytes = object.body.collect().await.map_err(|e| {
            PortError::Transient(format!("reading s3://{}/{key}: {e}", bucket.name))
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn upload_link(&self, key: &str, valid_for: Duration) -> Result<String, PortError> {
        let bucket = self.bucket().await?;
        // No expected owner on the link either: curl on the workstation sends no such header.
        let link = self
            .client
            .put_object()
            .bucket(&bucket.name)
            .key(key)
            .presigned(presigning(valid_for)?)
            .await
            .map_err(classify)?;
        Ok(link.uri().to_owned())
    }

    async fn download_link(
        &self,
        key: &str,
        valid_for: Duration,
    ) -> Result<Option<(u64, String)>, PortError> {
        let bucket = self.bucket().await?;
        let head = match self
            .client
            .head_object()
            .bucket(&bucket.name)
            .expected_bucket_owner(&bucket.owner)
            .key(key)
            .send()
            .await
        {
            Ok(head) => head,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {
                return Ok(None);
            }
            Err(error) => return Err(classify(error)),
        };
        let size = u64::try_from(head.content_length().unwrap_or_default()).unwrap_or_default();
        let link = self.get_link(&bucket.name, key, valid_for).await?;
        Ok(Some((size, link)))
    }
}

impl S3Store {
    /// No expected owner on the link: the browser that opens it sends no such header.
    async fn get_link(
        &self,
        bucket: &str,
        key: &str,
        valid_for: Duration,
    ) -> Result<String, PortError> {
        let link = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(presigning(valid_for)?)
            .await
            .map_err(classify)?;
        Ok(link.uri().to_owned())
    }
}

fn presigning(valid_for: Duration) -> Result<PresigningConfig, PortError> {
    PresigningConfig::expires_in(valid_for).map_err(|e| PortError::Rejected {
        code: "PresigningConfig".to_owned(),
        message: e.to_string(),
    })
}
