//! `dentex-http` owns what every HTTP-facing crate shares at the edge: the one
//! mapping from errors to RFC 9457 `application/problem+json` responses (each with
//! a stable snake_case `code`, and `errors[]` naming the fields at fault), the
//! request id, and the client address as the audit trail records it. Unexpected
//! errors answer an opaque 500 and log their whole cause chain under the request id.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use dentex_domain::FieldError;
use serde::Serialize;
use std::fmt;

mod catalogue;
mod json;
pub mod paging;
pub mod pseudonyms;
pub use pseudonyms::Pseudonyms;
pub mod schema;
pub use catalogue::{Code, render_markdown};
pub use json::{Json, JsonLimit, is_json_utf8};

/// The codes every crate shares: the edge's, the framework's, and the
/// failures of what lies below (database, object store, audit trail).
pub mod codes {
    crate::codes!(ALL {
        BAD_REQUEST = (400, "bad_request", "The request could not be understood."),
        MALFORMED_JSON = (400, "malformed_json", "The body is not valid JSON; the detail gives the line and column."),
        UNREADABLE_BODY = (400, "unreadable_body", "The request body could not be read, or the upload was interrupted; nothing was kept."),
        EMPTY_BODY = (400, "empty_body", "The body is empty: send the file's bytes."),
        INVALID_QUERY = (400, "invalid_query", "A query parameter is malformed or out of range; the detail names it."),
        UNAUTHENTICATED = (401, "unauthenticated", "Sign in first: send Authorization: Bearer <token>."),
        FORBIDDEN = (403, "forbidden", "You may not do this; the detail says who may."),
        NOT_FOUND = (404, "not_found", "No resource exists at this address, or it belongs to another tenant."),
        METHOD_NOT_ALLOWED = (405, "method_not_allowed", "This address does not accept that HTTP method; `Allow` lists those it does."),
        NOT_ACCEPTABLE = (406, "not_acceptable", "No representation matches the Accept header."),
        REQUEST_TIMEOUT = (408, "request_timeout", "The request took too long to arrive."),
        CONFLICT = (409, "conflict", "This conflicts with something that already exists."),
        LENGTH_REQUIRED = (411, "length_required", "A Content-Length header is required."),
        PAYLOAD_TOO_LARGE = (413, "payload_too_large", "The body or file is larger than the limit the detail gives."),
        URI_TOO_LONG = (414, "uri_too_long", "The request address is too long."),
        UNSUPPORTED_MEDIA_TYPE = (415, "unsupported_media_type", "The body has a type this address does not accept (JSON must be UTF-8 `application/json`; files are typed from their bytes)."),
        VALIDATION_FAILED = (422, "validation_failed", "Some fields are missing or invalid; `errors[]` names each field, its code and what to fix."),
        TOO_MANY_REQUESTS = (429, "too_many_requests", "Too many requests; slow down and retry later."),
        HEADERS_TOO_LARGE = (431, "headers_too_large", "The request headers are too large."),
        INTERNAL_ERROR = (500, "internal_error", "Something went wrong on our side; quote the X-Request-Id header to support."),
        SERVICE_UNAVAILABLE = (503, "service_unavailable", "The service is unavailable; retry later."),
        DATABASE_UNAVAILABLE = (503, "database_unavailable", "The database is unavailable; retry after `Retry-After` seconds."),
        STORAGE_UNAVAILABLE = (503, "storage_unavailable", "File storage is unavailable; retry after `Retry-After` seconds."),
        AUDIT_UNAVAILABLE = (503, "audit_unavailable", "The audit trail could not record the request, so nothing was shown or saved; retry after `Retry-After` seconds."),
        REQUEST_FAILED = (400, "request_failed", "The request failed (a status without a code of its own)."),
    });
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A request body of raw bytes, in the document (`type: string, format:
/// binary`); the handler streams it.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .min_length(Some(1))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// A 201 whose `Location` is the address of what was created.
pub fn created(location: impl Into<String>) -> actix_web::HttpResponseBuilder {
    let mut r = HttpResponse::Created();
    r.insert_header((header::LOCATION, location.into()));
    r
}

/// The id of the current request, put in the request's extensions by the edge
/// middleware and echoed as `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Where the client address comes from. Behind a reverse proxy every peer is
/// the proxy, so an operator names the header the proxy sets; it is trusted
/// only when configured (otherwise anyone could forge it).
#[derive(Debug, Clone, Default)]
pub struct ClientIpSource {
    /// e.g. `x-forwarded-for`: its right-most entry is the address the proxy saw.
    pub header: Option<String>,
    /// Addresses are kept as keyed pseudonyms (audit rows, throttles): an
    /// address can be matched by whoever holds the key, and read by no one.
    pub pseudonyms: Option<Pseudonyms>,
}

/// The client address of a request, as it is stored: its keyed pseudonym
/// when the process has a key (every gateway does), else as it is.
pub fn client_addr(req: &HttpRequest) -> Option<String> {
    let source = req.app_data::<actix_web::web::Data<ClientIpSource>>();
    let header = source.and_then(|s| s.header.clone());
    let ip = if let Some(h) = header
        && let Some(v) = req.headers().get(h.as_str()).and_then(|v| v.to_str().ok())
        && let Some(last) = v.rsplit(',').map(str::trim).find(|s| !s.is_empty())
        && let Ok(ip) = last.parse::<std::net::IpAddr>()
    {
        ip.to_string()
    } else {
        req.peer_addr()?.ip().to_string()
    };
    Some(match source.and_then(|s| s.pseudonyms.as_ref()) {
        Some(p) => p.client_addr(&ip),
        None => ip,
    })
}

/// The request id and client address of a request, for audit rows.
pub fn request_context(req: &HttpRequest) -> (Option<String>, Option<String>) {
    use actix_web::HttpMessage;
    let rid = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    (rid, client_addr(req))
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra response headers (e.g. `Allow`, `Retry-After`).
    pub headers: Vec<(header::HeaderName, String)>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// A URI naming the kind of problem: `urn:dentex:problem:{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    /// Stable machine-readable code.
    pub code: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(value_type = Vec<FieldProblem>)]
    pub errors: &'a [FieldError],
}

