//! The market's rules: money, quotes' validity, the order state machine with
//! who may make each move, remakes, and due dates in working days.

use crate::FieldError;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// ISO 4217 codes accepted for quotes (the currencies of the markets served;
/// more are a one-line change).
pub const CURRENCIES: [&str; 24] = [
    "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "INR", "JPY", "KRW",
    "MXN", "NOK", "NZD", "PLN", "RON", "SEK", "SGD", "USD",
];

/// The largest amount a quote may carry, in minor units (10 million in major units).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000;

/// An amount in minor units (cents) of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

impl Money {
    /// Checks an amount as a client sent it; `field` is its path (`price`).
    pub fn parse(amount_minor: i64, currency: &str, field: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if amount_minor <= 0 || amount_minor > MAX_AMOUNT_MINOR {
            errors.push(FieldError::new(
                format!("{field}.amount_minor"),
                "out_of_range",
                format!("A price is between 1 and {MAX_AMOUNT_MINOR} minor units."),
            ));
        }
        let code = currency.trim().to_ascii_uppercase();
        if !CURRENCIES.contains(&code.as_str()) {
            errors.push(FieldError::new(
                format!("{field}.currency"),
                "unknown_currency",
                "Give an ISO 4217 currency code such as EUR.",
            ));
        }
        if errors.is_empty() {
            Ok(Self {
                amount_minor,
                currency: code,
            })
        } else {
            Err(errors)
        }
    }
}

