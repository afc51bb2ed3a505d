//! Support: `GET /api/v1/support/disputes`,
//! `POST /api/v1/support/orders/{order}/refunds` and, in manual mode,
//! `POST /api/v1/support/orders/{order}/payment-status`.

use crate::http::views::{self, PaymentView, RefundView};
use crate::service::{disputes, manual, pay::Shown, refund};
use crate::state::PaymentsState;
use actix_web::{HttpResponse, get, post, web};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentStatusInput {
    #[schema(value_type = crate::status::PaymentStatus)]
    pub status: String,
    /// Why, 1 to 500 characters (audited; no patient data, please; spaces
    /// only are refused: 422).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500)]
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
    let refunds = crate::store::refunds::of(&state.db, p.order_id).await?;
    Ok(HttpResponse::Ok().json(views::payment_view(Shown {
        order,
        fee_minor: p.fee_minor,
        payment: Some(p),
        ledger,
        refunds,
        release_at: None,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Minor units (ISO 4217: 5000 JPY is 5000); all that is left when absent.
    #[schema(minimum = 1)]
    pub amount_minor: Option<i64>,
    /// Why, 1 to 500 characters (audited; no patient data, please; spaces
    /// only are refused: 422).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

/// Support refunds a paid order, in full or in part, as one operation:
/// before the money is released a refund; after, the lab's transfer is
/// reversed by its share and the refund made (the platform gives back its
/// fee's share). 200 when done; 202 when Stripe could not be reached (the
/// operation is recorded and retried; the payment shows it `pending`).
#[utoipa::path(post, path = "/api/v1/support/orders/{order}/refunds", tag = "payments", security(("bearer" = [])),
    params(("order" = Uuid, Path)), request_body = RefundInput,
    responses((status = 200, description = "Done", body = RefundView), (status = 202, description = "Recorded; Stripe could not be reached, the job retries", body = RefundView), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`payments_manual`, `refund_not_possible`", body = dentex_http::Problem), (status = 422, description = "`validation_failed`", body = dentex_http::Problem), (status = 502, description = "`payment_provider_error` (Stripe refused it; the operation has failed)", body = dentex_http::Problem)))]
#[post("/api/v1/support/orders/{order}/refunds")]
pub async fn refund_order(
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
    input: Json<RefundInput>,
) -> Result<HttpResponse, ApiError> {
    let i = input.into_inner();
    let r = refund::request(
        &state,
        &actor,
        &path,
        refund::RefundInput {
            amount_minor: i.amount_minor,
            reason: i.reason,
        },
    )
    .await?;
    let done = r.status == crate::store::refunds::SUCCEEDED;
    let view = views::refund_view(r);
    Ok(if done {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Accepted().json(view)
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DisputesQuery {
    /// At most 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Support's queue of open disputes, the soonest evidence deadline first
/// (the money stays held, nothing is released, until each ends).
#[utoipa::path(get, path = "/api/v1/support/disputes", tag = "payments", security(("bearer" = [])), params(DisputesQuery),
    responses((status = 200, body = views::DisputeList), (status = 400, description = "`invalid_query`", body = dentex_http::Problem), (status = 403, description = "`forbidden`", body = dentex_http::Problem)))]
#[get("/api/v1/support/disputes")]
pub async fn open_disputes(
    actor: Actor,
    state: web::Data<PaymentsState>,
    q: web::Query<DisputesQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = disputes::open(&state, &actor, q.limit).await?;
    Ok(HttpResponse::Ok().json(views::DisputeList {
        items: rows.into_iter().map(views::dispute_item).collect(),
        next_cursor: None,
    }))
}
