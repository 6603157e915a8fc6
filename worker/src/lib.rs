//! Workers: they own state and side effects. Each job kind has a handler in `jobs`; each
//! external system is reached through an adapter in `adapters`.

pub mod adapters;
mod jobs;

use std::sync::Arc;

use apalis::layers::WorkerBuilderExt;
use apalis_core::backend::memory::MemoryStorage;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_redis::{ConnectionManager, RedisStorage};
use domain::job::{JobKind, LaunchJob};
use domain::ports::{Chat, Cloud, WorkspaceStore};
use domain::settings::Settings;

use crate::adapters::SystemClock;
use crate::adapters::ec2::Ec2Cloud;
use crate::adapters::memory_store::MemoryStore;
use crate::adapters::redis_store::RedisStore;
use crate::adapters::simulated_cloud::SimulatedCloud;
use crate::adapters::slack::SlackWebApi;
use crate::adapters::terminal_chat::TerminalChat;
pub use crate::jobs::launch::LaunchEnv;

/// Where the worker takes its jobs from.
pub enum Queues {
    Redis(ConnectionManager),
    Memory(queue::MemoryStorages),
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("worker stopped: {0}")]
    Run(String),
}

/// Builds the launch job's environment from settings: real adapters where configured, the
/// embedded stand-ins elsewhere.
pub async fn launch_env(settings: &Settings, redis: Option<ConnectionManager>) -> LaunchEnv {
    let cloud: Arc<dyn Cloud> = match &settings.aws {
        Some(aws) => Arc::new(Ec2Cloud::connect(aws).await),
        None => Arc::new(SimulatedCloud::default()),
    };
    let chat: Arc<dyn Chat> = match settings.slack_web_api() {
        Some((api_url, token)) => Arc::new(SlackWebApi::new(api_url, token)),
        None => Arc::new(TerminalChat),
    };
    let store: Arc<dyn WorkspaceStore> = match redis {
        Some(connection) => Arc::new(RedisStore::new(connection)),
        None => Arc::new(MemoryStore::default()),
    };
    LaunchEnv {
        cloud,
        chat,
        store,
        clock: Arc::new(SystemClock),
        default_region: settings.default_region.clone(),
        backoff: settings.worker.backoff,
    }
}

/// A name no other worker process shares: apalis tracks in-flight jobs and heartbeats by it.
fn worker_name(kind: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("cws-{kind}-{host}-{}-{}", std::process::id(), &unique[..8])
}

/// Resolves when the process is asked to stop (SIGTERM or ctrl-c): the worker then takes no
/// new jobs and lets the ones in flight finish. A worker killed outright is covered by the
/// orphan re-enqueue instead.
pub async fn stop_requested() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// Consumes every queue until the process is asked to stop.
pub async fn run(settings: &Settings, queues: Queues) -> Result<(), WorkerError> {
    let concurrency = settings.worker.concurrency;
    match queues {
        Queues::Redis(connection) => {
            let env = Arc::new(launch_env(settings, Some(connection.clone())).await);
            let config = queue::redis_config::<LaunchJob>()
                .heartbeat_interval(settings.worker.heartbeat)
                .missed_heartbeats(settings.worker.missed_heartbeats)
                .batch_size(concurrency);
            let storage = RedisStorage::<LaunchJob>::new(connection).with_config(config);
            WorkerBuilder::new(worker_name(LaunchJob::NAME))
                .backend(storage)
                .concurrency(concurrency)
                .data(env)
                .build(jobs::launch::job_launch)
                .run_until(stop_requested())
                .await
                .map_err(|e| WorkerError::Run(e.to_string()))
        }
        Queues::Memory(storages) => {
            let env = Arc::new(launch_env(settings, None).await);
            run_memory(storages.launch, env, concurrency).await
        }
    }
}

async fn run_memory(
    storage: MemoryStorage<LaunchJob>,
    env: Arc<LaunchEnv>,
    concurrency: usize,
) -> Result<(), WorkerError> {
    WorkerBuilder::new(worker_name(LaunchJob::NAME))
        .backend(storage)
        .concurrency(concurrency)
        .data(env)
        .build(jobs::launch::job_launch)
        .run_until(stop_requested())
        .await
        .map_err(|e| WorkerError::Run(e.to_string()))
}
