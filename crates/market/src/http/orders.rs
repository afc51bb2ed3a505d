//! Orders: `GET /api/v1/orders`, `GET /api/v1/orders/{order}`,
//! `POST …/transitions`, `POST …/remakes`.

use crate::http::views::{self, OrderList, OrderView};
use crate::service::orders::{self as service, OrderQuery, RemakeInput, TransitionInput};
use crate::state::MarketState;
use actix_web::{HttpResponse, get, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};

/// The orders of the caller's organisations, newest first, keyset paging;
/// `overdue` marks open orders past their due date.
#[utoipa::path(get, path = "/api/v1/orders", tag = "market", security(("bearer" = [])), params(OrderQuery),
    responses((status = 200, body = OrderList), (status = 400, description = "`invalid_query`", body = dentex_http::Problem)))]
#[get("/api/v1/orders")]
pub async fn list_orders(
    actor: Actor,
    state: web::Data<MarketState>,
    q: web::Query<OrderQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = service::list(&state, &actor, &q).await?;
    Ok(HttpResponse::Ok().json(OrderList {
        items: page.items.into_iter().map(views::order_view).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One order with every move it made.
#[utoipa::path(get, path = "/api/v1/orders/{order}", tag = "market", security(("bearer" = [])),
    params(("order" = Uuid, Path)), responses((status = 200, body = OrderView), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/orders/{order}")]
pub async fn get_order(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (o, side) = service::order_for(&state, &actor, &path).await?;
    let shown = service::read(&state, &actor, o, side).await?;
    Ok(HttpResponse::Ok().json(views::order_view(shown)))
}

/// Moves an order on. Each side may make only its own moves (the lab ships,
/// the clinic confirms delivery and completes; either cancels before
/// shipping, owners and admins only). A move this side never makes is 403
/// and says who makes it; a move of this side that the order's state does
/// not allow now is 409 and names the moves that are possible.
#[utoipa::path(post, path = "/api/v1/orders/{order}/transitions", tag = "market", security(("bearer" = [])),
    params(("order" = Uuid, Path)), request_body = TransitionInput,
    responses((status = 200, body = OrderView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`transition_not_allowed`, `order_changed`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/orders/{order}/transitions")]
pub async fn transition(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: Json<TransitionInput>,
) -> Result<HttpResponse, ApiError> {
    let (o, side) = service::order_for(&state, &actor, &path).await?;
    let shown = service::transition(&state, &actor, o, side, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::order_view(shown)))
}

/// The clinic asks for a remake of delivered work: a structured reason, who
/// bears the cost, and a linked order with its own due date goes to the same
/// lab, in production at once.
#[utoipa::path(post, path = "/api/v1/orders/{order}/remakes", tag = "market", security(("bearer" = [])),
    params(("order" = Uuid, Path)), request_body = RemakeInput,
    responses((status = 201, body = OrderView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`remake_not_allowed`, `lab_unavailable`, `order_changed`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/orders/{order}/remakes")]
pub async fn remake(
    actor: Actor,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: Json<RemakeInput>,
) -> Result<HttpResponse, ApiError> {
    let (o, side) = service::order_for(&state, &actor, &path).await?;
    let shown = service::remake(&state, &actor, o, side, input.into_inner()).await?;
    let view = views::order_view(shown);
    Ok(dentex_http::created(format!("/api/v1/orders/{}", view.id)).json(view))
}
