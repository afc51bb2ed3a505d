//! `POST /auth/password-reset`, `POST /auth/password-reset/confirm` and
//! `POST /auth/password`.

use super::views::Accepted;
use crate::service::{Origin, passwords};
use crate::{AccountsState, Actor};
use actix_web::{HttpRequest, HttpResponse, post, web};
use dentex_http::ApiError;
use serde::Deserialize;

pub use passwords::RESET_TTL_MINUTES;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Mails a password-reset link when the address has an account. Answers 202
/// the same way whether or not it does.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetRequest, responses(
    (status = 202, body = Accepted),
))]
#[post("/api/v1/auth/password-reset")]
#[tracing::instrument(skip_all)]
pub async fn password_reset(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    passwords::request_reset(&state, &Origin::of_request(&req), &body.email).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "reset_sent_if_known",
        detail: "If this address has an account, a link to choose a new password is on its way.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// Sets a new password with the token from the reset e-mail; signs out every session.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirm, responses(
    (status = 200, body = Accepted),
    (status = 400, description = "Unknown, used or expired token (`invalid_token`)", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 422, description = "The new password breaks the rules", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/password-reset/confirm")]
#[tracing::instrument(skip_all)]
pub async fn password_reset_confirm(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    passwords::confirm_reset(&state, &Origin::of_request(&req), &body.token, body.new_password).await?;
    Ok(HttpResponse::Ok().json(Accepted {
        status: "password_changed",
        detail: "Your password is changed and every session was signed out. Sign in with the new password.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the signed-in user's password; every other session is signed out.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChange, responses(
    (status = 204, description = "Changed; other sessions are signed out"),
    (status = 401, description = "`invalid_credentials`: the current password is wrong", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 422, body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 429, description = "`too_many_attempts`: retry after `Retry-After` seconds", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/password")]
#[tracing::instrument(skip_all)]
pub async fn change_password(
    actor: Actor,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    passwords::change(&state, &actor, body.current_password, body.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
