//! `GET /api/v1/labs`: the verified labs, with their typical turnaround
//! (the market's, since it reads the labs' quotes).

use crate::http::views::{Lab, LabList};
use crate::service::labs as service;
use crate::state::MarketState;
use actix_web::{HttpResponse, get, web};
use dentex_accounts::Actor;
use dentex_http::ApiError;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LabQuery {
    /// Only labs that serve this ISO country.
    #[param(value_type = Option<dentex_domain::CountryCode>)]
    pub country: Option<String>,
    /// Only labs that offer this service.
    #[param(value_type = Option<dentex_domain::rx::Restoration>)]
    pub service: Option<String>,
    /// The `next_cursor` of the page before.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Verified labs that take new work, with the services and countries they
/// declare and their typical turnaround.
#[utoipa::path(get, path = "/api/v1/labs", tag = "organizations", security(("bearer" = [])), params(LabQuery),
    responses((status = 200, body = LabList), (status = 400, description = "`invalid_query`: the limit or the cursor is malformed", body = dentex_http::Problem, content_type = "application/problem+json"), (status = 401, body = dentex_http::Problem, content_type = "application/problem+json"), (status = 422, description = "`validation_failed`: the service or country asked for is not one there is", body = dentex_http::Problem)))]
#[get("/api/v1/labs")]
pub async fn list_labs(
    actor: Actor,
    state: web::Data<MarketState>,
    q: web::Query<LabQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = dentex_http::paging::page(q.limit, q.cursor.as_deref())?;
    let (labs, next_cursor) = service::list(&state, &actor, q.country.as_deref(), q.service.as_deref(), page).await?;
    Ok(HttpResponse::Ok().json(LabList {
        items: labs.into_iter().map(Lab::from).collect(),
        next_cursor,
    }))
}
