//! The HTTP face of accounts: one file per resource, each handler extracting
//! the request, asking the policy, calling one service and building the view.
//! The caller ([`Principal`], [`crate::Actor`]) and the state
//! ([`AccountsState`]) live outside `http`, so the policy needs nothing of it.

pub mod credentials;
pub mod members;
pub mod mfa;
pub mod organizations;
pub mod passwords;
pub mod registration;
pub mod sessions;
pub mod views;

use actix_web::HttpRequest;
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::OrgId;
use dentex_http::ApiError;

/// Records an audit event inside the change's transaction (the same as [`crate::audit_in`]).
pub use crate::principal::audit_in as record_in;
pub use crate::principal::{Principal, SignedIn};
pub use crate::state::AccountsState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(registration::register)
        .service(registration::verify_email)
        .service(registration::resend_verification)
        .service(sessions::login)
        .service(sessions::logout)
        .service(sessions::me)
        .service(passwords::password_reset)
        .service(passwords::password_reset_confirm)
        .service(passwords::change_password)
        .service(mfa::enrol)
        .service(mfa::confirm)
        .service(mfa::disable)
        .service(organizations::get_organization)
        .service(organizations::update_organization)
        .service(credentials::list)
        .service(credentials::submit)
        .service(credentials::get_credential)
        .service(credentials::upload_document)
        .service(credentials::read_document)
        .service(credentials::support_queue)
        .service(credentials::decide)
        .service(members::list_members)
        .service(members::add_member)
        .service(members::invite)
        .service(members::list_invitations)
        .service(members::get_invitation)
        .service(members::revoke_invitation)
        .service(members::change_member)
        .service(members::remove_member)
        .service(members::accept_invitation);
}

/// An audit event by `p` for this request, with request id and client address
/// filled in (other crates' handlers use it; services take an [`crate::Actor`]).
pub fn event_by(req: &HttpRequest, p: &Principal, action: &str, resource_type: &str, outcome: Outcome) -> AuditEvent {
    let (request_id, client_addr) = dentex_http::request_context(req);
    let mut ev = AuditEvent::new(action, resource_type, outcome);
    ev.request_id = request_id;
    ev.client_addr = client_addr;
    ev.actor_id = Some(p.user_id);
    ev.actor_kind = p.actor_kind();
    ev
}

/// An organisation id from the path: anything else is a 404, as for an
/// organisation that does not exist.
pub(crate) fn parse_org(raw: &str) -> Result<OrgId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}
