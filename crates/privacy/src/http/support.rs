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

/// What the body is read into (either shape of [`SupportNewRequestBody`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportNewRequest {
    pub kind: Option<String>,
    pub user_id: Option<Uuid>,
    pub clinic_org_id: Option<Uuid>,
    pub patient_ref: Option<String>,
    pub channel: Option<String>,
    pub identity_check: Option<String>,
    pub details: Option<String>,
}

/// About a person with an account.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code, reason = "the schema of one shape of the body")]
#[serde(deny_unknown_fields)]
pub struct SupportForPerson {
    #[schema(value_type = crate::model::Kind)]
    kind: String,
    user_id: Uuid,
    #[schema(value_type = crate::model::OutsideChannel)]
    channel: String,
    /// How the requester's identity was checked (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    identity_check: String,
    #[schema(max_length = 2000)]
    details: Option<String>,
}

/// About a clinic's patient.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code, reason = "the schema of one shape of the body")]
#[serde(deny_unknown_fields)]
pub struct SupportForPatient {
    #[schema(value_type = crate::model::Kind)]
    kind: String,
    clinic_org_id: Uuid,
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    patient_ref: String,
    #[schema(value_type = crate::model::OutsideChannel)]
    channel: String,
    /// How the requester's identity was checked (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    identity_check: String,
    #[schema(max_length = 2000)]
    details: Option<String>,
}

/// The body's two shapes.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code, reason = "the schema of the body")]
#[serde(untagged)]
pub enum SupportNewRequestBody {
    SupportForPerson(SupportForPerson),
    SupportForPatient(SupportForPatient),
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
    /// At most 200; default 100.
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
    let rows = support::queue(
        &state,
        &actor,
        q.status.as_deref(),
        q.due_before,
        q.limit.unwrap_or(100),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RequestList {
        items: rows.into_iter().map(views::request_view).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// How the identity was checked, when it adds to what the request says.
    #[schema(max_length = 500)]
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
        (status = 409, description = "`privacy_request_state`, `privacy_kind_not_executable`", body = dentex_http::Problem)))]
#[post("/api/v1/support/privacy/requests/{req}/execute")]
pub async fn privacy_execute(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = support::execute(&state, &actor, &path).await?;
    Ok(HttpResponse::Accepted().json(views::request_view(r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    /// Told to the requester (1 to 500 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500)]
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
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500)]
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

// The body is read flat (so that each missing or misplaced field is named in
// the 422) and documented as its two shapes.
impl utoipa::PartialSchema for SupportNewRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <SupportNewRequestBody as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for SupportNewRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        <SupportNewRequestBody as ToSchema>::name()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <SupportNewRequestBody as ToSchema>::schemas(schemas);
    }
}
