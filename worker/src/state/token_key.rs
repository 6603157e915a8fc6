//! The key that signs invitation tokens and button values: `cws:token-key` → the generated key,
//! when `CWS_TOKEN_KEY` is not set.

use domain::ports::PortError;
use domain::token::TokenKey;

use super::{State, random_bytes};

impl State {
    /// The key that signs tokens: configured, or generated once and shared by every worker.
    pub async fn token_key(&self) -> Result<TokenKey, PortError> {
        self.key
            .get_or_try_init(|| async {
                let text = match &self.configured_key {
                    Some(configured) => configured.clone(),
                    None => {
                        let fresh = hex::encode(random_bytes::<32>());
                        self.text_or_write("cws:token-key", &fresh).await?
                    }
                };
                TokenKey::new(text.into_bytes()).map_err(|e| PortError::Rejected {
                    code: "BadTokenKey".to_owned(),
                    message: format!("CWS_TOKEN_KEY: {e}"),
                })
            })
            .await
            .cloned()
    }
}
