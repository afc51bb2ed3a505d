//! The clinic pays an order that is `awaiting_payment`: one PaymentIntent
//! per attempt (the order's row is taken while it is made, and Stripe gets
//! the key (order, `payment_intent`, attempt)), so a retry or a race makes
//! one. A failed attempt may be paid again with a new `Idempotency-Key`;
//! the same key answers the same attempt.

use super::{denied, order_event, provider};
use crate::policy::{self, PaymentAction};
use crate::state::PaymentsState;
use crate::status::{Observed, PaymentStatus, derive};
use crate::store::{self, Order, Payment, ledger};
use dentex_accounts::Actor;
use dentex_http::ApiError;
use dentex_market::policy::Side;

/// What the clinic's front end needs to confirm the payment (Stripe.js).
pub struct Started {
    pub client_secret: Option<String>,
    pub status: PaymentStatus,
}

/// An order's payment as both sides see it.
pub struct Shown {
    pub order: Order,
    pub payment: Option<Payment>,
    pub ledger: Vec<dentex_db::entities::payment_ledger::Model>,
    pub refunds: Vec<store::refunds::Refund>,
    /// When the money goes to the lab with nothing more from the clinic.
    pub release_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The fee if released now (or what was taken).
    pub fee_minor: i64,
}

pub(crate) async fn order_for(
    state: &PaymentsState,
    actor: &Actor,
    raw: &str,
    action: PaymentAction,
) -> Result<(Order, Side), ApiError> {
    let (o, side) = dentex_market::service::orders::order_for(&state.market, actor, raw).await?;
    if let Err(why) = policy::decide_payment(actor, o.clinic_org_id, side, action) {
        let lab = (side == Side::Lab).then_some(o.lab_org_id);
        let ev = order_event(actor, "order.payment", o.clinic_org_id, o.id, lab);
        return Err(denied(state, ev, why).await);
    }
    Ok((o, side))
}

fn not_due(detail: String) -> ApiError {
    ApiError::new(&crate::codes::PAYMENT_NOT_DUE, detail)
}

