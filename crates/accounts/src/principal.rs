//! The authenticated caller of a request ([`Principal`]) and its extractor:
//! one query for the session, its user, the memberships and their
//! organisations, on every request. Kept outside `http` so that the policy
//! and every feature crate ask about a caller without depending on handlers.

use crate::sessions;
use crate::state::AccountsState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use dentex_audit::ActorKind;
use dentex_db::entities::{membership, organization, user};
use dentex_domain::{OrgId, OrgRole, StaffRole, UserId};
use dentex_http::ApiError;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

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
    /// When the session was opened (how fresh its sign-in is).
    pub signed_in_at: chrono::DateTime<chrono::Utc>,
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

impl Principal {
    /// The caller a live session names.
    pub fn of_sign_in(
        s: &dentex_db::entities::session::Model,
        u: &user::Model,
        organizations: &[(membership::Model, organization::Model)],
    ) -> Self {
        // A suspended organisation's members lose access to it at once.
        let memberships = organizations
            .iter()
            .filter(|(_, o)| o.suspended_at.is_none())
            .filter_map(|(m, _)| Some((OrgId(m.org_id), m.role.parse().ok()?)))
            .collect();
        Principal {
            user_id: UserId(u.id),
            session_id: s.id,
            staff_role: u.staff_role.as_deref().and_then(|r| r.parse().ok()),
            memberships,
            second_step: s.second_step,
            signed_in_at: s.created_at,
        }
    }

    /// The caller of a live session, by its id (`None` when it is revoked,
    /// expired or idle for too long): a stream re-checks its caller with it.
    pub async fn of_session<C: sea_orm::ConnectionTrait>(
        db: &C,
        session_id: Uuid,
        policy: sessions::SessionPolicy,
    ) -> Result<Option<Self>, sea_orm::DbErr> {
        Ok(sessions::authenticate_id(db, session_id, policy)
            .await?
            .map(|si| Self::of_sign_in(&si.session, &si.user, &si.organizations)))
    }
}

pub fn unauthenticated() -> ApiError {
    ApiError::new(
        &dentex_http::codes::UNAUTHENTICATED,
        "Sign in first: send Authorization: Bearer <token>.",
    )
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
                    &crate::codes::CSRF_TOKEN_INVALID,
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
            let p = Principal::of_sign_in(&s, &u, &organizations);
            req.extensions_mut().insert(p.clone());
            req.extensions_mut().insert(SignedIn { user: u, organizations });
            Ok(p)
        })
    }
}

/// Where a request with no signed-in caller came from (registration, sign-in,
/// password reset, invitations): its id and client address, for the audit rows.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

impl Origin {
    pub fn of_request(req: &HttpRequest) -> Self {
        let (request_id, client_addr) = dentex_http::request_context(req);
        Self {
            request_id,
            client_addr,
        }
    }

    /// An audit event of this request, with no actor yet.
    pub fn event(&self, action: &str, resource_type: &str, outcome: dentex_audit::Outcome) -> dentex_audit::AuditEvent {
        let mut ev = dentex_audit::AuditEvent::new(action, resource_type, outcome);
        ev.request_id = self.request_id.clone();
        ev.client_addr = self.client_addr.clone();
        ev
    }
}

/// Someone acting, as the services take it: the signed-in caller and the
/// request it came by (its id and client address go into the audit rows).
/// Handlers take it as an extractor; a job or webhook acting for a person
/// builds one with [`Actor::new`].
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn new(principal: Principal, request_id: Option<String>, client_addr: Option<String>) -> Self {
        Self {
            principal,
            request_id,
            client_addr,
        }
    }

    /// The actor of a request by `principal`.
    pub fn of_request(req: &HttpRequest, principal: Principal) -> Self {
        let (request_id, client_addr) = dentex_http::request_context(req);
        Self::new(principal, request_id, client_addr)
    }

    /// An audit event by this actor.
    pub fn event(&self, action: &str, resource_type: &str, outcome: dentex_audit::Outcome) -> dentex_audit::AuditEvent {
        let mut ev = dentex_audit::AuditEvent::new(action, resource_type, outcome);
        ev.request_id = self.request_id.clone();
        ev.client_addr = self.client_addr.clone();
        ev.actor_id = Some(self.principal.user_id);
        ev.actor_kind = self.principal.actor_kind();
        ev
    }
}

impl std::ops::Deref for Actor {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move { Ok(Actor::of_request(&req, principal.await?)) })
    }
}

/// Appends `ev` inside the change's transaction `txn`: the change and its
/// row commit together or not at all. Call it last before `commit`.
pub async fn audit_in(txn: &sea_orm::DatabaseTransaction, ev: dentex_audit::AuditEvent) -> Result<(), ApiError> {
    dentex_audit::append_in(txn, std::slice::from_ref(&ev))
        .await
        .map(|_| ())
        .map_err(dentex_http::audit_row_failed)
}
