//! Acting in the consortium's other accounts: STS AssumeRole into an account's configured role
//! (`CWS_ACCOUNTS`), giving an SDK configuration whose clients act in that account. Credentials
//! are kept until five minutes before they expire and renewed by one caller at a time, so any
//! burst of calls, in any number of regions, assumes each role once per credential lifetime;
//! every adapter that works across accounts (IAM, EC2) shares one of these.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_credential_types::provider::{
    ProvideCredentials, error::CredentialsError, future::ProvideCredentials as CredentialsFuture,
};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use domain::ports::PortError;

use crate::adapters::aws::classify;

/// Credentials closer than this to their expiry are renewed first.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

pub struct AssumedRoles {
    config: SdkConfig,
    sts: aws_sdk_sts::Client,
    /// Sent with every AssumeRole: the shipped collaborator stack's trust policy requires it.
    external_id: Option<String>,
    credentials: Mutex<HashMap<String, (Credentials, SystemTime)>>,
    /// One lock per role, held while its credentials are renewed, so concurrent callers wait
    /// for one AssumeRole instead of each making their own.
    renewing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AssumedRoles {
    pub fn new(config: &SdkConfig, external_id: Option<String>) -> AssumedRoles {
        AssumedRoles {
            config: config.clone(),
            sts: aws_sdk_sts::Client::new(config),
            external_id,
            credentials: Mutex::default(),
            renewing: Mutex::default(),
        }
    }

    /// The lead's configuration (region, endpoint) acting as the role. Its credentials come
    /// from here on every request, so a client built on it may be kept for good: it never
    /// outlives its credentials. The role is assumed now, so a role that cannot be assumed is
    /// refused here with STS's own reason.
    pub async fn config_for(self: &Arc<Self>, role_arn: &str) -> Result<SdkConfig, PortError> {
        self.credentials(role_arn).await?;
        let provider = RoleCredentials {
            roles: self.clone(),
            role_arn: role_arn.to_owned(),
        };
        Ok(self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .identity_cache(IdentityCache::no_cache())
            .build())
    }

    fn cached(&self, role_arn: &str) -> Option<Credentials> {
        let credentials = self.credentials.lock().expect("credentials lock");
        let (credentials, expires) = credentials.get(role_arn)?;
        (SystemTime::now() + RENEW_BEFORE < *expires).then(|| credentials.clone())
    }

    async fn credentials(&self, role_arn: &str) -> Result<Credentials, PortError> {
        if let Some(credentials) = self.cached(role_arn) {
            return Ok(credentials);
        }
        let lock = self
            .renewing
            .lock()
            .expect("renewing lock")
            .entry(role_arn.to_owned())
            .or_default()
            .clone();
        let _renewing = lock.lock().await;
        // Whoever held the lock before may have renewed them already.
        if let Some(credentials) = self.cached(role_arn) {
            return Ok(credentials);
        }
        let assumed = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("cws-worker")
            .set_external_id(self.external_id.clone())
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

/// One role's credentials, from the shared cache, for the SDK.
#[derive(Clone)]
struct RoleCredentials {
    roles: Arc<AssumedRoles>,
    role_arn: String,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> CredentialsFuture<'a>
    where
        Self: 'a,
    {
        CredentialsFuture::new(async move {
            self.roles
                .credentials(&self.role_arn)
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}
