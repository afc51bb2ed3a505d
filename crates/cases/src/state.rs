//! What the cases crate's services need: the database, the audit log, the
//! job queue, the object store, the limits, and the hooks of the crates
//! above it.

use dentex_audit::AuditLog;
use dentex_http::ApiError;
use dentex_jobs::Queue;
use dentex_storage::ObjectStore;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct CaseLimits {
    /// Largest single upload.
    pub upload_max_bytes: u64,
    /// Photos are held whole while their metadata is removed.
    pub photo_max_bytes: u64,
    /// All files of one organisation together.
    pub org_quota_bytes: u64,
    /// Serve downloads through the gateway instead of a presigned redirect.
    pub stream_downloads: bool,
    /// Part size of presigned multipart uploads (at least 5 MiB).
    pub part_size: u64,
    /// How long a presigned part URL works.
    pub upload_url_ttl: Duration,
    /// How long a presigned upload may stay unfinished before the sweep aborts it.
    pub upload_expiry: Duration,
    pub mesh: dentex_mesh::Limits,
}

/// What crates above cases do when a case changes, inside the change's
/// transaction. Cases cannot call them (the arrow would point upward), so
/// the gateway hands their implementation in: `dentex-market` ends the
/// quotes of a cancelled case.
pub trait CaseHooks: Send + Sync {
    /// The case was cancelled in `txn` (before any award): end what is held
    /// on it, and name the labs that were involved (to be told).
    fn cancelled<'a>(&'a self, txn: &'a DatabaseTransaction, case: Uuid) -> BoxFuture<'a, Result<Vec<Uuid>, ApiError>>;
}

/// No crate above: nothing to end (tests of cases alone, tools).
pub struct NoHooks;

impl CaseHooks for NoHooks {
    fn cancelled<'a>(&'a self, _: &'a DatabaseTransaction, _: Uuid) -> BoxFuture<'a, Result<Vec<Uuid>, ApiError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

#[derive(Clone)]
pub struct CasesState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    pub store: ObjectStore,
    pub limits: CaseLimits,
    pub hooks: Arc<dyn CaseHooks>,
}
