//! The bot's metrics: requests by route and outcome, and how long the platform waited for
//! its answer (Slack gives up after three seconds).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use domain::ports::JobQueue;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::Instrument;

/// What became of a signed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A job was queued for a worker.
    Accepted,
    /// Answered at once with nothing queued: help, a ping, a click that needs no work.
    Answered,
    BadSignature,
    /// The command text, or the request itself, did not parse.
    ParseError,
    /// The queue did not take the job in time: the person was asked to try again.
    Busy,
    /// The platform is not configured here.
    NotConfigured,
}

impl Outcome {
    const ALL: [Outcome; 6] = [
        Outcome::Accepted,
        Outcome::Answered,
        Outcome::BadSignature,
        Outcome::ParseError,
        Outcome::Busy,
        Outcome::NotConfigured,
    ];

    /// Marks `response` with what became of the request, for [`track`].
    pub(crate) fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Answered => "answered",
            Outcome::BadSignature => "bad_signature",
            Outcome::ParseError => "parse_error",
            Outcome::Busy => "busy",
            Outcome::NotConfigured => "not_configured",
        }
    }

    /// What a response that no handler marked says by its status.
    fn of_status(status: StatusCode) -> Outcome {
        match status {
            StatusCode::UNAUTHORIZED => Outcome::BadSignature,
            StatusCode::BAD_REQUEST => Outcome::ParseError,
            StatusCode::SERVICE_UNAVAILABLE => Outcome::Busy,
            StatusCode::NOT_FOUND => Outcome::NotConfigured,
            _ => Outcome::Answered,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

/// From 5 ms to Slack's 3 s deadline and past it.
const ACK_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// One signed route's series, looked up once when the bot starts: a request then counts
/// without hashing labels or allocating them.
struct RouteSeries {
    route: &'static str,
    ack_seconds: Histogram,
    requests: [Counter; Outcome::ALL.len()],
}

pub(crate) struct BotMetrics {
    registry: Registry,
    routes: Vec<RouteSeries>,
}

impl BotMetrics {
    /// The metrics of `routes`, every series present (at zero) from the start.
    pub(crate) fn new(routes: &[&'static str]) -> BotMetrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let ack_seconds = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(ACK_BUCKETS.iter().copied())
        });
        let mut registry = Registry::with_prefix("cws_bot");
        registry.register(
            "requests",
            "Signed platform requests by route and outcome",
            requests.clone(),
        );
        registry.register(
            "ack_seconds",
            "Time from a signed request's arrival to the bot's answer",
            ack_seconds.clone(),
        );
        let routes = routes
            .iter()
            .map(|&route| RouteSeries {
                route,
                ack_seconds: ack_seconds.get_or_create(&RouteLabel { route }).clone(),
                requests: Outcome::ALL.map(|outcome| {
                    requests
                        .get_or_create(&RequestLabels {
                            route,
                            outcome: outcome.label(),
                        })
                        .clone()
                }),
            })
            .collect();
        BotMetrics { registry, routes }
    }
}

/// Counts and times every request to the signed routes.
pub(crate) async fn track(
    State(metrics): State<Arc<BotMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let path = request.uri().path();
    let Some(series) = metrics.routes.iter().find(|series| series.route == path) else {
        return next.run(request).await;
    };
    // One span per request: every line logged while answering it names the route and, once
    // known, the job key the person is given as the reference.
    let span = tracing::info_span!("request", route = series.route, key = tracing::field::Empty);
    let response = next.run(request).instrument(span.clone()).await;
    let outcome = response
        .extensions()
        .get::<Outcome>()
        .copied()
        .unwrap_or_else(|| Outcome::of_status(response.status()));
    span.in_scope(|| tracing::debug!(outcome = outcome.label(), "answered"));
    series.ack_seconds.observe(started.elapsed().as_secs_f64());
    series.requests[outcome as usize].inc();
    response
}

/// The bot's probes: ready when its queue answers.
pub(crate) struct BotProbe {
    pub(crate) queue: Arc<dyn JobQueue>,
    pub(crate) metrics: Arc<BotMetrics>,
}

#[async_trait]
impl ops::Probe for BotProbe {
    async fn ready(&self) -> Result<(), String> {
        self.queue.ready().await.map_err(|error| error.to_string())
    }

    async fn metrics(&self) -> String {
        ops::encode(&self.metrics.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn each_outcome_counts_in_its_own_series() {
        for (index, outcome) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome as usize, index, "{outcome:?}");
        }
    }
}
