//! Pushes of one job kind, grouped: jobs queued while an earlier push is on its way to Redis
//! go together in the next one, one script call for all of them (apalis-redis' batch push,
//! which claims each job's idempotency key as a push of one does). Alone, a job goes at once;
//! under load a bot pays one Redis round trip per batch instead of one per request.

use std::sync::Mutex;

use apalis_core::backend::TaskSink;
use apalis_core::backend::finalize::Durable;
use apalis_core::task::Task;
use apalis_redis::RedisStorage;
use domain::job::JobKind;
use domain::ports::PortError;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one script call carries: enough to empty a burst of in-flight requests,
/// few enough that the script holds Redis for well under a millisecond.
const MOST_AT_ONCE: usize = 128;

type Reply = oneshot::Sender<Result<(), String>>;

/// Where jobs wait for the pushing task.
type Jobs<J> = mpsc::UnboundedSender<(Task<J>, Reply)>;

/// Hands jobs to a task that pushes them in batches; the task starts with the first job,
/// inside the caller's runtime, and again if it ever stopped.
pub(crate) struct Pusher<J: JobKind> {
    storage: RedisStorage<J>,
    jobs: Mutex<Option<Jobs<J>>>,
}

impl<J: JobKind> Pusher<J>
where
    RedisStorage<J>: TaskSink<J, Durable>,
{
    pub(crate) fn new(storage: RedisStorage<J>) -> Pusher<J> {
        Pusher {
            storage,
            jobs: Mutex::new(None),
        }
    }

    pub(crate) async fn push(&self, task: Task<J>) -> Result<(), PortError> {
        let (reply, answer) = oneshot::channel();
        {
            let mut jobs = self.jobs.lock().expect("pusher lock");
            let sender = jobs.get_or_insert_with(|| spawn(self.storage.clone()));
            if let Err(mpsc::error::SendError(job)) = sender.send((task, reply)) {
                let restarted = spawn(self.storage.clone());
                let sent = restarted.send(job);
                *jobs = Some(restarted);
                sent.map_err(|_| PortError::Transient("redis queue: pusher stopped".into()))?;
            }
        }
        match answer.await {
            Ok(result) => {
                result.map_err(|error| PortError::Transient(format!("redis queue: {error}")))
            }
            Err(_) => Err(PortError::Transient("redis queue: pusher stopped".into())),
        }
    }
}

fn spawn<J: JobKind>(storage: RedisStorage<J>) -> Jobs<J>
where
    RedisStorage<J>: TaskSink<J, Durable>,
{
    let (sender, mut jobs) = mpsc::unbounded_channel::<(Task<J>, Reply)>();
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MOST_AT_ONCE);
        while jobs.recv_many(&mut batch, MOST_AT_ONCE).await > 0 {
            let (tasks, replies): (Vec<Task<J>>, Vec<Reply>) = batch.drain(..).unzip();
            let result = storage
                .clone()
                .push_all(futures::stream::iter(tasks))
                .await
                .map_err(|error| error.to_string());
            for reply in replies {
                // A caller that stopped waiting (its deadline passed) needs no answer.
                let _ = reply.send(result.clone());
            }
        }
    });
    sender
}
