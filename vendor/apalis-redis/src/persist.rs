use apalis_core::{
    backend::{
        WorkerFilter,
        persistence::{Persistence, TaskEvent},
    },
    task::Task,
    worker::context::WorkerContext,
};
use redis::aio::{ConnectionLike, ConnectionManager};
use serde_json::Value;

use crate::{
    Config, RedisTask,
    error::Error,
    queries::{
        self, keep_alive, push_tasks, reenqueue_orphaned, register_worker, release_leases,
        renew_leases,
    },
    ride_through::{Outages, is_not_held, is_unregistered},
};

/// The default persistence implementation
#[derive(Debug)]
pub struct RedisPersistence<Conn = ConnectionManager> {
    pub(crate) conn: Conn,
    pub(crate) config: Config,
    /// cws patch: see `ride_through`.
    pub(crate) outages: Outages,
}

impl<C> RedisPersistence<C> {
    pub(crate) fn new(conn: C, config: Config) -> Self {
        RedisPersistence {
            conn,
            config,
            outages: Outages::default(),
        }
    }
}

impl<C: Clone> Clone for RedisPersistence<C> {
    fn clone(&self) -> Self {
        RedisPersistence {
            conn: self.conn.clone(),
            config: self.config.clone(),
            outages: self.outages.clone(),
        }
    }
}

impl<C> RedisPersistence<C>
where
    C: ConnectionLike + Send + Sync + 'static + Clone,
{
    /// cws patch: registers the worker again after Redis forgot it (see `is_unregistered`);
    /// tasks re-enqueued meanwhile run elsewhere, and the worker takes new ones.
    async fn register_again(&self, worker: &WorkerContext) -> Result<(), Error> {
        tracing::warn!(worker = worker.name(), "Redis no longer knew this worker; registering it again");
        self.outages
            .ride("registering a worker", || {
                let mut conn = self.conn.clone();
                async move { register_worker(&mut conn, worker, &self.config).await }
            })
            .await
    }

    /// cws patch: acknowledges tasks one at a time, skipping those the worker no longer holds
    /// (see `is_not_held`): the script stops at the first such task, with the ones before it
    /// applied, so the batch cannot simply be sent again.
    async fn ack_each(
        &self,
        payloads: &[&apalis_core::backend::TaskResult<Value>],
        worker: &WorkerContext,
    ) -> Result<(), Error> {
        for payload in payloads {
            let acked = self
                .outages
                .ride("acknowledging a task", || {
                    let mut conn = self.conn.clone();
                    async move {
                        queries::handle_results(&mut conn, &[*payload], worker, &self.config).await
                    }
                })
                .await;
            match acked {
                Err(error) if is_not_held(&error) => tracing::warn!(
                    task = %payload.task_id,
                    "not acknowledged: the worker no longer holds this task (re-enqueued during an outage, or acknowledged already)"
                ),
                other => other?,
            }
        }
        Ok(())
    }
}

