//! `dentex-market`: what no product in this field offers today, several labs
//! quoting on one case and the clinic choosing.
//!
//! - [`quotes`]: a lab that may see a submitted case quotes (price, turnaround,
//!   validity, notes, line items per Rx item), revises (a new version; the
//!   clinic sees every version) or withdraws. The clinic compares them side by
//!   side and accepts one, with an `Idempotency-Key`: that makes exactly one
//!   order and declines every other quote, whatever races (the case row is
//!   taken first, and `orders.award_case_id` is unique). Declined labs lose
//!   the case at once (the case is `awarded`; `dentex_cases::access` lets only
//!   the awarded lab in) and are told by e-mail.
//! - [`orders`]: the state machine of `dentex_domain::market`, each move
//!   checked against the actor's side and role, recorded (who, when, from,
//!   to) and mailed to the other side without patient data; remakes with a
//!   structured reason and who bears the cost.
//! - [`idempotency`]: stored responses for `Idempotency-Key` retries.

pub mod codes;
pub mod hooks;
pub mod idempotency;
pub mod notify;
pub mod orders;
pub mod quotes;
pub mod trail;

use dentex_audit::AuditLog;
use dentex_jobs::Queue;
use sea_orm::DatabaseConnection;

#[derive(Clone)]
pub struct MarketState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
}

/// Every quote and order route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    quotes::configure(cfg);
    orders::configure(cfg);
}

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
