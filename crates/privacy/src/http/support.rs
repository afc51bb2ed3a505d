//! Support's privacy routes: `POST /api/v1/support/privacy/requests` (a
//! request that came by e-mail, letter or phone), the queue, and the steps
//! `verify`, `execute`, `reject`, `extend`. Each step needs a sign-in with
//! a second step within `privacy.fresh_sign_in_secs`.

use super::views::{self, RequestList, RequestView};
use crate::service::support::{self, SupportFileInput};
use crate::state::PrivacyState;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The subject is a person (`user_id`) or a clinic's patient
/// (`clinic_org_id` with `patient_ref`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportNewRequest {
    #[schema(value_type = crate::model::Kind, required = true)]
    pub kind: Option<String>,
    /// A person with an account…
    pub user_id: Option<Uuid>,
    /// …or a clinic's patient: the clinic and its reference.
    pub clinic_org_id: Option<Uuid>,
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub patient_ref: Option<String>,
    /// `email`, `letter` or `phone`.
    #[schema(value_type = crate::model::OutsideChannel, required = true)]
    pub channel: Option<String>,
    /// How the requester's identity was checked (1 to 500 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, pattern = "\\S")]
    pub identity_check: Option<String>,
    #[schema(max_length = 2000)]
    pub details: Option<String>,
}

/// Support files a request that reached it outside the platform, with how
/// the identity was verified; the subject is told at the address on file.
#[utoipa::path(post, path = "/api/v1/support/privacy/requests", tag = "privacy", security(("bearer" = [])), request_body = SupportNewRequest,
    responses((status = 201, body = RequestView, headers(("Location" = String))),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests")]
pub async fn privacy_file_for(
    actor: Actor,
    state: web::Data<PrivacyState>,
    input: Json<SupportNewRequest>,
) -> Result<HttpResponse, ApiError> {
    let i = input.into_inner();
    let r = support::file_for(
        &state,
        &actor,
        SupportFileInput {
            kind: i.kind,
            user_id: i.user_id,
            clinic_org_id: i.clinic_org_id,
            patient_ref: i.patient_ref,
            channel: i.channel,
            identity_check: i.identity_check,
            details: i.details,
        },
    )
    .await?;
    Ok(dentex_http::created(format!("/api/v1/privacy/requests/{}", r.id)).json(views::request_view(r)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// One status; open requests (not done or rejected) when absent.
    #[param(value_type = Option<crate::model::Status>)]
    pub status: Option<String>,
    /// Only requests due before this time (RFC 3339).
    pub due_before: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Support's queue, the soonest due first.
#[utoipa::path(get, path = "/api/v1/support/privacy/requests", tag = "privacy", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = RequestList),
        (status = 400, description = "`invalid_query`", body = dentex_http::Problem),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[get("/api/v1/support/privacy/requests")]
pub async fn privacy_queue(
    actor: Actor,
    state: web::Data<PrivacyState>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let rows = support::queue(&state, &actor, q.status.as_deref(), q.due_before, q.limit).await?;
    Ok(HttpResponse::Ok().json(RequestList {
        items: rows.into_iter().map(views::request_view).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// How the identity was checked, when it adds to what the request says.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub identity_check: Option<String>,
}

/// Support confirms the requester is who the request says.
#[utoipa::path(post, path = "/api/v1/support/privacy/requests/{req}/verify", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)), request_body = VerifyInput,
    responses((status = 200, body = RequestView),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 409, description = "`privacy_request_state`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests/{req}/verify")]
pub async fn privacy_verify(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
    input: Json<VerifyInput>,
) -> Result<HttpResponse, ApiError> {
    let r = support::verify(&state, &actor, &path, input.identity_check.as_deref()).await?;
    Ok(HttpResponse::Ok().json(views::request_view(r)))
}

/// Support carries out a verified (or held) erasure: answered `running`;
/// the job removes, pseudonymises and redacts, or holds it with the reason.
#[utoipa::path(post, path = "/api/v1/support/privacy/requests/{req}/execute", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)),
    responses((status = 202, body = RequestView),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 200, description = "A restriction, in force now.", body = RequestView),
        (status = 409, description = "`privacy_request_state`, `privacy_kind_not_executable`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests/{req}/execute")]
pub async fn privacy_execute(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = support::execute(&state, &actor, &path).await?;
    Ok(if r.status == crate::model::Status::Running.as_str() {
        HttpResponse::Accepted().json(views::request_view(r))
    } else {
        HttpResponse::Ok().json(views::request_view(r))
    })
}

/// Support lifts a patient's restriction in force: the cases are used again.
#[utoipa::path(post, path = "/api/v1/support/privacy/requests/{req}/lift", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)),
    responses((status = 200, body = RequestView),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 409, description = "`privacy_request_state`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests/{req}/lift")]
pub async fn privacy_lift(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = crate::service::restriction::lift(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(views::request_view(r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    /// Told to the requester (1 to 500 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: Option<String>,
}

/// Support rejects a request, with the reason the requester is told.
#[utoipa::path(post, path = "/api/v1/support/privacy/requests/{req}/reject", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)), request_body = RejectInput,
    responses((status = 200, body = RequestView),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 409, description = "`privacy_request_state`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests/{req}/reject")]
pub async fn privacy_reject(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
    input: Json<RejectInput>,
) -> Result<HttpResponse, ApiError> {
    let r = support::reject(&state, &actor, &path, input.reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(views::request_view(r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendInput {
    /// 1 or 2.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 2)]
    pub months: Option<i64>,
    /// Told to the requester (1 to 500 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: Option<String>,
}

/// Support extends the deadline, once, by one or two months, within the
/// first month after receipt; the requester is told at once.
#[utoipa::path(post, path = "/api/v1/support/privacy/requests/{req}/extend", tag = "privacy", security(("bearer" = [])),
    params(("req" = Uuid, Path)), request_body = ExtendInput,
    responses((status = 200, body = RequestView),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 409, description = "`privacy_request_state`, `extension_refused`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests/{req}/extend")]
pub async fn privacy_extend(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
    input: Json<ExtendInput>,
) -> Result<HttpResponse, ApiError> {
    let i = input.into_inner();
    let r = support::extend(&state, &actor, &path, i.months, i.reason.as_deref(), Utc::now()).await?;
    Ok(HttpResponse::Ok().json(views::request_view(r)))
}