/// Starts (or answers) the clinic's payment of the order.
pub async fn pay(
    state: &PaymentsState,
    actor: &Actor,
    raw: &str,
    key: Result<String, ApiError>,
) -> Result<Started, ApiError> {
    let (o, _) = order_for(state, actor, raw, PaymentAction::Pay).await?;
    let stripe = state.stripe()?;
    let key = key?;
    if o.status != "awaiting_payment" {
        return Err(not_due(format!(
            "The order is {}; it is not waiting for payment.",
            o.status
        )));
    }
    if !store::accounts::payable(&state.db, vec![o.lab_org_id])
        .await?
        .contains(&o.lab_org_id)
    {
        return Err(ApiError::new(
            &crate::codes::LAB_NOT_PAYABLE,
            "The lab has not finished onboarding with Stripe; it cannot be paid through the platform yet.",
        ));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    store::payments::ensure(&txn, &o, "stripe").await?;
    let mut p = store::payments::lock(&txn, o.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Unpaid);
    if let Some(id) = p.intent_id.clone() {
        let retry = p.intent_key.as_deref() == Some(key.as_str());
        if status != PaymentStatus::Failed || retry {
            // The attempt there is: a retry, a race, or one still open.
            let pi = stripe.intent(&id).await.map_err(provider)?;
            txn.commit().await?;
            return Ok(Started {
                client_secret: pi.client_secret,
                status,
            });
        }
        // Paying again after a failure: the failed intent is cancelled
        // first (a page still open on it could pay it too), then a new
        // attempt. If it was paid meanwhile, that is the payment.
        if let Err(e) = stripe.cancel_intent(&id).await {
            let pi = stripe.intent(&id).await.map_err(provider)?;
            if pi.state != crate::status::IntentState::Canceled {
                tracing::info!(order.id = %o.id, error = %e, "the failed attempt moved on; not replaced");
                txn.commit().await?;
                return Ok(Started {
                    client_secret: pi.client_secret,
                    status: derive(Observed {
                        intent: pi.state,
                        amount: pi.amount,
                        refunded: 0,
                        dispute: None,
                    }),
                });
            }
        }
        p.attempt += 1;
    }
    let pi = stripe
        .create_intent(o.id, p.attempt, o.amount_minor, &o.currency)
        .await
        .map_err(provider)?;
    let status = derive(Observed {
        intent: pi.state,
        amount: pi.amount,
        refunded: 0,
        dispute: None,
    });
    p.intent_id = Some(pi.id.clone());
    p.intent_key = Some(key);
    p.payer_user_id = Some(actor.user_id.0);
    p.status = status.as_str().to_owned();
    let attempt = p.attempt;
    store::payments::save(&txn, p).await?;
    let mut ev = order_event(actor, "order.payment_started", o.clinic_org_id, o.id, None);
    ev.reason = Some(format!("attempt {attempt}"));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    tracing::info!(order.id = %o.id, attempt, "payment intent made");
    Ok(Started {
        client_secret: pi.client_secret,
        status,
    })
}

/// The order's payment, its ledger and when the money is released.
pub async fn show(state: &PaymentsState, actor: &Actor, raw: &str) -> Result<Shown, ApiError> {
    let (o, side) = order_for(state, actor, raw, PaymentAction::Read).await?;
    let lab = (side == Side::Lab).then_some(o.lab_org_id);
    state
        .audit
        .record(order_event(actor, "order.payment_read", o.clinic_org_id, o.id, lab))
        .await?;
    let payment = store::payments::find(&state.db, o.id).await?;
    let ledger = ledger::of(&state.db, o.id).await?;
    let refunds = store::refunds::of(&state.db, o.id).await?;
    let release_at = match (&payment, o.status.as_str()) {
        (Some(p), "delivered") if p.released_at.is_none() => store::delivered_at(&state.db, o.id)
            .await?
            .map(|d| d + chrono::Duration::days(i64::from(state.config.auto_release_days))),
        _ => None,
    };
    let fee_minor = match &payment {
        Some(p) if p.released_at.is_some() => p.fee_minor,
        Some(p) => crate::money::fee(
            p.amount_minor - p.refunded_minor,
            &p.currency,
            state.config.fee_bps,
            state.config.fee_min_minor,
        ),
        None => crate::money::fee(
            o.amount_minor,
            &o.currency,
            state.config.fee_bps,
            state.config.fee_min_minor,
        ),
    };
    Ok(Shown {
        order: o,
        payment,
        ledger,
        refunds,
        release_at,
        fee_minor,
    })
}

/// The order's receipt (both sides), once it is paid.
pub async fn receipt(
    state: &PaymentsState,
    actor: &Actor,
    raw: &str,
) -> Result<dentex_db::entities::receipt::Model, ApiError> {
    let (o, side) = order_for(state, actor, raw, PaymentAction::Read).await?;
    let lab = (side == Side::Lab).then_some(o.lab_org_id);
    let r = store::receipts::of_order(&state.db, o.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    state
        .audit
        .record(order_event(actor, "order.receipt_read", o.clinic_org_id, o.id, lab))
        .await?;
    Ok(r)
}

/// The job that cancels the open PaymentIntent of an order cancelled while
/// it waited for payment (the clinic's page could still pay it).
pub const CANCEL_JOB: &str = "payments.cancel_intent";

#[derive(serde::Serialize, serde::Deserialize)]
pub struct CancelJob {
    pub order_id: uuid::Uuid,
}

/// Cancels the order's open intent; one Stripe would not cancel (it was
/// paid, or is being paid) is synced instead, and a payment that arrives
/// for a cancelled order is refunded there.
pub async fn cancel_open(state: &PaymentsState, order_id: uuid::Uuid) -> Result<(), ApiError> {
    let stripe = state.stripe()?;
    let Some(p) = store::payments::find(&state.db, order_id).await? else {
        return Ok(());
    };
    let status = PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Unpaid);
    let (Some(id), false) = (p.intent_id.as_deref(), status.was_paid()) else {
        return Ok(());
    };
    if let Err(e) = stripe.cancel_intent(id).await {
        tracing::info!(order.id = %order_id, error = %e, "the cancelled order's intent was not cancelled; synced");
    }
    super::apply::sync(state, order_id, None, None).await
}
