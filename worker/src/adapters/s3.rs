//! S3 as the object store: chargeback statements and archives go to `CWS_ARCHIVE_BUCKET`
//! (created on first use), and people get presigned links instead of bucket access.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use domain::ports::{ObjectStore, PortError};
use tokio::sync::OnceCell;

use crate::adapters::aws::classify;

pub struct S3Store {
    client: Client,
    bucket: String,
    region: String,
    bucket_ready: OnceCell<()>,
}

impl S3Store {
    /// `path_style` for endpoints that are not AWS (a local moto has no per-bucket host names).
    pub fn new(config: &SdkConfig, bucket: &str, path_style: bool) -> S3Store {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        S3Store {
            client: Client::from_conf(s3),
            bucket: bucket.to_owned(),
            region: config
                .region()
                .map_or_else(|| "us-east-1".to_owned(), ToString::to_string),
            bucket_ready: OnceCell::new(),
        }
    }

    async fn ensure_bucket(&self) -> Result<(), PortError> {
        self.bucket_ready
            .get_or_try_init(|| async {
                let mut create = self.client.create_bucket().bucket(&self.bucket);
                // us-east-1 is the one region that must not be named as a constraint.
                if self.region != "us-east-1" {
                    create = create.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(
                                self.region.as_str(),
                            ))
                            .build(),
                    );
                }
                match create.send().await {
                    Ok(_) => Ok(()),
                    Err(error)
                        if matches!(
                            error.code(),
                            Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                        ) =>
                    {
                        Ok(())
                    }
                    Err(error) => Err(classify(error)),
                }
            })
            .await
            .map(drop)
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
        self.ensure_bucket().await?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(classify)?;
        let presigning =
            PresigningConfig::expires_in(valid_for).map_err(|e| PortError::Rejected {
                code: "PresigningConfig".to_owned(),
                message: e.to_string(),
            })?;
        let link = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(classify)?;
        Ok(link.uri().to_owned())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
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
            PortError::Transient(format!("reading s3://{}/{key}: {e}", self.bucket))
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
