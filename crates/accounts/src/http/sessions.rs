//! `POST /auth/login`, `POST /auth/logout` and `GET /me`.

use super::views::Me;
use crate::service::Origin;
use crate::service::sessions::{self as service, Login};
use crate::{AccountsState, Actor, SignedIn, sessions};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use dentex_db::now;
use dentex_domain::{Email, FieldError};
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};

dentex_domain::doc_enum!(
    /// `LoginRequest.session` in the document.
    SessionKind = "How the session is kept: a bearer token (the default) or a browser cookie.",
    ["bearer", "cookie"]
);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1)]
    pub password: String,
    /// Required once two-step sign-in is on (or `recovery_code`).
    pub totp_code: Option<String>,
    /// A single-use recovery code instead of `totp_code`.
    pub recovery_code: Option<String>,
    /// `cookie` for browsers: the session is set as an HttpOnly
    /// `__Host-dentex_session` cookie and a `csrf_token` is returned, to be sent
    /// as `X-CSRF-Token` with every unsafe request. Default: `bearer`.
    #[schema(value_type = Option<SessionKind>)]
    pub session: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`; shown once. Empty in cookie mode.
    pub token: String,
    /// In cookie mode: echo it as `X-CSRF-Token` on POST, PUT, PATCH and DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub user: Me,
}

impl LoginRequest {
    /// The attempt, and whether the session goes in a cookie; one problem at a time.
    fn parse(self) -> Result<(Login, bool), ApiError> {
        let invalid = |field, code, message: String| ApiError::validation(vec![FieldError::new(field, code, message)]);
        let email = Email::parse(&self.email).map_err(|e| invalid("email", "invalid_email", e.to_string()))?;
        if self.password.is_empty() {
            return Err(invalid("password", "required", "Enter your password.".into()));
        }
        let cookie_mode = match self.session.as_deref() {
            None | Some("bearer") => false,
            Some("cookie") => true,
            Some(_) => return Err(invalid("session", "invalid_choice", "Use bearer or cookie.".into())),
        };
        let attempt = Login {
            email,
            password: self.password,
            totp_code: self.totp_code,
            recovery_code: self.recovery_code,
        };
        Ok((attempt, cookie_mode))
    }
}

/// The session cookie (`value` empty and `max_age` none: the one that removes it).
fn session_cookie(value: String, max_age_secs: Option<i64>) -> Cookie<'static> {
    let mut c = Cookie::build(sessions::COOKIE, value)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict);
    if let Some(secs) = max_age_secs {
        c = c.max_age(actix_web::cookie::time::Duration::seconds(secs));
    }
    c.finish()
}

/// Exchanges an e-mail address and password for a session token. Repeated
/// failures slow further attempts (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, description = "Unknown address or wrong password (`invalid_credentials`, the same answer for both); `mfa_required` when a code is needed; `invalid_mfa_code`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 403, description = "The e-mail address is not confirmed yet (`email_not_verified`); platform staff whose one enrolment sign-in was used (`mfa_enrollment_required`)", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Malformed fields", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 429, description = "`too_many_attempts`: retry after `Retry-After` seconds", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let (attempt, cookie_mode) = body.into_inner().parse()?;
    let opened = service::login(&state, &Origin::of_request(&req), attempt).await?;
    let s = opened.session;
    let user = Me::new(opened.user, opened.organizations);
    if cookie_mode {
        let max_age = (s.expires_at - now()).num_seconds().max(0);
        return Ok(HttpResponse::Ok()
            .cookie(session_cookie(s.token.clone(), Some(max_age)))
            .json(LoginResponse {
                token: String::new(),
                csrf_token: Some(sessions::csrf_token(&s.token)),
                expires_at: s.expires_at,
                user,
            }));
    }
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: s.token,
        csrf_token: None,
        expires_at: s.expires_at,
        user,
    }))
}

/// Ends the current session on the server.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "The session is revoked"),
    (status = 401, body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/logout")]
pub async fn logout(actor: Actor, state: web::Data<AccountsState>) -> Result<HttpResponse, ApiError> {
    service::logout(&state.db, &actor).await?;
    // Clears the browser cookie too, if there is one.
    let mut gone = session_cookie(String::new(), None);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The signed-in user and their organisations.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/me")]
pub async fn me(
    req: HttpRequest,
    p: crate::Principal,
    state: web::Data<AccountsState>,
) -> Result<HttpResponse, ApiError> {
    // The sign-in of this request loaded all of it.
    let signed_in = req
        .extensions()
        .get::<SignedIn>()
        .cloned()
        .ok_or_else(crate::principal::unauthenticated)?;
    let mut me = Me::new(signed_in.user, signed_in.organizations);
    me.unread_messages = state.me_hooks.unread_messages(&state.db, &p).await?;
    Ok(HttpResponse::Ok().json(me))
}