/// One invalid field (documentation of `FieldError`'s wire form).
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// Path of the field, e.g. `rx.items[0].shade`.
    pub field: String,
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// A problem with a catalogued code (its status comes with it).
    pub fn new(code: &'static Code, detail: impl Into<String>) -> Self {
        Self {
            status: code.status_code(),
            code: code.code,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(&codes::NOT_FOUND, "No resource exists at this address.")
    }

    /// 422 for a word `field` does not take (a filter, say), naming the
    /// words it does: the same answer as for a body's enumeration.
    pub fn unknown_value<'a>(field: &str, words: impl IntoIterator<Item = &'a str>) -> Self {
        let words: Vec<&str> = words.into_iter().collect();
        Self::validation(vec![FieldError::new(
            field,
            "unknown_value",
            format!("Use one of: {}.", words.join(", ")),
        )])
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            &codes::VALIDATION_FAILED,
            "Some fields are missing or invalid; see errors.",
        );
        e.errors = errors;
        e
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            &codes::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    /// An unexpected failure: log the cause chain, answer an opaque 500.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let cause = cause.into();
        tracing::error!(error = format!("{cause:#}"), "unexpected error");
        Self::new(
            &codes::INTERNAL_ERROR,
            "Something went wrong on our side. Quote the X-Request-Id header if you contact support.",
        )
    }

    /// The fields at fault, for a problem that is not a plain 422.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = problem_response(self.status, self.code, &self.detail, &self.errors, &self.headers);
        r.extensions_mut().insert(ProblemCode(self.code));
        r
    }
}

/// The code of a problem answer, kept in the response's extensions so the
/// edge logs it with the request (`problem` in "request finished").
#[derive(Debug, Clone, Copy)]
pub struct ProblemCode(pub &'static str);

pub fn problem_response(
    status: StatusCode,
    code: &str,
    detail: &str,
    errors: &[FieldError],
    headers: &[(header::HeaderName, String)],
) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp.insert_header((k.clone(), v));
        }
    }
    resp.body(problem_body(status, code, detail, errors))
}

/// The problem+json text of a problem.
pub fn problem_body(status: StatusCode, code: &str, detail: &str, errors: &[FieldError]) -> String {
    let body = Problem {
        type_: format!("urn:dentex:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        code,
        errors,
    };
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
}

/// The detail of a bare status's problem, as it has always read (the
/// code's catalogue meaning says what the code means; this says what
/// happened).
pub fn detail_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be understood.",
        401 => "Sign in first: send Authorization: Bearer <token>.",
        403 => "You may not do this.",
        404 => "No resource exists at this address.",
        405 => "This address does not accept that HTTP method.",
        406 => "No representation matches the Accept header.",
        408 => "The request took too long to arrive.",
        411 => "A Content-Length header is required.",
        413 => "The request body is too large.",
        414 => "The request address is too long.",
        415 => "The request body has a type this address does not accept.",
        431 => "The request headers are too large.",
        429 => "Too many requests; slow down and retry later.",
        503 => "The service is unavailable; retry later.",
        s if s >= 500 => "Something went wrong on our side.",
        _ => "The request failed.",
    }
}

