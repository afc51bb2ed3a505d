//! What both halves of the market share: the price as shown, and the audit
//! trail of its actions (in the clinic's chain, naming the lab the actor
//! acted for), including refusals. Quotes and orders both use it; neither
//! reaches into the other for it.

use crate::MarketState;
use actix_web::HttpRequest;
use dentex_accounts::{Principal, policy};
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::{OrgId, OrgRole};
use dentex_http::ApiError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct Price {
    pub amount_minor: i64,
    pub currency: String,
}

pub(crate) async fn record(state: &MarketState, ev: AuditEvent) -> Result<(), ApiError> {
    state.audit.record(ev).await.map(|_| ()).map_err(ApiError::from)
}

pub(crate) use dentex_accounts::http::event_by as event;

/// What an audit row of the market says: in the clinic's chain, naming the
/// lab the actor acted for.
pub(crate) struct Trail<'a> {
    pub clinic: Uuid,
    pub action: &'a str,
    pub resource: &'a str,
    pub id: String,
    pub lab: Option<Uuid>,
    pub outcome: Outcome,
}

pub(crate) fn trail_event(req: &HttpRequest, p: &Principal, t: Trail<'_>) -> AuditEvent {
    let mut ev = event(req, p, t.action, t.resource, t.outcome);
    ev.org_id = Some(OrgId(t.clinic));
    ev.resource_id = Some(t.id);
    ev.acting_org_id = t.lab.map(OrgId);
    ev
}

pub(crate) async fn audit(state: &MarketState, req: &HttpRequest, p: &Principal, t: Trail<'_>) -> Result<(), ApiError> {
    record(state, trail_event(req, p, t)).await
}

/// [`audit`] inside the change's transaction: the change and its row commit
/// together or not at all. Call it last before `commit`.
pub(crate) async fn audit_in(
    txn: &sea_orm::DatabaseTransaction,
    req: &HttpRequest,
    p: &Principal,
    t: Trail<'_>,
) -> Result<(), ApiError> {
    dentex_accounts::http::record_in(txn, trail_event(req, p, t)).await
}

/// A refusal for something the caller may not see: 404, audited in the
/// caller's own chain.
pub(crate) async fn not_found(
    state: &MarketState,
    req: &HttpRequest,
    p: &Principal,
    what: &str,
    raw: &str,
) -> ApiError {
    let mut ev = event(req, p, "access.refused", what, Outcome::Denied);
    ev.org_id = p.memberships.first().map(|(o, _)| *o);
    ev.resource_id = Uuid::parse_str(raw).ok().map(|u| u.to_string());
    ev.reason = Some(format!("{what}: not_found"));
    match record(state, ev).await {
        Ok(()) => ApiError::not_found(),
        Err(e) => e,
    }
}

/// A refusal of something the caller can see (403): audited in the
/// clinic's chain as `access.refused`, then returned.
pub(crate) async fn denied(
    state: &MarketState,
    req: &HttpRequest,
    p: &Principal,
    t: Trail<'_>,
    e: ApiError,
) -> ApiError {
    let mut ev = event(req, p, "access.refused", t.resource, Outcome::Denied);
    ev.org_id = Some(OrgId(t.clinic));
    ev.resource_id = Some(t.id);
    ev.acting_org_id = t.lab.map(OrgId);
    ev.reason = Some(t.action.to_owned());
    match record(state, ev).await {
        Ok(()) => e,
        Err(fail) => fail,
    }
}

/// Runs a permission check; a refusal is audited (see [`denied`]).
pub(crate) async fn guard(
    state: &MarketState,
    req: &HttpRequest,
    p: &Principal,
    t: Trail<'_>,
    check: Result<(), ApiError>,
) -> Result<(), ApiError> {
    match check {
        Ok(()) => Ok(()),
        Err(e) => Err(denied(state, req, p, t, e).await),
    }
}

/// The quote's trail entry for `action` by viewer `v`.
pub(crate) fn require_manager(p: &Principal, org: Uuid, what: &str) -> Result<(), ApiError> {
    match p.role_in(OrgId(org)) {
        Some(OrgRole::Owner | OrgRole::Admin) => Ok(()),
        _ => Err(policy::forbidden(&format!("Only owners and admins {what}."))),
    }
}
