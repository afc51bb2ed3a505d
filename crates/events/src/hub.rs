//! The fan-out of one process: subscribers per organisation, fed from the
//! outbox after every wake-up.

use dentex_db::entities::event;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What an organisation may still see, decided when an event is delivered
/// (a lab that lost a case stops receiving its events at once). The
/// gateway hands in the cases crate's decision.
pub trait Gate: Send + Sync {
    /// The subset of `cases` that `org` may see now.
    fn visible<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        org: Uuid,
        cases: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, DbErr>>;

    /// The subset of `sessions` that are live and whose person is still a
    /// member of `org`: asked once per organisation and batch before
    /// delivery, so a revoked session or a removed member gets nothing more.
    fn live_sessions<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        org: Uuid,
        sessions: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, DbErr>>;
}

/// An event as a subscriber receives it.
#[derive(Debug)]
pub struct Delivered {
    pub org: Uuid,
    pub position: i64,
    pub user: Option<Uuid>,
    pub kind: String,
    pub case_id: Option<Uuid>,
    pub payload: String,
}

impl Delivered {
    pub fn of(row: event::Model) -> Self {
        Self {
            org: row.org_id,
            position: row.position,
            user: row.user_id,
            kind: row.kind,
            case_id: row.case_id,
            payload: row.payload,
        }
    }

    /// Whether `user` receives it.
    pub fn is_for(&self, user: Uuid) -> bool {
        self.user.is_none_or(|u| u == user)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// Events a subscriber may have waiting; past it, it is dropped.
    pub buffer: usize,
    /// How often the hub looks even without a wake-up.
    pub poll: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            buffer: 256,
            poll: Duration::from_secs(1),
        }
    }
}

struct Conn {
    id: u64,
    user: Uuid,
    session: Uuid,
    tx: mpsc::Sender<Arc<Delivered>>,
}

struct OrgSubs {
    last: i64,
    conns: Vec<Conn>,
}

struct Inner {
    db: DatabaseConnection,
    gate: Arc<dyn Gate>,
    config: HubConfig,
    subs: Mutex<HashMap<Uuid, OrgSubs>>,
    next_id: AtomicU64,
    shutdown: CancellationToken,
}

/// One per process; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// A subscriber's end: live events of its organisations, in order per
/// organisation. Dropping it unsubscribes.
pub struct Subscription {
    pub rx: mpsc::Receiver<Arc<Delivered>>,
    /// Each organisation's stream position when the subscription began:
    /// everything after it arrives here; what came before is read from the
    /// database.
    pub start: HashMap<Uuid, i64>,
    id: u64,
    orgs: Vec<Uuid>,
    hub: Hub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.id, &self.orgs);
    }
}

