//! HTTP handlers of the accounts slice, the [`Principal`] extractor and the
//! helpers the handlers share (audit rows, queued mail).

pub mod auth;
pub mod credentials;
pub mod mfa;
pub mod orgs;

use crate::sessions::{self, SessionPolicy};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use dentex_audit::{ActorKind, AuditEvent, AuditLog, Outcome};
use dentex_db::entities::{membership, organization, user};
use dentex_domain::{OrgId, OrgRole, StaffRole, UserId};
use dentex_http::{ApiError, request_context};
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::OutgoingMail;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

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

pub fn configure(cfg: &mut web::ServiceConfig) {
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

/// The authenticated caller of a request. Memberships are read from the
/// database on every request, so a removed member or a changed role takes
/// effect at once.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub session_id: Uuid,
    pub staff_role: Option<StaffRole>,
    pub memberships: Vec<(OrgId, OrgRole)>,
    /// The session was opened with a second step (a TOTP or recovery code);
    /// a session opened with a password alone, to enrol, stays without it
    /// even after the enrolment is confirmed.
    pub second_step: bool,
}

impl Principal {
    pub fn role_in(&self, org: OrgId) -> Option<OrgRole> {
        self.memberships.iter().find(|(o, _)| *o == org).map(|(_, r)| *r)
    }

    pub fn actor_kind(&self) -> ActorKind {
        if self.staff_role.is_some() {
            ActorKind::Staff
        } else {
            ActorKind::User
        }
    }
}

pub(crate) fn unauthenticated() -> ApiError {
    ApiError::unauthorized("unauthenticated", "Sign in first: send Authorization: Bearer <token>.")
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
}

/// What the sign-in of this request loaded, kept in the request's
/// extensions so that a handler showing it (`/api/v1/me`) reads nothing again.
#[derive(Clone)]
pub struct SignedIn {
    pub user: user::Model,
    /// Every membership with its organisation, suspended ones included.
    pub organizations: Vec<(membership::Model, organization::Model)>,
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        use actix_web::HttpMessage;
        // Asked for twice in one request: the first answer stands.
        if let Some(p) = req.extensions().get::<Principal>() {
            let p = p.clone();
            return Box::pin(async move { Ok(p) });
        }
        let state = req.app_data::<web::Data<AccountsState>>().cloned();
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        // A browser may use the session cookie instead; then every unsafe
        // request must echo the session's CSRF token in a header.
        let cookie = bearer
            .is_none()
            .then(|| req.cookie(sessions::COOKIE).map(|c| c.value().to_owned()))
            .flatten();
        let csrf_ok = cookie.as_ref().is_none_or(|t| {
            req.method().is_safe()
                || req
                    .headers()
                    .get(sessions::CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v == sessions::csrf_token(t))
        });
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("AccountsState is not registered")))?;
            if !csrf_ok {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::FORBIDDEN,
                    "csrf_token_invalid",
                    "Send the session's CSRF token in the X-CSRF-Token header.",
                ));
            }
            let token = bearer.or(cookie).ok_or_else(unauthenticated)?;
            // One query: the session, its user, the memberships and their
            // organisations, read on every request, so a revoked session, a
            // removed member or a suspended organisation loses access at once.
            let sessions::SignIn {
                session: s,
                user: u,
                organizations,
            } = sessions::authenticate(&state.db, &token, state.sessions)
                .await?
                .ok_or_else(unauthenticated)?;
            // A suspended organisation's members lose access to it at once.
            let memberships = organizations
                .iter()
                .filter(|(_, o)| o.suspended_at.is_none())
                .filter_map(|(m, _)| Some((OrgId(m.org_id), m.role.parse().ok()?)))
                .collect();
            let p = Principal {
                user_id: UserId(u.id),
                session_id: s.id,
                staff_role: u.staff_role.as_deref().and_then(|r| r.parse().ok()),
                memberships,
                second_step: s.second_step,
            };
            req.extensions_mut().insert(p.clone());
            req.extensions_mut().insert(SignedIn { user: u, organizations });
            Ok(p)
        })
    }
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
