//! Writing events in the transaction of their cause.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use tokio::sync::watch;
use uuid::Uuid;

/// Who receives an event: every member of an organisation, or one person
/// among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Recipient {
    pub org: Uuid,
    pub user: Option<Uuid>,
}

impl Recipient {
    pub fn org(org: Uuid) -> Self {
        Self { org, user: None }
    }

    pub fn person(org: Uuid, user: Uuid) -> Self {
        Self { org, user: Some(user) }
    }
}

struct Pending {
    kind: &'static str,
    case_id: Option<Uuid>,
    payload: serde_json::Value,
    user: Option<Uuid>,
}

/// The events of one transaction, written together by [`Outbox::write_in`]:
/// the streams are locked in one order (by organisation id) whatever the
/// order of the pushes, so two transactions never wait on each other's
/// streams in a circle.
#[derive(Default)]
pub struct Outbox {
    by_org: BTreeMap<Uuid, Vec<Pending>>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event of `kind` (`message.created`) about `case_id` for each
    /// recipient. `payload` carries ids, states and counts only.
    pub fn push(
        &mut self,
        recipients: impl IntoIterator<Item = Recipient>,
        kind: &'static str,
        case_id: Option<Uuid>,
        payload: &serde_json::Value,
    ) -> &mut Self {
        for r in recipients {
            let list = self.by_org.entry(r.org).or_default();
            list.push(Pending {
                kind,
                case_id,
                payload: payload.clone(),
                user: r.user,
            });
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.by_org.is_empty()
    }

    /// Writes the events in `txn`. Call it before the audit row (which takes
    /// the chain's lock last); after `commit`, call [`committed`].
    pub async fn write_in(self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        let backend = txn.get_database_backend();
        let t = dentex_db::now();
        for (org, events) in self.by_org {
            let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
            let last = crate::store::advance(txn, org, n).await?;
            let first = last - n + 1;
            for (i, e) in events.into_iter().enumerate() {
                let position = first + i64::try_from(i).unwrap_or(0);
                crate::store::insert(
                    txn,
                    crate::store::NewEvent {
                        org,
                        position,
                        user: e.user,
                        kind: e.kind,
                        case_id: e.case_id,
                        payload: e.payload.to_string(),
                        at: t,
                    },
                )
                .await?;
            }
            if backend == DatabaseBackend::Postgres {
                // Sent at commit; ids only, far below the 8,000-byte limit.
                txn.execute_raw(dentex_db::stmt(
                    backend,
                    "SELECT pg_notify($1, $2)",
                    vec![crate::CHANNEL.into(), format!("{org}:{last}").into()],
                ))
                .await?;
            }
        }
        Ok(())
    }
}

static WAKE: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Tells this process's hubs that events were committed: they look at
/// once (on SQLite this is the whole fan-out; on PostgreSQL it saves the
/// round trip of the notification).
pub fn committed() {
    WAKE.send_modify(|n| *n = n.wrapping_add(1));
}

pub(crate) fn wake_receiver() -> watch::Receiver<u64> {
    WAKE.subscribe()
}
