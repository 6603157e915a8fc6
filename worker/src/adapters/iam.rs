//! IAM in the consortium's other accounts: STS AssumeRole into the account's configured role
//! (`CWS_ACCOUNTS`, through [`AssumedRoles`]), then IAM with those credentials.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use domain::account::Account;
use domain::ports::{AccountPolicies, PortError};

use crate::adapters::assume_role::AssumedRoles;
use crate::adapters::aws::classify;

pub struct Iam {
    roles: Arc<AssumedRoles>,
}

impl Iam {
    pub fn new(roles: Arc<AssumedRoles>) -> Iam {
        Iam { roles }
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
        let config = self.roles.config_for(role_arn).await?;
        let made = aws_sdk_iam::Client::new(&config)
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
