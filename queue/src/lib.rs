//! The job queues: the push side (bots) and the storages workers consume. apalis-redis in
//! production, apalis' in-memory storage in the embedded mode. One named queue per job kind; the
//! job key is the queue's idempotency key,
//! so a request delivered twice becomes one job.

mod dead_letters;
mod pusher;
mod retention;
mod sign_in;

pub use dead_letters::{
    DeadJob, DeadLetter, DeadLetterError, dead_job, dead_letters, replay, replay_all,
};
pub use retention::{NothingRetained, RedisFinishedJobs};
pub use sign_in::{RecordsSignIns, RedisSignIns};

use std::sync::Arc;
use std::time::Duration;

use apalis_core::backend::TaskSink;
use apalis_core::backend::finalize::Durable;
use apalis_core::backend::memory::{MemorySink, MemoryStorage, MemoryStorageError};
use apalis_core::task::Task;
use apalis_core::task::builder::TaskBuilder;
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use async_trait::async_trait;
use domain::job::{ActionJob, CommandJob, Job, JobKind, LaunchJob, VerificationCallbackJob};
use domain::ports::{JobQueue, PortError};
use futures::lock::Mutex;
use futures::{SinkExt, StreamExt};
use redis::aio::ConnectionManagerConfig;

use crate::pusher::Pusher;

/// How long a job key is remembered: far longer than any platform retries a request. The
/// retention sweep forgets it with its job if that comes first.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The apalis-redis configuration of a job kind's queue, shared by producers and consumers.
///
/// Task leases are off: taking one runs `LREM` over the whole waiting list for every task, which
/// made draining a backlog ten times slower (bench/queue_drain.rs: 2,700 → 27,000 jobs/s) and
/// adds no safety here, because a fetched task sits in its worker's in-flight set until acked
/// and a dead worker's set is re-enqueued by the others' heartbeats. Pub/sub events are off:
/// nothing subscribes to them.
pub fn redis_config<J: JobKind>() -> Config {
    Config::default()
        .queue(J::QUEUE)
        .idempotency_ttl(Some(IDEMPOTENCY_TTL))
        .lock_tasks(false)
        .emit_events(false)
}

/// One job kind's queue as a scrape sees it.
pub struct QueueDepth {
    pub queue: &'static str,
    /// Due (apalis-redis' active list) or scheduled for later (its scheduled set, where
    /// retries wait too).
    pub waiting: u64,
    /// Dead-lettered: refused for good or out of attempts, kept for retention's span.
    pub dead: u64,
}

/// How many jobs wait, and how many lie dead, in each job kind's queue, by the kind's name.
pub async fn depths(connection: &ConnectionManager) -> Result<Vec<QueueDepth>, redis::RedisError> {
    let mut connection = connection.clone();
    let mut depths = Vec::new();
    for (name, queue) in domain::job::REGISTERED {
        let config = Config::default().queue(queue);
        let (due, later, dead): (u64, u64, u64) = redis::pipe()
            .llen(config.active_jobs_list())
            .zcard(config.scheduled_jobs_set())
            .scard(config.dead_jobs_set())
            .query_async(&mut connection)
            .await?;
        depths.push(QueueDepth {
            queue: name,
            waiting: due + later,
            dead,
        });
    }
    Ok(depths)
}

/// A connection to Redis made on first use and made again whenever it breaks, so that bots
/// and workers start, and keep running, while Redis is away. A call meanwhile fails within
/// about a second (one quick retry), and a later one reconnects; the redis crate's default of
/// six retries kept each call waiting longer than Slack waits for the bot's answer.
pub fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(Duration::from_secs(1)));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Jobs pushed to Redis, where any worker process can take them. Pushes of a kind that meet
/// go to Redis together ([`pusher`]).
#[derive(Clone)]
pub struct RedisJobQueue {
    /// For the readiness check.
    connection: ConnectionManager,
    launch: Arc<Pusher<LaunchJob>>,
    command: Arc<Pusher<CommandJob>>,
    action: Arc<Pusher<ActionJob>>,
    verification: Arc<Pusher<VerificationCallbackJob>>,
}

