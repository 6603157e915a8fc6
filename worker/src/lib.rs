//! Workers: they own state and side effects. Each job kind has a handler in `jobs`; each
//! external system is reached through an adapter in `adapters`.

pub mod adapters;
pub mod doctor;
mod jobs;
pub mod keys;
pub mod metrics;
pub mod state;

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use apalis::layers::WorkerBuilderExt;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_cron::CronScheduler;
use apalis_redis::{ConnectionManager, RedisStorage};
use domain::exception::DEFAULT_EXCEPTION_TTL;
use domain::job::{ActionJob, CommandJob, JobKind, LaunchJob, VerificationCallbackJob};
use domain::ports::{
    AccountClouds, AccountPolicies, Billing, Chat, Clock, Cloud, FileSystems, FinishedJobs,
    IdentityProvider, Mailer, ObjectStore, Records, WorkspaceStore,
};
use domain::settings::Settings;
use domain::template::Platform;

use crate::adapters::SystemClock;
use crate::adapters::assume_role::AssumedRoles;
use crate::adapters::aws::sdk_config;
use crate::adapters::cloudwatch::NoMetrics;
use crate::adapters::cost_explorer::{CostExplorer, NoBilling};
use crate::adapters::discord::DiscordRest;
use crate::adapters::ec2::Ec2AccountClouds;
use crate::adapters::efs::Efs;
use crate::adapters::folder_store::{ARCHIVE_FOLDER, FolderStore};
use crate::adapters::globus::GlobusAuth;
use crate::adapters::iam::Iam;
use crate::adapters::mail::{LettreMailer, MAIL_FOLDER, MailSetupError};
use crate::adapters::memory_records::MemoryRecords;
use crate::adapters::memory_store::MemoryStore;
use crate::adapters::platform_chat::PlatformChat;
use crate::adapters::redis_records::RedisRecords;
use crate::adapters::redis_store::RedisStore;
use crate::adapters::s3::S3Store;
use crate::adapters::simulated_cloud::{OneCloud, SimulatedCloud};
use crate::adapters::simulated_efs::{
    NoAccountPolicies, SimulatedFileSystems, SimulatedInstanceCommands,
};
use crate::adapters::slack::SlackWebApi;
use crate::adapters::terminal_chat::TerminalChat;
pub use crate::jobs::CommandEnv;
pub use crate::jobs::launch::LaunchEnv;
use crate::jobs::ops_channel::OpsChannel;
use crate::metrics::{WorkerMetrics, WorkerProbe};
use crate::state::State;

/// Where the worker takes its jobs from.
pub enum Queues {
    Redis(ConnectionManager),
    /// The embedded mode: the queues in memory, and the records the bot in the same process
    /// reads too (pending sign-ins).
    Memory(queue::MemoryStorages, Arc<dyn Records>),
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("worker stopped: {0}")]
    Run(String),
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    #[error("CWS_SCHEDULE: {0}")]
    Schedule(String),
    #[error("identity verification: {0}")]
    Globus(String),
    #[error("CWS_WORKER_LISTEN: binding {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// What AWS gives the workers, or the embedded stand-ins.
struct AwsPorts {
    cloud: Arc<dyn Cloud>,
    account_clouds: Arc<dyn AccountClouds>,
    file_systems: Arc<dyn FileSystems>,
    account_policies: Arc<dyn AccountPolicies>,
    objects: Arc<dyn ObjectStore>,
    billing: Arc<dyn Billing>,
}

/// Every job's environment, built from settings: real adapters where configured, the embedded
/// stand-ins elsewhere.
pub async fn command_env(
    settings: &Settings,
    redis: Option<ConnectionManager>,
) -> Result<CommandEnv, WorkerError> {
    let memory: Arc<dyn Records> = Arc::new(MemoryRecords::default());
    env_over(settings, redis, memory).await
}

