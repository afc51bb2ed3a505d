//! The routes of privacy, one file per resource.

pub mod audit;
pub mod break_glass;
pub mod register;
pub mod requests;
pub mod support;
pub mod views;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register::get_register)
        .service(audit::organization_audit)
        .service(break_glass::grant_break_glass)
        .service(requests::file_privacy_request)
        .service(requests::get_privacy_request)
        .service(requests::get_privacy_report)
        .service(support::privacy_file_for)
        .service(support::privacy_queue)
        .service(support::privacy_verify)
        .service(support::privacy_execute)
        .service(support::privacy_reject)
        .service(support::privacy_lift)
        .service(support::privacy_extend);
}
