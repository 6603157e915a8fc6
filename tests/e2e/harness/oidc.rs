//! A local OpenID Connect provider standing in for Globus Auth: a discovery document, a JWKS
//! holding an Ed25519 key generated for the test, an authorize endpoint that signs the person
//! in at once and redirects with a code, a token endpoint that checks the client secret and the
//! PKCE verifier and issues a signed ID token, and a user info endpoint with Globus' claims.
//! Sarah Lee signs in, and a test can make the provider misbehave ([`TokenFault`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::core::{
    CoreEdDsaPrivateSigningKey, CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, EndUserUsername, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "cws-e2e-client";
pub const CLIENT_SECRET: &str = "cws-e2e-client-secret-do-not-log";

/// Someone with an institutional login at the provider.
#[derive(Debug, Clone)]
pub struct Login {
    pub subject: &'static str,
    pub username: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub organization: &'static str,
}

pub const SARAH_AT_BERKELEY: Login = Login {
    subject: "b1f5c2d4-0000-4000-8000-berkeley0001",
    username: "sarah.lee@berkeley.edu",
    name: "Sarah Lee",
    email: "slee@berkeley.edu",
    organization: "University of California, Berkeley",
};

/// How the provider's next token goes wrong, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFault {
    /// Minted for another client.
    WrongAudience,
    /// Expired an hour ago.
    Expired,
    /// Signed with a key that is not in the JWKS (under the published key's id).
    ForeignKey,
}

struct Issued {
    login: Login,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Provider {
    issuer: String,
    key: CoreEdDsaPrivateSigningKey,
    /// Same key id, different key: what a forger would sign with.
    foreign_key: CoreEdDsaPrivateSigningKey,
    cancel: Mutex<bool>,
    fault: Mutex<Option<TokenFault>>,
    codes: Mutex<HashMap<String, Issued>>,
    /// Access token → who it was issued to.
    access: Mutex<HashMap<String, Login>>,
    tokens_issued: Mutex<Vec<String>>,
    /// How many browsers came to the authorization endpoint.
    authorizations: std::sync::atomic::AtomicUsize,
}

pub struct FakeOidc {
    state: Arc<Provider>,
}

/// An Ed25519 key made for this test, as the PKCS#8 PEM the signing key reads: RFC 8410's
/// fixed DER prefix followed by the 32-byte seed.
fn generated_key(kid: &str) -> CoreEdDsaPrivateSigningKey {
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&uuid::Uuid::new_v4().into_bytes());
    der.extend_from_slice(&uuid::Uuid::new_v4().into_bytes());
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(JsonWebKeyId::new(kid.to_owned())))
        .expect("a PKCS#8 Ed25519 key")
}

