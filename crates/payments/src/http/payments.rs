//! An order's payment: `POST /api/v1/orders/{order}/payment`,
//! `GET /api/v1/orders/{order}/payment`, `GET /api/v1/orders/{order}/receipt`.

use crate::http::views::{self, PaymentStarted, PaymentView, ReceiptView};
use crate::service::pay;
use crate::state::PaymentsState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use dentex_accounts::Actor;
use dentex_http::ApiError;

/// The clinic pays the order (owners and admins): one PaymentIntent for the
/// accepted price, automatic capture; the answer is for Stripe.js. A retry
/// with the same key, or a race, gets the same PaymentIntent; after a failed
/// payment a new key makes a new attempt.
#[utoipa::path(post, path = "/api/v1/orders/{order}/payment", tag = "payments", security(("bearer" = [])),
    params(("order" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "A unique key for this payment attempt")),
    responses((status = 200, body = PaymentStarted), (status = 400, description = "`idempotency_key_required`", body = dentex_http::Problem), (status = 403, description = "`forbidden`", body = dentex_http::Problem), (status = 404, description = "`not_found`", body = dentex_http::Problem), (status = 409, description = "`payments_manual`, `payment_not_due`, `lab_not_payable`", body = dentex_http::Problem), (status = 502, description = "`payment_provider_error`", body = dentex_http::Problem)))]
#[post("/api/v1/orders/{order}/payment")]
pub async fn pay_order(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // The key is checked after tenancy: another tenant's order is a 404
    // whatever the headers.
    let key = dentex_market::idempotency::header(&req);
    let s = pay::pay(&state, &actor, &path, key).await?;
    Ok(HttpResponse::Ok().json(PaymentStarted {
        client_secret: s.client_secret,
        status: s.status,
    }))
}

/// The order's payment as both sides see it: status, what is held, the fee,
/// when it is released, the ledger.
#[utoipa::path(get, path = "/api/v1/orders/{order}/payment", tag = "payments", security(("bearer" = [])),
    params(("order" = Uuid, Path)),
    responses((status = 200, body = PaymentView), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/orders/{order}/payment")]
pub async fn get_payment(
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shown = pay::show(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(views::payment_view(shown)))
}

/// The receipt of a paid order (both sides; no patient data).
#[utoipa::path(get, path = "/api/v1/orders/{order}/receipt", tag = "payments", security(("bearer" = [])),
    params(("order" = Uuid, Path)),
    responses((status = 200, body = ReceiptView), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/orders/{order}/receipt")]
pub async fn get_receipt(
    actor: Actor,
    state: web::Data<PaymentsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = pay::receipt(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(views::receipt_view(r)))
}
