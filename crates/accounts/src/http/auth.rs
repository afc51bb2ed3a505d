//! Registration, e-mail verification, sign-in, sign-out, password reset and `/me`.

use super::{AccountsState, Principal, event, event_by, queue_mail, record, record_in};
use crate::{password, sessions, throttle, tokens};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use dentex_audit::{ActorKind, Outcome};
use dentex_db::entities::{membership, organization, user};
use dentex_db::now;
use dentex_domain::{CountryCode, DataRegion, Email, FieldError, OrgId, OrgKind, OrgRole, UserId};
use dentex_http::{ApiError, request_context};
use dentex_mail::templates;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const VERIFY_TTL_HOURS: i64 = 24;
pub const RESET_TTL_MINUTES: i64 = 60;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// At least 12 characters, not a commonly used password.
    pub password: String,
    pub display_name: String,
    pub organization: NewOrganization,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    pub name: String,
    /// `clinic`, `dental_lab` or `manufacturing_lab`.
    pub kind: String,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: String,
    /// Where the organisation's data lives: `eu` or `us`.
    pub region: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// What happens next.
    pub status: &'static str,
    pub detail: &'static str,
}

struct ValidRegistration {
    email: Email,
    password: String,
    display_name: String,
    org_name: String,
    kind: OrgKind,
    country: CountryCode,
    region: DataRegion,
}

fn validate_registration(r: RegisterRequest) -> Result<ValidRegistration, ApiError> {
    let mut errs = Vec::new();
    let email = Email::parse(&r.email)
        .map_err(|e| errs.push(FieldError::new("email", "invalid_email", e.to_string())))
        .ok();
    let display_name = r.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errs.push(FieldError::new(
            "display_name",
            "invalid_length",
            "Give a name of 1 to 100 characters.",
        ));
    }
    if let Err(e) = password::check_new("password", &r.password, &[&r.email, &display_name]) {
        errs.push(e);
    }
    let org_name = r.organization.name.trim().to_owned();
    if org_name.chars().count() < 2 || org_name.chars().count() > 200 {
        errs.push(FieldError::new(
            "organization.name",
            "invalid_length",
            "Give a name of 2 to 200 characters.",
        ));
    }
    let kind = r
        .organization
        .kind
        .parse::<OrgKind>()
        .map_err(|e| errs.push(FieldError::new("organization.kind", "invalid_choice", e)))
        .ok();
    let country = CountryCode::parse(&r.organization.country)
        .map_err(|e| errs.push(FieldError::new("organization.country", "invalid_country", e)))
        .ok();
    let region = r
        .organization
        .region
        .parse::<DataRegion>()
        .map_err(|e| errs.push(FieldError::new("organization.region", "invalid_choice", e)))
        .ok();
    match (email, kind, country, region) {
        (Some(email), Some(kind), Some(country), Some(region)) if errs.is_empty() => Ok(ValidRegistration {
            email,
            password: r.password,
            display_name,
            org_name,
            kind,
            country,
            region,
        }),
        _ => Err(ApiError::validation(errs)),
    }
}

/// "Someone tried to register with your address" notices per account and hour.
const NOTICES_PER_HOUR: u32 = 3;

