//! The middleware every request passes: a request id (accepted from a trusted
//! caller when well-formed, otherwise a new UUIDv7) echoed as `X-Request-Id`, a
//! tracing span with ids only (no query strings, bodies or client names), the
//! metrics observation, security headers, and the guarantee that every error
//! leaves as problem+json, whatever layer produced it.

use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use dentex_http::{PROBLEM_JSON, RequestId, code_for_status, problem_response};
use std::time::Instant;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn accept_request_id(v: &str) -> bool {
    (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let rid = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| accept_request_id(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(rid.clone()));
    let method = req.method().to_string();
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.http.public_base_url.starts_with("https://"));
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let span = tracing::info_span!("http", request_id = %rid, method = %method, route = tracing::field::Empty, status = tracing::field::Empty);

    let res = match next.call(req).instrument(span.clone()).await {
        Ok(r) => r.map_into_boxed_body(),
        // The request is consumed by routing (actix panics if it was cloned),
        // so an error escaping as `Err` cannot be decorated here; actix renders
        // it as it is. None of our inner layers returns one: handlers, extractors
        // and CORS all answer with responses, which get the treatment below.
        Err(e) => return Err(e),
    };

    let status = res.status();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    let mut res = if (status.is_client_error() || status.is_server_error()) && !is_problem {
        // A framework layer answered without our body: give it one.
        let (code, detail) = code_for_status(status);
        let allow = res.headers().get(header::ALLOW).cloned();
        let mut headers = Vec::new();
        if let Some(a) = allow.and_then(|a| a.to_str().ok().map(str::to_owned)) {
            headers.push((header::ALLOW, a));
        }
        let (req, _) = res.into_parts();
        ServiceResponse::new(req, problem_response(status, code, detail, &[], &headers))
    } else {
        res
    };

    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rid) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        // Responses may carry patient data: no shared or browser caching.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }

    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(&method, &route, status.as_u16(), elapsed);
    }
    span.record("route", route.as_str());
    span.record("status", status.as_u16());
    span.in_scope(|| {
        tracing::info!(ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
    Ok(res)
}
