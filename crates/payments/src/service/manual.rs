//! Manual mode (no Stripe key): orders go into production at the award as
//! before, and support records each order's payment status with a reason,
//! audited. With Stripe on, the status follows Stripe and this is refused.

use crate::state::PaymentsState;
use crate::status::PaymentStatus;
use crate::store::{self, Payment};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use uuid::Uuid;

pub struct StatusInput {
    pub status: String,
    pub reason: Option<String>,
}

pub async fn set_status(
    state: &PaymentsState,
    actor: &Actor,
    raw: &str,
    input: StatusInput,
) -> Result<Payment, ApiError> {
    super::support_only(state, actor, "order.payment_status").await?;
    let order = match Uuid::parse_str(raw) {
        Ok(id) => store::order(&state.db, id).await?,
        Err(_) => None,
    }
    .ok_or_else(ApiError::not_found)?;
    if state.stripe.is_some() {
        return Err(ApiError::new(
            &crate::codes::PAYMENTS_STRIPE,
            "Payments run through Stripe here: the status follows Stripe.",
        ));
    }
    let mut errors = Vec::new();
    let status = PaymentStatus::parse(input.status.trim());
    if status.is_none() {
        errors.push(FieldError::new(
            "status",
            "unknown_value",
            format!("One of {}.", PaymentStatus::ALL.map(PaymentStatus::as_str).join(", ")),
        ));
    }
    let reason = super::support_reason(input.reason.as_deref())
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(status), Some(reason), true) = (status, reason, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    store::payments::ensure(&txn, &order, "manual").await?;
    let mut p = store::payments::lock(&txn, order.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let from = p.status.clone();
    p.status = status.as_str().to_owned();
    if status.was_paid() && p.paid_at.is_none() {
        p.paid_at = Some(dentex_db::now());
    }
    store::payments::save(&txn, p).await?;
    let mut ev = actor.event("order.payment_status", "order", Outcome::Success);
    ev.org_id = Some(OrgId(order.clinic_org_id));
    ev.resource_id = Some(order.id.to_string());
    ev.reason = Some(format!("{from} to {}: {reason}", status.as_str()));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    store::payments::find(&state.db, order.id)
        .await?
        .ok_or_else(ApiError::not_found)
}
