//! IAM in the consortium's other accounts: STS AssumeRole into the account's configured role
//! (`CWS_ACCOUNTS`), then IAM with those credentials. Credentials are kept until five minutes
//! before they expire, so a burst of grants assumes each role once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::error::ProvideErrorMetadata;
use domain::account::Account;
use domain::ports::{AccountPolicies, PortError};

use crate::adapters::aws::classify;

/// Credentials closer than this to their expiry are renewed first.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

pub struct Iam {
    config: SdkConfig,
    sts: aws_sdk_sts::Client,
    credentials: Mutex<HashMap<String, (Credentials, SystemTime)>>,
}

impl Iam {
    pub fn new(config: &SdkConfig) -> Iam {
        Iam {
            config: config.clone(),
            sts: aws_sdk_sts::Client::new(config),
            credentials: Mutex::default(),
        }
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

#[async_trait]
impl AccountPolicies for Iam {
    async fn create_policy(
        &self,
        account: &Account,
        name: &str,
        document: &str,
    ) -> Result<Option<String>, PortError> {
        let Some(role_arn) = &account.role_arn else {
            return Ok(None);
        };
        let config = aws_sdk_iam::config::Builder::from(&self.config)
            .credentials_provider(self.credentials(role_arn).await?)
            .build();
        let made = aws_sdk_iam::Client::from_conf(config)
            .create_policy()
            .policy_name(name)
            .policy_document(document)
            .description("cws chat-ops: mount a shared EFS volume through its access point")
            .send()
            .await;
        match made {
            Ok(output) => Ok(output.policy().and_then(|p| p.arn()).map(str::to_owned)),
            // Made by an earlier run of the same grant: same name, same account.
            Err(error) if error.code() == Some("EntityAlreadyExists") => {
                Ok(Some(format!("arn:aws:iam::{}:policy/{name}", account.id)))
            }
            Err(error) => Err(classify(error)),
        }
    }
}
