//! Stripe's events (SECURITY.md item 16). The webhook only checks the
//! signature, records the event (its id is the key: a second delivery is a
//! no-op) and queues a job in the same transaction; the job fetches the
//! object's current state from Stripe and derives the payment's status
//! from it, under the payment's row lock, marking the event applied in the
//! transaction of its effect. Events late, out of order or twice never move
//! a payment backwards: the state applied is always Stripe's latest.

use super::{provider, system_event};
use crate::state::PaymentsState;
use crate::status::{DisputeState, Observed, PaymentStatus, derive};
use crate::store::{self, Payment, ledger};
use crate::stripe::EventHint;
use dentex_chat::service::system::{self, Thread};
use dentex_events::{Outbox, Recipient};
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// The job that applies one event.
pub const JOB: &str = "payments.apply";

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub event_id: String,
}

/// Records a verified event and queues its job, once per event id.
pub async fn intake(state: &PaymentsState, e: &EventHint) -> Result<bool, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let fresh = store::events::insert_new(&txn, e).await?;
    if fresh {
        let job = Job { event_id: e.id.clone() };
        Queue::enqueue_with(&txn, JOB, &job, EnqueueOptions::default())
            .await
            .map_err(ApiError::internal)?;
    }
    txn.commit().await?;
    if fresh {
        state.queue.wake();
    }
    tracing::info!(stripe.event = %e.id, kind = %e.kind, fresh, "stripe event received");
    Ok(fresh)
}

/// Applies one recorded event.
pub async fn apply(state: &PaymentsState, event_id: &str) -> Result<(), ApiError> {
    let Some(e) = store::events::find(&state.db, event_id).await? else {
        return Ok(());
    };
    if e.applied_at.is_some() {
        return Ok(());
    }
    let stripe = state.stripe()?;
    let kind = e.kind.as_str();
    if kind.starts_with("account.") {
        let id = e.account_id.clone().unwrap_or_else(|| e.object_id.clone());
        let a = stripe.account(&id).await.map_err(provider)?;
        let txn = dentex_db::begin_write(&state.db).await?;
        if store::events::mark_applied(&txn, &e.id).await? {
            store::accounts::update(&txn, &a).await?;
        }
        return Ok(txn.commit().await?);
    }
    let (payment, dispute) = if kind.starts_with("payment_intent.") {
        (store::payments::by_intent(&state.db, &e.object_id).await?, None)
    } else if kind.starts_with("charge.dispute.") {
        let d = stripe.dispute(&e.object_id).await.map_err(provider)?;
        (store::payments::by_charge(&state.db, &d.charge).await?, Some(d.id))
    } else if kind.starts_with("charge.") {
        (store::payments::by_charge(&state.db, &e.object_id).await?, None)
    } else {
        (None, None)
    };
    match payment {
        Some(p) => sync(state, p.order_id, Some(&e.id), dispute).await,
        None => {
            // Not about one of our payments (or nothing to do for its kind).
            let txn = dentex_db::begin_write(&state.db).await?;
            store::events::mark_applied(&txn, &e.id).await?;
            Ok(txn.commit().await?)
        }
    }
}

/// Brings the order's payment to what Stripe reports now; `event` (if any)
/// is marked applied in the same transaction.
pub async fn sync(
    state: &PaymentsState,
    order_id: Uuid,
    event: Option<&str>,
    dispute: Option<String>,
) -> Result<(), ApiError> {
    let stripe = state.stripe()?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut p) = store::payments::lock(&txn, order_id).await? else {
        return Ok(());
    };
    if let Some(ev) = event
        && !store::events::mark_applied(&txn, ev).await?
    {
        return Ok(());
    }
    let Some(intent_id) = p.intent_id.clone() else {
        return Ok(txn.commit().await?);
    };
    let pi = stripe.intent(&intent_id).await.map_err(provider)?;
    let charge = match &pi.latest_charge {
        Some(c) => Some(stripe.charge(c).await.map_err(provider)?),
        None => None,
    };
    let dispute_id = dispute.or_else(|| p.dispute_id.clone());
    let d = match &dispute_id {
        Some(id) => Some(stripe.dispute(id).await.map_err(provider)?),
        None => None,
    };
    let before = PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Unpaid);
    let now_status = derive(Observed {
        intent: pi.state,
        amount: pi.amount,
        refunded: charge.as_ref().map_or(0, |c| c.refunded),
        dispute: d.as_ref().map(|d| d.state),
    });
    // A declined or pending attempt's charge is not money received.
    let received = charge
        .as_ref()
        .filter(|_| pi.state == crate::status::IntentState::Succeeded);
    record(&txn, &mut p, received, d.as_ref()).await?;
    p.status = now_status.as_str().to_owned();
    let first_paid = now_status.was_paid() && p.paid_at.is_none();
    if first_paid {
        p.paid_at = Some(dentex_db::now());
        p.fee_minor = crate::money::fee(
            p.amount_minor,
            &p.currency,
            state.config.fee_bps,
            state.config.fee_min_minor,
        );
    }
    let changed = before != now_status;
    let p2 = p.clone();
    store::payments::save(&txn, p).await?;
    if first_paid {
        paid(&txn, &p2).await?;
    }
    if changed {
        announce(&txn, &p2, before, now_status).await?;
    }
    if before == PaymentStatus::Disputed && now_status != PaymentStatus::Disputed && p2.released_at.is_none() {
        // The dispute is over in the lab's favour: release if it is due.
        let job = super::release::Job { order_id };
        Queue::enqueue_with(&txn, super::release::JOB, &job, EnqueueOptions::default())
            .await
            .map_err(ApiError::internal)?;
    }
    txn.commit().await?;
    dentex_events::committed();
    state.queue.wake();
    Ok(())
}

