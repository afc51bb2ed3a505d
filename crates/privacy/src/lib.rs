//! `dentex-privacy`, the top feature crate (issue #17): it only
//! coordinates. Each feature crate states in its own `privacy` module what
//! it holds about people ([`inventory`]); this crate gathers those
//! statements, and renders the processing register from them
//! ([`register`]: `docs/privacy.md` and `GET /api/v1/privacy/register`). A test checks the inventory against
//! the migrated schema on both databases: a column a migration adds and no
//! inventory describes fails it.
//!
//! Not built yet: data-subject requests, exports, erasure, restriction,
//! retention runs, break-glass, disclosures (docs/privacy.md says so too).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod http;
pub mod inventory;
pub mod register;

/// The routes of privacy.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
}
