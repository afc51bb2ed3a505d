//! A lab's payouts: `POST /api/v1/organizations/{org}/payouts/onboarding`,
//! `GET /api/v1/organizations/{org}/payouts`.

use crate::http::views::{self, OnboardingLink, PayoutView};
use crate::service::onboarding;
use crate::state::PaymentsState;
use actix_web::{HttpResponse, get, post, web};
use dentex_accounts::Actor;
use dentex_http::ApiError;

/// Makes the lab's Stripe Connect Express account (once) and answers a link
/// to Stripe's onboarding (owners and admins of the lab).
#[utoipa::path(post, path = "/api/v1/organizations/{org}/payouts/onboarding", tag = "payments", security(("bearer" = [])),
    params(("org" = Uuid, Path)),
    responses((status = 200, body = OnboardingLink), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`payments_manual`", body = dentex_http::Problem), (status = 502, description = "`payment_provider_error`", body = dentex_http::Problem)))]
#[post("/api/v1/organizations/{org}/payouts/onboarding")]
pub async fn start_onboarding(
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let url = onboarding::start(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(OnboardingLink { url }))
}

/// The lab's account as Stripe reports it (kept current by `account.updated`).
#[utoipa::path(get, path = "/api/v1/organizations/{org}/payouts", tag = "payments", security(("bearer" = [])),
    params(("org" = Uuid, Path)),
    responses((status = 200, body = PayoutView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/organizations/{org}/payouts")]
pub async fn get_payouts(
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let a = onboarding::show(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(views::payout_view(a)))
}
