//! Messages: `GET/POST /api/v1/threads/{thread}/messages`,
//! `DELETE /api/v1/threads/{thread}/messages/{message}`.

use crate::http::views::{self, MessagePage, MessageView};
use crate::service::messages::{self, MessageInput, PageOf};
use crate::state::ChatState;
use actix_web::{HttpResponse, delete, get, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};
use serde::Deserialize;

/// Which messages: the newest (no cursor), those `before` a sequence
/// number (older), those `after` one (newer, for catching up), or both:
/// the first `limit` between them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Messages with a lower sequence number.
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Messages with a higher sequence number.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

impl MessagesQuery {
    fn page(&self) -> Result<PageOf, ApiError> {
        let p = dentex_http::paging::page::<i64>(self.limit, None)?;
        if self.before.is_some_and(|b| b < 1) || self.after.is_some_and(|a| a < 0) {
            return Err(ApiError::new(
                &dentex_http::codes::INVALID_QUERY,
                "before, after: sequence numbers start at 1.",
            ));
        }
        Ok(PageOf {
            before: self.before,
            after: self.after,
            limit: p.limit,
        })
    }
}

/// A page of a thread's messages, oldest first (audited as a read).
#[utoipa::path(get, path = "/api/v1/threads/{thread}/messages", tag = "chat", security(("bearer" = [])),
    params(("thread" = Uuid, Path), MessagesQuery),
    responses((status = 200, body = MessagePage), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/threads/{thread}/messages")]
pub async fn list_messages(
    actor: Actor,
    state: web::Data<ChatState>,
    path: web::Path<String>,
    q: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let shown = messages::page(&state, &actor, &path, q.page()?).await?;
    Ok(HttpResponse::Ok().json(views::message_page(&shown)))
}

/// Posts a message (with files of the case attached).
#[utoipa::path(post, path = "/api/v1/threads/{thread}/messages", tag = "chat", security(("bearer" = [])),
    params(("thread" = Uuid, Path)), request_body = MessageInput,
    responses((status = 201, body = MessageView), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`thread_closed`, `restricted`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/threads/{thread}/messages")]
pub async fn post_message(
    actor: Actor,
    state: web::Data<ChatState>,
    path: web::Path<String>,
    input: Json<MessageInput>,
) -> Result<HttpResponse, ApiError> {
    let shown = messages::post(&state, &actor, &path, input.into_inner()).await?;
    let view = views::one_message(&shown).ok_or_else(ApiError::not_found)?;
    Ok(dentex_http::created(format!(
        "/api/v1/threads/{}/messages?after={}&limit=1",
        view.thread_id,
        view.seq - 1
    ))
    .json(view))
}

/// The sender deletes their message within 15 minutes; a tombstone stays.
#[utoipa::path(delete, path = "/api/v1/threads/{thread}/messages/{message}", tag = "chat", security(("bearer" = [])),
    params(("thread" = Uuid, Path), ("message" = Uuid, Path)),
    responses((status = 200, body = MessageView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`thread_closed`, `message_not_deletable`", body = dentex_http::Problem)))]
#[delete("/api/v1/threads/{thread}/messages/{message}")]
pub async fn delete_message(
    actor: Actor,
    state: web::Data<ChatState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (thread, message) = path.into_inner();
    let shown = messages::delete(&state, &actor, &thread, &message).await?;
    let view = views::one_message(&shown).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view))
}
