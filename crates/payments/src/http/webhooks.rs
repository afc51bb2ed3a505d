//! `POST /api/v1/webhooks/stripe`: the signature checked over the raw body
//! before anything is parsed; the event recorded and its job queued; the
//! answer fast (Stripe retries what is not 2xx).

use crate::service::apply;
use crate::state::PaymentsState;
use crate::webhook::{self, Refused};
use actix_web::{HttpRequest, HttpResponse, post, web};
use dentex_http::ApiError;

/// Stripe's events (platform and Connect), signed with a configured secret.
#[utoipa::path(post, path = "/api/v1/webhooks/stripe", tag = "payments",
    request_body(content = String, content_type = "application/json", description = "A Stripe event, as Stripe sends it"),
    params(("Stripe-Signature" = String, Header, description = "t=…,v1=…")),
    responses((status = 200, description = "Received (or received before); `received: false` for a signed event about no object, ignored", body = crate::http::views::Received), (status = 400, description = "`webhook_signature_invalid`, `bad_request`", body = dentex_http::Problem), (status = 503, description = "`webhook_not_configured`", body = dentex_http::Problem)))]
#[post("/api/v1/webhooks/stripe")]
pub async fn stripe_webhook(
    req: HttpRequest,
    state: web::Data<PaymentsState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = req.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
    let body = std::str::from_utf8(&body).map_err(|_| signature("the body is not UTF-8"))?;
    let event = match webhook::verify(body, header, &state.config.webhook_secrets) {
        Ok(e) => e,
        Err(Refused::NotConfigured) => {
            tracing::warn!("a Stripe webhook arrived but no signing secret is configured");
            return Err(ApiError::new(
                &crate::codes::WEBHOOK_NOT_CONFIGURED,
                "No webhook signing secret is configured.",
            ));
        }
        Err(Refused::Signature(why)) => {
            tracing::warn!(why, "a Stripe webhook was refused");
            return Err(signature(why));
        }
        Err(Refused::Unreadable) => {
            // Stripe's own (the signature holds) but not an event about an
            // object: answered 2xx so that Stripe does not retry it for
            // days and disable the endpoint; nothing is recorded.
            tracing::warn!("a signed Stripe webhook without an object was ignored");
            return Ok(HttpResponse::Ok().json(crate::http::views::Received { received: false }));
        }
        Err(Refused::Unparseable) => {
            tracing::warn!("a signed Stripe webhook could not be read");
            return Err(ApiError::new(
                &dentex_http::codes::BAD_REQUEST,
                "The event is signed but not one this server can read.",
            ));
        }
    };
    apply::intake(&state, &event).await?;
    Ok(HttpResponse::Ok().json(crate::http::views::Received { received: true }))
}

fn signature(why: &str) -> ApiError {
    ApiError::new(
        &crate::codes::WEBHOOK_SIGNATURE_INVALID,
        format!("The Stripe-Signature does not verify: {why}."),
    )
}
