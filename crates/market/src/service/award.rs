//! Accepting a quote: exactly one order is made and every other quote is
//! declined, whatever races (the case row is taken first, and
//! `orders.award_case_id` is unique); a retry with the same
//! `Idempotency-Key` gets the same answer.

use super::orders::{ShownOrder, shown_order};
use super::quotes::{not_active, quote_trail};
use super::{today, trail_event};
use crate::idempotency::{self, Claim};
use crate::notify;
use crate::policy::{Side, side_name};
use crate::state::MarketState;
use crate::store::{self, Case, Order, Quote, orders::NewOrder};
use actix_web::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use dentex_accounts::Actor;
use dentex_audit::{AuditEvent, Outcome};
use dentex_cases::access::Viewer;
use dentex_db::now;
use dentex_domain::market::{self as rules, OrderStatus};
use dentex_domain::{FieldError, QuoteStatus};
use dentex_http::ApiError;
use sea_orm::DatabaseTransaction;
use serde::Deserialize;
use utoipa::ToSchema;

/// Which version of the quote the clinic accepts: the terms it saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    /// The quote's `version` as the clinic read it; a quote revised since is
    /// refused (409 `quote_revised`), never accepted on terms not seen.
    #[schema(minimum = 1, maximum = 2147483647)]
    pub version: i32,
}

/// The answer to an acceptance: the order made now, or the one a request
/// with the same key made before.
pub enum Accepted {
    Created { body: String },
    Replayed { status: StatusCode, body: String },
}

/// The clinic accepts quote `q` (see `quote_for` with `QuoteAction::Accept`)
/// at `version`, under idempotency `key`. The answer is stored in the
/// award's own transaction: once the order exists, a retry finds it,
/// whatever happens after the commit.
/// How the caller answers with the new order (the HTTP layer's view): the
/// answer is stored in the award's transaction, for retries.
pub type Render = fn(ShownOrder) -> Result<String, ApiError>;

pub async fn accept(
    state: &MarketState,
    actor: &Actor,
    (q, c, v): (Quote, Case, Viewer),
    key: String,
    version: Option<i32>,
    render: Render,
) -> Result<Accepted, ApiError> {
    let Some(version) = version else {
        return Err(ApiError::validation(vec![FieldError::new(
            "version",
            "required",
            format!(
                "Send {{\"version\": {}}} as JSON: the version of the quote you read (it is accepted only on those terms).",
                q.version
            ),
        )]));
    };
    let request = format!("{} v{version}", q.id);
    let k = match idempotency::claim(&state.db, actor.user_id.0, key, "quote.accept", &request).await? {
        Claim::Replay { status, body } => return Ok(Accepted::Replayed { status, body }),
        Claim::Fresh(k) => k,
    };
    // After the claim: a retry of an award made before a restriction gets
    // its stored answer; a new award of a restricted case is refused.
    if let Err(e) = dentex_cases::policy::require_unrestricted(&c) {
        idempotency::release(&state.db, k).await;
        return Err(e);
    }
    let accepted = trail_event(actor, quote_trail(&c, &q, v, "quote.accept", Outcome::Success));
    match award(state, actor, (&q, &c), version, &k, accepted, render).await {
        Ok(body) => {
            state.queue.wake();
            Ok(Accepted::Created { body })
        }
        Err(e) => {
            idempotency::release(&state.db, k).await;
            Err(e)
        }
    }
}

