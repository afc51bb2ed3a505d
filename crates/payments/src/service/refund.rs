//! Refunds, as one operation (support's, or the platform's when a paid
//! order is cancelled before its money was released). Before release it is
//! a refund of the charge; after release it is a reversal of the lab's
//! transfer plus the refund, the platform giving back the part of its fee
//! on what is refunded. What each part moves is fixed when the operation is
//! asked for (under the payment's lock, recorded with its job in one
//! transaction) so that a retry sends Stripe the same calls under the same
//! keys; the release holds while an operation is under way, and one
//! operation runs at a time per order. Stripe is called outside any write
//! transaction; the effect (ledger, status, events, audit) commits in one.
//!
//! The split after release: the platform keeps the fee's share of what the
//! clinic keeps paid. With `kept` = paid − refunded − this refund, the lab
//! keeps `kept` less that share; the reversal is what it was transferred
//! beyond that, and the platform gives back the rest of the refund from its
//! fee. A full refund takes the whole transfer back and the whole fee. A
//! reversal whose refund Stripe refused left its money held: the next
//! refund uses that first.

use super::{apply, provider};
use crate::state::PaymentsState;
use crate::status::PaymentStatus;
use crate::store::refunds::{self, NewRefund, Refund};
use crate::store::{self, Payment, ledger};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// The job that carries an operation out (and retries it).
pub const JOB: &str = "payments.refund";

/// When the job first looks at a support refund: after the request's own try.
const RETRY_AFTER_SECS: i64 = 60;

/// The job that refunds a paid order cancelled before release.
pub const CANCELLED_JOB: &str = "payments.refund_cancelled";

#[derive(serde::Serialize, serde::Deserialize)]
pub struct CancelledJob {
    pub order_id: Uuid,
}

/// A paid order was cancelled before its money was released: all that is
/// left goes back to the clinic. A refund under way is waited for (the job
/// fails and is retried). A disputed payment is left to the dispute.
pub async fn refund_cancelled(state: &PaymentsState, order_id: Uuid) -> Result<(), ApiError> {
    state.stripe()?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(p) = store::payments::lock(&txn, order_id).await? else {
        return Ok(());
    };
    let due = matches!(
        PaymentStatus::parse(&p.status),
        Some(PaymentStatus::Paid | PaymentStatus::PartiallyRefunded)
    ) && p.mode == "stripe"
        && p.released_at.is_none()
        && p.amount_minor > p.refunded_minor;
    if !due {
        return Ok(txn.commit().await?);
    }
    if refunds::pending(&txn, order_id).await? {
        return Err(not_possible(
            "A refund of this order is under way; the rest follows it.",
        ));
    }
    let why = "The order was cancelled before its money was released.".to_owned();
    plan(&txn, &p, None, why, None).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(order.id = %order_id, "cancelled order's payment to be refunded");
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub refund_id: Uuid,
}

pub struct RefundInput {
    /// Minor units; all that is left when absent.
    pub amount_minor: Option<i64>,
    pub reason: Option<String>,
}

