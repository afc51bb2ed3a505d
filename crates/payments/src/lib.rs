//! `dentex-payments`: the clinic pays through the platform and the money is
//! held until the work has arrived — what no product in this field does.
//!
//! - Payouts ([`service::onboarding`]): a lab's Stripe Connect Express
//!   account, made once, onboarded on Stripe's pages; its state kept
//!   current by `account.updated`.
//! - Paying ([`service::pay`]): with payments on, an accepted quote's order
//!   waits in `awaiting_payment`; the clinic's payment is one PaymentIntent
//!   per attempt (automatic capture, `transfer_group` the order).
//! - Stripe's events ([`service::apply`]): verified over the raw body
//!   ([`webhook`]), recorded once, applied by a job from the objects'
//!   current state; `paid` moves the order into production through the
//!   market's service, issues the receipt and tells the thread.
//! - Held until delivery ([`service::release`]): one transfer to the lab,
//!   price (less refunds) minus the platform's fee ([`money`]), when the
//!   clinic completes the order or the window after delivery passes with
//!   no remake; disputes stop it. Every movement is in the ledger.
//! - [`service::sweep`]: hourly auto-release, long-hold alerts and
//!   reconciliation with Stripe's event list.
//! - Manual mode ([`service::manual`]): without a Stripe key, orders go into
//!   production at once and support records payment status.
//!
//! The tree every feature crate follows: [`http`] → [`service`] →
//! [`store`]; [`policy`] decides, [`codes`] is the catalogue, [`state`]
//! what the services need, [`hooks`] what payments does as orders move.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod codes;
pub mod hooks;
pub mod http;
pub mod money;
pub mod policy;
pub mod privacy;
pub mod service;
pub mod state;
pub mod status;
pub(crate) mod store;
pub mod stripe;
pub mod webhook;

pub use state::{PaymentsConfig, PaymentsState};
pub use status::PaymentStatus;

/// Every payments route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
}
