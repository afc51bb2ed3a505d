//! The rules of payments. HTTP handlers, jobs and webhooks call these.
//!
//! - [`onboarding`]: a lab's Connect account and its onboarding link.
//! - [`pay`]: the clinic's payment of an order (one PaymentIntent per attempt).
//! - [`apply`]: Stripe's events, applied once each from the objects' current state.
//! - [`release`]: the one transfer to the lab once the work has arrived.
//! - [`refund`]: refunds as one operation (a reversal with it after release).
//! - [`manual`]: manual mode, where support records the status.
//! - [`disputes`]: support's queue of open disputes.
//! - [`sweep`]: the hourly job: auto-release, long holds, reconciliation.

pub mod apply;
pub mod disputes;
pub mod manual;
pub mod onboarding;
pub mod pay;
pub mod refund;
pub mod release;
pub mod sweep;

use crate::state::PaymentsState;
use crate::stripe::CallError;
use dentex_accounts::Actor;
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::OrgId;
use dentex_http::ApiError;
use uuid::Uuid;

/// Stripe refused or could not be reached: 502, nothing changed here.
pub(crate) fn provider(e: CallError) -> ApiError {
    tracing::warn!(error = %e, "a Stripe call failed");
    ApiError::new(&crate::codes::PAYMENT_PROVIDER_ERROR, e.0)
}

/// An audit row about an order, in the clinic's chain.
pub(crate) fn order_event(actor: &Actor, action: &str, clinic: Uuid, order: Uuid, acting: Option<Uuid>) -> AuditEvent {
    let mut ev = actor.event(action, "order", Outcome::Success);
    ev.org_id = Some(OrgId(clinic));
    ev.resource_id = Some(order.to_string());
    ev.acting_org_id = acting.map(OrgId);
    ev
}

/// An audit row of the payment provider (a job applying Stripe's word).
pub(crate) fn system_event(action: &str, clinic: Uuid, order: Uuid) -> AuditEvent {
    let mut ev = AuditEvent::new(action, "order", Outcome::Success);
    ev.org_id = Some(OrgId(clinic));
    ev.resource_id = Some(order.to_string());
    ev.reason = Some("stripe".into());
    ev
}

/// A refusal of something the caller may see (403), audited.
pub(crate) async fn denied(state: &PaymentsState, mut ev: AuditEvent, why: &str) -> ApiError {
    ev.action = "access.refused".into();
    ev.outcome = Outcome::Denied;
    ev.reason = Some(why.to_owned());
    match state.audit.record(ev).await {
        Ok(_) => dentex_accounts::policy::forbidden(why),
        Err(e) => ApiError::from(e),
    }
}

/// Support's reason for an action on a payment (audited): required, at most
/// 500 characters as sent, kept trimmed.
pub(crate) fn support_reason(raw: Option<&str>) -> Result<String, dentex_domain::FieldError> {
    use dentex_domain::FieldError;
    if raw.is_some_and(|r| r.chars().count() > 500) {
        return Err(FieldError::new("reason", "too_long", "At most 500 characters."));
    }
    raw.map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| FieldError::new("reason", "required", "Say why (it is audited)."))
}

/// Support's routes: anyone else is refused (403 whatever the id, so that
/// nothing is told about the order), and the refusal is audited in the
/// caller's own chain.
pub(crate) async fn support_only(state: &PaymentsState, actor: &Actor, action: &str) -> Result<(), ApiError> {
    let Err(e) = dentex_accounts::policy::authorize_support(actor) else {
        return Ok(());
    };
    let mut ev = actor.event("access.refused", "order", Outcome::Denied);
    ev.org_id = actor.memberships.first().map(|(o, _)| *o);
    ev.reason = Some(format!("{action}: {}", e.code));
    state.audit.record(ev).await?;
    Err(e)
}
