//! What the market's services need: the database, the audit log and the
//! job queue (mail goes through it).

use dentex_audit::AuditLog;
use dentex_jobs::Queue;
use sea_orm::DatabaseConnection;

#[derive(Clone)]
pub struct MarketState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
}
