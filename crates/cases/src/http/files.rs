//! `/api/v1/cases/{case}/files`: streamed uploads, reads, downloads and
//! deletion of a case's files.

use crate::http::views::{self, FileList, FileView};
use crate::policy::CaseAction;
use crate::service::{
    self,
    files::{Download, Incoming},
};
use crate::state::CasesState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use dentex_accounts::Actor;
use dentex_http::ApiError;
use dentex_http::paging::PageQuery;

fn download(d: Download) -> HttpResponse {
    match d {
        Download::Redirect(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Download::Stream {
            body,
            content_type,
            name,
        } => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .streaming(tokio_util::io::ReaderStream::new(body.into_async_read())),
    }
}

/// A streamed upload as the request brings it: its declared length, the
/// client's name for the file (metadata only: it never reaches a key, a URL
/// or a log) and the body. Case files and chat's design files alike.
pub fn incoming(req: &HttpRequest, payload: web::Payload) -> Incoming<web::Payload> {
    Incoming {
        declared_len: req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok()),
        name: req
            .headers()
            .get("x-file-name")
            .and_then(|raw| service::files::clean_file_name(&String::from_utf8_lossy(raw.as_bytes()))),
        body: payload,
    }
}

/// Uploads a file by streaming the body into the object store. The type comes
/// from the bytes; the size limit and the organisation's quota hold while
/// streaming (413 at once, nothing kept); photos lose their metadata first.
#[utoipa::path(post, path = "/api/v1/cases/{case}/files", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("X-File-Name" = Option<String>, Header, description = "Your name for the file (metadata only)")),
    request_body(content = dentex_http::Binary, content_type = "application/octet-stream", description = "The file's bytes; its type is read from them."),
    responses((status = 201, body = FileView), (status = 400, description = "`empty_body`, `unreadable_body`", body = dentex_http::Problem), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`", body = dentex_http::Problem), (status = 413, description = "`payload_too_large`, `quota_exceeded`", body = dentex_http::Problem), (status = 415, description = "`unsupported_media_type`", body = dentex_http::Problem), (status = 422, description = "`mesh_empty`, `mesh_unreadable`, `unreadable_image`", body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/files")]
pub async fn upload_file(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::UploadFile).await?;
    let incoming = incoming(&req, payload);
    let f = service::files::upload(&state, &actor, &allowed, incoming).await?;
    Ok(
        dentex_http::created(format!("/api/v1/cases/{}/files/{}", f.case_id, f.id)).json(views::file_view(
            f,
            allowed.viewer(),
            false,
        )),
    )
}

/// The files of a case.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), PageQuery), responses((status = 200, body = FileList), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files")]
pub async fn list_files(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let allowed = service::case_for(&state, &actor, &path, CaseAction::ListFiles).await?;
    let (rows, next_cursor) = service::files::list(&state, &actor, &allowed, q.page()?).await?;
    Ok(HttpResponse::Ok().json(FileList {
        items: rows
            .into_iter()
            .map(|f| views::file_view(f, allowed.viewer(), false))
            .collect(),
        next_cursor,
    }))
}

/// One file, with its mesh analysis.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files/{file}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 200, body = FileView), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files/{file}")]
pub async fn get_file(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let allowed = service::case_for(&state, &actor, &raw_case, CaseAction::ReadFile).await?;
    let f = service::files::file_of(&state, &actor, &allowed, &raw_file).await?;
    service::files::read(&state, &actor, &allowed, &f).await?;
    Ok(HttpResponse::Ok().json(views::file_view(f, allowed.viewer(), true)))
}

/// Removes a file from a draft, and its object.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/files/{file}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_draft`", body = dentex_http::Problem)))]
#[delete("/api/v1/cases/{case}/files/{file}")]
pub async fn delete_file(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let allowed = service::case_for_child(
        &state,
        &actor,
        &raw_case,
        &raw_file,
        service::Child::File,
        CaseAction::DeleteFile,
    )
    .await?;
    let f = service::files::file_of(&state, &actor, &allowed, &raw_file).await?;
    service::files::delete(&state, &actor, &allowed, f).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The file's bytes: 302 to a presigned URL valid for 5 minutes, or
/// streamed. Each issuance is audited.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files/{file}/content", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 302, description = "Location: a URL valid for 5 minutes"), (status = 200, description = "The bytes"), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`restricted`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files/{file}/content")]
pub async fn file_content(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let allowed = service::case_for(&state, &actor, &raw_case, CaseAction::DownloadFile).await?;
    let f = service::files::file_of(&state, &actor, &allowed, &raw_file).await?;
    Ok(download(service::files::content(&state, &actor, &allowed, &f).await?))
}

/// The scan's preview, once the analysis has drawn it.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files/{file}/thumbnail.png", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 302, description = "Location: a URL valid for 5 minutes"), (status = 200, description = "PNG"), (status = 404, description = "`not_found`, `thumbnail_unavailable`", body = dentex_http::Problem), (status = 409, description = "`restricted`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files/{file}/thumbnail.png")]
pub async fn file_thumbnail(
    actor: Actor,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let allowed = service::case_for(&state, &actor, &raw_case, CaseAction::Thumbnail).await?;
    let f = service::files::file_of(&state, &actor, &allowed, &raw_file).await?;
    Ok(download(service::files::thumbnail(&state, &actor, &allowed, &f).await?))
}