impl<C> Persistence for RedisPersistence<C>
where
    C: ConnectionLike + Send + Sync + 'static + Clone,
{
    type Compact = Vec<u8>;
    type Error = Error;
    type Response = Value;
    // cws patch: every call a worker makes rides through outages (`ride_through`). Pushing
    // does not: the bot must hear at once that Redis is away, so it can tell the person to try
    // again, rather than have the job land later after they were told nothing was started.
    async fn register(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let this = &*self;
        let count = this
            .outages
            .ride("registering a worker", || {
                let mut conn = this.conn.clone();
                async move {
                    reenqueue_orphaned(
                        &mut conn,
                        &this.config,
                        &WorkerFilter::Only(worker.name().to_owned()),
                    )
                    .await
                }
            })
            .await?;
        if count > 0 {
            tracing::debug!("{count} re-enqueued orphaned tasks",);
        }
        this.outages
            .ride("registering a worker", || {
                let mut conn = this.conn.clone();
                async move { register_worker(&mut conn, worker, &this.config).await }
            })
            .await?;
        tracing::debug!("registered worker successfully");
        Ok(())
    }
    async fn heartbeat(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let this = &*self;
        let config = &this.config;
        let alive = this
            .outages
            .ride("heartbeat", || {
                let mut conn = this.conn.clone();
                async move { keep_alive(&mut conn, worker, config).await }
            })
            .await;
        match alive {
            Err(error) if is_unregistered(&error) => this.register_again(worker).await?,
            alive => alive?,
        }
        if this.config.lock_tasks {
            let count = this
                .outages
                .ride("renewing leases", || {
                    let mut conn = this.conn.clone();
                    async move { renew_leases(&mut conn, worker, config).await }
                })
                .await?;
            tracing::debug!("renewed leases for {count} tasks");
        }
        // cws patch: nobody heartbeats while Redis is away, so right after an outage every
        // peer looks dead. Judging them by that gap would re-enqueue the jobs they are still
        // running; give them one orphan window to heartbeat first.
        if this.outages.recovered_within(config.orphaned_duration()) {
            tracing::debug!("Redis was away only just now: peers get time to heartbeat");
            return Ok(());
        }
        let count = this
            .outages
            .ride("re-enqueuing orphaned tasks", || {
                let mut conn = this.conn.clone();
                async move {
                    reenqueue_orphaned(
                        &mut conn,
                        config,
                        &WorkerFilter::AllExcept(worker.name().to_owned()),
                    )
                    .await
                }
            })
            .await?;

        if count > 0 {
            tracing::debug!("re-enqueued {count} orphaned task(s)");
        }
        Ok(())
    }
    async fn fetch_next(&mut self, worker: &WorkerContext) -> Result<Vec<RedisTask>, Error> {
        let this = &*self;
        let fetch = || {
            let mut conn = this.conn.clone();
            async move { queries::fetch_next(&mut conn, worker, &this.config).await }
        };
        match this.outages.ride("fetching tasks", fetch).await {
            Err(error) if is_unregistered(&error) => {
                this.register_again(worker).await?;
                this.outages.ride("fetching tasks", fetch).await
            }
            fetched => fetched,
        }
    }

    async fn handle_events(
        &mut self,
        messages: Vec<TaskEvent<Self::Response>>,
        worker: &WorkerContext,
    ) -> Result<(), Error> {
        let lock_ids = messages
            .iter()
            .filter_map(|msg| {
                if let TaskEvent::Lock { task_id, .. } = msg {
                    Some(task_id.to_string())
                } else {
                    None
                }
            })
            .collect::<Vec<_>>();

        let ack_payloads = messages
            .iter()
            .filter_map(|msg| {
                if let TaskEvent::Complete(payload) = msg {
                    Some(payload)
                } else {
                    None
                }
            })
            .collect::<Vec<_>>();
        if lock_ids.is_empty() && ack_payloads.is_empty() {
            return Ok(());
        }

        tracing::debug!(
            "Processing {} messages ({} locks, {} acks)",
            messages.len(),
            lock_ids.len(),
            ack_payloads.len()
        );

        let this = &*self;
        if !lock_ids.is_empty() {
            // TODO: Better error handling rather than stopping everything
            this.outages
                .ride("taking leases", || {
                    let mut conn = this.conn.clone();
                    let lock_ids = &lock_ids;
                    async move {
                        queries::acquire_leases(&mut conn, worker, &this.config, lock_ids).await
                    }
                })
                .await?;
        }
        if !ack_payloads.is_empty() {
            let acked = this
                .outages
                .ride("acknowledging tasks", || {
                    let mut conn = this.conn.clone();
                    let ack_payloads = &ack_payloads;
                    async move {
                        queries::handle_results(&mut conn, ack_payloads, worker, &this.config)
                            .await
                    }
                })
                .await;
            match acked {
                Err(error) if is_not_held(&error) => this.ack_each(&ack_payloads, worker).await?,
                acked => acked?,
            }
        }

        Ok(())
    }

    async fn reenqueue_abandoned(
        &mut self,
        tasks: Vec<RedisTask>,
        worker: &WorkerContext,
    ) -> Result<u64, Error> {
        let this = &*self;
        let config = &this.config;
        let count = this
            .outages
            .ride("releasing leases", || {
                let mut conn = this.conn.clone();
                let tasks = &tasks;
                async move { release_leases(&mut conn, config, worker, tasks).await }
            })
            .await?;
        if self.config.lock_tasks && count as usize != tasks.len() {
            return Err(Error::ReenqueueMismatch {
                queued: tasks.len(),
                abandoned: count as usize,
            });
        }
        Ok(count)
    }
    async fn push_tasks(&mut self, tasks: Vec<Task<Self::Compact>>) -> Result<(), Self::Error> {
        let config = &self.config;
        push_tasks(&mut self.conn, config, &tasks).await?;
        Ok(())
    }
}
