//! `GET /labs`, and `GET`/`PATCH /organizations/{org}`.

use super::parse_org;
use super::views::Organization;
use crate::service::organizations::{self as service, ProfileChange};
use crate::{AccountsState, Actor};
use actix_web::{HttpResponse, get, patch, web};
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LabQuery {
    /// Only labs that serve this ISO country.
    pub country: Option<String>,
    /// Only labs that offer this service.
    pub service: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Lab {
    pub id: Uuid,
    pub name: String,
    /// `dental_lab` or `manufacturing_lab`.
    pub kind: String,
    pub country: String,
    pub services: Vec<String>,
    pub service_countries: Vec<String>,
    pub verified_until: Option<chrono::NaiveDate>,
    /// The median turnaround (working days) of the lab's quotes of the last
    /// year; none before its first quote.
    pub typical_turnaround_days: Option<i32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LabList {
    pub items: Vec<Lab>,
    pub next_cursor: Option<String>,
}

impl From<service::ListedLab> for Lab {
    fn from(l: service::ListedLab) -> Self {
        Self {
            id: l.organization.id,
            name: l.organization.name,
            kind: l.organization.kind,
            country: l.organization.country,
            services: l.services,
            service_countries: l.service_countries,
            verified_until: l.verified_until,
            typical_turnaround_days: l.typical_turnaround_days,
        }
    }
}

/// Verified labs that take new work, with the services and countries they
/// declare and their typical turnaround.
#[utoipa::path(get, path = "/api/v1/labs", tag = "organizations", security(("bearer" = [])), params(LabQuery),
    responses((status = 200, body = LabList), (status = 401, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/labs")]
pub async fn list_labs(
    actor: Actor,
    state: web::Data<AccountsState>,
    q: web::Query<LabQuery>,
) -> Result<HttpResponse, ApiError> {
    let labs = service::labs(&state.db, &actor, q.country.as_deref(), q.service.as_deref()).await?;
    Ok(HttpResponse::Ok().json(LabList {
        items: labs.into_iter().map(Lab::from).collect(),
        next_cursor: None,
    }))
}
