//! The rules of accounts: one function per action, called by the handlers
//! (and by jobs, the CLI or another crate alike). A service takes the
//! database (`&DatabaseConnection`) when rows are all it touches, and the
//! [`AccountsState`] when it also writes to the batched audit log (refusals,
//! failures, reads), mails links (the public URL) or uses the object store.
//! It takes the caller as [`Actor`], or, before sign-in, the request's
//! [`Origin`]. Rows change through [`crate::store`]; a change's audit row is
//! appended last in its transaction ([`audit_in`]).

pub mod credentials;
pub mod directory;
pub mod members;
pub mod mfa;
pub mod organizations;
pub mod passwords;
pub mod registration;
pub mod sessions;

use crate::policy::Action;
use crate::store::{self, Organization};
use crate::{AccountsState, Actor};
use actix_web::http::{StatusCode, header};
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::OrgId;
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::OutgoingMail;
use sea_orm::ConnectionTrait;

pub use crate::principal::{Origin, audit_in};

/// Asks the policy for `action` on `org`, and audits: every refusal (kept in
/// the caller's own chain when the organisation is foreign, so probing leaves a
/// trace without writing into another tenant's trail), and every access by
/// platform staff.
pub async fn authorize(state: &AccountsState, actor: &Actor, action: Action, org: OrgId) -> Result<(), ApiError> {
    match crate::policy::authorize(actor, action, org) {
        Ok(()) => {
            if actor.staff_role.is_some() {
                let mut ev = actor.event("support.access", "organization", Outcome::Success);
                ev.org_id = Some(org);
                ev.resource_id = Some(org.to_string());
                ev.reason = Some(format!("{action:?}"));
                record(state, ev).await?;
            }
            Ok(())
        }
        Err(e) => {
            let mut ev = actor.event("access.refused", "organization", Outcome::Denied);
            ev.org_id = if e.status == StatusCode::NOT_FOUND {
                actor.memberships.first().map(|(o, _)| *o)
            } else {
                Some(org)
            };
            ev.resource_id = Some(org.to_string());
            ev.reason = Some(format!("{action:?}: {}", e.code));
            record(state, ev).await?;
            Err(e)
        }
    }
}

/// Loads an organisation after the policy allowed `action` on it (audited as
/// [`authorize`] does).
pub async fn authorized_org(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    action: Action,
) -> Result<Organization, ApiError> {
    authorize(state, actor, action, org).await?;
    store::organizations::find(&state.db, org)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Appends `ev` through the batched log: a refusal, a failure or a read,
/// which changes no row of its own.
pub(crate) async fn record(state: &AccountsState, ev: AuditEvent) -> Result<(), ApiError> {
    state.audit.record(ev).await.map(|_| ()).map_err(ApiError::from)
}

/// Queues a message in the caller's transaction: it goes out only if the
/// change it reports commits.
pub(crate) async fn queue_mail<C: ConnectionTrait>(conn: &C, mail: &OutgoingMail) -> Result<(), ApiError> {
    Queue::enqueue_with(conn, dentex_mail::JOB_KIND, mail, EnqueueOptions::default())
        .await
        .map(|_| ())
        .map_err(ApiError::internal)
}

/// 429 with `Retry-After` after `wait`; `detail` is told the seconds.
pub(crate) fn too_many_attempts(wait: std::time::Duration, detail: impl FnOnce(u64) -> String) -> ApiError {
    let secs = wait.as_secs().max(1);
    ApiError::new(&crate::codes::TOO_MANY_ATTEMPTS, detail(secs)).with_header(header::RETRY_AFTER, secs.to_string())
}

/// The account of the signed-in caller (gone: as if signed out).
pub(crate) async fn signed_in_user(db: &sea_orm::DatabaseConnection, actor: &Actor) -> Result<store::User, ApiError> {
    store::users::by_id(db, actor.user_id.0)
        .await?
        .ok_or_else(crate::principal::unauthenticated)
}

/// A token link that is unknown, used or expired (400 `invalid_token`).
/// The address of a mail-me request (a reset, a new verification link). A
/// malformed one is refused, naming the field: it belongs to no one, so the
/// refusal tells nothing; a well-formed one is answered alike, known or not.
pub(crate) fn mailed_address(raw: &str) -> Result<dentex_domain::Email, ApiError> {
    dentex_domain::Email::parse(raw).map_err(|e| {
        ApiError::validation(vec![dentex_domain::FieldError::new(
            "email",
            "invalid_email",
            e.to_string(),
        )])
    })
}

pub(crate) fn invalid_token(detail: &str) -> ApiError {
    let mut e = ApiError::new(&crate::codes::INVALID_TOKEN, detail);
    e.errors = vec![dentex_domain::FieldError::new(
        "token",
        "invalid_token",
        "Unknown, used or expired.",
    )];
    e
}
