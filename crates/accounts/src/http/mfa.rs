//! Two-step sign-in: enrol a TOTP authenticator, confirm it (receiving ten
//! single-use recovery codes), turn it off. Every change signs out the user's
//! other sessions and is told by e-mail.

use super::{AccountsState, Principal, event_by, queue_mail, record, record_in};
use crate::mfa;
use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use dentex_audit::Outcome;
use dentex_db::entities::{recovery_code, session, user};
use dentex_db::now;
use dentex_domain::{Email, FieldError};
use dentex_http::ApiError;
use dentex_mail::templates;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrolment {
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

async fn load(state: &AccountsState, p: &Principal) -> Result<user::Model, ApiError> {
    user::Entity::find_by_id(p.user_id.0)
        .one(&state.db)
        .await?
        .ok_or_else(super::unauthenticated)
}

fn bad_code() -> ApiError {
    let mut e = ApiError::new(
        &crate::codes::INVALID_MFA_CODE_CONFIRM,
        "That code is wrong or was already used; try the next one.",
    );
    e.errors = vec![FieldError::new("code", "invalid_mfa_code", "Wrong or already used.")];
    e
}

/// Signs out every other session of the user.
async fn revoke_others<C: sea_orm::ConnectionTrait>(db: &C, p: &Principal) -> Result<(), ApiError> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(session::Column::UserId.eq(p.user_id.0))
        .filter(session::Column::Id.ne(p.session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Starts enrolment: a new secret to add to an authenticator app. MFA turns
/// on only when a code from it is confirmed.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Enrolment),
    (status = 409, description = "`mfa_already_enabled`", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/mfa/totp")]
pub async fn enrol(req: HttpRequest, p: Principal, state: web::Data<AccountsState>) -> Result<HttpResponse, ApiError> {
    let u = load(&state, &p).await?;
    if u.mfa_enabled_at.is_some() {
        return Err(ApiError::new(
            &crate::codes::MFA_ALREADY_ENABLED,
            "Two-step sign-in is already on; turn it off first to enrol a new authenticator.",
        ));
    }
    let secret = mfa::new_secret();
    let uri = mfa::otpauth_uri(&secret, &u.email).ok_or_else(|| ApiError::internal(anyhow::anyhow!("otpauth URI")))?;
    let mut am: user::ActiveModel = u.into();
    am.mfa_pending_secret = Set(Some(secret.clone()));
    am.updated_at = Set(now());
    let txn = dentex_db::begin_write(&state.db).await?;
    am.update(&txn).await?;
    record_in(
        &txn,
        event_by(&req, &p, "auth.mfa_enrol_start", "user", Outcome::Success),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(Enrolment {
        secret,
        otpauth_uri: uri,
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
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let u = load(&state, &p).await?;
    let Some(secret) = u.mfa_pending_secret.clone() else {
        return Err(ApiError::new(
            &crate::codes::MFA_NOT_ENROLLING,
            "Start enrolment first with POST /api/v1/auth/mfa/totp.",
        ));
    };
    let Some(step) = mfa::check(&secret, &body.code, None) else {
        record(&state, event_by(&req, &p, "auth.mfa_enable", "user", Outcome::Failure)).await?;
        return Err(bad_code());
    };
    let codes = mfa::new_recovery_codes();
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let t = now();
    let txn = dentex_db::begin_write(&state.db).await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(u.id))
        .exec(&txn)
        .await?;
    for c in &codes {
        recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(u.id),
            code_hash: Set(mfa::recovery_hash(c)),
            used_at: Set(None),
            created_at: Set(t),
        }
        .insert(&txn)
        .await?;
    }
    let mut am: user::ActiveModel = u.into();
    am.mfa_secret = Set(Some(secret));
    am.mfa_pending_secret = Set(None);
    am.mfa_enabled_at = Set(Some(t));
    am.mfa_last_step = Set(Some(step));
    am.updated_at = Set(t);
    am.update(&txn).await?;
    revoke_others(&txn, &p).await?;
    queue_mail(&txn, &templates::mfa_changed(email, true)).await?;
    record_in(&txn, event_by(&req, &p, "auth.mfa_enable", "user", Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::Ok().json(RecoveryCodes {
        recovery_codes: codes,
        sign_in_again: p.staff_role.is_some(),
    }))
}

/// Turns two-step sign-in off with a current code. Platform staff cannot.
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "auth", security(("bearer" = [])), request_body = CodeRequest, responses(
    (status = 204, description = "MFA is off; other sessions are signed out"),
    (status = 400, description = "`invalid_mfa_code`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 403, description = "`mfa_required_for_staff`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 409, description = "`mfa_not_enabled`", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[delete("/api/v1/auth/mfa/totp")]
pub async fn disable(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    crate::policy::may_disable_mfa(&p)?;
    let u = load(&state, &p).await?;
    let Some(secret) = u.mfa_secret.clone().filter(|_| u.mfa_enabled_at.is_some()) else {
        return Err(ApiError::new(
            &crate::codes::MFA_NOT_ENABLED,
            "Two-step sign-in is not on.",
        ));
    };
    // Guesses are throttled like sign-in attempts, per account and address.
    let account = crate::throttle::account(&u.email);
    let (_, addr) = dentex_http::request_context(&req);
    let keys = crate::throttle::keys(Some(&account), addr.as_deref());
    if let Some(wait) = crate::throttle::blocked(&state.db, &keys).await? {
        return Err(ApiError::new(
            &crate::codes::TOO_MANY_ATTEMPTS,
            format!("Too many wrong codes. Try again in {} seconds.", wait.as_secs().max(1)),
        )
        .with_header(actix_web::http::header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
    }
    let Some(step) = mfa::check(&secret, &body.code, u.mfa_last_step) else {
        crate::throttle::record_failure(&state.db, &keys).await?;
        record(&state, event_by(&req, &p, "auth.mfa_disable", "user", Outcome::Failure)).await?;
        return Err(bad_code());
    };
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(u.id))
        .exec(&txn)
        .await?;
    // Conditional on the step: of two racing requests with one code, one wins.
    let r = user::Entity::update_many()
        .col_expr(
            user::Column::MfaSecret,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .col_expr(
            user::Column::MfaEnabledAt,
            sea_orm::sea_query::Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(user::Column::MfaLastStep, sea_orm::sea_query::Expr::value(step))
        .col_expr(user::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(user::Column::Id.eq(u.id))
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::MfaLastStep.is_null())
                .add(user::Column::MfaLastStep.lt(step)),
        )
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(bad_code());
    }
    revoke_others(&txn, &p).await?;
    queue_mail(&txn, &templates::mfa_changed(email, false)).await?;
    record_in(&txn, event_by(&req, &p, "auth.mfa_disable", "user", Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::NoContent().finish())
}

/// The second step of sign-in: a TOTP code (accepted once) or an unused
/// recovery code (used up). `Ok(Some(note))` names a recovery-code use.
pub(crate) async fn second_step<C: sea_orm::ConnectionTrait>(
    db: &C,
    u: &user::Model,
    totp_code: Option<&str>,
    recovery: Option<&str>,
) -> Result<Result<Option<&'static str>, ()>, ApiError> {
    let Some(secret) = u.mfa_secret.as_deref() else {
        return Ok(Ok(None));
    };
    if let Some(code) = totp_code {
        let Some(step) = mfa::check(secret, code, u.mfa_last_step) else {
            return Ok(Err(()));
        };
        // Conditional: of two racing sign-ins with one code, one wins.
        let r = user::Entity::update_many()
            .col_expr(user::Column::MfaLastStep, sea_orm::sea_query::Expr::value(step))
            .filter(user::Column::Id.eq(u.id))
            .filter(
                sea_orm::Condition::any()
                    .add(user::Column::MfaLastStep.is_null())
                    .add(user::Column::MfaLastStep.lt(step)),
            )
            .exec(db)
            .await?;
        return Ok(if r.rows_affected == 1 { Ok(None) } else { Err(()) });
    }
    if let Some(code) = recovery {
        let r = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, sea_orm::sea_query::Expr::value(now()))
            .filter(recovery_code::Column::UserId.eq(u.id))
            .filter(recovery_code::Column::CodeHash.eq(mfa::recovery_hash(code)))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(db)
            .await?;
        return Ok(if r.rows_affected == 1 {
            Ok(Some("recovery code used"))
        } else {
            Err(())
        });
    }
    Ok(Err(()))
}
