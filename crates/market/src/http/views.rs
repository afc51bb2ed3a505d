//! What the market's routes answer: quotes, orders and labs, built from
//! what the services return.

use crate::service::labs::ListedLab;
use crate::service::orders::ShownOrder;
use crate::service::quotes::ShownQuote;
use crate::service::today;
use chrono::{DateTime, NaiveDate, Utc};
use dentex_domain::market::{self as rules, OrderStatus};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

dentex_domain::doc_enum!(
    /// Who made a move or canceled, in the document.
    Side = "The side that acted: the clinic, the lab, platform support, or the clinic's payment through the platform (`payment`: the move into production when it arrived).",
    ["clinic", "lab", "support", "payment"]
);

#[derive(Serialize, ToSchema)]
pub struct Price {
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteVersionView {
    pub version: i32,
    pub price: Price,
    pub turnaround_days: i32,
    pub valid_until: NaiveDate,
    pub notes: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub line_items: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct LabSummary {
    pub id: Uuid,
    pub name: String,
    /// An approved, unexpired credential right now.
    pub verified: bool,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub lab: LabSummary,
    /// `active`, `withdrawn`, `accepted`, `declined`, or `canceled` (it was
    /// accepted, then its order was cancelled).
    #[schema(value_type = dentex_domain::QuoteStatus)]
    pub status: String,
    pub version: i32,
    pub price: Price,
    pub turnaround_days: i32,
    pub valid_until: NaiveDate,
    /// Past `valid_until`: it can no longer be accepted.
    pub expired: bool,
    /// When the work would ship if the quote were accepted today.
    pub delivery_date: NaiveDate,
    pub notes: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub line_items: Option<serde_json::Value>,
    /// Every version, oldest first (the current one included).
    pub versions: Vec<QuoteVersionView>,
    /// Whether the lab can be paid through the platform (its Stripe payout
    /// account is enabled); always `false` in manual mode.
    pub payable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteList {
    pub items: Vec<QuoteView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TransitionView {
    #[schema(value_type = Option<dentex_domain::market::OrderStatus>)]
    pub from: Option<String>,
    #[schema(value_type = dentex_domain::market::OrderStatus)]
    pub to: String,
    pub by: Uuid,
    /// `clinic`, `lab` or `support`.
    #[schema(value_type = crate::http::views::Side)]
    pub side: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub quote_id: Uuid,
    /// The version of the quote that was accepted.
    pub quote_version: i32,
    pub clinic_id: Uuid,
    pub lab_id: Uuid,
    /// `awaiting_payment`, `in_production`, `shipped`, `delivered`, `completed` or `canceled`.
    #[schema(value_type = dentex_domain::market::OrderStatus)]
    pub status: String,
    pub price: Price,
    pub turnaround_days: i32,
    pub due_date: NaiveDate,
    /// Past its due date (the day it should ship) and not shipped yet.
    pub overdue: bool,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
    #[schema(value_type = Option<crate::http::views::Side>)]
    pub canceled_by: Option<String>,
    /// The order this one remakes.
    pub remake_of: Option<Uuid>,
    #[schema(value_type = Option<dentex_domain::market::RemakeReason>)]
    pub remake_reason: Option<String>,
    pub remake_notes: Option<String>,
    #[schema(value_type = Option<dentex_domain::market::CostBearer>)]
    pub cost_bearer: Option<String>,
    /// Remakes opened from this order.
    pub remakes: Vec<Uuid>,
    /// Every move, oldest first (single-order view only).
    pub transitions: Option<Vec<TransitionView>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Lab {
    pub id: Uuid,
    pub name: String,
    /// `dental_lab` or `manufacturing_lab`.
    #[schema(value_type = dentex_domain::OrgKind)]
    pub kind: String,
    pub country: String,
    #[schema(value_type = Vec<dentex_domain::rx::Restoration>)]
    pub services: Vec<String>,
    pub service_countries: Vec<String>,
    pub verified_until: Option<chrono::NaiveDate>,
    /// The median turnaround (working days) of the lab's quotes of the last
    /// year; none before its first quote.
    pub typical_turnaround_days: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct LabList {
    pub items: Vec<Lab>,
    pub next_cursor: Option<String>,
}

fn json(s: Option<&str>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(s).ok())
}

pub fn quote_view(s: ShownQuote) -> QuoteView {
    let q = s.quote;
    let lab = match s.lab {
        Some((id, name, verified)) => LabSummary { id, name, verified },
        None => LabSummary {
            id: q.lab_org_id,
            name: String::new(),
            verified: false,
        },
    };
    QuoteView {
        id: q.id,
        case_id: q.case_id,
        lab,
        expired: q.valid_until < s.day,
        payable: s.payable,
        delivery_date: rules::add_working_days(s.day, u32::try_from(q.turnaround_days).unwrap_or(0)),
        price: Price {
            amount_minor: q.amount_minor,
            currency: q.currency,
        },
        line_items: json(q.line_items.as_deref()),
        versions: s
            .versions
            .into_iter()
            .map(|v| QuoteVersionView {
                version: v.version,
                price: Price {
                    amount_minor: v.amount_minor,
                    currency: v.currency,
                },
                turnaround_days: v.turnaround_days,
                valid_until: v.valid_until,
                notes: v.notes,
                line_items: json(v.line_items.as_deref()),
                created_at: v.created_at,
            })
            .collect(),
        status: q.status,
        version: q.version,
        turnaround_days: q.turnaround_days,
        valid_until: q.valid_until,
        notes: q.notes,
        created_at: q.created_at,
        updated_at: q.updated_at,
    }
}

pub fn quote_list(items: Vec<ShownQuote>, next_cursor: Option<String>) -> QuoteList {
    QuoteList {
        items: items.into_iter().map(quote_view).collect(),
        next_cursor,
    }
}

pub fn order_view(s: ShownOrder) -> OrderView {
    let o = s.order;
    let open = OrderStatus::parse(&o.status).is_some_and(OrderStatus::before_shipping);
    OrderView {
        id: o.id,
        case_id: o.case_id,
        quote_id: o.quote_id,
        quote_version: o.quote_version,
        clinic_id: o.clinic_org_id,
        lab_id: o.lab_org_id,
        overdue: open && o.due_date < today(),
        status: o.status,
        price: Price {
            amount_minor: o.amount_minor,
            currency: o.currency,
        },
        turnaround_days: o.turnaround_days,
        due_date: o.due_date,
        carrier: o.carrier,
        tracking_number: o.tracking_number,
        cancel_reason: o.cancel_reason,
        canceled_by: o.cancelled_by,
        remake_of: o.remake_of,
        remake_reason: o.remake_reason,
        remake_notes: o.remake_notes,
        cost_bearer: o.cost_bearer,
        remakes: s.remakes,
        transitions: s.transitions.map(|ts| {
            ts.into_iter()
                .map(|t| TransitionView {
                    from: t.from_status,
                    to: t.to_status,
                    by: t.actor_user_id,
                    side: t.actor_side,
                    note: t.note,
                    at: t.at,
                })
                .collect()
        }),
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

impl From<ListedLab> for Lab {
    fn from(l: ListedLab) -> Self {
        Self {
            id: l.organization.id,
            name: l.organization.name,
            kind: l.organization.kind,
            country: l.organization.country,
            services: l.services,
            service_countries: l.service_countries,
            verified_until: l.verified_until,
            typical_turnaround_days: l.typical_turnaround_days,
        }
    }
}
