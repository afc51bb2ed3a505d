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
    pub country: Option<String>,
    /// Only labs that offer this service.
    pub service: Option<String>,
}

/// Verified labs that take new work, with the services and countries they
/// declare and their typical turnaround.
#[utoipa::path(get, path = "/api/v1/labs", tag = "organizations", security(("bearer" = [])), params(LabQuery),
    responses((status = 200, body = LabList), (status = 400, description = "`invalid_query`: a filter is malformed", body = dentex_http::Problem, content_type = "application/problem+json"), (status = 401, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/labs")]
pub async fn list_labs(
    actor: Actor,
    state: web::Data<MarketState>,
    q: web::Query<LabQuery>,
) -> Result<HttpResponse, ApiError> {
    let labs = service::list(&state, &actor, q.country.as_deref(), q.service.as_deref()).await?;
    Ok(HttpResponse::Ok().json(LabList {
        items: labs.into_iter().map(Lab::from).collect(),
        next_cursor: None,
    }))
}