const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl FakeOidc {
    pub async fn start() -> FakeOidc {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Provider {
            issuer,
            key: generated_key("e2e-key"),
            foreign_key: generated_key("e2e-key"),
            cancel: Mutex::new(false),
            fault: Mutex::new(None),
            codes: Mutex::default(),
            access: Mutex::default(),
            tokens_issued: Mutex::default(),
            authorizations: Default::default(),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeOidc { state }
    }

    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    /// The worker settings that point verification at this provider, with the bot's URL.
    pub fn worker_env(&self, public_url: &str) -> Vec<(String, String)> {
        vec![
            ("GLOBUS_ISSUER_URL".into(), self.issuer()),
            ("GLOBUS_CLIENT_ID".into(), CLIENT_ID.into()),
            ("GLOBUS_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("CWS_PUBLIC_URL".into(), public_url.into()),
        ]
    }

    /// The next sign-in is cancelled by the person.
    pub fn cancel_next(&self) {
        *self.state.cancel.lock().unwrap() = true;
    }

    pub fn fault_next(&self, fault: TokenFault) {
        *self.state.fault.lock().unwrap() = Some(fault);
    }

    /// How many times a browser opened the authorization endpoint.
    pub fn authorizations(&self) -> usize {
        self.state
            .authorizations
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every access and ID token issued so far: tests check none leaked.
    pub fn tokens_issued(&self) -> Vec<String> {
        self.state.tokens_issued.lock().unwrap().clone()
    }
}

async fn discovery(State(state): State<Arc<Provider>>) -> Json<Value> {
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(state): State<Arc<Provider>>) -> Json<CoreJsonWebKeySet> {
    Json(CoreJsonWebKeySet::new(vec![
        state.key.as_verification_key(),
    ]))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
}

async fn authorize(
    State(state): State<Arc<Provider>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    state
        .authorizations
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if query.response_type != "code"
        || query.client_id != CLIENT_ID
        || query.code_challenge_method != "S256"
    {
        return (StatusCode::BAD_REQUEST, "unsupported authorization request").into_response();
    }
    let separator = if query.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    if std::mem::take(&mut *state.cancel.lock().unwrap()) {
        let back = format!(
            "{}{separator}error=access_denied&error_description=The+user+declined&state={}",
            query.redirect_uri, query.state
        );
        return Redirect::to(&back).into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    state.codes.lock().unwrap().insert(
        code.clone(),
        Issued {
            login: SARAH_AT_BERKELEY,
            nonce: query.nonce,
            challenge: query.code_challenge,
            redirect_uri: query.redirect_uri.clone(),
        },
    );
    let back = format!(
        "{}{separator}code={code}&state={}",
        query.redirect_uri, query.state
    );
    Redirect::to(&back).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

async fn token(
    State(state): State<Arc<Provider>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let Some(issued) = state.codes.lock().unwrap().remove(&form.code) else {
        return token_error("invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(form.code_verifier.as_bytes()));
    if form.grant_type != "authorization_code"
        || form.redirect_uri != issued.redirect_uri
        || challenge != issued.challenge
    {
        return token_error("invalid_grant");
    }
    let fault = state.fault.lock().unwrap().take();
    let now = chrono::Utc::now();
    let (issued_at, expires) = match fault {
        Some(TokenFault::Expired) => (
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        ),
        _ => (now, now + chrono::Duration::minutes(5)),
    };
    let audience = match fault {
        Some(TokenFault::WrongAudience) => "someone-elses-client",
        _ => CLIENT_ID,
    };
    let login = &issued.login;
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(state.issuer.clone()).unwrap(),
        vec![Audience::new(audience.to_owned())],
        expires,
        issued_at,
        StandardClaims::new(SubjectIdentifier::new(login.subject.to_owned()))
            .set_preferred_username(Some(EndUserUsername::new(login.username.to_owned())))
            .set_email(Some(EndUserEmail::new(login.email.to_owned()))),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(issued.nonce)));
    let key = match fault {
        Some(TokenFault::ForeignKey) => &state.foreign_key,
        _ => &state.key,
    };
    let id_token = CoreIdToken::new(claims, key, CoreJwsSigningAlgorithm::EdDsa, None, None)
        .expect("the ID token signs");
    let id_token = serde_json::to_value(&id_token).unwrap();
    let access_token = format!("e2e-access-{}", uuid::Uuid::new_v4().simple());
    state
        .access
        .lock()
        .unwrap()
        .insert(access_token.clone(), login.clone());
    state
        .tokens_issued
        .lock()
        .unwrap()
        .extend([access_token.clone(), id_token.as_str().unwrap().to_owned()]);
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 172800,
        "scope": "openid profile email",
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(state): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(login) = state.access.lock().unwrap().get(bearer).cloned() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    Json(json!({
        "sub": login.subject,
        "preferred_username": login.username,
        "name": login.name,
        "email": login.email,
        "organization": login.organization,
        "identity_provider_display_name": login.organization,
        "identity_set": [
            {
                "sub": login.subject,
                "username": login.username,
                "organization": login.organization,
            },
            {
                "sub": "0000-0002-1825-0097-orcid",
                "username": "0000-0002-1825-0097@orcid.org",
                "organization": null,
            },
        ],
    }))
    .into_response()
}
