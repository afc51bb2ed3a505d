//! Held until the work arrived: one transfer to the lab once the clinic
//! completes the order, or `payments.auto_release_days` after delivery with
//! no remake asked (an open remake keeps holding). The lab gets what was
//! paid (less refunds) minus the platform's fee, from the order's charge
//! (`source_transaction`), under the key (order, `transfer`, 1).

use super::{provider, system_event};
use crate::state::PaymentsState;
use crate::status::PaymentStatus;
use crate::store::{self, ledger};
use dentex_chat::service::system::{self, Thread};
use dentex_events::{Outbox, Recipient};
use dentex_http::ApiError;
use uuid::Uuid;

/// The job that releases one order's money (when it may).
pub const JOB: &str = "payments.release";

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub order_id: Uuid,
}

/// What a release did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Released {
        transfer: String,
        amount: i64,
        fee: i64,
    },
    /// Not now; why.
    Holding(&'static str),
}

/// Releases the order's money if the rules allow it now.
pub async fn release(state: &PaymentsState, order_id: Uuid) -> Result<Outcome, ApiError> {
    let Some(stripe) = state.stripe.as_ref() else {
        return Ok(Outcome::Holding("manual mode"));
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut p) = store::payments::lock(&txn, order_id).await? else {
        return Ok(Outcome::Holding("no payment"));
    };
    if p.released_at.is_some() {
        return Ok(Outcome::Holding("released already"));
    }
    match PaymentStatus::parse(&p.status) {
        Some(PaymentStatus::Paid | PaymentStatus::PartiallyRefunded) => {}
        Some(PaymentStatus::Disputed) => return Ok(Outcome::Holding("disputed")),
        _ => return Ok(Outcome::Holding("not paid")),
    }
    if store::refunds::pending(&txn, order_id).await? {
        return Ok(Outcome::Holding("a refund is under way"));
    }
    let o = store::order(&txn, order_id).await?.ok_or_else(ApiError::not_found)?;
    let due = match o.status.as_str() {
        "completed" => true,
        "delivered" => store::delivered_at(&txn, order_id).await?.is_some_and(|d| {
            d + chrono::Duration::days(i64::from(state.config.auto_release_days)) <= chrono::Utc::now()
        }),
        _ => false,
    };
    if !due {
        return Ok(Outcome::Holding("the work has not arrived"));
    }
    let window = chrono::Duration::days(i64::from(state.config.auto_release_days));
    if store::open_remake(&txn, order_id, window).await? {
        return Ok(Outcome::Holding("a remake is open"));
    }
    let Some(account) = store::accounts::find(&txn, p.lab_org_id)
        .await?
        .filter(|a| a.payouts_enabled)
    else {
        return Ok(Outcome::Holding("the lab cannot be paid out"));
    };
    let Some(charge) = p.charge_id.clone() else {
        return Ok(Outcome::Holding("no charge"));
    };
    let remaining = p.amount_minor - p.refunded_minor;
    let fee = crate::money::fee(remaining, &p.currency, state.config.fee_bps, state.config.fee_min_minor);
    let amount = remaining - fee;
    if amount <= 0 {
        return Ok(Outcome::Holding("nothing left for the lab"));
    }
    let transfer = stripe
        .transfer(order_id, amount, &p.currency, &account.stripe_account_id, &charge)
        .await
        .map_err(provider)?;
    ledger::add(&txn, order_id, ledger::TRANSFER, -amount, &p.currency, &transfer).await?;
    ledger::add(
        &txn,
        order_id,
        ledger::FEE,
        -fee,
        &p.currency,
        &format!("fee:{transfer}"),
    )
    .await?;
    p.transfer_id = Some(transfer.clone());
    p.transferred_minor = amount;
    p.fee_minor = fee;
    p.released_at = Some(dentex_db::now());
    let (clinic, lab) = (p.clinic_org_id, p.lab_org_id);
    store::payments::save(&txn, p).await?;
    announce(&txn, &o, (clinic, lab), amount, fee).await?;
    txn.commit().await?;
    dentex_events::committed();
    tracing::info!(order.id = %order_id, "payment released");
    Ok(Outcome::Released { transfer, amount, fee })
}

/// `payment.released` to both sides, a system message, the audit row.
async fn announce(
    txn: &sea_orm::DatabaseTransaction,
    o: &store::Order,
    (clinic, lab): (Uuid, Uuid),
    amount: i64,
    fee: i64,
) -> Result<(), ApiError> {
    let order_id = o.id;
    let mut out = Outbox::new();
    out.push(
        [Recipient::org(clinic), Recipient::org(lab)],
        "payment.released",
        Some(o.case_id),
        &serde_json::json!({"order_id": order_id, "amount_minor": amount, "fee_minor": fee}),
    );
    let thread = Thread {
        case: o.case_id,
        clinic,
        lab,
    };
    let text = "The payment was released to the lab.".to_owned();
    system::post_in(txn, &mut out, thread, "payment.released", text).await?;
    out.write_in(txn).await?;
    let mut ev = system_event("payment.released", clinic, order_id);
    ev.acting_org_id = None;
    dentex_accounts::audit_in(txn, ev).await?;
    Ok(())
}
