//! The middleware every request passes: a request id made here (a UUIDv7,
//! echoed as `X-Request-Id`; a well-formed id sent by the client is kept beside
//! it as `client_request_id` in the log line, never used as ours), a tracing
//! span with ids only (no query strings, bodies or client names), the number
//! of database statements the request ran (`db_queries`), the metrics
//! observation, security headers, and the guarantee that every error leaves as
//! problem+json, whatever layer produced it. Answers actix-http writes before
//! any of this runs are dressed the same way in [`crate::server`].

use crate::metrics::method_label;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use dentex_http::{PROBLEM_JSON, ProblemCode, RequestId, code_for_status, problem_response};
use std::time::Instant;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers on every answer.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
];

/// The policy of every answer that sets none of its own.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// A client's own request id is recorded when it is short and plain.
fn well_formed_client_id(v: &str) -> bool {
    (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A framework layer's error without our body gets one (problem+json with
/// its catalogued code), keeping `Allow`.
fn dress_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let c = code_for_status(status);
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut headers = Vec::new();
    if let Some(a) = allow.and_then(|a| a.to_str().ok().map(str::to_owned)) {
        headers.push((header::ALLOW, a));
    }
    let (req, _) = res.into_parts();
    let mut answer = problem_response(status, c.code, dentex_http::detail_for_status(status), &[], &headers);
    answer.extensions_mut().insert(ProblemCode(c.code));
    ServiceResponse::new(req, answer)
}

/// The request id and the security headers every answer carries.
fn secure(h: &mut actix_web::http::header::HeaderMap, rid: &str, hsts: bool) {
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    for (name, value) in SECURITY_HEADERS {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_CSP));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        // Responses may carry patient data: no shared or browser caching.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}

pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // Ours always: a client's id could collide with another request's or be
    // chosen to confuse whoever reads the logs.
    let rid = uuid::Uuid::now_v7().to_string();
    let client_rid = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed_client_id(v))
        .map(str::to_owned);
    req.extensions_mut().insert(RequestId(rid.clone()));
    let method = method_label(req.method().as_str());
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.http.public_base_url.starts_with("https://"));
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let span = tracing::info_span!(
        "http",
        request_id = %rid,
        client_request_id = tracing::field::Empty,
        method = method,
        route = tracing::field::Empty,
        status = tracing::field::Empty
    );
    if let Some(c) = &client_rid {
        span.record("client_request_id", c.as_str());
    }

    let (res, queries) = dentex_db::queries::counted(next.call(req).instrument(span.clone())).await;
    let res = match res {
        Ok(r) => r.map_into_boxed_body(),
        // The request is consumed by routing (actix panics if it was cloned),
        // so an error escaping as `Err` cannot be decorated here; actix renders
        // it as it is. None of our inner layers returns one: handlers, extractors
        // and CORS all answer with responses, which get the treatment below.
        Err(e) => return Err(e),
    };

    let status = res.status();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let mut res = dress_problem(res);
    secure(res.headers_mut(), &rid, hsts);

    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(method, &route, status.as_u16(), elapsed);
    }
    span.record("route", route.as_str());
    span.record("status", status.as_u16());
    let problem = res.response().extensions().get::<ProblemCode>().map(|p| p.0);
    span.in_scope(|| match problem {
        Some(code) => tracing::info!(
            ms = elapsed.as_secs_f64() * 1000.0,
            db_queries = queries,
            problem = code,
            "request finished"
        ),
        None => tracing::info!(
            ms = elapsed.as_secs_f64() * 1000.0,
            db_queries = queries,
            "request finished"
        ),
    });
    Ok(res)
}
