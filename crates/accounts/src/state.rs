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
    /// What the crates above add to `/api/v1/me`.
    pub me_hooks: std::sync::Arc<dyn MeHooks>,
    /// The keys TOTP secrets are sealed with at rest.
    pub mfa_keys: std::sync::Arc<crate::mfa_keys::MfaKeys>,
}

/// What crates above accounts add to `GET /api/v1/me` (chat: the unread
/// messages over every thread the caller sees). Accounts cannot call them
/// (the arrow would point upward), so the gateway hands them in.
pub trait MeHooks: Send + Sync {
    fn unread_messages<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        p: &'a crate::Principal,
    ) -> futures_util::future::BoxFuture<'a, Result<i64, dentex_http::ApiError>>;
}

/// No crate above (tools, tests of accounts alone): nothing unread.
pub struct NoMeHooks;

impl MeHooks for NoMeHooks {
    fn unread_messages<'a>(
        &'a self,
        _: &'a DatabaseConnection,
        _: &'a crate::Principal,
    ) -> futures_util::future::BoxFuture<'a, Result<i64, dentex_http::ApiError>> {
        Box::pin(async { Ok(0) })
    }
}
