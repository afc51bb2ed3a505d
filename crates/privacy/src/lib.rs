//! `dentex-privacy`, the top feature crate (issue #17): it only
//! coordinates. Each feature crate states in its own `privacy` module what
//! it holds about people and how a subject's share is found and erased;
//! this crate gathers those statements ([`inventory`]), renders the
//! processing register from them ([`register`]: `docs/privacy.md` and
//! `GET /api/v1/privacy/register`), and runs data-subject requests
//! ([`service`]): filing, support's queue and steps, deadlines, the
//! erasure job that calls each crate's eraser and writes the [`report`],
//! the restriction of a patient's cases, break-glass, and the
//! organisation's audit trail.
//!
//! Not built yet: access/portability exports, rectification through the
//! owning services, retention runs (docs/privacy.md says so too).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod codes;
pub mod http;
pub mod inventory;
pub mod model;
pub(crate) mod notices;
pub mod privacy;
pub mod register;
pub mod report;
pub mod service;
pub mod state;
pub mod store;

pub use state::{PrivacyConfig, PrivacyState};

/// The routes of privacy.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
}
