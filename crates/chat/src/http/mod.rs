//! Chat's routes, one file per resource: extract, call one service (which
//! asks the policy), build the view.

pub mod events;
pub mod files;
pub mod messages;
pub mod threads;
pub mod views;

/// Every thread, message and event-stream route, each declared once.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(threads::list_threads)
        .service(messages::list_messages)
        .service(messages::post_message)
        .service(messages::delete_message)
        .service(threads::mark_read)
        .service(files::upload_design)
        .service(events::events)
        .service(events::ticket);
}
