//! Shared application state, built once and cloned into each HTTP worker.

use crate::config::Config;
use crate::metrics::Metrics;
use dentex_audit::AuditLog;
use dentex_jobs::Queue;
use dentex_storage::ObjectStore;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub store: ObjectStore,
    pub queue: Queue,
    pub audit: AuditLog,
    pub metrics: Arc<Metrics>,
}