/// [`command_env`] whose state, without Redis, is `memory`.
async fn env_over(
    settings: &Settings,
    redis: Option<ConnectionManager>,
    memory: Arc<dyn Records>,
) -> Result<CommandEnv, WorkerError> {
    let aws = match &settings.aws {
        Some(aws) => {
            let config = sdk_config(aws).await;
            let roles = Arc::new(AssumedRoles::new(&config, aws.external_id.clone()));
            let account_clouds = Ec2AccountClouds::new(&config, roles.clone(), aws.network.clone());
            AwsPorts {
                cloud: account_clouds
                    .cloud_in(Platform::Ec2, None, &aws.region)
                    .await
                    .expect("the lead account's cloud needs no call to make"),
                account_clouds: Arc::new(account_clouds),
                file_systems: Arc::new(Efs::new(&config)),
                account_policies: Arc::new(Iam::new(roles)),
                objects: Arc::new(S3Store::new(
                    &config,
                    settings.archive_bucket.as_deref(),
                    aws.endpoint_url.is_some(),
                )),
                billing: Arc::new(CostExplorer::new(&config)),
            }
        }
        None => {
            let cloud: Arc<dyn Cloud> = Arc::new(SimulatedCloud::default());
            AwsPorts {
                account_clouds: Arc::new(OneCloud {
                    cloud: cloud.clone(),
                    commands: Arc::new(SimulatedInstanceCommands),
                    metrics: Arc::new(NoMetrics),
                }),
                cloud,
                file_systems: Arc::new(SimulatedFileSystems::default()),
                account_policies: Arc::new(NoAccountPolicies),
                objects: Arc::new(FolderStore::new(ARCHIVE_FOLDER.into())),
                billing: Arc::new(NoBilling),
            }
        }
    };
    let cloud = aws.cloud;
    let mailer: Arc<dyn Mailer> = Arc::new(match &settings.smtp_url {
        Some(url) => LettreMailer::smtp(url, settings.mail_from.as_deref())?,
        None => LettreMailer::folder(MAIL_FOLDER.into(), settings.mail_from.as_deref())?,
    });
    let slack: Arc<dyn Chat> = match settings.slack_web_api() {
        Some((slack, token)) => Arc::new(SlackWebApi::new(slack, token)),
        None => Arc::new(TerminalChat),
    };
    let discord = settings
        .discord
        .as_ref()
        .and_then(DiscordRest::new)
        .map(|rest| Arc::new(rest) as Arc<dyn Chat>);
    let chat: Arc<dyn Chat> = Arc::new(PlatformChat::new(slack, discord));
    // The embedded mode's memory queues keep no dead letters to replay.
    let ops_channel = Arc::new(OpsChannel::new(
        chat.clone(),
        settings.ops_channel.as_deref(),
        redis.is_some(),
    ));
    let (store, records, finished_jobs): (
        Arc<dyn WorkspaceStore>,
        Arc<dyn Records>,
        Arc<dyn FinishedJobs>,
    ) = match redis {
        Some(connection) => (
            Arc::new(RedisStore::new(connection.clone(), settings.job_retention)),
            Arc::new(RedisRecords::new(connection.clone())),
            Arc::new(queue::RedisFinishedJobs::new(connection)),
        ),
        None => (
            Arc::new(MemoryStore::default()),
            memory,
            Arc::new(queue::NothingRetained),
        ),
    };
    let identity_provider: Option<Arc<dyn IdentityProvider>> = match &settings.globus {
        Some(globus) => Some(Arc::new(
            GlobusAuth::new(globus.clone(), &settings.public_url).map_err(WorkerError::Globus)?,
        )),
        None => None,
    };
    let state = State::new(records, settings.token_key.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::shifted(settings.clock_offset));
    let backoff = settings.worker.backoff;
    let launch = Arc::new(LaunchEnv {
        cloud,
        account_clouds: aws.account_clouds,
        accounts: settings.accounts.clone(),
        chat: chat.clone(),
        store,
        state: state.clone(),
        clock: clock.clone(),
        default_region: settings.default_region.clone(),
        backoff,
        exception_ttl: time::Duration::try_from(settings.exception_ttl)
            .unwrap_or(DEFAULT_EXCEPTION_TTL),
        mailer,
        metrics: Arc::new(WorkerMetrics::default()),
        offerings: settings.offerings.clone(),
        template_publishers: settings.template_publishers.clone(),
        template_signer: settings.template_signer.clone(),
        file_systems: aws.file_systems.clone(),
    });
    Ok(CommandEnv {
        chat,
        state,
        clock,
        default_account: settings.default_account.clone(),
        backoff,
        launch,
        objects: aws.objects,
        billing: aws.billing,
        digest_at: settings.digest_at,
        check_every: settings
            .schedule
            .as_deref()
            .and_then(check_interval)
            .unwrap_or(time::Duration::MINUTE),
        accounts: settings.accounts.clone(),
        file_systems: aws.file_systems,
        account_policies: aws.account_policies,
        identity_provider,
        deployment: settings.deployment.clone(),
        institution: settings.institution.clone(),
        public_url: settings.public_url.clone(),
        ops_channel,
        finished_jobs,
        retention: settings.job_retention,
    })
}

