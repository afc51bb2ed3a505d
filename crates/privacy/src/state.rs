//! What the privacy services need.

use dentex_audit::AuditLog;
use dentex_jobs::Queue;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// From configuration (`privacy.*`).
#[derive(Clone, Debug)]
pub struct PrivacyConfig {
    /// Where new, held and overdue requests are reported.
    pub support_email: Option<String>,
    /// How recent a support agent's sign-in with a second step must be.
    pub fresh_sign_in: Duration,
    /// Days after an erasure when the backups holding its data have expired.
    pub backup_expiry_days: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            support_email: None,
            fresh_sign_in: Duration::from_secs(900),
            backup_expiry_days: 35,
        }
    }
}

#[derive(Clone)]
pub struct PrivacyState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    pub store: dentex_storage::ObjectStore,
    /// Accounts below: re-authentication and the people's addresses.
    pub accounts: dentex_accounts::AccountsState,
    pub pseudonyms: dentex_http::Pseudonyms,
    /// Sends the one mail that cannot wait in the queue: the erased
    /// person's confirmation (a queued job would keep their address).
    pub mailer: dentex_mail::Mailer,
    pub config: Arc<PrivacyConfig>,
}
