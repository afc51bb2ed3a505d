//! Support: `POST /api/v1/support/orders/{order}/payment-status` (manual mode).

use crate::http::views::{self, PaymentView};
use crate::service::{manual, pay::Shown};
use crate::state::PaymentsState;
use actix_web::{HttpResponse, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentStatusInput {
    #[schema(value_type = crate::status::PaymentStatus)]
    pub status: String,
    /// Why (audited; no patient data, please).
    pub reason: Option<String>,
}

/// Manual mode (no Stripe key): support records the order's payment status,
/// with a reason, audited.
#[utoipa::path(post, path = "/api/v1/support/orders/{order}/payment-status", tag = "payments", security(("bearer" = [])),
    params(("order" = Uuid, Path)), request_body = PaymentStatusInput,
    responses((status = 200, body = PaymentView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`payments_stripe`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/support/orders/{order}/payment-status")]
pub async fn set_payment_status(
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
    input: Json<PaymentStatusInput>,
) -> Result<HttpResponse, ApiError> {
    let i = input.into_inner();
    let p = manual::set_status(
        &state,
        &actor,
        &path,
        manual::StatusInput {
            status: i.status,
            reason: i.reason,
        },
    )
    .await?;
    let order = crate::store::order(&state.db, p.order_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let ledger = crate::store::ledger::of(&state.db, p.order_id).await?;
    Ok(HttpResponse::Ok().json(views::payment_view(Shown {
        order,
        fee_minor: p.fee_minor,
        payment: Some(p),
        ledger,
        release_at: None,
    })))
}
