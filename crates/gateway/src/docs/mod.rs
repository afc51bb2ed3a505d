//! The OpenAPI document, generated from the handlers' annotations, and `/docs`:
//! a reference page rendered on the server from that same document, with no
//! script and nothing fetched from elsewhere, so it reads the same offline.

use actix_web::{HttpResponse, get};
use serde_json::Value;
use std::sync::{LazyLock, OnceLock};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

mod complete;
mod page;
pub use complete::codes_in;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dentex API",
        description = "The case exchange between dental clinics and dental and manufacturing labs. \
            Errors are RFC 9457 problem+json with a stable `code`; every response carries `X-Request-Id`; \
            another tenant's resource answers 404.",
    ),
    components(schemas(dentex_http::Problem, dentex_http::FieldProblem)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and this document. Metrics are served on a listener of their own (`metrics.addr`)."),
        (name = "auth", description = "Registration, e-mail verification, sign-in, sessions and password reset."),
        (name = "organizations", description = "Organisations, members, roles and invitations, and the verified labs. Another organisation's id answers 404."),
        (name = "credentials", description = "Professional credentials and their scanned documents."),
        (name = "cases", description = "Cases, prescriptions and their files. A lab sees a case once it is open to it; another tenant's case answers 404."),
        (name = "market", description = "Quotes and orders: several labs quote on one case, the clinic accepts one (with an Idempotency-Key), the order runs to completion; remakes. Another tenant's quote or order answers 404."),
        (name = "payments", description = "Payments through Stripe Connect: labs' payouts, the clinic's payment of an order, the money held until delivery, receipts, Stripe's webhooks; manual mode without keys."),
        (name = "privacy", description = "Privacy: the records of processing (GDPR Art. 30) from the data inventory each crate states about its tables and stores."),
        (name = "support", description = "Platform staff (with two-step sign-in): the credential review queue."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The routes the document is collected from: the application's own
/// `app::routes`, handed in by `Application::build` (so a route is declared
/// once, and this module does not import the one that serves it).
pub type Routes = fn(&mut utoipa_actix_web::service_config::ServiceConfig);

/// The document: the header above, every route as `routes` registers it,
/// and what every route of a kind answers ([`complete`]), served from
/// `server_url`.
pub fn document(routes: Routes, server_url: &str) -> Value {
    let mut doc = document_as_annotated(routes);
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    complete::complete(&mut v, server_url);
    v
}

/// The document as the annotations make it, before the shared codes are
/// filled in (for the check that every route names its own).
pub fn document_as_annotated(routes: Routes) -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    doc
}

/// The shared code a problem status that names none answers with; only
/// statuses whose meaning is the same on every route have one (a 409 or a
/// 429 always names its code).
pub fn shared_code_for(status: u16) -> Option<&'static str> {
    use dentex_http::codes;
    Some(match status {
        401 => codes::UNAUTHENTICATED.code,
        403 => codes::FORBIDDEN.code,
        404 => codes::NOT_FOUND.code,
        413 => codes::PAYLOAD_TOO_LARGE.code,
        415 => codes::UNSUPPORTED_MEDIA_TYPE.code,
        422 => codes::VALIDATION_FAILED.code,
        _ => return None,
    })
}

static ROUTES_OF_DOC: OnceLock<(Routes, String)> = OnceLock::new();

/// Hands the routes and the server's public address to this module; the
/// document is collected from them on first use (not at start-up, which
/// stays as quick as before).
pub fn publish(routes: Routes, server_url: &str) {
    let _ = ROUTES_OF_DOC.set((routes, server_url.trim_end_matches('/').to_owned()));
}

static SPEC: LazyLock<String> = LazyLock::new(|| match ROUTES_OF_DOC.get() {
    Some((routes, url)) => serde_json::to_string_pretty(&document(*routes, url)).unwrap_or_else(|_| "{}".into()),
    None => "{}".into(),
});

fn spec() -> &'static str {
    &SPEC
}

static PAGE: LazyLock<String> = LazyLock::new(|| {
    let v: Value = serde_json::from_str(spec()).unwrap_or(Value::Null);
    page::render(&v)
});

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(spec())
}

#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(PAGE.as_str())
}

pub fn spec_json() -> &'static str {
    spec()
}

/// Path templates of the document with the methods each accepts, so that the
/// fallback can tell "no such address" (404) from "wrong method" (405).
static ROUTES: LazyLock<Vec<(Vec<String>, Vec<String>)>> = LazyLock::new(|| {
    let v: Value = serde_json::from_str(spec()).unwrap_or(Value::Null);
    let mut out = vec![(segments("/docs"), vec!["GET".to_owned()])];
    out.extend(
        crate::pages::PATHS
            .iter()
            .map(|p| (segments(p), vec!["GET".to_owned()])),
    );
    if let Some(paths) = v.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let methods = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            out.push((segments(path), methods));
        }
    }
    out
});

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/').split('/').map(str::to_owned).collect()
}

/// The methods a concrete path accepts, or `None` when no route has this shape.
pub fn allowed_methods(path: &str) -> Option<Vec<String>> {
    let parts = segments(path);
    let mut allowed: Vec<String> = Vec::new();
    for (tpl, methods) in ROUTES.iter() {
        let fits = tpl.len() == parts.len()
            && tpl
                .iter()
                .zip(&parts)
                .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p);
        if fits {
            allowed.extend(methods.iter().cloned());
        }
    }
    if allowed.is_empty() {
        return None;
    }
    allowed.sort();
    allowed.dedup();
    Some(allowed)
}

/// Every crate's error catalogue, in the order `docs/errors.md` lists them.
pub fn error_catalogues() -> Vec<(&'static str, &'static [&'static dentex_http::Code])> {
    vec![
        ("Shared (every route)", dentex_http::codes::ALL),
        ("Accounts, organisations, credentials", dentex_accounts::codes::ALL),
        ("Cases and files", dentex_cases::codes::ALL),
        ("Quotes and orders", dentex_market::codes::ALL),
        ("Chat and live events", dentex_chat::codes::ALL),
        ("Payments", dentex_payments::codes::ALL),
        ("Privacy operations", dentex_privacy::codes::ALL),
    ]
}

/// `docs/errors.md` as the catalogues say it should read.
pub fn errors_markdown() -> String {
    dentex_http::render_markdown(&error_catalogues())
}
