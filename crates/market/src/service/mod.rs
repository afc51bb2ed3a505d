//! The rules of quotes and orders. HTTP handlers call these, and so may a
//! job or a webhook (a payment provider moving an order on): each takes the
//! [`MarketState`] or a transaction, and the typed [`Actor`]; none needs an
//! HTTP request. A change records its audit row in its own transaction,
//! last before commit ([`audit_in`]); a read or a refusal is audited through
//! the batched appender before it is answered.
//!
//! - [`quotes`]: quoting, the lists, revisions and withdrawals.
//! - [`award`]: accepting a quote, which makes the order.
//! - [`orders`]: the lists, one order, its moves and remakes.
//! - [`labs`]: the verified labs, with their typical turnaround.
//!
//! The audit trail of the market is in the clinic's chain, naming the lab
//! the actor acted for; refusals included.

pub mod award;
pub mod labs;
pub mod orders;
pub mod quotes;

use crate::policy::Refusal;
use crate::state::MarketState;
use dentex_accounts::Actor;
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use uuid::Uuid;

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

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

pub(crate) fn trail_event(actor: &Actor, t: Trail<'_>) -> AuditEvent {
    let mut ev = actor.event(t.action, t.resource, t.outcome);
    ev.org_id = Some(OrgId(t.clinic));
    ev.resource_id = Some(t.id);
    ev.acting_org_id = t.lab.map(OrgId);
    ev
}

/// Appends `ev` through the batched appender (reads and refusals).
pub(crate) async fn record(state: &MarketState, ev: AuditEvent) -> Result<(), ApiError> {
    state.audit.record(ev).await.map(|_| ()).map_err(ApiError::from)
}

/// Audits a read (or a refused move) through the batched appender.
pub(crate) async fn audit(state: &MarketState, actor: &Actor, t: Trail<'_>) -> Result<(), ApiError> {
    record(state, trail_event(actor, t)).await
}

/// [`audit`] inside the change's transaction: the change and its row commit
/// together or not at all. Call it last before `commit`.
pub(crate) async fn audit_in(txn: &sea_orm::DatabaseTransaction, actor: &Actor, t: Trail<'_>) -> Result<(), ApiError> {
    dentex_accounts::audit_in(txn, trail_event(actor, t)).await
}

/// A refusal for something the caller may not see: 404, audited in the
/// caller's own chain.
pub(crate) async fn not_found(state: &MarketState, actor: &Actor, what: &str, raw: &str) -> ApiError {
    let mut ev = actor.event("access.refused", what, Outcome::Denied);
    ev.org_id = actor.memberships.first().map(|(o, _)| *o);
    ev.resource_id = Uuid::parse_str(raw).ok().map(|u| u.to_string());
    ev.reason = Some(format!("{what}: not_found"));
    match record(state, ev).await {
        Ok(()) => ApiError::not_found(),
        Err(e) => e,
    }
}

/// A refusal of something the caller can see (403): audited in the
/// clinic's chain as `access.refused` (the reason names the action), then
/// returned.
pub(crate) async fn denied(state: &MarketState, actor: &Actor, t: Trail<'_>, e: ApiError) -> ApiError {
    let mut ev = actor.event("access.refused", t.resource, Outcome::Denied);
    ev.org_id = Some(OrgId(t.clinic));
    ev.resource_id = Some(t.id);
    ev.acting_org_id = t.lab.map(OrgId);
    ev.reason = Some(t.action.to_owned());
    match record(state, ev).await {
        Ok(()) => e,
        Err(fail) => fail,
    }
}

/// Runs a check; a refusal is audited (see [`denied`]).
pub(crate) async fn guard(
    state: &MarketState,
    actor: &Actor,
    t: Trail<'_>,
    check: Result<(), ApiError>,
) -> Result<(), ApiError> {
    match check {
        Ok(()) => Ok(()),
        Err(e) => Err(denied(state, actor, t, e).await),
    }
}

/// The policy's answer, with a refusal audited: a forbidden action as
/// `access.refused` (403); an impossible move as a denied `t.action` (409,
/// naming the moves that are possible).
pub(crate) async fn enforce(
    state: &MarketState,
    actor: &Actor,
    t: Trail<'_>,
    decision: Result<(), Refusal>,
) -> Result<(), ApiError> {
    match decision {
        Ok(()) => Ok(()),
        Err(Refusal::Forbidden(why)) => Err(denied(state, actor, t, dentex_accounts::policy::forbidden(why)).await),
        // The refusal rule (docs/errors.md): 403 when this side may never
        // make the move, 409 when the order's state does not allow it now.
        Err(Refusal::Move { error, side }) if orders::never_moves(side, error.to) => {
            let why = orders::never_detail(side, error.to);
            Err(denied(state, actor, t, dentex_accounts::policy::forbidden(&why)).await)
        }
        Err(Refusal::Move { error, side }) => {
            audit(state, actor, t).await?;
            Err(orders::move_refused(&error, side))
        }
    }
}

/// Field errors as a 422, or nothing.
pub(crate) fn problems(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}