/// The ledger's rows and the payment's fields for what Stripe reports of
/// the charge and the dispute (each movement once: keyed by Stripe's ids).
async fn record(
    txn: &DatabaseTransaction,
    p: &mut Payment,
    charge: Option<&crate::stripe::Charge>,
    d: Option<&crate::stripe::Dispute>,
) -> Result<(), ApiError> {
    let rows = ledger::of(txn, p.order_id).await?;
    if let Some(c) = charge {
        ledger::add(txn, p.order_id, ledger::CHARGE, c.amount, &p.currency, &c.id).await?;
        ledger::refunds_up_to(txn, p, &rows, &c.id, c.refunded).await?;
        p.charge_id = Some(c.id.clone());
        p.refunded_minor = p.refunded_minor.max(c.refunded);
    }
    if let Some(d) = d {
        // An inquiry, or one closed before it became a chargeback, moved no money.
        if d.state.withdrew() {
            ledger::add(txn, p.order_id, ledger::DISPUTE, -d.amount, &p.currency, &d.id).await?;
        }
        if d.state == DisputeState::Won {
            ledger::add(
                txn,
                p.order_id,
                ledger::DISPUTE_REINSTATED,
                d.amount,
                &p.currency,
                &d.id,
            )
            .await?;
        }
        p.dispute_id = Some(d.id.clone());
        p.dispute_status = Some(d.state.as_str().to_owned());
        p.evidence_due_by = d.due_by.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    }
    Ok(())
}

/// The money arrived: the order goes into production through the market's
/// service (or, cancelled meanwhile, the money is refunded), the receipt is
/// issued.
async fn paid(txn: &DatabaseTransaction, p: &Payment) -> Result<(), ApiError> {
    let payer = p.payer_user_id.unwrap_or(Uuid::nil());
    let started = dentex_market::service::orders::start_paid(txn, p.order_id, payer).await?;
    if started.is_none()
        && let Some(o) = store::order(txn, p.order_id).await?
        && o.status == "canceled"
    {
        // Cancelled while the clinic was paying: the money goes back.
        let why = "The order was cancelled before its payment arrived.".to_owned();
        super::refund::plan(txn, p, None, why, None).await?;
    }
    let (clinic, lab) = (
        store::organization(txn, p.clinic_org_id)
            .await?
            .ok_or_else(ApiError::not_found)?,
        store::organization(txn, p.lab_org_id)
            .await?
            .ok_or_else(ApiError::not_found)?,
    );
    store::receipts::issue(
        txn,
        store::receipts::NewReceipt {
            order_id: p.order_id,
            amount_minor: p.amount_minor,
            fee_minor: p.fee_minor,
            currency: p.currency.clone(),
            clinic: (clinic.id, clinic.name, clinic.country),
            lab: (lab.id, lab.name, lab.country),
        },
    )
    .await?;
    Ok(())
}

/// `payment.updated` to both sides, a system message in the lab's thread,
/// and the audit row of the provider's change.
pub(crate) async fn announce(
    txn: &DatabaseTransaction,
    p: &Payment,
    from: PaymentStatus,
    to: PaymentStatus,
) -> Result<(), ApiError> {
    let order = store::order(txn, p.order_id).await?.ok_or_else(ApiError::not_found)?;
    let mut out = Outbox::new();
    out.push(
        [Recipient::org(p.clinic_org_id), Recipient::org(p.lab_org_id)],
        "payment.updated",
        Some(order.case_id),
        &serde_json::json!({"order_id": p.order_id, "status": to.as_str(), "from": from.as_str()}),
    );
    let text = match to {
        PaymentStatus::Paid if !from.was_paid() => Some("The clinic's payment arrived; it is held until delivery."),
        PaymentStatus::Failed => Some("The clinic's payment failed; the clinic may pay again."),
        PaymentStatus::Refunded => Some("The payment was refunded."),
        PaymentStatus::PartiallyRefunded => Some("Part of the payment was refunded."),
        PaymentStatus::Disputed => Some("The payment is disputed; it stays held until the dispute ends."),
        _ => None,
    };
    if let Some(text) = text {
        let thread = Thread {
            case: order.case_id,
            clinic: p.clinic_org_id,
            lab: p.lab_org_id,
        };
        system::post_in(txn, &mut out, thread, "payment.updated", text.to_owned()).await?;
    }
    out.write_in(txn).await?;
    let mut ev = system_event("payment.status", p.clinic_org_id, p.order_id);
    ev.reason = Some(format!("stripe: {} to {}", from.as_str(), to.as_str()));
    dentex_accounts::audit_in(txn, ev).await?;
    Ok(())
}
