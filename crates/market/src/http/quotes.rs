//! Quotes: `POST/GET /api/v1/cases/{case}/quotes`, `PUT /api/v1/quotes/{quote}`,
//! `POST …/withdraw`, `POST …/accept`.

use crate::http::views::{self, OrderView, QuoteList, QuoteView};
use crate::idempotency;
use crate::policy::QuoteAction;
use crate::service::award::{self, AcceptInput, Accepted};
use crate::service::quotes::{self as service, QuoteInput};
use crate::state::MarketState;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use dentex_accounts::Actor;
use dentex_http::paging::PageQuery;
use dentex_http::{ApiError, Json};

/// The request carries no body (no length, or a length of 0, and not chunked).
fn body_absent(req: &HttpRequest) -> bool {
    use actix_web::http::header;
    let h = req.headers();
    !h.contains_key(header::TRANSFER_ENCODING)
        && h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() == "0")
}

/// A lab quotes on a case open to it (owners and admins of a verified lab).
#[utoipa::path(post, path = "/api/v1/cases/{case}/quotes", tag = "market", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = QuoteInput,
    responses((status = 201, body = QuoteView), (status = 403, description = "`forbidden`, `organization_not_verified`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_open`, `quote_exists`, `restricted`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/quotes")]
pub async fn create_quote(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: Json<QuoteInput>,
) -> Result<HttpResponse, ApiError> {
    let shown = service::create(&state, &actor, &path, input.into_inner()).await?;
    let view = views::quote_view(shown);
    Ok(dentex_http::created(format!("/api/v1/quotes/{}", view.id)).json(view))
}

/// The quotes on a case: the clinic sees every lab's side by side; a lab
/// sees only its own.
#[utoipa::path(get, path = "/api/v1/cases/{case}/quotes", tag = "market", security(("bearer" = [])),
    params(("case" = Uuid, Path), PageQuery), responses((status = 200, body = QuoteList), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/quotes")]
pub async fn list_quotes(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (items, next_cursor) = service::list(&state, &actor, &path, q.page()?).await?;
    Ok(HttpResponse::Ok().json(views::quote_list(items, next_cursor)))
}

/// One quote: the clinic of its case, or the lab that made it.
#[utoipa::path(get, path = "/api/v1/quotes/{quote}", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path)), responses((status = 200, body = QuoteView), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/quotes/{quote}")]
pub async fn get_quote(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = service::quote_for(&state, &actor, &path, QuoteAction::Read).await?;
    let shown = service::read(&state, &actor, found).await?;
    Ok(HttpResponse::Ok().json(views::quote_view(shown)))
}

/// The lab revises its quote: the new terms become the next version; the
/// clinic keeps seeing every version.
#[utoipa::path(put, path = "/api/v1/quotes/{quote}", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path)), request_body = QuoteInput,
    responses((status = 200, body = QuoteView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_open`, `quote_not_active`, `restricted`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[put("/api/v1/quotes/{quote}")]
pub async fn revise_quote(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: Json<QuoteInput>,
) -> Result<HttpResponse, ApiError> {
    let found = service::quote_for(&state, &actor, &path, QuoteAction::Revise).await?;
    let shown = service::revise(&state, &actor, found, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::quote_view(shown)))
}

/// The lab withdraws its quote before the award.
#[utoipa::path(post, path = "/api/v1/quotes/{quote}/withdraw", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path)),
    responses((status = 200, body = QuoteView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`quote_not_active`", body = dentex_http::Problem)))]
#[post("/api/v1/quotes/{quote}/withdraw")]
pub async fn withdraw_quote(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = service::quote_for(&state, &actor, &path, QuoteAction::Withdraw).await?;
    let shown = service::withdraw(&state, &actor, found).await?;
    Ok(HttpResponse::Ok().json(views::quote_view(shown)))
}

/// The new order as the accept answers it (stored for retries).
fn render_order(shown: crate::service::orders::ShownOrder) -> Result<String, ApiError> {
    serde_json::to_string(&views::order_view(shown)).map_err(ApiError::internal)
}

/// The clinic accepts a quote (owners and admins, with an
/// `Idempotency-Key`): exactly one order is made, every other quote is
/// declined and their labs lose the case at once. A retry with the same key
/// gets the same order.
#[utoipa::path(post, path = "/api/v1/quotes/{quote}/accept", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "A unique key for this acceptance")),
    request_body = AcceptInput,
    responses((status = 201, body = OrderView), (status = 400, description = "`idempotency_key_required`", body = dentex_http::Problem), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`case_not_open`, `quote_not_active`, `quote_revised`, `quote_expired`, `idempotency_in_progress`, `lab_unavailable`, `restricted`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = dentex_http::Problem)))]
#[post("/api/v1/quotes/{quote}/accept")]
pub async fn accept_quote(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: Result<Json<AcceptInput>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let found = service::quote_for(&state, &actor, &path, QuoteAction::Accept).await?;
    let key = idempotency::header(&req)?;
    // Checked after tenancy: a body that is missing or unreadable is told
    // what to send, once the quote is known to be the caller's to accept.
    let version = match input {
        Ok(i) => Some(i.into_inner().version),
        // No body at all: told what to send. A body that is there but
        // unreadable (wrong type, repeated key, bad JSON) says what is wrong.
        Err(_) if body_absent(&req) => None,
        Err(e) => return Err(e),
    };
    Ok(
        match award::accept(&state, &actor, found, key, version, render_order).await? {
            Accepted::Created { body } => dentex_http::created(order_address(&body))
                .content_type("application/json")
                .body(body),
            Accepted::Replayed { status, body } => {
                let mut r = HttpResponse::build(status);
                if status == actix_web::http::StatusCode::CREATED {
                    r.insert_header((actix_web::http::header::LOCATION, order_address(&body)));
                }
                r.content_type("application/json")
                    .insert_header(("Idempotent-Replayed", "true"))
                    .body(body)
            }
        },
    )
}

/// The address of the order in an award's stored answer.
fn order_address(body: &str) -> String {
    let id = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("/api/v1/orders/{id}")
}