/// Registers a person together with a new organisation, of which they become
/// the owner, and mails them a verification link. The answer is the same
/// whether or not the address already has an account (that address is told by
/// e-mail instead), so registration reveals nothing about who uses Dentex.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 202, body = Accepted),
    (status = 422, description = "Invalid fields", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/register")]
#[tracing::instrument(skip_all)]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let r = validate_registration(body.into_inner())?;
    let address = r.email.as_str().to_lowercase();
    // Hash before looking the address up, so both outcomes cost the same.
    let hash = password::hash(r.password.clone()).await.map_err(ApiError::internal)?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(address.clone()))
        .one(&state.db)
        .await?;
    let accepted = HttpResponse::Accepted().json(Accepted {
        status: "verification_sent",
        detail: "Check your e-mail: follow the link in it to confirm your address, then sign in.",
    });
    if let Some(u) = existing {
        // At most three notices in any hour per account, claimed atomically,
        // so the form cannot flood a real person's inbox. The answer stays the same.
        let notify = throttle::claim_slot(
            &state.db,
            &format!("notice:already-registered:{}", u.id),
            NOTICES_PER_HOUR,
            chrono::Duration::hours(1),
        )
        .await?;
        if notify {
            let txn = dentex_db::begin_write(&state.db).await?;
            queue_mail(&txn, &templates::already_registered(r.email, &state.public_base_url)).await?;
            txn.commit().await?;
            state.queue.wake();
        }
        let mut ev = event(&req, "auth.register", "user", Outcome::Failure);
        ev.actor_kind = ActorKind::Anonymous;
        ev.resource_id = Some(u.id.to_string());
        ev.reason = Some(
            if notify {
                "address already registered; owner notified"
            } else {
                "address already registered; hourly notice limit reached"
            }
            .into(),
        );
        record(&state, ev).await?;
        tracing::info!(notified = notify, "registration for an existing address");
        return Ok(accepted);
    }

    let t = now();
    let user_id = UserId::new();
    let org_id = OrgId::new();
    let txn = dentex_db::begin_write(&state.db).await?;
    crate::staff::new_user(user_id, &address, &r.display_name, hash, None, false)
        .insert(&txn)
        .await?;
    organization::ActiveModel {
        id: Set(org_id.0),
        name: Set(r.org_name),
        kind: Set(r.kind.as_str().into()),
        country: Set(r.country.to_string()),
        region: Set(r.region.as_str().into()),
        accepts_new_work: Set(r.kind.is_lab()),
        services: Set("[]".into()),
        service_countries: Set(if r.kind.is_lab() {
            format!("[\"{}\"]", r.country)
        } else {
            "[]".into()
        }),
        suspended_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&txn)
    .await?;
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id.0),
        user_id: Set(user_id.0),
        role: Set(OrgRole::Owner.as_str().into()),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&txn)
    .await?;
    let token = tokens::issue(
        &txn,
        tokens::VERIFY_EMAIL,
        tokens::TokenFor {
            user_id: Some(user_id.0),
            ..Default::default()
        },
        chrono::Duration::hours(VERIFY_TTL_HOURS),
    )
    .await?;
    queue_mail(
        &txn,
        &templates::verify_email(
            r.email,
            &r.display_name,
            &state.public_base_url,
            &token,
            VERIFY_TTL_HOURS,
        ),
    )
    .await?;

    let mut ev = event(&req, "organization.register", "organization", Outcome::Success);
    ev.org_id = Some(org_id);
    ev.actor_id = Some(user_id);
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(org_id.to_string());
    record_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(user.id = %user_id, org.id = %org_id, "registered");
    Ok(accepted)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

fn invalid_token() -> ApiError {
    let mut e = ApiError::new(
        &crate::codes::INVALID_TOKEN,
        "This link is unknown, already used or expired. Ask for a new one.",
    );
    e.errors = vec![FieldError::new("token", "invalid_token", "Unknown, used or expired.")];
    e
}

