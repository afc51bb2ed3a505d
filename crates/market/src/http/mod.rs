//! The market's routes, one file per resource: extract, authorise (the
//! services' `quote_for` and `order_for` ask the policy), call one service,
//! build the view.

pub mod labs;
pub mod orders;
pub mod quotes;
pub mod views;

/// Every quote, order and labs route, each declared once.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(quotes::create_quote)
        .service(quotes::list_quotes)
        .service(quotes::get_quote)
        .service(quotes::revise_quote)
        .service(quotes::withdraw_quote)
        .service(quotes::accept_quote)
        .service(orders::list_orders)
        .service(orders::get_order)
        .service(orders::transition)
        .service(orders::remake)
        .service(labs::list_labs);
}
