//! `dentex-jobs` owns background work: a durable queue in the database of record
//! (table `jobs`: kind, JSON payload, run_at, attempts, last_error, locked_until),
//! and [`Worker`]s that claim due jobs — with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, with one atomic `UPDATE … RETURNING` on SQLite — under a lease
//! they keep renewing, retry failures with exponential backoff, mark a job `dead`
//! after its last attempt, and hand an unfinished job back to the queue when the
//! process shuts down. Mail, mesh analysis, erasure and retention sweeps run here.
//! Errors are stored on the job row, never logged: they may quote an address.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod privacy;

use chrono::{DateTime, Utc};
use dentex_db::entities::job;
use dentex_db::{now, stmt};
use dentex_domain::JobId;
use futures_util::future::BoxFuture;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Where a job is: waiting (or waiting for a retry), claimed by a worker,
/// finished, or given up after its last attempt. Stored as its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Dead];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|j| j.as_str() == s)
    }
}

pub const STATUS_QUEUED: &str = JobStatus::Queued.as_str();
pub const STATUS_RUNNING: &str = JobStatus::Running.as_str();
pub const STATUS_DONE: &str = JobStatus::Done.as_str();
pub const STATUS_DEAD: &str = JobStatus::Dead.as_str();

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("the payload could not be encoded: {0}")]
    Payload(#[from] serde_json::Error),
}

/// How a job should be scheduled.
#[derive(Debug, Clone)]
pub struct EnqueueOptions {
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: i32,
}

impl Default for EnqueueOptions {
    fn default() -> Self {
        Self {
            run_at: None,
            max_attempts: 8,
        }
    }
}

/// Backoff and lease settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Delay before the second attempt; doubles for each further attempt.
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The delay after `attempts` failed attempts (1-based), with up to 20 % jitter.
    pub fn delay(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let raw = self.base.saturating_mul(2u32.saturating_pow(exp)).min(self.max);
        let jitter = raw.mul_f64(rand::random::<f64>() * 0.2);
        (raw + jitter).min(self.max)
    }
}

/// The durable queue.
#[derive(Clone)]
pub struct Queue {
    db: DatabaseConnection,
    wake: Arc<Notify>,
}

const RETURNING: &str = "id, kind, payload, status, run_at, attempts, max_attempts, last_error, locked_until, locked_by, created_at, updated_at";

impl Queue {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Adds a job. Use [`Queue::enqueue_with`] to add it inside a caller's transaction.
    pub async fn enqueue<P: Serialize>(
        &self,
        kind: &str,
        payload: &P,
        opts: EnqueueOptions,
    ) -> Result<JobId, JobsError> {
        let id = Self::enqueue_with(&self.db, kind, payload, opts).await?;
        self.wake.notify_waiters();
        Ok(id)
    }

    /// Adds a job through any connection, so that it commits or rolls back with
    /// the caller's own writes.
    pub async fn enqueue_with<C: ConnectionTrait, P: Serialize>(
        conn: &C,
        kind: &str,
        payload: &P,
        opts: EnqueueOptions,
    ) -> Result<JobId, JobsError> {
        let id = JobId::new();
        let t = now();
        let am = job::ActiveModel {
            id: sea_orm::Set(id.0),
            kind: sea_orm::Set(kind.to_owned()),
            payload: sea_orm::Set(serde_json::to_string(payload)?),
            status: sea_orm::Set(STATUS_QUEUED.into()),
            run_at: sea_orm::Set(opts.run_at.unwrap_or(t)),
            attempts: sea_orm::Set(0),
            max_attempts: sea_orm::Set(opts.max_attempts.max(1)),
            last_error: sea_orm::Set(None),
            locked_until: sea_orm::Set(None),
            locked_by: sea_orm::Set(None),
            created_at: sea_orm::Set(t),
            updated_at: sea_orm::Set(t),
        };
        job::Entity::insert(am).exec_without_returning(conn).await?;
        tracing::debug!(job.id = %id, job.kind = kind, "job enqueued");
        Ok(id)
    }