/// The catalogued code for a bare status (used when a framework layer
/// answered without a body of ours), and its meaning as the detail.
pub fn code_for_status(status: StatusCode) -> &'static Code {
    match status.as_u16() {
        400 => &codes::BAD_REQUEST,
        401 => &codes::UNAUTHENTICATED,
        403 => &codes::FORBIDDEN,
        404 => &codes::NOT_FOUND,
        405 => &codes::METHOD_NOT_ALLOWED,
        406 => &codes::NOT_ACCEPTABLE,
        408 => &codes::REQUEST_TIMEOUT,
        411 => &codes::LENGTH_REQUIRED,
        413 => &codes::PAYLOAD_TOO_LARGE,
        414 => &codes::URI_TOO_LONG,
        415 => &codes::UNSUPPORTED_MEDIA_TYPE,
        431 => &codes::HEADERS_TOO_LARGE,
        429 => &codes::TOO_MANY_REQUESTS,
        503 => &codes::SERVICE_UNAVAILABLE,
        s if s >= 500 => &codes::INTERNAL_ERROR,
        _ => &codes::REQUEST_FAILED,
    }
}

/// A body that is not JSON: 400 with the position.
pub fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        &crate::codes::MALFORMED_JSON,
        format!("The body is not valid JSON (line {}, column {}).", e.line(), e.column()),
    )
}

/// JSON of the wrong shape: 422 naming the field.
pub fn json_deserialize_problem(e: &serde_json::Error) -> ApiError {
    let msg = e.to_string();
    let field = field_from_serde_message(&msg).unwrap_or_default();
    let mut api = ApiError::validation(vec![FieldError::new(
        field,
        if msg.starts_with("missing field") {
            "required"
        } else if msg.starts_with("unknown field") {
            "unknown_field"
        } else if msg.starts_with("duplicate field") {
            "duplicate_key"
        } else {
            "invalid_type"
        },
        strip_position(&msg),
    )]);
    api.detail = "The JSON body does not have the expected shape; see errors.".into();
    api
}

fn field_from_serde_message(msg: &str) -> Option<String> {
    // serde names the field for missing/unknown fields: "missing field `email`".
    let start = msg.find('`')?;
    let rest = &msg[start + 1..];
    let end = rest.find('`')?;
    let name = &rest[..end];
    if msg.starts_with("missing field") || msg.starts_with("unknown field") || msg.starts_with("duplicate field") {
        Some(name.to_owned())
    } else {
        None
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if dentex_db::is_unique_violation(&e) {
            return ApiError::new(
                &crate::codes::CONFLICT,
                "This conflicts with something that already exists.",
            );
        }
        let s = e.to_string();
        if s.contains("pool timed out") || s.contains("PoolTimedOut") || s.contains("Connection refused") {
            tracing::warn!(error = %s, "database unavailable");
            return ApiError::new(
                &crate::codes::DATABASE_UNAVAILABLE,
                "The database is unavailable; retry shortly.",
            )
            .with_header(header::RETRY_AFTER, "5");
        }
        ApiError::internal(e)
    }
}

/// The audit trail could not confirm the row: the request is not answered as
/// if it had been (503). Reads show nothing then. A change whose row is
/// written after it commits (until every write records its row inside its
/// own transaction) may have been saved: the message says to look first.
impl From<dentex_audit::AuditError> for ApiError {
    fn from(e: dentex_audit::AuditError) -> Self {
        tracing::warn!(error = %e, "audit trail unavailable");
        ApiError::new(
            &crate::codes::AUDIT_UNAVAILABLE,
            "The audit trail could not record this request, so nothing is shown. If you were changing \
             something, look before you try again: the change may have been saved.",
        )
        .with_header(header::RETRY_AFTER, "2")
    }
}

/// The audit row of a change could not be written inside the change's
/// transaction: the transaction is not committed, nothing was saved (503).
pub fn audit_row_failed(e: sea_orm::DbErr) -> ApiError {
    tracing::warn!(error = %e, "audit row of a change could not be written; the change was rolled back");
    ApiError::new(
        &crate::codes::AUDIT_UNAVAILABLE,
        "The audit trail could not record this change, so nothing was saved. Retry shortly.",
    )
    .with_header(header::RETRY_AFTER, "2")
}

impl From<dentex_storage::StorageError> for ApiError {
    fn from(e: dentex_storage::StorageError) -> Self {
        match e {
            dentex_storage::StorageError::TooLarge { limit } => {
                ApiError::payload_too_large(usize::try_from(limit).unwrap_or(usize::MAX))
            }
            dentex_storage::StorageError::NotFound => ApiError::not_found(),
            dentex_storage::StorageError::S3(s) => {
                tracing::warn!(error = %s, "object store unavailable");
                ApiError::new(
                    &crate::codes::STORAGE_UNAVAILABLE,
                    "File storage is unavailable; retry shortly.",
                )
                .with_header(header::RETRY_AFTER, "5")
            }
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_yield_the_field() {
        assert_eq!(
            field_from_serde_message("missing field `email` at line 1 column 2").as_deref(),
            Some("email")
        );
        assert_eq!(
            field_from_serde_message("unknown field `x`, expected one of `a`").as_deref(),
            Some("x")
        );
        assert_eq!(
            field_from_serde_message("invalid type: integer `5`, expected a string"),
            None
        );
        assert_eq!(
            strip_position("missing field `email` at line 1 column 2"),
            "missing field `email`"
        );
    }
}