impl RedisJobQueue {
    pub fn new(connection: ConnectionManager) -> RedisJobQueue {
        fn pusher<J: JobKind>(connection: &ConnectionManager) -> Arc<Pusher<J>>
        where
            RedisStorage<J>: TaskSink<J, Durable>,
        {
            Arc::new(Pusher::new(
                RedisStorage::new(connection.clone()).with_config(redis_config::<J>()),
            ))
        }
        RedisJobQueue {
            connection: connection.clone(),
            launch: pusher(&connection),
            command: pusher(&connection),
            action: pusher(&connection),
            verification: pusher(&connection),
        }
    }
}

fn task<J: JobKind>(job: J) -> Task<J> {
    let key = job.key().as_str().to_owned();
    TaskBuilder::new(job).idempotency_key(key).build()
}

#[async_trait]
impl JobQueue for RedisJobQueue {
    async fn enqueue(&self, job: Job) -> Result<(), PortError> {
        match job {
            Job::Launch(job) => self.launch.push(task(job)).await,
            Job::Command(job) => self.command.push(task(job)).await,
            Job::Action(job) => self.action.push(task(job)).await,
            Job::VerificationCallback(job) => self.verification.push(task(job)).await,
        }
    }

    async fn ready(&self) -> Result<(), PortError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .exec_async(&mut connection)
            .await
            .map_err(|error| PortError::Transient(format!("redis: {error}")))
    }
}

/// Jobs handed to a worker in the same process.
pub struct MemoryJobQueue {
    // apalis' MemorySink panics when two pushes meet inside it (`try_lock().unwrap()`), so
    // pushes take turns here.
    launch: Mutex<MemorySink<LaunchJob>>,
    command: Mutex<MemorySink<CommandJob>>,
    action: Mutex<MemorySink<ActionJob>>,
    verification: Mutex<MemorySink<VerificationCallbackJob>>,
}

/// The consumer side of the in-memory queues, one storage per job kind.
pub struct MemoryStorages {
    pub launch: MemoryStorage<LaunchJob>,
    pub command: MemoryStorage<CommandJob>,
    pub action: MemoryStorage<ActionJob>,
    pub verification: MemoryStorage<VerificationCallbackJob>,
}

/// A connected producer and consumer for the embedded mode.
pub fn memory_queues() -> (Arc<MemoryJobQueue>, MemoryStorages) {
    let (launch_sink, launch) = memory_channel::<LaunchJob>();
    let (command_sink, command) = memory_channel::<CommandJob>();
    let (action_sink, action) = memory_channel::<ActionJob>();
    let (verification_sink, verification) = memory_channel::<VerificationCallbackJob>();
    (
        Arc::new(MemoryJobQueue {
            launch: Mutex::new(launch_sink),
            command: Mutex::new(command_sink),
            action: Mutex::new(action_sink),
            verification: Mutex::new(verification_sink),
        }),
        MemoryStorages {
            launch,
            command,
            action,
            verification,
        },
    )
}

fn sink_into<J: Send + 'static>(
    sender: futures::channel::mpsc::UnboundedSender<Task<J>>,
) -> MemorySink<J> {
    let sender = sender.sink_map_err(MemoryStorageError::SendError);
    MemorySink::new(Arc::new(Mutex::new(Box::new(sender))))
}

/// The producer and the storage get separate sinks on one channel: a shared sink's lock, taken
/// by a push while the worker polled it, left the worker without a wake-up and the job unrun.
fn memory_channel<J: Send + 'static>() -> (MemorySink<J>, MemoryStorage<J>) {
    let (sender, receiver) = futures::channel::mpsc::unbounded::<Task<J>>();
    let producer = sink_into(sender.clone());
    let storage = MemoryStorage::new_with(sink_into(sender), receiver.boxed());
    (producer, storage)
}

#[async_trait]
impl JobQueue for MemoryJobQueue {
    async fn enqueue(&self, job: Job) -> Result<(), PortError> {
        let result = match job {
            Job::Launch(job) => self.launch.lock().await.send(task(job)).await,
            Job::Command(job) => self.command.lock().await.send(task(job)).await,
            Job::Action(job) => self.action.lock().await.send(task(job)).await,
            Job::VerificationCallback(job) => self.verification.lock().await.send(task(job)).await,
        };
        result.map_err(|error| PortError::Transient(format!("in-memory queue: {error}")))
    }

    /// The queue lives in this process: it is ready as long as the process is.
    async fn ready(&self) -> Result<(), PortError> {
        Ok(())
    }
}
