//! Globus Auth (or any OpenID Connect provider) through the `openidconnect` crate: discovery,
//! the authorization code flow with PKCE, and the ID token checks (signature against the
//! provider's JWKS, issuer, audience, expiry, nonce). Nothing here writes a token, code or
//! secret into an error: the errors become chat messages.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::ports::{AuthorizationRequest, IdentityProvider};
use domain::settings::GlobusSettings;
use domain::verified_identity::{
    CALLBACK_PATH, LinkedIdentity, VerificationFailure, VerifiedIdentity,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// How long the discovery document and JWKS are trusted before they are fetched again.
const METADATA_MAX_AGE: Duration = Duration::from_secs(3600);

/// Globus' scope for the identities a person linked to their account.
const VIEW_IDENTITY_SET: &str = "urn:globus:auth:scope:auth.globus.org:view_identity_set";

/// Asymmetric signatures only: a shared-secret (HS256) or unsigned token proves nothing about
/// who minted it. Globus Auth signs with RS256.
const ALLOWED_ALGORITHMS: [CoreJwsSigningAlgorithm; 3] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

pub struct GlobusAuth {
    settings: GlobusSettings,
    redirect_url: RedirectUrl,
    http: OidcHttp,
    /// The discovery document and keys, with when they were fetched.
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl GlobusAuth {
    pub fn new(settings: GlobusSettings, public_url: &str) -> Result<GlobusAuth, String> {
        let redirect = format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'));
        let redirect_url =
            RedirectUrl::new(redirect).map_err(|e| format!("CWS_PUBLIC_URL: {e}"))?;
        // The provider's answers are read as they come: a redirect could lead a token request
        // elsewhere.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(GlobusAuth {
            settings,
            redirect_url,
            http: OidcHttp(client),
            metadata: Mutex::new(None),
        })
    }

    /// The provider's metadata and keys, fetched again once an hour so that rotated signing
    /// keys are picked up.
    async fn metadata(&self) -> Result<CoreProviderMetadata, VerificationFailure> {
        let mut cached = self.metadata.lock().await;
        if let Some((fetched, metadata)) = &*cached
            && fetched.elapsed() < METADATA_MAX_AGE
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer_url.clone())
            .map_err(|e| VerificationFailure::Unreachable(format!("issuer URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                VerificationFailure::Unreachable(format!("discovery: {}", error_chain(&e)))
            })?;
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        VerificationFailure,
    > {
        let metadata = self.metadata().await?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url.clone()))
    }
}

/// What Globus adds to the standard claims in its user info.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GlobusClaims {
    organization: Option<String>,
    identity_provider_display_name: Option<String>,
    #[serde(default)]
    identity_set: Vec<GlobusLinkedIdentity>,
}

impl AdditionalClaims for GlobusClaims {}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GlobusLinkedIdentity {
    sub: String,
    username: String,
    organization: Option<String>,
}

#[async_trait]
impl IdentityProvider for GlobusAuth {
    async fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, VerificationFailure> {
        let client = self.client().await?;
        let verifier = PkceCodeVerifier::new(request.pkce_verifier.to_owned());
        let state = request.state.to_owned();
        let nonce = request.nonce.to_owned();
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scope(Scope::new("profile".to_owned()))
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new(VIEW_IDENTITY_SET.to_owned()))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .url();
        Ok(url.into())
    }

    async fn verify(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedIdentity, VerificationFailure> {
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| VerificationFailure::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(response) => {
                    VerificationFailure::CodeRejected(response.error().to_string())
                }
                other => VerificationFailure::Unreachable(error_chain(&other)),
            })?;
        let id_token = tokens.id_token().ok_or_else(|| {
            VerificationFailure::TokenRejected("the answer carried no ID token".to_owned())
        })?;
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ALLOWED_ALGORITHMS);
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|e| VerificationFailure::TokenRejected(error_chain(&e)))?;
        let info: UserInfoClaims<GlobusClaims, CoreGenderClaim> = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .map_err(|e| VerificationFailure::Unreachable(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| VerificationFailure::TokenRejected(error_chain(&e)))?;
        let username = info
            .preferred_username()
            .or(claims.preferred_username())
            .map(|name| name.to_string())
            .ok_or_else(|| {
                VerificationFailure::TokenRejected("no preferred_username claim".to_owned())
            })?;
        let extra = info.additional_claims();
        Ok(VerifiedIdentity {
            subject: claims.subject().to_string(),
            username,
            name: info
                .name()
                .or(claims.name())
                .and_then(|name| name.get(None))
                .map(|name| name.to_string()),
            email: info
                .email()
                .or(claims.email())
                .map(|email| email.to_string()),
            organization: extra.organization.clone(),
            identity_provider: extra.identity_provider_display_name.clone(),
            linked: extra
                .identity_set
                .iter()
                .filter(|linked| linked.sub != claims.subject().as_str())
                .map(|linked| LinkedIdentity {
                    subject: linked.sub.clone(),
                    username: linked.username.clone(),
                    organization: linked.organization.clone(),
                })
                .collect(),
            verified_at: now,
        })
    }
}

/// An error and its sources on one line: the crate's top-level messages alone ("Failed to
/// parse server response") hide which check failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The workspace's reqwest as the crate's HTTP client (its own reqwest feature pins another
/// major version).
struct OidcHttp(reqwest::Client);

#[derive(Debug, thiserror::Error)]
enum HttpFailure {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error(transparent)]
    Response(#[from] openidconnect::http::Error),
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.execute(reqwest::Request::try_from(request)?).await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            Ok(answer.body(response.bytes().await?.to_vec())?)
        })
    }
}
