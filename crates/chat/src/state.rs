//! What chat's services need: the database, the audit log, the queue, the
//! cases crate's state (attachments and design files are case files), the
//! accounts state (sessions of the event stream) and the event hub.

use dentex_accounts::AccountsState;
use dentex_audit::AuditLog;
use dentex_cases::CasesState;
use dentex_events::Hub;
use dentex_jobs::Queue;
use sea_orm::DatabaseConnection;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct ChatConfig {
    /// Unread messages older than this get a notice mail.
    pub notify_after: Duration,
    /// A comment line on every idle stream this often.
    pub keep_alive: Duration,
    /// How long a stream ticket works.
    pub ticket_ttl: Duration,
    /// Events a client may miss and still catch up on (older: `reset`).
    pub keep: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            notify_after: Duration::from_secs(600),
            keep_alive: Duration::from_secs(15),
            ticket_ttl: Duration::from_secs(60),
            keep: Duration::from_secs(7 * 86_400),
        }
    }
}

#[derive(Clone)]
pub struct ChatState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    pub cases: CasesState,
    pub accounts: AccountsState,
    pub hub: Hub,
    pub config: ChatConfig,
}
