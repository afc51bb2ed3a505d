//! HTTP handlers of the accounts slice and the [`Principal`] extractor.

use crate::sessions::{self, SessionPolicy};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use dentex_audit::{ActorKind, AuditEvent, AuditLog, Outcome};
use dentex_db::entities::user;
use dentex_domain::{Email, FieldError, StaffRole, UserId};
use dentex_http::{ApiError, request_context};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// What the accounts handlers need, registered as app data by the gateway.
#[derive(Clone)]
pub struct AccountsState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub sessions: SessionPolicy,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(logout).service(me);
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub session_id: Uuid,
    pub staff_role: Option<StaffRole>,
}

fn unauthenticated() -> ApiError {
    ApiError::unauthorized("unauthenticated", "Sign in first: send Authorization: Bearer <token>.")
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AccountsState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("AccountsState is not registered")))?;
            let token = token.ok_or_else(unauthenticated)?;
            let s = sessions::authenticate(&state.db, &token, state.sessions)
                .await?
                .ok_or_else(unauthenticated)?;
            // The user is looked up on every request: a removed account loses access at once.
            let u = user::Entity::find_by_id(s.user_id)
                .one(&state.db)
                .await?
                .ok_or_else(unauthenticated)?;
            Ok(Principal {
                user_id: UserId(u.id),
                session_id: s.id,
                staff_role: u.staff_role.as_deref().and_then(|r| r.parse().ok()),
            })
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`; shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: Me,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// `support` or `platform_admin` for platform staff.
    pub staff_role: Option<String>,
}

impl From<user::Model> for Me {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            staff_role: u.staff_role,
        }
    }
}

/// Exchanges an e-mail address and password for a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, description = "Unknown address or wrong password (the same answer for both)", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Malformed fields", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let email = Email::parse(&body.email)
        .map_err(|e| ApiError::validation(vec![FieldError::new("email", "invalid_email", e.to_string())]))?;
    if body.password.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "password",
            "required",
            "Enter your password.",
        )]));
    }
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str().to_lowercase()))
        .one(&state.db)
        .await?;
    let ok = crate::password::verify(body.password, found.as_ref().map(|u| u.password_hash.clone())).await;
    let (request_id, client_addr) = request_context(&req);
    let mut ev = AuditEvent::new(
        "auth.login",
        "user",
        if ok { Outcome::Success } else { Outcome::Failure },
    );
    ev.request_id = request_id;
    ev.client_addr = client_addr;
    ev.resource_id = found.as_ref().map(|u| u.id.to_string());
    let Some(u) = found.filter(|_| ok) else {
        ev.actor_kind = ActorKind::Anonymous;
        state.audit.record(ev).await.map_err(ApiError::internal)?;
        tracing::info!("login refused");
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "The e-mail address or the password is wrong.",
        ));
    };
    ev.actor_id = Some(UserId(u.id));
    ev.actor_kind = if u.staff_role.is_some() {
        ActorKind::Staff
    } else {
        ActorKind::User
    };
    let s = sessions::issue(&state.db, u.id, state.sessions).await?;
    state.audit.record(ev).await.map_err(ApiError::internal)?;
    tracing::info!(user.id = %u.id, session.id = %s.id, "login succeeded");
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: s.token,
        expires_at: s.expires_at,
        user: u.into(),
    }))
}

/// Ends the current session on the server.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "The session is revoked"),
    (status = 401, body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/logout")]
pub async fn logout(req: HttpRequest, p: Principal, state: web::Data<AccountsState>) -> Result<HttpResponse, ApiError> {
    sessions::revoke(&state.db, p.session_id).await?;
    let (request_id, client_addr) = request_context(&req);
    let mut ev = AuditEvent::new("auth.logout", "session", Outcome::Success);
    ev.actor_id = Some(p.user_id);
    ev.actor_kind = if p.staff_role.is_some() {
        ActorKind::Staff
    } else {
        ActorKind::User
    };
    ev.resource_id = Some(p.session_id.to_string());
    ev.request_id = request_id;
    ev.client_addr = client_addr;
    state.audit.record(ev).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/me")]
pub async fn me(p: Principal, state: web::Data<AccountsState>) -> Result<HttpResponse, ApiError> {
    let u = user::Entity::find_by_id(p.user_id.0)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Me::from(u)))
}
