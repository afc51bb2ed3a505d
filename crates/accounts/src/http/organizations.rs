//! `GET`/`PATCH /organizations/{org}`. (The labs list, `GET /labs`, is the
//! market's: it reads the labs' quotes.)

use super::parse_org;
use super::views::Organization;
use crate::service::organizations::{self as service, ProfileChange};
use crate::{AccountsState, Actor};
use actix_web::{HttpResponse, get, patch, web};
use dentex_http::ApiError;
use serde::Deserialize;

/// One organisation. Members and platform staff only; anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/organizations/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organization), (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organizations/{org}")]
pub async fn get_organization(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let o = service::get(&state, &actor, parse_org(&path)?).await?;
    Ok(HttpResponse::Ok().json(Organization::from(o)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    /// Labs: whether they take new cases now.
    pub accepts_new_work: Option<bool>,
    /// Labs: what they make, from `crown`, `bridge`, `inlay`, `onlay`, `veneer`,
    /// `implant_abutment`, `implant_crown`, `full_denture`, `partial_denture`,
    /// `night_guard`, `aligner`, `all_on_x`, `model`, `other`.
    #[schema(value_type = Option<Vec<dentex_domain::rx::Restoration>>)]
    pub services: Option<Vec<String>>,
    /// Labs: ISO country codes they serve.
    pub service_countries: Option<Vec<String>>,
}

/// Changes the organisation's profile (owners and admins).
#[utoipa::path(patch, path = "/api/v1/organizations/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = OrganizationPatch,
    responses((status = 200, body = Organization), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/organizations/{org}")]
pub async fn update_organization(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<OrganizationPatch>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    let b = body.into_inner();
    let change = ProfileChange {
        name: b.name.map(|n| n.trim().to_owned()),
        accepts_new_work: b.accepts_new_work,
        services: b.services,
        service_countries: b.service_countries,
    };
    let o = service::update(&state, &actor, org, change).await?;
    Ok(HttpResponse::Ok().json(Organization::from(o)))
}