/// Support asks for a refund; answers the operation as it stands after the
/// first try (`pending` if Stripe could not be reached: the job retries).
pub async fn request(state: &PaymentsState, actor: &Actor, raw: &str, input: RefundInput) -> Result<Refund, ApiError> {
    super::support_only(state, actor, "order.refund").await?;
    let order = match Uuid::parse_str(raw) {
        Ok(id) => store::order(&state.db, id).await?,
        Err(_) => None,
    }
    .ok_or_else(ApiError::not_found)?;
    if state.stripe.is_none() {
        return Err(ApiError::new(
            &crate::codes::PAYMENTS_MANUAL,
            "Payments run in manual mode here: refund outside the platform and record the status.",
        ));
    }
    let reason = super::support_reason(input.reason.as_deref()).map_err(|e| ApiError::validation(vec![e]))?;
    if let Some(a) = input.amount_minor
        && a < 1
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "amount_minor",
            "out_of_range",
            "At least 1 (minor units).",
        )]));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let p = store::payments::lock(&txn, order.id)
        .await?
        .ok_or_else(|| not_possible("Nothing was paid on this order."))?;
    let r = plan(&txn, &p, input.amount_minor, reason.clone(), Some(actor.user_id.0)).await?;
    let mut ev = actor.event("order.refund", "order", Outcome::Success);
    ev.org_id = Some(OrgId(order.clinic_org_id));
    ev.resource_id = Some(order.id.to_string());
    ev.reason = Some(format!("{} {}: {reason}", r.amount_minor, r.currency));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    tracing::info!(order.id = %order.id, refund.id = %r.id, "refund asked");
    // Tried here first; the job (due a minute later) and the sweep only
    // pick up what this try leaves pending.
    match run(state, r.id).await {
        Ok(now) if now.status == refunds::FAILED => Err(ApiError::new(
            &crate::codes::PAYMENT_PROVIDER_ERROR,
            now.last_error.unwrap_or_else(|| "Stripe refused the refund.".into()),
        )),
        Ok(now) => Ok(now),
        Err(e) if e.code == crate::codes::PAYMENT_PROVIDER_ERROR.code => {
            match refunds::find(&state.db, r.id).await? {
                // Stripe refused it: the operation is over, said as a 502.
                Some(now) if now.status == refunds::FAILED => Err(e),
                // Stripe could not be reached: the job tries again.
                Some(now) => Ok(now),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn not_possible(detail: &str) -> ApiError {
    ApiError::new(&crate::codes::REFUND_NOT_POSSIBLE, detail)
}

/// Checks and records an operation with its job, in the caller's
/// transaction (which holds the payment's lock).
pub async fn plan(
    txn: &DatabaseTransaction,
    p: &Payment,
    amount: Option<i64>,
    reason: String,
    by: Option<Uuid>,
) -> Result<Refund, ApiError> {
    match PaymentStatus::parse(&p.status) {
        Some(PaymentStatus::Paid | PaymentStatus::PartiallyRefunded) => {}
        Some(PaymentStatus::Disputed) => {
            return Err(not_possible(
                "The payment is disputed: Stripe settles it through the dispute, not a refund.",
            ));
        }
        Some(PaymentStatus::Refunded) => return Err(not_possible("The payment was refunded in full.")),
        _ => return Err(not_possible("Nothing was paid on this order.")),
    }
    if p.mode != "stripe" {
        return Err(not_possible("The payment was recorded by hand (manual mode)."));
    }
    if refunds::pending(txn, p.order_id).await? {
        return Err(not_possible(
            "A refund of this order is under way; ask again once it has finished.",
        ));
    }
    let left = p.amount_minor - p.refunded_minor;
    if left <= 0 {
        return Err(not_possible("Nothing is left to refund."));
    }
    let amount = amount.unwrap_or(left);
    if !(1..=left).contains(&amount) {
        return Err(ApiError::validation(vec![FieldError::new(
            "amount_minor",
            "out_of_range",
            format!("Between 1 and {left} (what is left of the payment, in minor units)."),
        )]));
    }
    let (reversal, fee_back) = match p.released_at {
        Some(_) => {
            // After release the platform holds nothing, unless a reversal
            // went through whose refund Stripe refused: that is used first.
            let held = ledger::held(&ledger::of(txn, p.order_id).await?);
            split_released(p, amount, held, fee_of(p))
        }
        None => (0, 0),
    };
    let r = refunds::insert(
        txn,
        NewRefund {
            order_id: p.order_id,
            amount_minor: amount,
            reversal_minor: reversal,
            fee_returned_minor: fee_back,
            currency: p.currency.clone(),
            reason,
            requested_by: by,
        },
    )
    .await?;
    // Support's request tries at once and the job looks a minute later;
    // the platform's own refund is the job's from the start.
    let opts = EnqueueOptions {
        run_at: by.map(|_| chrono::Utc::now() + chrono::Duration::seconds(RETRY_AFTER_SECS)),
        max_attempts: 20,
    };
    Queue::enqueue_with(txn, JOB, &Job { refund_id: r.id }, opts)
        .await
        .map_err(ApiError::internal)?;
    Ok(r)
}

/// The fee on what is kept: the share of the fee taken that the kept
/// amount bears (rounded down for the platform; for HUF up, so that what
/// the lab keeps stays whole forints).
fn fee_of(p: &Payment) -> impl Fn(i64) -> i64 + '_ {
    move |kept: i64| {
        let paid = p.amount_minor - p.refunded_minor;
        if kept <= 0 || paid <= 0 {
            return 0;
        }
        let share = (i128::from(p.fee_minor) * i128::from(kept) / i128::from(paid)) as i64;
        if p.currency.eq_ignore_ascii_case("HUF") {
            kept - (kept - share) / 100 * 100
        } else {
            share
        }
    }
}

fn split_released(p: &Payment, amount: i64, held: i64, fee: impl Fn(i64) -> i64) -> (i64, i64) {
    let kept = p.amount_minor - p.refunded_minor - amount;
    let lab_keeps = kept - fee(kept);
    let lab_has = p.transferred_minor - p.reversed_minor;
    let mut reversal = (lab_has - lab_keeps).clamp(0, lab_has).min(amount);
    if p.currency.eq_ignore_ascii_case("HUF") {
        // Transfers move whole forints: the platform covers the fillér.
        reversal = reversal / 100 * 100;
    }
    let from_held = held.clamp(0, amount - reversal);
    (reversal, amount - reversal - from_held)
}

/// Carries the operation out: the reversal (after release), recorded as
/// soon as Stripe made it; then the refund, and its effect in one
/// transaction. A refusal of Stripe's ends the operation `failed` (a
/// reversal already made stays recorded: that money is the platform's to
/// hold again); anything else leaves it `pending` for the job and the sweep.
pub async fn run(state: &PaymentsState, id: Uuid) -> Result<Refund, ApiError> {
    let stripe = state.stripe()?;
    let mut r = refunds::find(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    if r.status != refunds::PENDING {
        return Ok(r);
    }
    let p = store::payments::find(&state.db, r.order_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if r.reversal_minor > 0 && r.reversal_id.is_none() {
        let transfer = p.transfer_id.clone().unwrap_or_default();
        match stripe.reverse(p.order_id, r.id, &transfer, r.reversal_minor).await {
            Ok(rev) => {
                reversed(state, &r, &rev).await?;
                r.reversal_id = Some(rev);
            }
            Err(e) => return Err(stopped(state, &r, e).await?),
        }
    }
    let calls = async {
        let charge = p
            .charge_id
            .as_deref()
            .ok_or_else(|| crate::stripe::CallError("the payment has no charge".into()))?;
        let refund = stripe.refund(p.order_id, r.id, charge, r.amount_minor).await?;
        let c = stripe.charge(charge).await?;
        Ok::<_, crate::stripe::CallError>((refund, c))
    }
    .await;
    match calls {
        Ok((refund, charge)) => effect(state, &r, refund, &charge).await?,
        Err(e) => return Err(stopped(state, &r, e).await?),
    }
    refunds::find(&state.db, id).await?.ok_or_else(ApiError::not_found)
}

/// A Stripe call failed: refused, the operation ends `failed` (audited);
/// otherwise the error is noted and the operation stays `pending`.
async fn stopped(state: &PaymentsState, r: &Refund, e: crate::stripe::CallError) -> Result<ApiError, ApiError> {
    if !e.refused() {
        refunds::note_error(&state.db, r.id, &e.0).await?;
        return Ok(provider(e));
    }
    tracing::warn!(order.id = %r.order_id, refund.id = %r.id, error = %e, "Stripe refused a refund");
    let txn = dentex_db::begin_write(&state.db).await?;
    if let Some(now) = refunds::lock(&txn, r.id).await?
        && now.status == refunds::PENDING
    {
        refunds::note_error(&txn, r.id, &e.0).await?;
        refunds::finish(&txn, r.id, refunds::FAILED, None, r.reversal_id.clone()).await?;
        if let Some(o) = store::order(&txn, r.order_id).await? {
            let mut ev = super::system_event("order.refund_failed", o.clinic_org_id, o.id);
            ev.outcome = Outcome::Failure;
            dentex_accounts::audit_in(&txn, ev).await?;
        }
    }
    txn.commit().await?;
    Ok(provider(e))
}

/// The reversal Stripe made, recorded at once (its own movement): what the
/// lab gave back is held by the platform whatever the refund does next.
async fn reversed(state: &PaymentsState, r: &Refund, reversal: &str) -> Result<(), ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut p) = store::payments::lock(&txn, r.order_id).await? else {
        return Ok(());
    };
    if ledger::add(
        &txn,
        p.order_id,
        ledger::REVERSAL,
        r.reversal_minor,
        &p.currency,
        reversal,
    )
    .await?
    {
        p.reversed_minor += r.reversal_minor;
        store::payments::save(&txn, p).await?;
    }
    refunds::set_reversal(&txn, r.id, reversal).await?;
    Ok(txn.commit().await?)
}

/// Whether the operation has ended (succeeded or failed).
pub async fn is_over(state: &PaymentsState, id: Uuid) -> Result<bool, ApiError> {
    Ok(refunds::find(&state.db, id)
        .await?
        .is_none_or(|r| r.status != refunds::PENDING))
}

/// The refund's effect (the fee given back, the refund in the ledger, the
/// payment's fields and status, the events, the audit row): once.
async fn effect(
    state: &PaymentsState,
    r: &Refund,
    refund: String,
    charge: &crate::stripe::Charge,
) -> Result<(), ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut p) = store::payments::lock(&txn, r.order_id).await? else {
        return Ok(());
    };
    match refunds::lock(&txn, r.id).await? {
        Some(now) if now.status == refunds::PENDING => {}
        _ => return Ok(txn.commit().await?),
    }
    if r.fee_returned_minor > 0 {
        let id = format!("fee:{}", r.id);
        ledger::add(&txn, p.order_id, ledger::FEE, r.fee_returned_minor, &p.currency, &id).await?;
        p.fee_minor -= r.fee_returned_minor;
    }
    // The refund itself as the webhook's sync records it (same id), so
    // whichever comes first records it once.
    let rows = ledger::of(&txn, p.order_id).await?;
    ledger::refunds_up_to(&txn, &p, &rows, &charge.id, charge.refunded).await?;
    p.refunded_minor = p.refunded_minor.max(charge.refunded);
    let before = PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Paid);
    let after = match before {
        // A dispute opened meanwhile stays what the payment is.
        PaymentStatus::Disputed => PaymentStatus::Disputed,
        _ if p.refunded_minor >= p.amount_minor => PaymentStatus::Refunded,
        _ => PaymentStatus::PartiallyRefunded,
    };
    p.status = after.as_str().to_owned();
    let p2 = p.clone();
    store::payments::save(&txn, p).await?;
    refunds::finish(&txn, r.id, refunds::SUCCEEDED, Some(refund), r.reversal_id.clone()).await?;
    if before != after {
        apply::announce(&txn, &p2, before, after).await?;
    }
    let mut ev = super::system_event("order.refund_done", p2.clinic_org_id, p2.order_id);
    ev.reason = Some(format!("{} {}", r.amount_minor, r.currency));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    dentex_events::committed();
    tracing::info!(order.id = %r.order_id, refund.id = %r.id, "refund done");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn released(amount: i64, fee: i64, currency: &str) -> Payment {
        Payment {
            order_id: Uuid::nil(),
            clinic_org_id: Uuid::nil(),
            lab_org_id: Uuid::nil(),
            mode: "stripe".into(),
            status: "paid".into(),
            amount_minor: amount,
            currency: currency.into(),
            fee_minor: fee,
            attempt: 1,
            intent_id: None,
            intent_key: None,
            charge_id: None,
            payer_user_id: None,
            refunded_minor: 0,
            transfer_id: None,
            transferred_minor: amount - fee,
            reversed_minor: 0,
            released_at: Some(dentex_db::now()),
            dispute_id: None,
            dispute_status: None,
            evidence_due_by: None,
            hold_alerted_at: None,
            paid_at: None,
            created_at: dentex_db::now(),
            updated_at: dentex_db::now(),
        }
    }

    #[test]
    fn the_lab_and_the_platform_give_back_their_shares() {
        // 105.00 paid, 5.25 fee, 99.75 transferred.
        let p = released(10_500, 525, "EUR");
        // All of it: the whole transfer back, the whole fee back.
        assert_eq!(split_released(&p, 10_500, 0, fee_of(&p)), (9975, 525));
        // Half: the lab keeps 47.50 of 52.50 kept, the fee on it is 2.62.
        let (rev, fee) = split_released(&p, 5250, 0, fee_of(&p));
        assert_eq!(rev + fee, 5250);
        assert_eq!(fee, 525 - 525 * 5250 / 10_500);
        assert_eq!(p.transferred_minor - rev, 5250 - 525 * 5250 / 10_500);
        // HUF: what the lab keeps stays whole forints.
        let h = released(1_234_500, 61_800, "HUF");
        let (rev, fee) = split_released(&h, 234_567, 0, fee_of(&h));
        assert_eq!(rev + fee, 234_567);
        assert_eq!((h.transferred_minor - rev) % 100, 0);
        // A reversal made before whose refund was refused: what it brought
        // back is refunded first, nothing is taken from the lab twice.
        let mut q = released(10_500, 525, "EUR");
        q.reversed_minor = 4987;
        assert_eq!(split_released(&q, 5250, 4987, fee_of(&q)), (0, 263));
    }
}
