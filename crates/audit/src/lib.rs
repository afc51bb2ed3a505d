//! `dentex-audit` owns the audit trail: who did what to which resource, with
//! what outcome, from where and when. Rows are append-only (the database refuses
//! UPDATE and DELETE through triggers) and hash-chained per organisation: each
//! row's SHA-256 covers its fields and the previous row's hash, and a heads table
//! records each chain's newest link, so [`AuditLog::verify`] finds a changed,
//! removed, reordered or cut-off row. Rows hold ids and codes, never patient data.
//!
//! Two ways in, side by side:
//!
//! - [`AuditLog::record`] / [`AuditLog::record_many`]: the batched appender
//!   (group commit). Events for one chain queue up while that chain's batch is
//!   being committed; the next transaction takes them all (at most
//!   [`BatchConfig::max_events`]). The caller waits until the batch holding its
//!   events has committed, so nothing is answered before its row is durable;
//!   a failed batch fails every caller in it. A full queue makes callers wait
//!   for room, never drops an event; a caller that waits longer than
//!   [`BatchConfig::max_wait`] gets [`AuditError::Timeout`]. Reads and refusals
//!   take this path.
//! - [`append_in`]: inside the caller's own transaction, so a change and its
//!   audit row commit together or not at all (for writes).
//!
//! Both take the chain's turn the same way: PostgreSQL's advisory lock per
//! chain (across processes), then the head row, whose sequence number is
//! checked when it is moved; on SQLite the database's one writer does it.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

use chrono::SecondsFormat;
use dentex_db::entities::{audit_event, audit_head};
use dentex_db::{is_unique_violation, now, stmt};
use dentex_domain::{AuditEventId, OrgId, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

mod append;
pub mod privacy;
mod search;
mod verify;
use append::{append_chain, retryable};
pub use append::{append_in, row_hash};
pub use search::Search;

/// The `prev_hash` of the first row of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The chain of events that belong to no organisation (staff, anonymous logins).
pub const PLATFORM_CHAIN: &str = "platform";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Staff,
    System,
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Staff => "staff",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action was allowed and done.
    Success,
    /// The action was attempted and failed (e.g. a wrong password).
    Failure,
    /// Authorisation refused it.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

/// One thing to record. `action` is a dotted code (`auth.login`, `file.read`).
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub org_id: Option<OrgId>,
    pub actor_id: Option<UserId>,
    pub actor_kind: ActorKind,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// A stated reason (break-glass, support actions); never patient data.
    pub reason: Option<String>,
    /// The organisation the actor acted for, when not the chain's own (a
    /// lab reading or quoting on a clinic's case).
    pub acting_org_id: Option<OrgId>,
}

impl AuditEvent {
    pub fn new(action: &str, resource_type: &str, outcome: Outcome) -> Self {
        Self {
            org_id: None,
            actor_id: None,
            actor_kind: ActorKind::System,
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id: None,
            outcome,
            request_id: None,
            client_addr: None,
            reason: None,
            acting_org_id: None,
        }
    }

    fn chain(&self) -> String {
        self.org_id.map_or_else(|| PLATFORM_CHAIN.to_owned(), |o| o.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("could not append to audit chain {chain} after {attempts} attempts")]
    Contention { chain: String, attempts: u32 },
    /// The batch holding the event failed; nothing of it was written.
    #[error("the audit batch failed: {0}")]
    Batch(String),
    #[error("the audit row was not confirmed within {0:?}")]
    Timeout(Duration),
}

/// Where verification found a chain broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub chain: String,
    pub seq: i64,
    pub id: Option<uuid::Uuid>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub chains: u64,
    pub rows: u64,
    /// The first broken link of each broken chain.
    pub broken: Vec<BrokenLink>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_empty()
    }
}

/// Limits of the batched appender.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Events in one transaction at most.
    pub max_events: usize,
    /// Events waiting per chain at most; callers beyond it wait for room.
    pub max_queued: usize,
    /// How long a caller waits, for room and for its batch to commit,
    /// before giving up (its row may still be written; it is never answered
    /// as if it had been).
    pub max_wait: Duration,
    /// Batch transactions in flight at once, over all chains of the process,
    /// so that flushes leave the pool's connections to the requests.
    pub max_flushes: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_events: 256,
            max_queued: 8192,
            max_wait: Duration::from_secs(10),
            max_flushes: 4,
        }
    }
}

#[derive(Clone)]
pub struct AuditLog {
    db: DatabaseConnection,
    /// SQLite has one writer at a time: queue appends in-process instead of
    /// letting transactions collide on the write lock.
    sqlite_lock: Arc<tokio::sync::Mutex<()>>,
    config: BatchConfig,
    queues: Arc<Mutex<HashMap<String, Arc<ChainQueue>>>>,
    /// Turns for batch transactions (`max_flushes`).
    flushes: Arc<Semaphore>,
    /// The runtime flushers run on: the one the log was made on (the
    /// server's main runtime), not an HTTP worker's, which may stop first.
    runtime: Option<tokio::runtime::Handle>,
}

