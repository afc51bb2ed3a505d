//! `dentex-market`: what no product in this field offers today, several labs
//! quoting on one case and the clinic choosing.
//!
//! - Quotes ([`service::quotes`]): a lab that may see a submitted case quotes
//!   (price, turnaround, validity, notes, line items per Rx item), revises (a
//!   new version; the clinic sees every version) or withdraws. The clinic
//!   compares them side by side and accepts one ([`service::award`]), with an
//!   `Idempotency-Key`: that makes exactly one order and declines every other
//!   quote, whatever races (the case row is taken first, and
//!   `orders.award_case_id` is unique). Declined labs lose the case at once
//!   (the case is `awarded`; `dentex_cases::access` lets only the awarded lab
//!   in) and are told by e-mail.
//! - Orders ([`service::orders`]): the state machine of
//!   `dentex_domain::market`, each move checked against the actor's side and
//!   role, recorded (who, when, from, to) and mailed to the other side
//!   without patient data; remakes with a structured reason and who bears
//!   the cost.
//! - The labs list ([`service::labs`]), with each lab's typical turnaround
//!   from its quotes.
//! - [`idempotency`]: stored responses for `Idempotency-Key` retries.
//!
//! The tree every feature crate follows: [`http`] (one file per resource,
//! thin handlers) → [`service`] (the rules) → [`store`] (the crate's
//! queries); [`policy`] decides, [`codes`] is the error catalogue, [`state`]
//! what the services need, [`hooks`] what the market does when a case
//! changes below it, [`notify`] the mails.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod codes;
pub mod hooks;
pub mod http;
pub mod idempotency;
pub(crate) mod live;
pub mod notify;
pub mod policy;
pub mod privacy;
pub mod service;
pub mod state;
pub mod store;

pub use state::{MarketState, NoOrderHooks, OrderHooks};

/// Every quote, order and labs route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
}
