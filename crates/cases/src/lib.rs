//! `dentex-cases`: cases, their prescriptions and files, and who may see them.
//!
//! - A clinic drafts a case (patient reference, Rx, due date, consent),
//!   uploads scans, photos and documents, and submits it to named labs or to
//!   every verified lab that offers the services in its data region.
//! - Files are streamed into the object store under keys made from ids; the
//!   type is decided from the bytes; photos lose their metadata first; scans
//!   are analysed by a job ([`analysis`]) that stores the report and a
//!   thumbnail. Large files may go straight to the store through presigned
//!   multipart uploads ([`uploads`]), checked at `complete`.
//! - [`sweep`] aborts abandoned uploads and compares the bucket with the rows.
//! - [`access`] is the one place that decides who may read a case; a file has
//!   the access of its case. Every read, change and refusal is audited in the
//!   clinic's chain, which is what the clinic's access log shows.

pub mod access;
pub mod analysis;
pub mod codes;
pub mod files;
pub mod http;
pub mod sweep;
pub mod uploads;

pub use http::{CaseLimits, CasesState};

/// Every case and file route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
    uploads::configure(cfg);
}

/// The job that analyses an uploaded scan.
pub const ANALYZE_JOB: &str = "cases.analyze_file";