/// One chain's waiting events and whether a flusher is taking them.
struct ChainQueue {
    chain: String,
    room: Arc<Semaphore>,
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: VecDeque<Waiting>,
    flushing: bool,
}

struct Waiting {
    event: AuditEvent,
    done: oneshot::Sender<Result<AuditEventId, String>>,
    _room: OwnedSemaphorePermit,
}

const MAX_ATTEMPTS: u32 = 40;

/// Clears a chain's `flushing` mark when its flusher ends early (its
/// runtime stops, a panic); events still waiting are dropped, which tells
/// their callers. Disarmed when the flusher finishes normally.
struct FlushingReset {
    queue: Arc<ChainQueue>,
    armed: bool,
}

impl Drop for FlushingReset {
    fn drop(&mut self) {
        if self.armed
            && let Ok(mut st) = self.queue.state.lock()
        {
            st.flushing = false;
            st.waiting.clear();
        }
    }
}

impl AuditLog {
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_config(db, BatchConfig::default())
    }

    pub fn with_config(db: DatabaseConnection, config: BatchConfig) -> Self {
        Self {
            db,
            sqlite_lock: Arc::new(tokio::sync::Mutex::new(())),
            config: BatchConfig {
                max_events: config.max_events.max(1),
                max_queued: config.max_queued.max(1),
                max_flushes: config.max_flushes.max(1),
                ..config
            },
            queues: Arc::new(Mutex::new(HashMap::new())),
            flushes: Arc::new(Semaphore::new(config.max_flushes.max(1))),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// Appends one event to its organisation's chain; answers once the row
    /// has committed.
    pub async fn record(&self, ev: AuditEvent) -> Result<AuditEventId, AuditError> {
        let ids = self.record_many(vec![ev]).await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| AuditError::Db(DbErr::Custom("no audit row was written".into())))
    }

    /// Appends several events, each to its organisation's chain, in order
    /// within each chain, through the batched appender; answers once every
    /// one has committed. Returns the ids in the events' order.
    pub async fn record_many(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditEventId>, AuditError> {
        let mut receivers = Vec::with_capacity(events.len());
        let mut by_chain: Vec<(String, Vec<AuditEvent>)> = Vec::new();
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(events.len());
        for ev in events {
            let chain = ev.chain();
            let at = match by_chain.iter().position(|(c, _)| *c == chain) {
                Some(i) => i,
                None => {
                    by_chain.push((chain, Vec::new()));
                    by_chain.len() - 1
                }
            };
            order.push((at, by_chain[at].1.len()));
            by_chain[at].1.push(ev);
        }
        // One deadline for the whole call: room in the queues, then commits.
        let wait = self.config.max_wait;
        let deadline = tokio::time::Instant::now() + wait;
        for (chain, mut evs) in by_chain {
            let mut rxs = Vec::with_capacity(evs.len());
            // A queue's worth at a time: the rest waits for room.
            while !evs.is_empty() {
                let rest = evs.split_off(evs.len().min(self.config.max_queued));
                rxs.extend(self.enqueue(&chain, evs, deadline).await?);
                evs = rest;
            }
            receivers.push(rxs);
        }
        let mut results: Vec<Vec<AuditEventId>> = Vec::with_capacity(receivers.len());
        for rxs in receivers {
            let mut ids = Vec::with_capacity(rxs.len());
            for rx in rxs {
                match tokio::time::timeout_at(deadline, rx).await {
                    Ok(Ok(Ok(id))) => ids.push(id),
                    Ok(Ok(Err(e))) => return Err(AuditError::Batch(e)),
                    Ok(Err(_)) => return Err(AuditError::Batch("the appender stopped".into())),
                    Err(_) => return Err(AuditError::Timeout(wait)),
                }
            }
            results.push(ids);
        }
        Ok(order.into_iter().map(|(c, i)| results[c][i]).collect())
    }

    /// Queues `events` (one chain, at most `max_queued`) in order, waiting
    /// for room, and makes sure a flusher is taking the chain's queue.
    async fn enqueue(
        &self,
        chain: &str,
        events: Vec<AuditEvent>,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<oneshot::Receiver<Result<AuditEventId, String>>>, AuditError> {
        let queue = {
            let mut queues = self
                .queues
                .lock()
                .map_err(|_| AuditError::Batch("appender poisoned".into()))?;
            queues
                .entry(chain.to_owned())
                .or_insert_with(|| {
                    Arc::new(ChainQueue {
                        chain: chain.to_owned(),
                        room: Arc::new(Semaphore::new(self.config.max_queued)),
                        state: Mutex::new(QueueState::default()),
                    })
                })
                .clone()
        };
        // Room for all of them at once keeps one caller's events together.
        let n = u32::try_from(events.len()).unwrap_or(u32::MAX);
        let mut room = tokio::time::timeout_at(deadline, queue.room.clone().acquire_many_owned(n))
            .await
            .map_err(|_| AuditError::Timeout(self.config.max_wait))?
            .map_err(|_| AuditError::Batch("appender closed".into()))?;
        let mut receivers = Vec::with_capacity(events.len());
        let start_flusher = {
            let mut st = queue
                .state
                .lock()
                .map_err(|_| AuditError::Batch("appender poisoned".into()))?;
            for event in events {
                let permit = room
                    .split(1)
                    .ok_or_else(|| AuditError::Batch("more events than the queue holds".into()))?;
                let (done, rx) = oneshot::channel();
                st.waiting.push_back(Waiting {
                    event,
                    done,
                    _room: permit,
                });
                receivers.push(rx);
            }
            !std::mem::replace(&mut st.flushing, true)
        };
        if start_flusher {
            let log = self.clone();
            let flusher = async move { log.flush(queue).await };
            match &self.runtime {
                Some(rt) => drop(rt.spawn(flusher)),
                None => drop(tokio::spawn(flusher)),
            }
        }
        Ok(receivers)
    }

    /// Commits the chain's waiting events, a batch at a time, until none wait.
    async fn flush(self, queue: Arc<ChainQueue>) {
        // Should this task end early (its runtime stops, a panic), the next
        // caller starts a new flusher, and those waiting are told (503)
        // instead of waiting out their deadline.
        let mut reset = FlushingReset {
            queue: queue.clone(),
            armed: true,
        };
        loop {
            let batch: Vec<Waiting> = {
                let Ok(mut st) = queue.state.lock() else { return };
                let n = st.waiting.len().min(self.config.max_events);
                if n == 0 {
                    st.flushing = false;
                    reset.armed = false;
                    return;
                }
                st.waiting.drain(..n).collect()
            };
            let Ok(_turn) = self.flushes.acquire().await else {
                return;
            };
            self.commit(&queue.chain, batch).await;
        }
    }

    /// Commits `batch`; when it fails for a reason that retrying does not
    /// mend, its halves are tried on their own, so that one event that cannot
    /// be written fails its own caller, not everyone who shared its batch.
    async fn commit(&self, chain: &str, batch: Vec<Waiting>) {
        let mut pending: Vec<Vec<Waiting>> = vec![batch];
        while let Some(batch) = pending.pop() {
            let events: Vec<&AuditEvent> = batch.iter().map(|w| &w.event).collect();
            match self.append_with_retry(chain, &events).await {
                Ok(ids) => {
                    for (w, id) in batch.into_iter().zip(ids) {
                        let _ = w.done.send(Ok(id));
                    }
                }
                Err(AuditError::Db(_)) if batch.len() > 1 => {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    // The earlier half first: the chain keeps the callers' order.
                    pending.push(second);
                    pending.push(first);
                }
                Err(e) => {
                    tracing::error!(audit.chain = %chain, events = batch.len(), error = %e, "audit events could not be written");
                    let msg = e.to_string();
                    for w in batch {
                        let _ = w.done.send(Err(msg.clone()));
                    }
                }
            }
        }
    }

    async fn append_with_retry(&self, chain: &str, batch: &[&AuditEvent]) -> Result<Vec<AuditEventId>, AuditError> {
        let chain = chain.to_owned();
        let backend = self.db.get_database_backend();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let _guard = if backend == DatabaseBackend::Sqlite {
                Some(self.sqlite_lock.lock().await)
            } else {
                None
            };
            match self.try_append(&chain, batch).await {
                Ok(ids) => {
                    for (id, ev) in ids.iter().zip(batch) {
                        tracing::debug!(audit.id = %id, audit.action = %ev.action, audit.outcome = ev.outcome.as_str(), "audit event recorded");
                    }
                    return Ok(ids);
                }
                Err(e) if attempt < MAX_ATTEMPTS && retryable(&e) => {
                    drop(_guard);
                    let ms = 2 + rand::random::<u64>() % (5 * u64::from(attempt));
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Err(e) if retryable(&e) => {
                    return Err(AuditError::Contention {
                        chain,
                        attempts: attempt,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn try_append(&self, chain: &str, batch: &[&AuditEvent]) -> Result<Vec<AuditEventId>, DbErr> {
        let txn = dentex_db::begin_write(&self.db).await?;
        let ids = append_chain(&txn, chain, batch).await?;
        txn.commit().await?;
        Ok(ids)
    }
}
