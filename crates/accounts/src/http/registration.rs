//! `POST /auth/register` and `POST /auth/verify-email`.

use super::views::Accepted;
use crate::service::Origin;
use crate::service::registration::{self, Registration};
use crate::{AccountsState, password, validate};
use actix_web::{HttpRequest, HttpResponse, post, web};
use dentex_domain::{CountryCode, DataRegion, Email, FieldError, OrgKind};
use dentex_http::ApiError;
use serde::Deserialize;
use validator::Validate;

pub use registration::VERIFY_TTL_HOURS;

#[derive(Deserialize, utoipa::ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// At least 12 characters, not a commonly used password.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    #[validate(length(
        min = 1,
        max = 100,
        code = "invalid_length",
        message = "Give a name of 1 to 100 characters."
    ))]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub display_name: String,
    #[validate(nested)]
    pub organization: NewOrganization,
}

#[derive(Deserialize, utoipa::ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    #[validate(length(
        min = 2,
        max = 200,
        code = "invalid_length",
        message = "Give a name of 2 to 200 characters."
    ))]
    #[schema(min_length = 2, max_length = 200, pattern = "\\S[\\s\\S]*\\S")]
    pub name: String,
    /// `clinic`, `dental_lab` or `manufacturing_lab`.
    #[schema(value_type = dentex_domain::OrgKind)]
    pub kind: String,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    #[schema(value_type = dentex_domain::CountryCode)]
    pub country: String,
    /// Where the organisation's data lives: `eu` or `us`.
    #[schema(value_type = dentex_domain::DataRegion)]
    pub region: String,
}

const FIELDS: &[&str] = &[
    "email",
    "display_name",
    "password",
    "organization.name",
    "organization.kind",
    "organization.country",
    "organization.region",
];

impl RegisterRequest {
    /// Every problem of the form at once, in the order of its fields (names trimmed).
    fn parse(mut self) -> Result<Registration, ApiError> {
        self.display_name = self.display_name.trim().to_owned();
        self.organization.name = self.organization.name.trim().to_owned();
        let mut errs = validate::field_errors(&self);
        let email = Email::parse(&self.email)
            .map_err(|e| errs.push(FieldError::new("email", "invalid_email", e.to_string())))
            .ok();
        if let Err(e) = password::check_new("password", &self.password, &[&self.email, &self.display_name]) {
            errs.push(e);
        }
        let o = self.organization;
        let kind = o
            .kind
            .parse::<OrgKind>()
            .map_err(|e| errs.push(FieldError::new("organization.kind", "invalid_choice", e)))
            .ok();
        let country = CountryCode::parse(&o.country)
            .map_err(|e| errs.push(FieldError::new("organization.country", "invalid_country", e)))
            .ok();
        let region = o
            .region
            .parse::<DataRegion>()
            .map_err(|e| errs.push(FieldError::new("organization.region", "invalid_choice", e)))
            .ok();
        validate::in_order(&mut errs, FIELDS);
        match (email, kind, country, region) {
            (Some(email), Some(kind), Some(country), Some(region)) if errs.is_empty() => Ok(Registration {
                email,
                password: self.password,
                display_name: self.display_name,
                org_name: o.name,
                kind,
                country,
                region,
            }),
            _ => Err(ApiError::validation(errs)),
        }
    }
}

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
    let r = body.into_inner().parse()?;
    registration::register(&state, &Origin::of_request(&req), r).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "verification_sent",
        detail: "Check your e-mail: follow the link in it to confirm your address, then sign in.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

/// Confirms an e-mail address with the token from the verification e-mail.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenRequest, responses(
    (status = 200, body = Accepted),
    (status = 400, description = "Unknown, used or expired token (`invalid_token`)", body = dentex_http::Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/verify-email")]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    registration::verify_email(&state.db, &Origin::of_request(&req), &body.token).await?;
    Ok(HttpResponse::Ok().json(Accepted {
        status: "verified",
        detail: "Your e-mail address is confirmed. You can sign in.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Sends a new verification link to an address not confirmed yet; the older
/// links stop working. The answer is the same for every address (unknown,
/// already confirmed, or past three mails in the hour).
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", request_body = ResendRequest, responses(
    (status = 202, body = Accepted),
))]
#[post("/api/v1/auth/verify-email/resend")]
#[tracing::instrument(skip_all)]
pub async fn resend_verification(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<ResendRequest>,
) -> Result<HttpResponse, ApiError> {
    registration::resend_verification(&state, &Origin::of_request(&req), &body.email).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "verification_resent_if_unverified",
        detail: "If this address has an account that is not confirmed yet, a new link is on its way.",
    }))
}