/// The award itself, in one transaction: the case row first (so racing
/// accepts queue behind it and then find the case awarded), then the quote
/// at the version the clinic saw (an accept and a withdrawal or revision race
/// on its row), the lab checked again, the others declined, the order, its
/// first recorded state, the stored answer for retries and the mails.
async fn award(
    state: &MarketState,
    actor: &Actor,
    (q, c): (&Quote, &Case),
    version: i32,
    k: &idempotency::Key,
    accepted: AuditEvent,
    render: Render,
) -> Result<String, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    if !dentex_cases::service::cases::award(&txn, c.id, q.lab_org_id).await? {
        return Err(ApiError::new(
            &crate::codes::CASE_NOT_OPEN,
            "The case was already awarded or cancelled.",
        ));
    }
    let (t, day) = (now(), today());
    let q = take_quote(&txn, q, version, day, t).await?;
    // Only the quotes this statement declines are told (a withdrawal that
    // got in first is not).
    let declined = store::quotes::decline_others(&txn, c.id, q.id, t).await?;
    // Paid through the platform first, or in production at once (manual mode).
    let status = if state.payment_first {
        OrderStatus::AwaitingPayment
    } else {
        OrderStatus::InProduction
    };
    let o = insert_order(&txn, actor, &q, c, status, (day, t)).await?;
    let side = side_name(Side::Clinic);
    store::orders::insert_transition(&txn, o.id, None, status, actor.user_id.0, side, None).await?;
    state.hooks.moved(&txn, &o, None, status).await?;
    let (case_id, order_id) = (c.id.to_string(), o.id.to_string());
    notify::tell(&txn, q.lab_org_id, |to| {
        dentex_mail::templates::quote_accepted(to, &case_id, &order_id)
    })
    .await?;
    for d in &declined {
        notify::tell(&txn, d.lab_org_id, |to| {
            dentex_mail::templates::quote_declined(to, &case_id)
        })
        .await?;
    }
    crate::live::awarded(&txn, &q, &o, &declined).await?;
    let shown = shown_order(&txn, o, true).await?;
    let body = render(shown)?;
    idempotency::finish(&txn, k, StatusCode::CREATED, &body).await?;
    dentex_accounts::audit_in(&txn, accepted).await?;
    txn.commit().await?;
    dentex_events::committed();
    Ok(body)
}

/// The quote accepted at the version the clinic saw, still valid, from a
/// lab that is still verified and not suspended; or why not.
async fn take_quote(
    txn: &DatabaseTransaction,
    q: &Quote,
    version: i32,
    day: NaiveDate,
    t: DateTime<Utc>,
) -> Result<Quote, ApiError> {
    if !store::quotes::accept(txn, q.id, version, day, t).await? {
        let now_q = store::quotes::find(txn, q.id).await?.ok_or_else(ApiError::not_found)?;
        return Err(if QuoteStatus::parse(&now_q.status) != Some(QuoteStatus::Active) {
            not_active(&now_q)
        } else if now_q.version != version {
            ApiError::new(
                &crate::codes::QUOTE_REVISED,
                format!(
                    "The lab revised this quote: it is at version {}, you accepted version {version}. Read it again.",
                    now_q.version
                ),
            )
        } else {
            ApiError::new(
                &crate::codes::QUOTE_EXPIRED,
                format!(
                    "The quote was valid until {}; ask the lab to revise it.",
                    now_q.valid_until
                ),
            )
        });
    }
    let q = store::quotes::find(txn, q.id).await?.ok_or_else(ApiError::not_found)?;
    // The lab may have lost its verification or been suspended since it quoted.
    let lab = store::organization(txn, q.lab_org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if lab.suspended_at.is_some() || !dentex_accounts::verification::status(txn, &lab, day).await?.verified {
        return Err(ApiError::new(
            &crate::codes::LAB_UNAVAILABLE,
            "This lab is not verified or is suspended right now; it cannot be awarded work.",
        ));
    }
    Ok(q)
}

/// The order of the award, in `status`; a second award of the same case
/// fails on the unique `award_case_id`.
async fn insert_order(
    txn: &DatabaseTransaction,
    actor: &Actor,
    q: &Quote,
    c: &Case,
    status: OrderStatus,
    (day, t): (NaiveDate, DateTime<Utc>),
) -> Result<Order, ApiError> {
    let new = NewOrder {
        case_id: c.id,
        award_case_id: Some(c.id),
        quote_id: q.id,
        quote_version: q.version,
        clinic_org_id: c.clinic_org_id,
        lab_org_id: q.lab_org_id,
        status,
        amount_minor: q.amount_minor,
        currency: q.currency.clone(),
        turnaround_days: q.turnaround_days,
        due_date: rules::add_working_days(day, u32::try_from(q.turnaround_days).unwrap_or(0)),
        remake_of: None,
        remake_reason: None,
        remake_notes: None,
        cost_bearer: None,
        created_by: actor.user_id.0,
        at: t,
    };
    store::orders::insert(txn, new).await.map_err(|e| match e.sql_err() {
        // The unique award_case_id: another award won.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::new(&crate::codes::CASE_NOT_OPEN, "The case was already awarded.")
        }
        _ => ApiError::from(e),
    })
}
