//! Acting in the consortium's other accounts: STS AssumeRole into an account's configured role
//! (`CWS_ACCOUNTS`), giving an SDK configuration whose clients act in that account. Credentials
//! are kept until five minutes before they expire, so a burst of calls assumes each role once;
//! every adapter that works across accounts (IAM, EC2) shares one of these.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use domain::ports::PortError;

use crate::adapters::aws::classify;

/// Credentials closer than this to their expiry are renewed first.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

pub struct AssumedRoles {
    config: SdkConfig,
    sts: aws_sdk_sts::Client,
    credentials: Mutex<HashMap<String, (Credentials, SystemTime)>>,
}

impl AssumedRoles {
    pub fn new(config: &SdkConfig) -> AssumedRoles {
        AssumedRoles {
            config: config.clone(),
            sts: aws_sdk_sts::Client::new(config),
            credentials: Mutex::default(),
        }
    }

    /// The lead's configuration (region, endpoint) with the role's credentials.
    pub async fn config_for(&self, role_arn: &str) -> Result<SdkConfig, PortError> {
        let credentials = self.credentials(role_arn).await?;
        Ok(self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build())
    }

    async fn credentials(&self, role_arn: &str) -> Result<Credentials, PortError> {
        if let Some((credentials, expires)) = self
            .credentials
            .lock()
            .expect("credentials lock")
            .get(role_arn)
            && SystemTime::now() + RENEW_BEFORE < *expires
        {
            return Ok(credentials.clone());
        }
        let assumed = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("cws-worker")
            .send()
            .await
            .map_err(classify)?;
        let given = assumed.credentials().ok_or_else(|| PortError::Rejected {
            code: "NoCredentials".to_owned(),
            message: format!("AssumeRole of {role_arn} returned no credentials"),
        })?;
        let expires = SystemTime::try_from(*given.expiration())
            .unwrap_or_else(|_| SystemTime::now() + RENEW_BEFORE);
        let credentials = Credentials::new(
            given.access_key_id(),
            given.secret_access_key(),
            Some(given.session_token().to_owned()),
            Some(expires),
            "cws-assume-role",
        );
        self.credentials
            .lock()
            .expect("credentials lock")
            .insert(role_arn.to_owned(), (credentials.clone(), expires));
        Ok(credentials)
    }
}
