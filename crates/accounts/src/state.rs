//! What the accounts slice needs at run time, registered as app data by the
//! gateway and read by the [`crate::Principal`] extractor and the handlers.

use crate::sessions::SessionPolicy;
use dentex_audit::AuditLog;
use dentex_jobs::Queue;
use sea_orm::DatabaseConnection;

/// What the accounts handlers need, registered as app data by the gateway.
#[derive(Clone)]
pub struct AccountsState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    pub sessions: SessionPolicy,
    /// Where links in e-mails point.
    pub public_base_url: String,
    /// Credential documents live here.
    pub store: dentex_storage::ObjectStore,
    /// Largest credential document accepted.
    pub document_max_bytes: u64,
}
