//! `GET /api/v1/organizations/{org}/audit`: the organisation's audit trail,
//! filtered and paged, for its owners and admins.

use crate::service::audit::{self, Filters};
use crate::state::PrivacyState;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use dentex_accounts::Actor;
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this person's actions.
    pub actor: Option<Uuid>,
    /// An action (`case.read`), or every action of a kind (`case.`).
    #[param(min_length = 1, max_length = 100)]
    pub action: Option<String>,
    /// Only rows about this resource id (a case, a file, an order…; a
    /// case's id finds its files' rows too).
    #[param(min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9/-]+$")]
    pub resource: Option<String>,
    /// From this time (inclusive, RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the page before.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    /// The row's place in the organisation's chain.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// `user`, `staff`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The lab a person acted for, on a clinic's row.
    pub acting_org_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub request_id: Option<String>,
    /// The client address as its keyed pseudonym (`ip:…`).
    pub client_addr: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The organisation's audit trail, newest first: for owners and admins (and
/// support); a member gets 403, anyone else 404. The read is audited.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/audit", tag = "privacy", security(("bearer" = [])),
    params(("org" = Uuid, Path), AuditQuery),
    responses((status = 200, body = AuditPage),
        (status = 400, description = "`invalid_query`", body = dentex_http::Problem),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/organizations/{org}/audit")]
pub async fn organization_audit(
    actor: Actor,
    state: web::Data<PrivacyState>,
    path: web::Path<String>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = dentex_http::paging::page(q.limit, q.cursor.as_deref())?;
    let filters = Filters {
        actor: q.actor,
        action: q.action,
        resource: q.resource,
        from: q.from,
        to: q.to,
    };
    let (rows, next) = audit::page(&state, &actor, &path, filters, page).await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                occurred_at: r.occurred_at,
                actor_id: r.actor_id,
                actor_kind: r.actor_kind,
                acting_org_id: r.acting_org_id,
                action: r.action,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                outcome: r.outcome,
                request_id: r.request_id,
                client_addr: r.client_addr,
                reason: r.reason,
            })
            .collect(),
        next_cursor: next,
    }))
}