/// `start` plus `days` working days (Saturdays and Sundays skipped; a
/// holiday calendar may come later). Zero days is `start` itself.
pub fn add_working_days(start: NaiveDate, days: u32) -> NaiveDate {
    let mut d = start;
    let mut left = days;
    while left > 0 {
        d = d.succ_opt().unwrap_or(d);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    d
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    AwaitingPayment,
    InProduction,
    Shipped,
    Delivered,
    Completed,
    Canceled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::AwaitingPayment,
        OrderStatus::InProduction,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::InProduction => "in_production",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Not shipped yet: the due date is the shipping date, so only an order
    /// in one of these can be late.
    pub fn before_shipping(self) -> bool {
        matches!(self, OrderStatus::AwaitingPayment | OrderStatus::InProduction)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who asks for a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Clinic,
    Lab,
    /// Platform staff (manual payment status, corrections).
    Support,
    /// The payment provider, confirming the clinic's payment (`dentex-payments`).
    Payment,
}

/// The moves `actor` may make from `from`.
pub fn allowed_moves(from: OrderStatus, actor: Actor) -> Vec<OrderStatus> {
    use Actor::{Clinic, Lab, Payment, Support};
    use OrderStatus::*;
    let table: &[(OrderStatus, OrderStatus, &[Actor])] = &[
        // The clinic's payment (or support, correcting) starts production.
        (AwaitingPayment, InProduction, &[Support, Payment]),
        (AwaitingPayment, Canceled, &[Clinic, Lab, Support]),
        (InProduction, Shipped, &[Lab]),
        (InProduction, Canceled, &[Clinic, Lab, Support]),
        // The clinic confirms delivery and then accepts the work.
        (Shipped, Delivered, &[Clinic, Support]),
        (Delivered, Completed, &[Clinic, Support]),
    ];
    table
        .iter()
        .filter(|(f, _, who)| *f == from && who.contains(&actor))
        .map(|(_, to, _)| *to)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot become {to}")]
pub struct TransitionError {
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// What this actor may do instead.
    pub allowed: Vec<OrderStatus>,
}

/// Whether `actor` may move an order from `from` to `to`.
pub fn check_move(from: OrderStatus, to: OrderStatus, actor: Actor) -> Result<(), TransitionError> {
    let allowed = allowed_moves(from, actor);
    if allowed.contains(&to) {
        Ok(())
    } else {
        Err(TransitionError { from, to, allowed })
    }
}

/// A remake may be asked for once the work arrived.
pub fn remake_allowed(from: OrderStatus) -> bool {
    matches!(from, OrderStatus::Delivered | OrderStatus::Completed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemakeReason {
    Fit,
    Margin,
    Contact,
    Occlusion,
    Shade,
    Damage,
    Other,
}

impl RemakeReason {
    pub const ALL: [Self; 7] = [
        Self::Fit,
        Self::Margin,
        Self::Contact,
        Self::Occlusion,
        Self::Shade,
        Self::Damage,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RemakeReason::Fit => "fit",
            RemakeReason::Margin => "margin",
            RemakeReason::Contact => "contact",
            RemakeReason::Occlusion => "occlusion",
            RemakeReason::Shade => "shade",
            RemakeReason::Damage => "damage",
            RemakeReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBearer {
    Lab,
    Clinic,
    Shared,
}

impl CostBearer {
    pub const ALL: [Self; 3] = [Self::Lab, Self::Clinic, Self::Shared];

    pub fn as_str(self) -> &'static str {
        match self {
            CostBearer::Lab => "lab",
            CostBearer::Clinic => "clinic",
            CostBearer::Shared => "shared",
        }
    }

    /// What the clinic pays for a remake of work priced `original`: nothing
    /// when the lab bears it, half (rounded up) when shared.
    pub fn clinic_pays(self, original: i64) -> i64 {
        match self {
            CostBearer::Lab => 0,
            CostBearer::Clinic => original,
            CostBearer::Shared => original - original / 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn working_days_skip_weekends() {
        // 2026-11-27 is a Friday.
        assert_eq!(add_working_days(d("2026-11-27"), 1), d("2026-11-30"));
        assert_eq!(add_working_days(d("2026-11-27"), 5), d("2026-12-04"));
        assert_eq!(add_working_days(d("2026-11-28"), 1), d("2026-11-30"));
        assert_eq!(add_working_days(d("2026-11-30"), 0), d("2026-11-30"));
        assert_eq!(add_working_days(d("2026-11-30"), 10), d("2026-12-14"));
    }

    #[test]
    fn money_is_positive_and_in_a_known_currency() {
        assert_eq!(
            Money::parse(12_500, "eur", "price"),
            Ok(Money {
                amount_minor: 12_500,
                currency: "EUR".into()
            })
        );
        let e = Money::parse(0, "EURO", "price").err().unwrap_or_default();
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["price.amount_minor", "price.currency"]);
        assert!(Money::parse(MAX_AMOUNT_MINOR + 1, "USD", "p").is_err());
    }

    #[test]
    fn each_side_makes_only_its_own_moves() {
        use OrderStatus::*;
        assert!(check_move(InProduction, Shipped, Actor::Lab).is_ok());
        let e = check_move(InProduction, Shipped, Actor::Clinic).err();
        assert_eq!(e.map(|e| e.allowed), Some(vec![Canceled]));
        assert!(check_move(Shipped, Delivered, Actor::Clinic).is_ok());
        assert!(check_move(Shipped, Delivered, Actor::Lab).is_err());
        assert!(check_move(Delivered, Completed, Actor::Clinic).is_ok());
        assert!(check_move(Shipped, Canceled, Actor::Clinic).is_err());
        assert!(check_move(AwaitingPayment, InProduction, Actor::Clinic).is_err());
        assert!(check_move(AwaitingPayment, InProduction, Actor::Support).is_ok());
        assert!(check_move(AwaitingPayment, InProduction, Actor::Payment).is_ok());
        assert!(check_move(InProduction, Shipped, Actor::Payment).is_err());
        for s in [Completed, Canceled] {
            for a in [Actor::Clinic, Actor::Lab, Actor::Support] {
                assert!(allowed_moves(s, a).is_empty(), "{s} is final");
            }
        }
        // Nothing skips a step.
        assert!(check_move(InProduction, Delivered, Actor::Clinic).is_err());
        assert!(check_move(InProduction, Completed, Actor::Support).is_err());
    }

    #[test]
    fn remakes_follow_delivery_and_split_the_cost() {
        assert!(remake_allowed(OrderStatus::Delivered));
        assert!(remake_allowed(OrderStatus::Completed));
        assert!(!remake_allowed(OrderStatus::Shipped));
        assert_eq!(CostBearer::Lab.clinic_pays(10_001), 0);
        assert_eq!(CostBearer::Shared.clinic_pays(10_001), 5_001);
        assert_eq!(CostBearer::Clinic.clinic_pays(10_001), 10_001);
    }

    #[test]
    fn only_unshipped_orders_can_be_late() {
        use OrderStatus::*;
        let late: Vec<_> = OrderStatus::ALL.into_iter().filter(|s| s.before_shipping()).collect();
        assert_eq!(late, [AwaitingPayment, InProduction]);
    }

    #[test]
    fn statuses_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("lost"), None);
    }
}