/// The time between a schedule's next two ticks.
fn check_interval(expression: &str) -> Option<time::Duration> {
    let schedule = cron::Schedule::from_str(expression).ok()?;
    let mut upcoming = schedule.upcoming(chrono::Utc);
    let (first, second) = (upcoming.next()?, upcoming.next()?);
    time::Duration::try_from((second - first).to_std().ok()?).ok()
}

/// One round of the reconcile job (workspaces changed outside chat), as the schedule runs
/// it: for operators and benchmarks. Returns how many workspaces had changed.
pub async fn reconcile_round(env: &CommandEnv) -> Result<usize, domain::ports::PortError> {
    jobs::reconcile::reconcile_once(env).await
}

/// One round of the per-project checks: budget enforcement, alerts, weekly digests and
/// month-end statements (each still sent once only), and idle detection.
pub async fn checks_round(env: &CommandEnv) {
    jobs::schedule::run_due(env).await
}

/// A scheduled round an operator can run once, now (`run-once ROUND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Budget enforcement, alerts, digests, statements, idle detection, the expiry sweep and
    /// the retention sweep: everything a tick does.
    Checks,
    Reconcile,
    Idle,
    ExpirySweep,
    /// Forgets finished jobs older than `CWS_JOB_RETENTION_DAYS`.
    Retention,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown round `{0}`: run-once takes checks (everything a scheduler tick does), reconcile, \
     idle, expiry-sweep or retention"
)]
pub struct UnknownRound(String);

impl FromStr for Round {
    type Err = UnknownRound;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "checks" => Ok(Round::Checks),
            "reconcile" => Ok(Round::Reconcile),
            "idle" => Ok(Round::Idle),
            "expiry-sweep" => Ok(Round::ExpirySweep),
            "retention" => Ok(Round::Retention),
            other => Err(UnknownRound(other.to_owned())),
        }
    }
}

/// Runs one round now, under the same once-only rules as the schedule; returns what it did,
/// in a line for the operator.
pub async fn run_once(env: &CommandEnv, round: Round) -> Result<String, domain::ports::PortError> {
    Ok(match round {
        Round::Checks => {
            checks_round(env).await;
            "checks: done".to_owned()
        }
        Round::Reconcile => format!(
            "reconcile: {} workspace(s) changed outside chat",
            reconcile_round(env).await?
        ),
        Round::Idle => {
            idle_round(env).await?;
            "idle: done".to_owned()
        }
        Round::ExpirySweep => format!(
            "expiry sweep: {} invitation(s) had a stage due",
            jobs::expiry::sweep(env).await?
        ),
        Round::Retention => format!(
            "retention: {} finished job(s) forgotten",
            jobs::retention::sweep(env).await?
        ),
    })
}

/// One round of idle detection over every project with an idle policy.
pub async fn idle_round(env: &CommandEnv) -> Result<(), domain::ports::PortError> {
    let projects = env.state.projects().await?;
    jobs::idle::check(env, &projects).await
}

/// A name no other worker process shares: apalis tracks in-flight jobs and heartbeats by it.
fn worker_name(kind: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("cws-{kind}-{host}-{}-{}", std::process::id(), &unique[..8])
}

/// One apalis worker per queue, all sharing the environment, until asked to stop. A macro
/// rather than a generic function because it serves both the Redis and the memory storages,
/// and apalis' bounds for "any storage a worker can consume" run to a page.
macro_rules! consume {
    ($env:expr, $dead_letters:expr, $concurrency:expr, $schedule:expr, $launch:expr,
     $command:expr, $action:expr, $verification:expr) => {{
        let env: Arc<CommandEnv> = $env;
        let dead_letters: Arc<OpsChannel> = $dead_letters;
        let schedule: Option<cron::Schedule> = $schedule;
        let tick_env = env.clone();
        let ticks = async move {
            match schedule {
                Some(schedule) => {
                    WorkerBuilder::new(worker_name("schedule"))
                        .backend(CronScheduler::new(schedule))
                        .data(tick_env)
                        .build(jobs::schedule::job_tick)
                        .run_until(ops::stop_requested())
                        .await
                }
                None => Ok(()),
            }
        };
        let launches = WorkerBuilder::new(worker_name(LaunchJob::NAME))
            .backend($launch)
            .concurrency($concurrency)
            .data(env.launch.clone())
            .data(dead_letters.clone())
            .build(jobs::launch::job_launch)
            .run_until(ops::stop_requested());
        let commands = WorkerBuilder::new(worker_name(CommandJob::NAME))
            .backend($command)
            .concurrency($concurrency)
            .data(env.clone())
            .data(dead_letters.clone())
            .build(jobs::command::job_command)
            .run_until(ops::stop_requested());
        let actions = WorkerBuilder::new(worker_name(ActionJob::NAME))
            .backend($action)
            .concurrency($concurrency)
            .data(env.clone())
            .data(dead_letters.clone())
            .build(jobs::action::job_action)
            .run_until(ops::stop_requested());
        let verifications = WorkerBuilder::new(worker_name(VerificationCallbackJob::NAME))
            .backend($verification)
            .concurrency($concurrency)
            .data(env)
            .data(dead_letters)
            .build(jobs::verification::job_verification_callback)
            .run_until(ops::stop_requested());
        tokio::try_join!(ticks, launches, commands, actions, verifications)
            .map(drop)
            .map_err(|e| WorkerError::Run(e.to_string()))
    }};
}

