//! HTTP handlers of the accounts slice and the helpers the handlers share
//! (audit rows, queued mail). The caller ([`Principal`]) and the state
//! ([`AccountsState`]) live outside `http`, so the policy needs nothing of it.

pub mod auth;
pub mod credentials;
pub mod mfa;
pub mod orgs;

use actix_web::HttpRequest;
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::OrgId;
use dentex_http::{ApiError, request_context};
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::OutgoingMail;
use sea_orm::{ConnectionTrait, EntityTrait};

pub(crate) use crate::principal::unauthenticated;
pub use crate::principal::{Principal, SignedIn};
pub use crate::state::AccountsState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(auth::register)
        .service(auth::verify_email)
        .service(auth::login)
        .service(auth::logout)
        .service(auth::me)
        .service(auth::password_reset)
        .service(auth::password_reset_confirm)
        .service(auth::change_password)
        .service(mfa::enrol)
        .service(mfa::confirm)
        .service(mfa::disable)
        .service(orgs::list_labs)
        .service(orgs::get_organization)
        .service(orgs::update_organization)
        .service(credentials::list)
        .service(credentials::submit)
        .service(credentials::upload_document)
        .service(credentials::read_document)
        .service(credentials::support_queue)
        .service(credentials::decide)
        .service(orgs::list_members)
        .service(orgs::add_member)
        .service(orgs::invite)
        .service(orgs::change_member)
        .service(orgs::remove_member)
        .service(orgs::accept_invitation);
}

/// An audit event for this request, with request id and client address filled in.
pub fn event(req: &HttpRequest, action: &str, resource_type: &str, outcome: Outcome) -> AuditEvent {
    let (request_id, client_addr) = request_context(req);
    let mut ev = AuditEvent::new(action, resource_type, outcome);
    ev.request_id = request_id;
    ev.client_addr = client_addr;
    ev
}

/// An audit event by `p`.
pub fn event_by(req: &HttpRequest, p: &Principal, action: &str, resource_type: &str, outcome: Outcome) -> AuditEvent {
    let mut ev = event(req, action, resource_type, outcome);
    ev.actor_id = Some(p.user_id);
    ev.actor_kind = p.actor_kind();
    ev
}

/// Asks the policy for `action` on `org`, and audits: every refusal (kept in
/// the caller's own chain when the organisation is foreign, so probing leaves a
/// trace without writing into another tenant's trail), and every access by
/// platform staff.
pub(crate) async fn authorize(
    state: &AccountsState,
    req: &HttpRequest,
    p: &Principal,
    action: crate::policy::Action,
    org: OrgId,
) -> Result<(), ApiError> {
    match crate::policy::authorize(p, action, org) {
        Ok(()) => {
            if p.staff_role.is_some() {
                let mut ev = event_by(req, p, "support.access", "organization", Outcome::Success);
                ev.org_id = Some(org);
                ev.resource_id = Some(org.to_string());
                ev.reason = Some(format!("{action:?}"));
                record(state, ev).await?;
            }
            Ok(())
        }
        Err(e) => {
            let mut ev = event_by(req, p, "access.refused", "organization", Outcome::Denied);
            ev.org_id = if e.status == actix_web::http::StatusCode::NOT_FOUND {
                p.memberships.first().map(|(o, _)| *o)
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
pub(crate) async fn authorized_org(
    state: &AccountsState,
    req: &HttpRequest,
    p: &Principal,
    org: OrgId,
    action: crate::policy::Action,
) -> Result<dentex_db::entities::organization::Model, ApiError> {
    authorize(state, req, p, action, org).await?;
    dentex_db::entities::organization::Entity::find_by_id(org.0)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Records `ev` inside the change's transaction `txn`: the change and its
/// audit row commit together or not at all. Call it last before `commit`.
pub async fn record_in(txn: &sea_orm::DatabaseTransaction, ev: AuditEvent) -> Result<(), ApiError> {
    dentex_audit::append_in(txn, std::slice::from_ref(&ev))
        .await
        .map(|_| ())
        .map_err(dentex_http::audit_row_failed)
}

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