impl Hub {
    /// Starts the hub's task (it ends with `shutdown`).
    pub fn start(db: DatabaseConnection, gate: Arc<dyn Gate>, config: HubConfig, shutdown: CancellationToken) -> Self {
        let hub = Hub {
            inner: Arc::new(Inner {
                db,
                gate,
                config,
                subs: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                shutdown,
            }),
        };
        tokio::spawn(hub.clone().run());
        hub
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn gate(&self) -> &Arc<dyn Gate> {
        &self.inner.gate
    }

    /// The token that ends every stream at shutdown.
    pub fn shutdown(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// How many subscribers this process holds.
    pub fn subscribers(&self) -> usize {
        let subs = self
            .inner
            .subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut ids = HashSet::new();
        for s in subs.values() {
            ids.extend(s.conns.iter().map(|c| c.id));
        }
        ids.len()
    }

    /// Subscribes `user`, signed in with `session`, to the streams of `orgs`.
    pub async fn subscribe(&self, user: Uuid, session: Uuid, orgs: Vec<Uuid>) -> Result<Subscription, DbErr> {
        // The heads first: an event after them is delivered live, one before
        // them is in the database when the caller catches up.
        let heads: HashMap<Uuid, i64> = crate::store::heads(&self.inner.db, orgs.clone())
            .await?
            .into_iter()
            .map(|h| (h.org_id, h.last_position))
            .collect();
        let (tx, rx) = mpsc::channel(self.inner.config.buffer.max(1));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut start = HashMap::new();
        {
            let mut subs = self
                .inner
                .subs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for org in &orgs {
                let entry = subs.entry(*org).or_insert_with(|| OrgSubs {
                    last: heads.get(org).copied().unwrap_or(0),
                    conns: Vec::new(),
                });
                entry.conns.push(Conn {
                    id,
                    user,
                    session,
                    tx: tx.clone(),
                });
                start.insert(*org, entry.last);
            }
        }
        Ok(Subscription {
            rx,
            start,
            id,
            orgs,
            hub: self.clone(),
        })
    }

    fn unsubscribe(&self, id: u64, orgs: &[Uuid]) {
        let mut subs = self
            .inner
            .subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for org in orgs {
            if let Some(s) = subs.get_mut(org) {
                s.conns.retain(|c| c.id != id);
                if s.conns.is_empty() {
                    subs.remove(org);
                }
            }
        }
    }

    async fn run(self) {
        let mut wake = crate::outbox::wake_receiver();
        let mut listener = Listener::new(&self.inner.db);
        let mut tick = tokio::time::interval(self.inner.config.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.inner.shutdown.cancelled() => {
                    self.inner.subs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
                    return;
                }
                _ = wake.changed() => {}
                () = listener.next() => {}
                _ = tick.tick() => {}
            }
            if let Err(e) = self.poll().await {
                tracing::warn!(error = %e, "reading new events failed; retrying at the next wake-up");
            }
        }
    }

    /// Reads what is new for every organisation with subscribers and
    /// delivers it.
    pub async fn poll(&self) -> Result<(), DbErr> {
        let known: HashMap<Uuid, i64> = {
            let subs = self
                .inner
                .subs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            subs.iter().map(|(o, s)| (*o, s.last)).collect()
        };
        if known.is_empty() {
            return Ok(());
        }
        let heads = crate::store::heads(&self.inner.db, known.keys().copied().collect()).await?;
        for head in heads {
            let Some(&last) = known.get(&head.org_id) else { continue };
            if head.last_position > last {
                self.deliver_org(head.org_id, last).await?;
            }
        }
        Ok(())
    }

    async fn deliver_org(&self, org: Uuid, mut last: i64) -> Result<(), DbErr> {
        loop {
            let rows = crate::store::after(&self.inner.db, org, last, 500).await?;
            let Some(end) = rows.last().map(|r| r.position) else {
                return Ok(());
            };
            let cases: Vec<Uuid> = rows
                .iter()
                .filter_map(|r| r.case_id)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let visible = if cases.is_empty() {
                HashSet::new()
            } else {
                self.inner.gate.visible(&self.inner.db, org, cases).await?
            };
            // The subscribers asked about; one that subscribes while the
            // question is out has just been checked by `subscribe`'s caller.
            let asked: HashMap<u64, Uuid> = {
                let subs = self
                    .inner
                    .subs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let Some(s) = subs.get(&org) else { return Ok(()) };
                s.conns.iter().map(|c| (c.id, c.session)).collect()
            };
            let sessions: Vec<Uuid> = asked.values().copied().collect::<HashSet<_>>().into_iter().collect();
            let live = self.inner.gate.live_sessions(&self.inner.db, org, sessions).await?;
            let batch: Vec<Arc<Delivered>> = rows
                .into_iter()
                .filter(|r| r.case_id.is_none_or(|c| visible.contains(&c)))
                .map(|r| Arc::new(Delivered::of(r)))
                .collect();
            let mut subs = self
                .inner
                .subs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(s) = subs.get_mut(&org) else { return Ok(()) };
            if s.last >= end {
                return Ok(());
            }
            s.last = end;
            // A subscriber whose session is over, or whose buffer is full,
            // is dropped from every organisation it follows: its stream
            // ends, and its client resumes from its cursor (or signs in).
            let mut dropped = HashSet::new();
            for c in &s.conns {
                let over = asked.contains_key(&c.id) && !live.contains(&c.session);
                let ok = !over
                    && batch
                        .iter()
                        .filter(|d| d.is_for(c.user))
                        .all(|d| c.tx.try_send(d.clone()).is_ok());
                if !ok {
                    dropped.insert(c.id);
                }
            }
            if !dropped.is_empty() {
                for other in subs.values_mut() {
                    other.conns.retain(|c| !dropped.contains(&c.id));
                }
                subs.retain(|_, s| !s.conns.is_empty());
            }
            drop(subs);
            last = end;
        }
    }
}

/// `LISTEN` on PostgreSQL (reconnecting by itself; after a reconnect the
/// hub polls, which catches up from the outbox); nothing on SQLite, where
/// the in-process wake-up is the whole fan-out.
struct Listener {
    pool: Option<sea_orm::sqlx::PgPool>,
    inner: Option<sea_orm::sqlx::postgres::PgListener>,
}

impl Listener {
    fn new(db: &DatabaseConnection) -> Self {
        let pool =
            (db.get_database_backend() == DatabaseBackend::Postgres).then(|| db.get_postgres_connection_pool().clone());
        Self { pool, inner: None }
    }

    /// Waits for a notification (or a reconnect, or a failure after which
    /// the caller polls).
    async fn next(&mut self) {
        let Some(pool) = &self.pool else {
            return std::future::pending().await;
        };
        if self.inner.is_none() {
            match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut l) => match l.listen(crate::CHANNEL).await {
                    Ok(()) => self.inner = Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN failed; polling meanwhile");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        return;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "the event listener could not connect; polling meanwhile");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return;
                }
            }
            // Listening from now on: what came before is caught up by the
            // poll that follows.
            return;
        }
        if let Some(l) = self.inner.as_mut() {
            match l.try_recv().await {
                // A notification, or `None`: the connection was lost and is
                // back; what was sent meanwhile is read by the poll.
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the event listener failed; reconnecting");
                    self.inner = None;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