/// Serves `/healthz`, `/readyz` and `/metrics` where `CWS_WORKER_LISTEN` says, if it says.
async fn spawn_probes(
    settings: &Settings,
    probe: WorkerProbe,
) -> Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>, WorkerError> {
    let Some(listen) = settings.worker_listen else {
        tracing::info!("CWS_WORKER_LISTEN is not set: no health, readiness or metrics endpoint");
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| WorkerError::Listen(listen, error))?;
    tracing::info!("worker health, readiness and metrics on http://{listen}");
    let app = ops::router(Arc::new(probe));
    Ok(Some(tokio::spawn(async move {
        axum::serve(listener, app).await
    })))
}

/// Consumes every queue until the process is asked to stop.
pub async fn run(settings: &Settings, queues: Queues) -> Result<(), WorkerError> {
    let concurrency = settings.worker.concurrency;
    let schedule = settings
        .schedule
        .as_deref()
        .map(cron::Schedule::from_str)
        .transpose()
        .map_err(|e| WorkerError::Schedule(e.to_string()))?;
    match queues {
        Queues::Redis(connection) => {
            let env = Arc::new(command_env(settings, Some(connection.clone())).await?);
            let probes = spawn_probes(
                settings,
                WorkerProbe {
                    metrics: env.launch.metrics.clone(),
                    redis: Some(connection.clone()),
                },
            )
            .await?;
            let storage = |config: apalis_redis::Config| {
                config
                    .heartbeat_interval(settings.worker.heartbeat)
                    .missed_heartbeats(settings.worker.missed_heartbeats)
                    .batch_size(concurrency)
                    .clock_offset(settings.clock_offset)
            };
            let launch = RedisStorage::<LaunchJob>::new(connection.clone())
                .with_config(storage(queue::redis_config::<LaunchJob>()));
            let command = RedisStorage::<CommandJob>::new(connection.clone())
                .with_config(storage(queue::redis_config::<CommandJob>()));
            let action = RedisStorage::<ActionJob>::new(connection.clone())
                .with_config(storage(queue::redis_config::<ActionJob>()));
            let verification = RedisStorage::<VerificationCallbackJob>::new(connection)
                .with_config(storage(queue::redis_config::<VerificationCallbackJob>()));
            let reconciler = tokio::spawn(jobs::reconcile::reconcile_every(
                env.clone(),
                settings.reconcile_every,
            ));
            let dead_letters = env.ops_channel.clone();
            let consumed = consume!(
                env,
                dead_letters,
                concurrency,
                schedule,
                launch,
                command,
                action,
                verification
            );
            reconciler.abort();
            if let Some(probes) = probes {
                probes.abort();
            }
            consumed
        }
        Queues::Memory(storages, records) => {
            let env = Arc::new(env_over(settings, None, records).await?);
            let probes = spawn_probes(
                settings,
                WorkerProbe {
                    metrics: env.launch.metrics.clone(),
                    redis: None,
                },
            )
            .await?;
            let reconciler = tokio::spawn(jobs::reconcile::reconcile_every(
                env.clone(),
                settings.reconcile_every,
            ));
            let dead_letters = env.ops_channel.clone();
            let consumed = consume!(
                env,
                dead_letters,
                concurrency,
                schedule,
                storages.launch,
                storages.command,
                storages.action,
                storages.verification
            );
            reconciler.abort();
            if let Some(probes) = probes {
                probes.abort();
            }
            consumed
        }
    }
}