    /// Takes the next due job (or one whose lease ran out) for `worker`, or `None`.
    pub async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<job::Model>, DbErr> {
        let backend = self.db.get_database_backend();
        let t = now();
        let until = t + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(300));
        let lock = if backend == DatabaseBackend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, locked_by = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3) \
                 ORDER BY run_at, id LIMIT 1 {lock}) \
             RETURNING {RETURNING}"
        );
        let row = self
            .db
            .query_one_raw(stmt(backend, &sql, vec![until.into(), worker.into(), t.into()]))
            .await?;
        match row {
            Some(r) => Ok(Some(job::Model::from_query_result(&r, "")?)),
            None => Ok(None),
        }
    }

    /// Extends the lease of a job this worker holds. Returns false when the job
    /// is no longer ours (the lease ran out and another worker took it).
    pub async fn renew(&self, id: JobId, worker: &str, lease: Duration) -> Result<bool, DbErr> {
        let t = now();
        let until = t + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(300));
        let r = job::Entity::update_many()
            .col_expr(job::Column::LockedUntil, sea_orm::sea_query::Expr::value(until))
            .col_expr(job::Column::UpdatedAt, sea_orm::sea_query::Expr::value(t))
            .filter(job::Column::Id.eq(id.0))
            .filter(job::Column::LockedBy.eq(worker))
            .filter(job::Column::Status.eq(STATUS_RUNNING))
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected == 1)
    }

    pub async fn complete(&self, id: JobId, worker: &str) -> Result<bool, DbErr> {
        self.finish(id, worker, JobStatus::Done, None, None).await
    }

    /// Records a failed attempt: back to the queue after a delay, or `dead` once
    /// `max_attempts` is reached.
    pub async fn fail(&self, job: &job::Model, worker: &str, error: &str, policy: &RetryPolicy) -> Result<bool, DbErr> {
        let id = JobId(job.id);
        let error: String = error.chars().take(2000).collect();
        if job.attempts >= job.max_attempts {
            self.finish(id, worker, JobStatus::Dead, Some(error), None).await
        } else {
            let delay = chrono::Duration::from_std(policy.delay(job.attempts)).unwrap_or(chrono::Duration::seconds(60));
            self.finish(id, worker, JobStatus::Queued, Some(error), Some(now() + delay))
                .await
        }
    }

    /// Hands a job this worker holds back to the queue, due at once and without
    /// counting the interrupted attempt (used at shutdown).
    pub async fn release(&self, id: JobId, worker: &str) -> Result<bool, DbErr> {
        let t = now();
        let r = job::Entity::update_many()
            .col_expr(job::Column::Status, sea_orm::sea_query::Expr::value(STATUS_QUEUED))
            .col_expr(
                job::Column::Attempts,
                sea_orm::sea_query::ExprTrait::sub(sea_orm::sea_query::Expr::col(job::Column::Attempts), 1),
            )
            .col_expr(
                job::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                job::Column::LockedBy,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(job::Column::RunAt, sea_orm::sea_query::Expr::value(t))
            .col_expr(job::Column::UpdatedAt, sea_orm::sea_query::Expr::value(t))
            .filter(job::Column::Id.eq(id.0))
            .filter(job::Column::LockedBy.eq(worker))
            .filter(job::Column::Status.eq(STATUS_RUNNING))
            .exec(&self.db)
            .await?;
        self.wake.notify_waiters();
        Ok(r.rows_affected == 1)
    }

    async fn finish(
        &self,
        id: JobId,
        worker: &str,
        status: JobStatus,
        error: Option<String>,
        run_at: Option<DateTime<Utc>>,
    ) -> Result<bool, DbErr> {
        let t = now();
        let mut q = job::Entity::update_many()
            .col_expr(job::Column::Status, sea_orm::sea_query::Expr::value(status.as_str()))
            .col_expr(
                job::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                job::Column::LockedBy,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(job::Column::UpdatedAt, sea_orm::sea_query::Expr::value(t));
        if let Some(e) = error {
            q = q.col_expr(job::Column::LastError, sea_orm::sea_query::Expr::value(e));
        }
        if let Some(r) = run_at {
            q = q.col_expr(job::Column::RunAt, sea_orm::sea_query::Expr::value(r));
        }
        let r = q
            .filter(job::Column::Id.eq(id.0))
            .filter(job::Column::LockedBy.eq(worker))
            .filter(job::Column::Status.eq(STATUS_RUNNING))
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected == 1)
    }

    /// Jobs for operators, newest first, optionally of one status.
    pub async fn list(&self, status: Option<&str>, limit: u64) -> Result<Vec<job::Model>, DbErr> {
        let mut q = job::Entity::find()
            .order_by_desc(job::Column::CreatedAt)
            .order_by_desc(job::Column::Id);
        if let Some(s) = status {
            q = q.filter(job::Column::Status.eq(s));
        }
        q.limit(limit).all(&self.db).await
    }

    pub async fn get(&self, id: JobId) -> Result<Option<job::Model>, DbErr> {
        job::Entity::find_by_id(id.0).one(&self.db).await
    }

    /// Wakes idle workers in this process (new work was queued).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }
}

/// What a handler is given.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub id: JobId,
    pub kind: String,
    pub attempt: i32,
    pub payload: serde_json::Value,
}

/// A handler's failure: the message is stored on the job row, never logged.
#[derive(Debug)]
pub struct JobFailure(pub String);

impl<E: std::fmt::Display> From<E> for JobFailure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

