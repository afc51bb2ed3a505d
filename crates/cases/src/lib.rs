//! `dentex-cases`: cases, their prescriptions and files, and who may see them.
//!
//! - A clinic drafts a case (patient reference, Rx, due date, consent),
//!   uploads scans, photos and documents, and submits it to named labs or to
//!   every verified lab that offers the services in its data region.
//! - Files are streamed into the object store under keys made from ids; the
//!   type is decided from the bytes ([`content`]); photos lose their metadata
//!   first; scans are analysed by a job ([`analysis`]) that stores the report
//!   and a thumbnail. Large files may go straight to the store through
//!   presigned multipart uploads, checked at `complete`.
//! - [`sweep`] aborts abandoned uploads and compares the bucket with the rows.
//! - [`policy`] is the one place that decides who may see a case and do what
//!   to it; a file has the access of its case. Every read, change and refusal
//!   is audited in the clinic's chain, which is what the clinic's access log
//!   shows.
//!
//! The tree every feature crate follows: [`http`] (one file per resource,
//! thin handlers) → [`service`] (the rules, called by handlers, jobs and the
//! crates above) → [`store`] (the crate's queries); [`policy`] decides,
//! [`codes`] is the error catalogue, [`state`] what the services need.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod analysis;
pub mod break_glass;
pub mod codes;
pub mod content;
pub mod http;
pub mod policy;
pub mod privacy;
pub mod service;
pub mod state;
pub(crate) mod store;
pub mod sweep;

/// The module every other crate used for the decision of who sees a case.
pub use policy as access;
pub use service::cases::CONSENT_VERSION;
pub use state::{CaseHooks, CaseLimits, CasesState, NoHooks};

/// Every case, file and upload route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
}

/// The job that analyses an uploaded scan.
pub const ANALYZE_JOB: &str = "cases.analyze_file";
