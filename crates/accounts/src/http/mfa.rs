//! Two-step sign-in: `POST /auth/mfa/totp` (enrol), `POST /auth/mfa/totp/confirm`
//! and `DELETE /auth/mfa/totp`.

use crate::service::mfa;
use crate::{AccountsState, Actor};
use actix_web::{HttpResponse, delete, post, web};
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrollment {
    /// Base32 secret, for typing into an authenticator by hand.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The 6-digit code the authenticator shows now.
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes for when the authenticator is lost. Shown once.
    pub recovery_codes: Vec<String>,
    /// Platform staff: the session that enrolled can still do nothing else;
    /// sign in again with a code for support work.
    pub sign_in_again: bool,
}

/// Starts enrolment: a new secret to add to an authenticator app. MFA turns
/// on only when a code from it is confirmed.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Enrollment),
    (status = 409, description = "`mfa_already_enabled`", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/mfa/totp")]
pub async fn enrol(actor: Actor, state: web::Data<AccountsState>) -> Result<HttpResponse, ApiError> {
    let e = mfa::enrol(&state, &actor).await?;
    Ok(HttpResponse::Ok().json(Enrollment {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
    }))
}

/// Confirms enrolment with a code from the authenticator; answers the recovery
/// codes (once) and signs out the user's other sessions.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "auth", security(("bearer" = [])), request_body = CodeRequest, responses(
    (status = 200, body = RecoveryCodes),
    (status = 400, description = "`invalid_mfa_code`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 409, description = "`mfa_not_enrolling`: start with POST /api/v1/auth/mfa/totp", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/mfa/totp/confirm")]
pub async fn confirm(
    actor: Actor,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let recovery_codes = mfa::confirm(&state, &actor, &body.code).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodes {
        recovery_codes,
        sign_in_again: actor.staff_role.is_some(),
    }))
}

/// Turns two-step sign-in off with a current code. Platform staff cannot.
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "auth", security(("bearer" = [])), request_body = CodeRequest, responses(
    (status = 204, description = "MFA is off; other sessions are signed out"),
    (status = 400, description = "`invalid_mfa_code`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 403, description = "`mfa_required_for_staff`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 409, description = "`mfa_not_enabled`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 429, description = "`too_many_attempts`: retry after `Retry-After` seconds", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[delete("/api/v1/auth/mfa/totp")]
pub async fn disable(
    actor: Actor,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    mfa::disable(&state, &actor, &body.code).await?;
    Ok(HttpResponse::NoContent().finish())
}