/// Confirms an e-mail address with the token from the verification e-mail.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenRequest, responses(
    (status = 200, body = Accepted),
    (status = 400, description = "Unknown, used or expired token", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/verify-email")]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(tok) = tokens::consume(&txn, tokens::VERIFY_EMAIL, body.token.trim()).await? else {
        return Err(invalid_token());
    };
    let user_id = tok.user_id.ok_or_else(invalid_token)?;
    let t = now();
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, sea_orm::sea_query::Expr::value(t))
        .col_expr(user::Column::UpdatedAt, sea_orm::sea_query::Expr::value(t))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(&txn)
        .await?;
    let mut ev = event(&req, "auth.verify_email", "user", Outcome::Success);
    ev.actor_id = Some(UserId(user_id));
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(user_id.to_string());
    record_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(Accepted {
        status: "verified",
        detail: "Your e-mail address is confirmed. You can sign in.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Required once two-step sign-in is on (or `recovery_code`).
    pub totp_code: Option<String>,
    /// A single-use recovery code instead of `totp_code`.
    pub recovery_code: Option<String>,
    /// `cookie` for browsers: the session is set as an HttpOnly
    /// `__Host-dentex_session` cookie and a `csrf_token` is returned, to be sent
    /// as `X-CSRF-Token` with every unsafe request. Default: `bearer`.
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// `support` or `platform_admin` for platform staff.
    pub staff_role: Option<String>,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub organizations: Vec<MyOrganization>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyOrganization {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub role: String,
}

async fn me_of(db: &sea_orm::DatabaseConnection, u: user::Model) -> Result<Me, ApiError> {
    let organizations = membership::Entity::find()
        .filter(membership::Column::UserId.eq(u.id))
        .find_also_related(organization::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(m, o)| Some((m, o?)))
        .collect();
    Ok(me_from(u, organizations))
}

fn me_from(u: user::Model, organizations: Vec<(membership::Model, organization::Model)>) -> Me {
    Me {
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        staff_role: u.staff_role,
        email_verified: u.email_verified_at.is_some(),
        mfa_enabled: u.mfa_enabled_at.is_some(),
        organizations: organizations
            .into_iter()
            .map(|(m, o)| MyOrganization {
                id: o.id,
                name: o.name,
                kind: o.kind,
                role: m.role,
            })
            .collect(),
    }
}

/// Exchanges an e-mail address and password for a session token. Repeated
/// failures slow further attempts (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, description = "Unknown address or wrong password (`invalid_credentials`, the same answer for both); `mfa_required` when a code is needed; `invalid_mfa_code`", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 403, description = "The e-mail address is not confirmed yet (`email_not_verified`)", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Malformed fields", body = dentex_http::Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failed attempts; retry after `Retry-After` seconds", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<LoginRequest>,
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
    let cookie_mode = match body.session.as_deref() {
        None | Some("bearer") => false,
        Some("cookie") => true,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "session",
                "invalid_choice",
                "Use bearer or cookie.",
            )]));
        }
    };
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str().to_lowercase()))
        .one(&state.db)
        .await?;
    let (_, addr) = request_context(&req);
    let account = throttle::account(email.as_str());
    let keys = throttle::keys(Some(&account), addr.as_deref());
    if let Some(wait) = throttle::blocked(&state.db, &keys).await? {
        let mut ev = event(&req, "auth.login", "user", Outcome::Denied);
        ev.actor_kind = ActorKind::Anonymous;
        ev.resource_id = found.as_ref().map(|u| u.id.to_string());
        ev.reason = Some("throttled".into());
        record(&state, ev).await?;
        let secs = wait.as_secs().max(1);
        return Err(ApiError::new(
            &crate::codes::TOO_MANY_ATTEMPTS,
            format!("Too many failed sign-ins. Try again in {secs} seconds; a password reset also lifts the wait."),
        )
        .with_header(header::RETRY_AFTER, secs.to_string()));
    }
    let ok = password::verify(body.password, found.as_ref().map(|u| u.password_hash.clone())).await;
    let mut ev = event(
        &req,
        "auth.login",
        "user",
        if ok { Outcome::Success } else { Outcome::Failure },
    );
    ev.resource_id = found.as_ref().map(|u| u.id.to_string());
    let Some(u) = found.filter(|_| ok) else {
        throttle::record_failure(&state.db, &keys).await?;
        ev.actor_kind = ActorKind::Anonymous;
        record(&state, ev).await?;
        tracing::info!("login refused");
        return Err(ApiError::new(
            &crate::codes::INVALID_CREDENTIALS,
            "The e-mail address or the password is wrong.",
        ));
    };
    ev.actor_id = Some(UserId(u.id));
    ev.actor_kind = if u.staff_role.is_some() {
        ActorKind::Staff
    } else {
        ActorKind::User
    };
    if u.email_verified_at.is_none() {
        ev.outcome = Outcome::Denied;
        ev.reason = Some("e-mail address not verified".into());
        record(&state, ev).await?;
        return Err(ApiError::new(
            &crate::codes::EMAIL_NOT_VERIFIED,
            "Confirm your e-mail address first: follow the link we sent you.",
        ));
    }
    // Staff may sign in once with a password alone, to enrol; never again.
    if u.staff_role.is_some() && u.mfa_enabled_at.is_none() {
        use sea_orm::PaginatorTrait;
        let earlier = dentex_db::entities::session::Entity::find()
            .filter(dentex_db::entities::session::Column::UserId.eq(u.id))
            .count(&state.db)
            .await?;
        if earlier > 0 {
            ev.outcome = Outcome::Denied;
            ev.reason = Some("staff without two-step sign-in after the first sign-in".into());
            record(&state, ev).await?;
            return Err(ApiError::new(
                &crate::codes::MFA_ENROLLMENT_REQUIRED,
                "Platform staff sign in with two steps. The one sign-in allowed for enrolment was used; \
                 ask a platform admin to reset your account.",
            ));
        }
    }
    // The second step's use of its code, the session and the row of the
    // sign-in commit together.
    let txn = dentex_db::begin_write(&state.db).await?;
    if u.mfa_enabled_at.is_some() {
        if body.totp_code.is_none() && body.recovery_code.is_none() {
            drop(txn);
            ev.outcome = Outcome::Denied;
            ev.reason = Some("second step required".into());
            record(&state, ev).await?;
            return Err(ApiError::new(
                &crate::codes::MFA_REQUIRED,
                "Enter the code from your authenticator app (totp_code) or a recovery code (recovery_code).",
            ));
        }
        match super::mfa::second_step(&txn, &u, body.totp_code.as_deref(), body.recovery_code.as_deref()).await? {
            Ok(note) => ev.reason = note.map(str::to_owned),
            Err(()) => {
                drop(txn);
                throttle::record_failure(&state.db, &keys).await?;
                ev.outcome = Outcome::Failure;
                ev.reason = Some("wrong or reused second-step code".into());
                record(&state, ev).await?;
                return Err(ApiError::new(
                    &crate::codes::INVALID_MFA_CODE,
                    "That code is wrong or was already used; try the next one.",
                ));
            }
        }
    }
    throttle::record_success(&txn, &account, addr.as_deref()).await?;
    // With MFA on, a code was checked above.
    let s = sessions::issue(&txn, u.id, state.sessions, u.mfa_enabled_at.is_some()).await?;
    record_in(&txn, ev).await?;
    txn.commit().await?;
    tracing::info!(user.id = %u.id, session.id = %s.id, "login succeeded");
    let user = me_of(&state.db, u).await?;
    if cookie_mode {
        let max_age = (s.expires_at - now()).num_seconds().max(0);
        let cookie = actix_web::cookie::Cookie::build(sessions::COOKIE, s.token.clone())
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(actix_web::cookie::SameSite::Strict)
            .max_age(actix_web::cookie::time::Duration::seconds(max_age))
            .finish();
        return Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse {
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
pub async fn logout(req: HttpRequest, p: Principal, state: web::Data<AccountsState>) -> Result<HttpResponse, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    sessions::revoke(&txn, p.session_id).await?;
    let mut ev = event_by(&req, &p, "auth.logout", "session", Outcome::Success);
    ev.resource_id = Some(p.session_id.to_string());
    record_in(&txn, ev).await?;
    txn.commit().await?;
    // Clears the browser cookie too, if there is one.
    let mut gone = actix_web::cookie::Cookie::build(sessions::COOKIE, "")
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Strict)
        .finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The signed-in user and their organisations.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/me")]
pub async fn me(req: HttpRequest, _p: Principal) -> Result<HttpResponse, ApiError> {
    use actix_web::HttpMessage;
    // The sign-in of this request loaded all of it.
    let signed_in = req
        .extensions()
        .get::<super::SignedIn>()
        .cloned()
        .ok_or_else(super::unauthenticated)?;
    Ok(HttpResponse::Ok().json(me_from(signed_in.user, signed_in.organizations)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
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
    let accepted = HttpResponse::Accepted().json(Accepted {
        status: "reset_sent_if_known",
        detail: "If this address has an account, a link to choose a new password is on its way.",
    });
    let Ok(email) = Email::parse(&body.email) else {
        return Ok(accepted);
    };
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str().to_lowercase()))
        .one(&state.db)
        .await?;
    let mut ev = event(&req, "auth.password_reset_request", "user", Outcome::Success);
    ev.actor_kind = ActorKind::Anonymous;
    // At most three reset mails an hour per account: the endpoint cannot be
    // used to flood someone's inbox. The answer stays the same.
    let recent = match &found {
        Some(u) => {
            use sea_orm::PaginatorTrait;
            dentex_db::entities::one_time_token::Entity::find()
                .filter(dentex_db::entities::one_time_token::Column::UserId.eq(u.id))
                .filter(dentex_db::entities::one_time_token::Column::Purpose.eq(tokens::PASSWORD_RESET))
                .filter(dentex_db::entities::one_time_token::Column::CreatedAt.gt(now() - chrono::Duration::hours(1)))
                .count(&state.db)
                .await?
        }
        None => 0,
    };
    if let Some(u) = found.filter(|_| recent < 3) {
        let txn = dentex_db::begin_write(&state.db).await?;
        tokens::void_for_user(&txn, tokens::PASSWORD_RESET, u.id).await?;
        let token = tokens::issue(
            &txn,
            tokens::PASSWORD_RESET,
            tokens::TokenFor {
                user_id: Some(u.id),
                ..Default::default()
            },
            chrono::Duration::minutes(RESET_TTL_MINUTES),
        )
        .await?;
        queue_mail(
            &txn,
            &templates::password_reset(email, &state.public_base_url, &token, RESET_TTL_MINUTES),
        )
        .await?;
        ev.resource_id = Some(u.id.to_string());
        record_in(&txn, ev).await?;
        txn.commit().await?;
        state.queue.wake();
    } else {
        ev.outcome = Outcome::Failure;
        ev.reason = Some(
            if recent >= 3 {
                "hourly limit reached"
            } else {
                "unknown address"
            }
            .into(),
        );
        record(&state, ev).await?;
    }
    Ok(accepted)
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
    (status = 400, description = "Unknown, used or expired token", body = dentex_http::Problem, content_type = "application/problem+json"),
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
    // Check the password before spending the token, so a weak choice can be retried.
    let token_hash = tokens::hash(body.token.trim());
    let pending = dentex_db::entities::one_time_token::Entity::find()
        .filter(dentex_db::entities::one_time_token::Column::TokenHash.eq(token_hash))
        .one(&state.db)
        .await?;
    let owner = match pending.as_ref().and_then(|t| t.user_id) {
        Some(uid) => user::Entity::find_by_id(uid).one(&state.db).await?,
        None => None,
    };
    if let Some(u) = &owner {
        password::check_new("new_password", &body.new_password, &[&u.email, &u.display_name])
            .map_err(|e| ApiError::validation(vec![e]))?;
    }
    let hash = password::hash(body.new_password).await.map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(tok) = tokens::consume(&txn, tokens::PASSWORD_RESET, body.token.trim()).await? else {
        return Err(invalid_token());
    };
    let user_id = tok.user_id.ok_or_else(invalid_token)?;
    let Some(u) = user::Entity::find_by_id(user_id).one(&txn).await? else {
        return Err(invalid_token());
    };
    let t = now();
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.password_changed_at = Set(Some(t));
    // Following the link proved control of the address.
    if matches!(am.email_verified_at, sea_orm::ActiveValue::Unchanged(None)) {
        am.email_verified_at = Set(Some(t));
    }
    am.updated_at = Set(t);
    am.update(&txn).await?;
    let revoked = sessions::revoke_all(&txn, user_id).await?;
    throttle::clear_account(&txn, &throttle::account(email.as_str())).await?;
    queue_mail(&txn, &templates::password_changed(email)).await?;
    let mut ev = event(&req, "auth.password_reset", "user", Outcome::Success);
    ev.actor_id = Some(UserId(user_id));
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(user_id.to_string());
    ev.reason = Some(format!("{revoked} session(s) revoked"));
    record_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
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
))]
#[post("/api/v1/auth/password")]
#[tracing::instrument(skip_all)]
pub async fn change_password(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let u = user::Entity::find_by_id(p.user_id.0)
        .one(&state.db)
        .await?
        .ok_or_else(super::unauthenticated)?;
    password::check_new("new_password", &body.new_password, &[&u.email, &u.display_name])
        .map_err(|e| ApiError::validation(vec![e]))?;
    let account = throttle::account(&u.email);
    let (_, addr) = request_context(&req);
    let keys = throttle::keys(Some(&account), addr.as_deref());
    if let Some(wait) = throttle::blocked(&state.db, &keys).await? {
        let secs = wait.as_secs().max(1);
        return Err(ApiError::new(
            &crate::codes::TOO_MANY_ATTEMPTS,
            format!("Too many wrong passwords. Try again in {secs} seconds."),
        )
        .with_header(header::RETRY_AFTER, secs.to_string()));
    }
    if !password::verify(body.current_password, Some(u.password_hash.clone())).await {
        throttle::record_failure(&state.db, &keys).await?;
        record(
            &state,
            event_by(&req, &p, "auth.password_change", "user", Outcome::Failure),
        )
        .await?;
        let mut e = ApiError::new(&crate::codes::INVALID_CREDENTIALS, "The current password is wrong.");
        e.errors = vec![FieldError::new(
            "current_password",
            "invalid_credentials",
            "Wrong password.",
        )];
        return Err(e);
    }
    let hash = password::hash(body.new_password).await.map_err(ApiError::internal)?;
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let t = now();
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.password_changed_at = Set(Some(t));
    am.updated_at = Set(t);
    am.update(&txn).await?;
    // Every other session ends; this one goes on.
    let r = dentex_db::entities::session::Entity::update_many()
        .col_expr(
            dentex_db::entities::session::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(t),
        )
        .filter(dentex_db::entities::session::Column::UserId.eq(p.user_id.0))
        .filter(dentex_db::entities::session::Column::Id.ne(p.session_id))
        .filter(dentex_db::entities::session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    queue_mail(&txn, &templates::password_changed(email)).await?;
    let mut ev = event_by(&req, &p, "auth.password_change", "user", Outcome::Success);
    ev.reason = Some(format!("{} other session(s) revoked", r.rows_affected));
    record_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::NoContent().finish())
}
