//! What every AWS adapter shares: one SDK configuration (region, endpoint, the standard
//! credential chain) and one reading of SDK errors as transient or not.

use aws_config::SdkConfig;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use domain::ports::PortError;
use domain::settings::AwsSettings;

use crate::metrics::{CallOutcome, called};

/// Error codes by which AWS asks callers to slow down: retried, like the transient ones.
const THROTTLING_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "SlowDown",
];

/// Other error codes AWS documents as worth retrying.
const TRANSIENT_CODES: &[&str] = &[
    "InsufficientInstanceCapacity",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "LimitExceededException",
];

pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.region.clone()));
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader
        .http_client(SharedHttpClient::new(Counted(default_https_client())))
        .load()
        .await
}

/// What the SDK builds when given no client (aws-smithy-runtime's `default_https_client`):
/// hyper with rustls on aws-lc, the connector settings and sleep of each client, proxies
/// from the environment.
fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK's HTTP client, counting each call AWS answered with success in
/// `cws_worker_calls_total{service="aws",outcome="ok"}`; [`classify`] counts the failures. Every
/// client made from the configuration (and from the roles assumed with it) shares it.
#[derive(Debug)]
struct Counted(SharedHttpClient);

impl HttpClient for Counted {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountedConnector(
            self.0.http_connector(settings, components),
        ))
    }
}

#[derive(Debug)]
struct CountedConnector(SharedHttpConnector);

impl HttpConnector for CountedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let answered = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let response = answered.await?;
            if response.status().is_success() {
                called("aws", CallOutcome::Ok);
            }
            Ok(response)
        })
    }
}

/// Throttling, timeouts and unreachable endpoints are retried; what AWS refused is explained
/// with its own code. Each is counted in the worker's `cws_worker_calls_total{service="aws"}`.
pub(crate) fn classify<E, R>(error: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (outcome, error) = match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or_default().to_owned();
            if THROTTLING_CODES.contains(&code.as_str()) {
                (
                    CallOutcome::RateLimited,
                    PortError::Transient(format!("{code}: {message}")),
                )
            } else if TRANSIENT_CODES.contains(&code.as_str()) {
                (
                    CallOutcome::Transient,
                    PortError::Transient(format!("{code}: {message}")),
                )
            } else {
                (CallOutcome::Refused, PortError::Rejected { code, message })
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
            CallOutcome::Transient,
            PortError::Transient(DisplayErrorContext(&error).to_string()),
        ),
        _ => (
            CallOutcome::Refused,
            PortError::Rejected {
                code: "ClientError".to_owned(),
                message: DisplayErrorContext(&error).to_string(),
            },
        ),
    };
    called("aws", outcome);
    error
}
