//! The cases routes, one file per resource: extract, authorise (the
//! service's `case_for` asks the policy), call one service, build the view.

pub mod cases;
pub mod files;
pub mod uploads;
pub mod views;

/// Every case, file and upload route, each declared once.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(cases::create_case)
        .service(cases::list_cases)
        .service(cases::get_case)
        .service(cases::update_case)
        .service(cases::submit_case)
        .service(cases::cancel_case)
        .service(cases::access_log)
        .service(cases::disclosures)
        .service(files::upload_file)
        .service(files::list_files)
        .service(files::get_file)
        .service(files::delete_file)
        .service(files::file_content)
        .service(files::file_thumbnail)
        .service(uploads::create_upload)
        .service(uploads::get_upload)
        .service(uploads::complete_upload)
        .service(uploads::abort_upload);
}
