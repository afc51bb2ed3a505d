//! What the payment routes answer: ids, states and amounts, never card data.

use crate::service::pay::Shown;
use crate::status::PaymentStatus;
use chrono::{DateTime, Utc};
use dentex_db::entities::{payout_account, receipt};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct OnboardingLink {
    /// Stripe's hosted onboarding (valid for minutes; ask again for a new one).
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct PayoutView {
    /// Whether the lab has a Stripe account at all.
    pub onboarded: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
    /// What Stripe still needs from the lab.
    pub currently_due: Vec<String>,
    pub disabled_reason: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub fn payout_view(a: Option<payout_account::Model>) -> PayoutView {
    match a {
        Some(a) => PayoutView {
            onboarded: true,
            charges_enabled: a.charges_enabled,
            payouts_enabled: a.payouts_enabled,
            details_submitted: a.details_submitted,
            currently_due: serde_json::from_str(&a.currently_due).unwrap_or_default(),
            disabled_reason: a.disabled_reason,
            updated_at: Some(a.updated_at),
        },
        None => PayoutView {
            onboarded: false,
            charges_enabled: false,
            payouts_enabled: false,
            details_submitted: false,
            currently_due: Vec::new(),
            disabled_reason: None,
            updated_at: None,
        },
    }
}

#[derive(Serialize, ToSchema)]
pub struct PaymentStarted {
    /// For Stripe.js `confirmPayment`; never logged or stored here.
    pub client_secret: Option<String>,
    pub status: PaymentStatus,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntry {
    /// `charge`, `fee` (taken at release; given back, positive, with a refund after it), `refund`, `transfer`, `reversal`, `dispute`, `dispute_reinstated`.
    pub kind: String,
    /// Signed: what it adds to (or takes from) what is held.
    pub amount_minor: i64,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    pub order_id: uuid::Uuid,
    /// `manual` or `stripe`; `null` before any payment.
    pub mode: Option<String>,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub currency: String,
    /// What the platform holds for the order now (the sum of the ledger).
    pub held_minor: i64,
    /// The platform's fee (taken at release; the figure if released now before).
    pub fee_minor: i64,
    pub refunded_minor: i64,
    /// What the lab was transferred.
    pub transferred_minor: i64,
    /// What was taken back from the lab's transfer by refunds after release.
    pub reversed_minor: i64,
    pub paid_at: Option<DateTime<Utc>>,
    /// When the money goes to the lab unless a remake is asked (after delivery).
    pub release_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    /// `inquiry` (no money withdrawn yet), `open`, `won`, `lost` or `closed` (ended without a chargeback).
    pub dispute_status: Option<String>,
    pub evidence_due_by: Option<DateTime<Utc>>,
    pub ledger: Vec<LedgerEntry>,
    /// Refund operations, oldest first.
    pub refunds: Vec<RefundView>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundView {
    pub id: uuid::Uuid,
    pub order_id: uuid::Uuid,
    /// `pending` (Stripe is being asked; retried), `succeeded`, `failed` (Stripe refused).
    #[schema(value_type = RefundStatus)]
    pub status: String,
    /// What the clinic gets back.
    pub amount_minor: i64,
    /// Of it, what is taken back from the lab's transfer (0 before release).
    pub reversal_minor: i64,
    /// Of it, what the platform gives back of its fee (0 before release).
    pub fee_returned_minor: i64,
    pub currency: String,
    /// Whether support asked for it (`false`: the platform, on the order's cancellation).
    pub by_support: bool,
    /// What Stripe answered on the last try, if it failed (support's
    /// answer only; `null` in the payment view).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// The states of a refund operation (documentation of `RefundView::status`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

pub fn refund_view(r: crate::store::refunds::Refund) -> RefundView {
    RefundView {
        id: r.id,
        order_id: r.order_id,
        status: r.status,
        amount_minor: r.amount_minor,
        reversal_minor: r.reversal_minor,
        fee_returned_minor: r.fee_returned_minor,
        currency: r.currency,
        by_support: r.requested_by.is_some(),
        last_error: r.last_error,
        created_at: r.created_at,
        completed_at: r.completed_at,
    }
}

pub fn payment_view(s: Shown) -> PaymentView {
    let held = crate::store::ledger::held(&s.ledger);
    let ledger = s
        .ledger
        .into_iter()
        .map(|l| LedgerEntry {
            kind: l.kind,
            amount_minor: l.amount_minor,
            at: l.created_at,
        })
        .collect();
    // Stripe's words on a failed try are for support (the refund route).
    let refunds = s
        .refunds
        .into_iter()
        .map(|r| RefundView {
            last_error: None,
            ..refund_view(r)
        })
        .collect();
    match s.payment {
        Some(p) => PaymentView {
            order_id: p.order_id,
            mode: Some(p.mode),
            status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Unpaid),
            amount_minor: p.amount_minor,
            currency: p.currency,
            held_minor: held,
            fee_minor: s.fee_minor,
            refunded_minor: p.refunded_minor,
            transferred_minor: p.transferred_minor,
            reversed_minor: p.reversed_minor,
            paid_at: p.paid_at,
            release_at: s.release_at,
            released_at: p.released_at,
            dispute_status: p.dispute_status,
            evidence_due_by: p.evidence_due_by,
            ledger,
            refunds,
        },
        None => PaymentView {
            order_id: s.order.id,
            mode: None,
            status: PaymentStatus::Unpaid,
            amount_minor: s.order.amount_minor,
            currency: s.order.currency,
            held_minor: 0,
            fee_minor: s.fee_minor,
            refunded_minor: 0,
            transferred_minor: 0,
            reversed_minor: 0,
            paid_at: None,
            release_at: None,
            released_at: None,
            dispute_status: None,
            evidence_due_by: None,
            ledger,
            refunds,
        },
    }
}

#[derive(Serialize, ToSchema)]
pub struct Party {
    pub organization_id: uuid::Uuid,
    pub name: String,
    pub country: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptView {
    /// `{year}-{number}`, numbered without gaps per year.
    pub number: String,
    pub order_id: uuid::Uuid,
    pub issued_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub fee_minor: i64,
    pub currency: String,
    pub clinic: Party,
    pub lab: Party,
}

pub fn receipt_view(r: receipt::Model) -> ReceiptView {
    ReceiptView {
        number: format!("{}-{:06}", r.year, r.number),
        order_id: r.order_id,
        issued_at: r.issued_at,
        amount_minor: r.amount_minor,
        fee_minor: r.fee_minor,
        currency: r.currency,
        clinic: Party {
            organization_id: r.clinic_org_id,
            name: r.clinic_name,
            country: r.clinic_country,
        },
        lab: Party {
            organization_id: r.lab_org_id,
            name: r.lab_name,
            country: r.lab_country,
        },
    }
}

#[derive(Serialize, ToSchema)]
pub struct Received {
    /// `true`: the event is recorded (or was before) and will be applied;
    /// `false`: a signed event about no object, ignored.
    pub received: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DisputeItem {
    pub order_id: uuid::Uuid,
    pub clinic_org_id: uuid::Uuid,
    pub lab_org_id: uuid::Uuid,
    pub status: PaymentStatus,
    /// What was paid.
    pub amount_minor: i64,
    pub currency: String,
    /// `inquiry` or `open`.
    pub dispute_status: Option<String>,
    /// Stripe's deadline for the evidence.
    pub evidence_due_by: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct DisputeList {
    pub items: Vec<DisputeItem>,
    /// Always `null`: the queue is one page (raise `limit`).
    pub next_cursor: Option<String>,
}

pub fn dispute_item(p: crate::store::Payment) -> DisputeItem {
    DisputeItem {
        order_id: p.order_id,
        clinic_org_id: p.clinic_org_id,
        lab_org_id: p.lab_org_id,
        status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Disputed),
        amount_minor: p.amount_minor,
        currency: p.currency,
        dispute_status: p.dispute_status,
        evidence_due_by: p.evidence_due_by,
        paid_at: p.paid_at,
    }
}
