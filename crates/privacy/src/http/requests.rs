//! `POST /api/v1/privacy/requests` (a person about themself, or a clinic
//! for its patient), `GET /api/v1/privacy/requests/{req}` and its report.

use super::views::{self, RequestView};
use crate::service::requests::{self, FileInput};
use crate::state::PrivacyState;
use actix_web::{HttpResponse, get, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One of two shapes: about oneself (`password`, and `totp_code` when
/// two-step sign-in is on), or for a clinic's patient (`patient_ref` with
/// `clinic_org_id`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    #[schema(value_type = crate::model::Kind, required = true)]
    pub kind: Option<String>,
    /// A patient's request: the clinic's reference of the patient…
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub patient_ref: Option<String>,
    /// …and the clinic (the caller is one of its owners or admins).
    pub clinic_org_id: Option<Uuid>,
    /// What to correct (rectification), or anything to add.
    #[schema(max_length = 2000)]
    pub details: Option<String>,
    /// About oneself: the password again…
    pub password: Option<String>,
    /// …and a current code when two-step sign-in is on.
    pub totp_code: Option<String>,
}

/// Files a data-subject request: about oneself (send the password again,
/// and `totp_code` when two-step sign-in is on), or as an owner or admin of
/// a clinic for one of its patients (`patient_ref` with `clinic_org_id`).
/// The requester and support are told; it is due in one month.
#[utoipa::path(post, path = "/api/v1/privacy/requests", tag = "privacy", security(("bearer" = [])), request_body = NewRequest,
    responses((status = 201, body = RequestView, headers(("Location" = String))),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `reauthentication_failed`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem),
        (status = 429, description = "`too_many_attempts`", body = dentex_http::Problem)))]
#[post("/api/v1/privacy/requests")]
pub async fn file_privacy_request(
    actor: Actor,
    state: web::Data<PrivacyState>,
    input: Json<NewRequest>,
) -> Result<HttpResponse, ApiError> {
    let i = input.into_inner();
    let r = requests::file(
        &state,
        &actor,
        FileInput {
            kind: i.kind,
            patient_ref: i.patient_ref,
            clinic_org_id: i.clinic_org_id,
            details: i.details,
            password: i.password,
            totp_code: i.totp_code,
        },
    )
    .await?;
    Ok(dentex_http::created(format!("/api/v1/privacy/requests/{}", r.id)).json(views::request_view(r)))
}

/// A request: its status, due date and, when done, the report. For its
/// subject, the clinic's owners and admins, and platform staff.
#[utoipa::path(get, path = "/api/v1/privacy/requests/{req}", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)),
    responses((status = 200, body = RequestView),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/privacy/requests/{req}")]
pub async fn get_privacy_request(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = requests::get(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(views::request_view(r)))
}

/// The erasure report as a page (the same figures as `report` in the
/// request). 404 until the erasure is done.
#[utoipa::path(get, path = "/api/v1/privacy/requests/{req}/report", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)),
    responses((status = 200, content_type = "text/html", body = String),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/privacy/requests/{req}/report")]
pub async fn get_privacy_report(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = requests::get(&state, &actor, &path).await?;
    let report: crate::report::Report = r
        .report
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(report.html()))
}
