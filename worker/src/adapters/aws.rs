//! What every AWS adapter shares: one SDK configuration (region, endpoint, the standard
//! credential chain) and one reading of SDK errors as transient or not.

use aws_config::SdkConfig;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
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
    loader.load().await
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
