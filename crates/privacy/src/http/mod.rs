//! The routes of privacy, one file per resource.

pub mod register;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register::get_register);
}
