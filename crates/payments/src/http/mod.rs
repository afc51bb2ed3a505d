//! The routes of payments, one file per resource: extract, authorise (in
//! the service), call the service, build the view.

pub mod payments;
pub mod payouts;
pub mod support;
pub mod views;
pub mod webhooks;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(payouts::start_onboarding)
        .service(payouts::get_payouts)
        .service(payments::pay_order)
        .service(payments::get_payment)
        .service(payments::get_receipt)
        .service(webhooks::stripe_webhook)
        .service(support::set_payment_status)
        .service(support::refund_order)
        .service(support::open_disputes);
}
