//! Operations endpoints: liveness, readiness (database and object store, each
//! checked with a deadline), and Prometheus metrics (on their own listener).

use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use dentex_http::PROBLEM_JSON;
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` while the process answers.
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`, or `not_ready` when a dependency fails.
    pub status: &'static str,
    /// `ok` or a short reason for each dependency.
    pub checks: Checks,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Checks {
    pub database: String,
    pub object_store: String,
}

/// Liveness: the process is up and answering.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

const CHECK_DEADLINE: Duration = Duration::from_secs(3);

/// Readiness: the database and the object store both answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Readiness),
    (status = 503, description = "A dependency is down; `checks` names it", content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (db, store) = tokio::join!(
        tokio::time::timeout(CHECK_DEADLINE, dentex_db::ping(&state.db)),
        tokio::time::timeout(CHECK_DEADLINE, state.store.ping()),
    );
    let database = match db {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            "unreachable".to_owned()
        }
        Err(_) => "timed out".to_owned(),
    };
    let object_store = match store {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: object store check failed");
            "unreachable".to_owned()
        }
        Err(_) => "timed out".to_owned(),
    };
    if database == "ok" && object_store == "ok" {
        return HttpResponse::Ok().json(Readiness {
            status: "ready",
            checks: Checks { database, object_store },
        });
    }
    let mut failing = Vec::new();
    if database != "ok" {
        failing.push(format!("database {database}"));
    }
    if object_store != "ok" {
        failing.push(format!("object store {object_store}"));
    }
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let body = serde_json::json!({
        "type": "urn:dentex:problem:not_ready",
        "title": status.canonical_reason(),
        "status": status.as_u16(),
        "code": "not_ready",
        "detail": format!("Not ready: {}.", failing.join(", ")),
        "checks": Checks { database, object_store },
    });
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .insert_header(("Retry-After", "5"))
        .body(body.to_string())
}

/// What the metrics listener needs.
#[derive(Clone)]
pub struct MetricsAccess {
    pub state: AppState,
    /// `Authorization: Bearer <token>` required when set.
    pub bearer_token: Option<secrecy::SecretString>,
}

fn bearer_matches(req: &HttpRequest, token: &secrecy::SecretString) -> bool {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha256};
    let sent = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compare digests, so the time taken says nothing about the token.
    Sha256::digest(sent.trim().as_bytes()) == Sha256::digest(token.expose_secret().as_bytes())
}

/// Prometheus metrics: HTTP request counts and latency by route and status,
/// job counts by status. Served on the metrics listener only (`metrics.addr`).
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, access: web::Data<MetricsAccess>) -> HttpResponse {
    if let Some(token) = &access.bearer_token
        && !bearer_matches(&req, token)
    {
        return HttpResponse::Unauthorized()
            .insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"))
            .content_type("text/plain; charset=utf-8")
            .body("send Authorization: Bearer <metrics.bearer_token>\n");
    }
    let state = &access.state;
    let mut extra = String::new();
    if let Ok(counts) = job_counts(state).await {
        extra.push_str("# HELP dentex_jobs Jobs in the queue by status.\n# TYPE dentex_jobs gauge\n");
        for (status, n) in counts {
            extra.push_str(&format!("dentex_jobs{{status=\"{status}\"}} {n}\n"));
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&extra))
}

async fn job_counts(state: &AppState) -> Result<Vec<(String, i64)>, sea_orm::DbErr> {
    use dentex_db::entities::job;
    use sea_orm::{ColumnTrait, EntityTrait, QuerySelect};
    let rows: Vec<(String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Status)
        .column_as(job::Column::Id.count(), "n")
        .group_by(job::Column::Status)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut out: Vec<(String, i64)> = dentex_jobs::JobStatus::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                rows.iter().find(|(k, _)| k == s.as_str()).map_or(0, |(_, n)| *n),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}
