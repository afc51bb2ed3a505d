//! Threads: `GET /api/v1/cases/{case}/threads`, `POST /api/v1/threads/{thread}/read`.

use crate::http::views::{self, ThreadList};
use crate::service::marks::{self, ReadInput, ReadMark};
use crate::service::threads;
use crate::state::ChatState;
use actix_web::{HttpResponse, get, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};

/// The threads of a case: the clinic sees one per lab, a lab its own.
#[utoipa::path(get, path = "/api/v1/cases/{case}/threads", tag = "chat", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = ThreadList), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/threads")]
pub async fn list_threads(
    actor: Actor,
    state: web::Data<ChatState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let listed = threads::list(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(views::thread_list(listed)))
}

/// Moves the caller's read mark forward to `up_to` (never back).
#[utoipa::path(post, path = "/api/v1/threads/{thread}/read", tag = "chat", security(("bearer" = [])),
    params(("thread" = Uuid, Path)), request_body = ReadInput,
    responses((status = 200, body = ReadMark), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/threads/{thread}/read")]
pub async fn mark_read(
    actor: Actor,
    state: web::Data<ChatState>,
    path: web::Path<String>,
    input: Json<ReadInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(marks::read(&state, &actor, &path, input.into_inner()).await?))
}