type Handler = Arc<dyn Fn(JobContext) -> BoxFuture<'static, Result<(), JobFailure>> + Send + Sync>;

/// Which function runs which job kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Handler>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register<F, Fut>(&mut self, kind: &str, f: F) -> &mut Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), JobFailure>> + Send + 'static,
    {
        self.handlers
            .insert(kind.to_owned(), Arc::new(move |ctx| Box::pin(f(ctx))));
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub poll_interval: Duration,
    pub lease: Duration,
    /// How long a running job may go on after shutdown begins before it is
    /// cancelled and handed back to the queue.
    pub shutdown_grace: Duration,
    pub retry: RetryPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// One worker loop. Run several for concurrency.
pub struct Worker {
    pub id: String,
    queue: Queue,
    registry: Arc<Registry>,
    cfg: WorkerConfig,
}

impl Worker {
    pub fn new(queue: Queue, registry: Arc<Registry>, cfg: WorkerConfig) -> Self {
        Self {
            id: format!("w-{}", uuid::Uuid::new_v4().simple()),
            queue,
            registry,
            cfg,
        }
    }

    /// Claims and runs jobs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::debug!(worker = %self.id, "job worker started");
        while !shutdown.is_cancelled() {
            let wake = self.queue.wake.notified();
            match self.queue.claim(&self.id, self.cfg.lease).await {
                Ok(Some(job)) => self.run_one(job, &shutdown).await,
                Ok(None) => {
                    tokio::select! {
                        () = tokio::time::sleep(self.cfg.poll_interval) => {}
                        () = wake => {}
                        () = shutdown.cancelled() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "claiming a job failed");
                    tokio::select! {
                        () = tokio::time::sleep(self.cfg.poll_interval) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        }
        tracing::debug!(worker = %self.id, "job worker stopped");
    }

    async fn run_one(&self, job: job::Model, shutdown: &CancellationToken) {
        let id = JobId(job.id);
        let span = tracing::info_span!("job", job.id = %id, job.kind = %job.kind, job.attempt = job.attempts);
        let _g = span.enter();
        let Some(handler) = self.registry.handlers.get(&job.kind).cloned() else {
            let msg = format!("no handler is registered for job kind {:?}", job.kind);
            // Give up at once: retrying cannot help until a deploy adds the handler.
            let dead = job::Model {
                attempts: job.max_attempts,
                ..job.clone()
            };
            if let Err(e) = self.queue.fail(&dead, &self.id, &msg, &self.cfg.retry).await {
                tracing::warn!(error = %e, "recording a job failure failed");
            }
            tracing::warn!("job has no handler; marked dead");
            return;
        };
        let payload = serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null);
        let ctx = JobContext {
            id,
            kind: job.kind.clone(),
            attempt: job.attempts,
            payload,
        };
        let started = std::time::Instant::now();
        let fut = handler(ctx);
        tokio::pin!(fut);
        let mut heartbeat = tokio::time::interval(self.cfg.lease / 3);
        heartbeat.tick().await;
        let grace = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(grace);
        let mut stopping = false;
        loop {
            tokio::select! {
                r = &mut fut => {
                    let res = match r {
                        Ok(()) => self.queue.complete(id, &self.id).await,
                        Err(f) => self.queue.fail(&job, &self.id, &f.0, &self.cfg.retry).await,
                    };
                    match res {
                        Ok(true) => tracing::info!(ms = started.elapsed().as_millis() as u64, "job finished"),
                        Ok(false) => tracing::warn!("job lease was lost before it finished; its result was not recorded"),
                        Err(e) => tracing::warn!(error = %e, "recording a job result failed"),
                    }
                    return;
                }
                _ = heartbeat.tick() => {
                    match self.queue.renew(id, &self.id, self.cfg.lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!("job lease was lost; abandoning the attempt");
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "renewing a job lease failed"),
                    }
                }
                () = shutdown.cancelled(), if !stopping => {
                    stopping = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + self.cfg.shutdown_grace);
                }
                () = &mut grace, if stopping => {
                    // Dropping the future cancels it; its open transactions roll back.
                    match self.queue.release(id, &self.id).await {
                        Ok(_) => tracing::info!("job interrupted by shutdown and handed back to the queue"),
                        Err(e) => tracing::warn!(error = %e, "releasing a job at shutdown failed; its lease will expire"),
                    }
                    return;
                }
            }
        }
    }
}

/// Starts `n` workers; the returned handle waits for all of them.
pub fn spawn_workers(
    n: usize,
    queue: Queue,
    registry: Arc<Registry>,
    cfg: WorkerConfig,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let w = Worker::new(queue.clone(), registry.clone(), cfg.clone());
            tokio::spawn(w.run(shutdown.clone()))
        })
        .collect();
    tokio::spawn(async move {
        for h in handles {
            let _ = h.await;
        }
    })
}
