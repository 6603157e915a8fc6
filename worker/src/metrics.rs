//! A worker's metrics and probes: jobs by kind and outcome, how long they ran, how often an
//! attempt was retried, the calls to Slack and AWS that failed or were rate limited, the
//! scheduler's rounds, and how many jobs wait or lie dead in each queue (read from Redis when
//! scraped).

use std::sync::Arc;
use std::time::Instant;

use apalis_core::error::{AbortError, BoxDynError};
use apalis_redis::ConnectionManager;
use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JobLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RoundLabel {
    round: &'static str,
}

/// How a call to a service outside ended, for `cws_worker_calls_total`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallOutcome {
    Ok,
    /// Asked to slow down (Slack's 429, AWS throttling): waited out or retried.
    RateLimited,
    /// Failed in a way that may clear (a timeout, a 5xx, a dropped connection): retried.
    Transient,
    /// Refused for good: the request was wrong, or not allowed.
    Refused,
}

impl CallOutcome {
    fn label(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::Transient => "transient",
            CallOutcome::Refused => "refused",
        }
    }
}

pub struct WorkerMetrics {
    registry: Registry,
    jobs: Family<JobLabels, Counter>,
    duration: Family<KindLabel, Histogram>,
    retries: Family<KindLabel, Counter>,
    depth: Family<QueueLabel, Gauge>,
    dead: Family<QueueLabel, Gauge>,
    calls: Family<CallLabels, Counter>,
    rounds: Family<RoundLabel, Counter>,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        let jobs = Family::<JobLabels, Counter>::default();
        // 50 ms to about 7 minutes: a command answers in well under a second, a launch waits
        // for EC2 and its retries.
        let duration = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.0, 14))
        });
        let retries = Family::<KindLabel, Counter>::default();
        let depth = Family::<QueueLabel, Gauge>::default();
        let dead = Family::<QueueLabel, Gauge>::default();
        let calls = Family::<CallLabels, Counter>::default();
        let rounds = Family::<RoundLabel, Counter>::default();
        let mut registry = Registry::with_prefix("cws_worker");
        registry.register(
            "jobs",
            "Jobs run to their end by kind and outcome: ok, failed (to be delivered again) or dead (dead-lettered)",
            jobs.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "How long a job ran, retries included",
            duration.clone(),
        );
        registry.register(
            "job_retries",
            "Attempts retried after a transient failure",
            retries.clone(),
        );
        registry.register(
            "queue_depth",
            "Jobs waiting in the queue, due or scheduled for later",
            depth.clone(),
        );
        registry.register(
            "dead_letters",
            "Jobs dead-lettered and kept (refused for good or out of attempts)",
            dead.clone(),
        );
        registry.register(
            "calls",
            "Calls to Slack (every call) and AWS (those that did not succeed) by outcome: ok, rate_limited, transient or refused",
            calls.clone(),
        );
        registry.register(
            "scheduler_rounds",
            "Scheduled rounds this worker won and ran, by round",
            rounds.clone(),
        );
        WorkerMetrics {
            registry,
            jobs,
            duration,
            retries,
            depth,
            dead,
            calls,
            rounds,
        }
    }
}

/// How a job's error tells its outcome.
pub(crate) trait Failure {
    fn outcome(&self) -> &'static str;
}

/// apalis dead-letters an aborted job.
impl Failure for AbortError {
    fn outcome(&self) -> &'static str {
        "dead"
    }
}

/// apalis delivers a job that failed otherwise again.
impl Failure for BoxDynError {
    fn outcome(&self) -> &'static str {
        "failed"
    }
}

tokio::task_local! {
    /// The metrics and kind of the job this task runs, for the retries deep inside it.
    static RUNNING: (Arc<WorkerMetrics>, &'static str);
}

impl WorkerMetrics {
    /// Runs one job of `kind`, counting its outcome and timing it, inside a `job` span that
    /// carries its kind and key: every log line of the job (a retry, a rate limit, an AWS
    /// refusal) names the job it belongs to, as the bot's "Reference" does.
    pub(crate) async fn observe<E: Failure>(
        self: &Arc<Self>,
        kind: &'static str,
        key: &str,
        job: impl Future<Output = Result<(), E>>,
    ) -> Result<(), E> {
        let started = Instant::now();
        let span = tracing::info_span!("job", kind, key);
        let result = RUNNING
            .scope((self.clone(), kind), job)
            .instrument(span)
            .await;
        let outcome = match &result {
            Ok(()) => "ok",
            Err(error) => error.outcome(),
        };
        self.duration
            .get_or_create(&KindLabel { kind })
            .observe(started.elapsed().as_secs_f64());
        self.jobs.get_or_create(&JobLabels { kind, outcome }).inc();
        result
    }
}

impl WorkerMetrics {
    /// Counts a scheduled round (`tick`, `reconcile`) this worker won and ran.
    pub(crate) fn round_ran(&self, round: &'static str) {
        self.rounds.get_or_create(&RoundLabel { round }).inc();
    }
}

/// Counts a retry against the job this task runs (none outside [`WorkerMetrics::observe`]:
/// `run-once` and the reconciler keep no metrics).
pub(crate) fn retried() {
    let _ = RUNNING.try_with(|(metrics, kind)| {
        metrics.retries.get_or_create(&KindLabel { kind }).inc();
    });
}

/// Counts a call to `service` (`slack`, or the AWS service's name) made by the job this task
/// runs.
pub(crate) fn called(service: &'static str, outcome: CallOutcome) {
    let _ = RUNNING.try_with(|(metrics, _)| {
        metrics
            .calls
            .get_or_create(&CallLabels {
                service,
                outcome: outcome.label(),
            })
            .inc();
    });
}

/// A worker's probes: ready when its Redis answers (always, on the in-memory queues).
pub(crate) struct WorkerProbe {
    pub(crate) metrics: Arc<WorkerMetrics>,
    pub(crate) redis: Option<ConnectionManager>,
}

#[async_trait]
impl ops::Probe for WorkerProbe {
    async fn ready(&self) -> Result<(), String> {
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        let mut connection = redis.clone();
        redis::cmd("PING")
            .exec_async(&mut connection)
            .await
            .map_err(|error| format!("redis: {error}"))
    }

    async fn metrics(&self) -> String {
        if let Some(redis) = &self.redis {
            match queue::depths(redis).await {
                Ok(depths) => {
                    for depth in depths {
                        let queue = QueueLabel { queue: depth.queue };
                        self.metrics
                            .depth
                            .get_or_create(&queue)
                            .set(i64::try_from(depth.waiting).unwrap_or(i64::MAX));
                        self.metrics
                            .dead
                            .get_or_create(&queue)
                            .set(i64::try_from(depth.dead).unwrap_or(i64::MAX));
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the queues' depths"),
            }
        }
        ops::encode(&self.metrics.registry)
    }
}
