//! `/api/v1/cases/{case}/uploads`: presigned multipart uploads of large files.

use crate::http::views::{self, FileView};
use crate::policy::CaseAction;
use crate::service::{
    self,
    uploads::{UploadInput, UploadView},
};
use crate::state::CasesState;
use actix_web::{HttpResponse, delete, get, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};

/// Starts a presigned multipart upload for a large file: declare its size
/// and SHA-256, PUT each part to its URL, then call `complete`.
#[utoipa::path(post, path = "/api/v1/cases/{case}/uploads", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = UploadInput,
    responses((status = 201, body = UploadView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`", body = dentex_http::Problem), (status = 413, description = "`payload_too_large`, `quota_exceeded`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/uploads")]
pub async fn create_upload(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: Json<UploadInput>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::StartUpload).await?;
    let view = service::uploads::start(&state, &actor, &allowed, input.into_inner()).await?;
    Ok(dentex_http::created(format!("/api/v1/cases/{}/uploads/{}", view.case_id, view.id)).json(view))
}

/// An upload in flight: which parts arrived, and fresh URLs for the rest.
#[utoipa::path(get, path = "/api/v1/cases/{case}/uploads/{upload}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 200, body = UploadView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`, `upload_expired`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/uploads/{upload}")]
pub async fn get_upload(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_upload) = path.into_inner();
    let (allowed, u) =
        service::uploads::case_and_upload(&state, &actor, &raw_case, &raw_upload, CaseAction::ReadUpload).await?;
    Ok(HttpResponse::Ok().json(service::uploads::progress(&state, &actor, &allowed, &u).await?))
}

/// Abandons an upload: the parts sent so far are removed and its room in
/// the quota is freed.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/uploads/{upload}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`upload_in_progress`", body = dentex_http::Problem)))]
#[delete("/api/v1/cases/{case}/uploads/{upload}")]
pub async fn abort_upload(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_upload) = path.into_inner();
    let (allowed, u) =
        service::uploads::case_and_upload(&state, &actor, &raw_case, &raw_upload, CaseAction::AbortUpload).await?;
    service::uploads::abort(&state, &actor, &allowed, u).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Finishes an upload once every part is in: the parts are joined, the
/// object is read back and must match the declared size and SHA-256, and its
/// type is decided from its bytes. Then it is a file of the case like any
/// other (scans are analysed).
#[utoipa::path(post, path = "/api/v1/cases/{case}/uploads/{upload}/complete", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 201, body = FileView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`, `upload_expired`, `upload_in_progress`, `upload_incomplete`, `upload_gone`", body = dentex_http::Problem), (status = 413, description = "`quota_exceeded`", body = dentex_http::Problem), (status = 415, description = "`unsupported_media_type`, `photo_needs_direct_upload`", body = dentex_http::Problem), (status = 422, description = "`checksum_mismatch`, `mesh_empty`, `mesh_unreadable`", body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/uploads/{upload}/complete")]
pub async fn complete_upload(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_upload) = path.into_inner();
    let (allowed, u) =
        service::uploads::case_and_upload(&state, &actor, &raw_case, &raw_upload, CaseAction::CompleteUpload).await?;
    let f = service::uploads::complete(&state, &actor, &allowed, u).await?;
    Ok(
        dentex_http::created(format!("/api/v1/cases/{}/files/{}", f.case_id, f.id)).json(views::file_view(
            f,
            allowed.viewer(),
            false,
        )),
    )
}
