//! Design files: `POST /api/v1/threads/{thread}/files`.

use crate::policy::ThreadAction;
use crate::service::thread_for;
use crate::state::ChatState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use dentex_accounts::Actor;
use dentex_cases::access::CaseAction;
use dentex_cases::http::views::FileView;
use dentex_cases::service::files;
use dentex_http::ApiError;

/// The thread's lab uploads a design file (a preview for the clinic to
/// approve) by streaming its bytes: stored as a case file of that lab,
/// visible to the clinic and that lab only, typed from its bytes and
/// analysed like a scan; attach it to a message to show it in the thread.
#[utoipa::path(post, path = "/api/v1/threads/{thread}/files", tag = "chat", security(("bearer" = [])),
    params(("thread" = Uuid, Path), ("X-File-Name" = Option<String>, Header, description = "Your name for the file (metadata only)")),
    request_body(content = dentex_http::Binary, content_type = "application/octet-stream", description = "The file's bytes; its type is read from them."),
    responses((status = 201, body = FileView), (status = 400, description = "`empty_body`, `unreadable_body`", body = dentex_http::Problem), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`thread_closed`, `restricted`", body = dentex_http::Problem), (status = 413, description = "`payload_too_large`, `quota_exceeded`", body = dentex_http::Problem), (status = 415, description = "`unsupported_media_type`", body = dentex_http::Problem), (status = 422, description = "`mesh_empty`, `mesh_unreadable`, `unreadable_image`", body = dentex_http::Problem)))]
#[post("/api/v1/threads/{thread}/files")]
pub async fn upload_design(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<ChatState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let reached = thread_for(&state, &actor, &path, ThreadAction::UploadDesign).await?;
    let allowed = dentex_cases::service::case_for(
        &state.cases,
        &actor,
        &reached.case.id.to_string(),
        CaseAction::UploadDesign,
    )
    .await?;
    let incoming = dentex_cases::http::files::incoming(&req, payload);
    let f = files::upload(&state.cases, &actor, &allowed, incoming).await?;
    Ok(
        dentex_http::created(format!("/api/v1/cases/{}/files/{}", f.case_id, f.id))
            .json(dentex_cases::http::views::file_view(f, allowed.viewer(), false)),
    )
}
