//! `dentex-domain` owns the vocabulary of Dentex: typed identifiers, parsed value
//! types (an [`Email`] can only exist valid), roles, and the error vocabulary
//! ([`FieldError`]) that every layer above reports invalid input with. It has no
//! I/O and no framework dependency, so its rules can be tested and reused anywhere
//! (`cargo tree -p dentex-domain -e normal` shows neither actix-web nor sea-orm);
//! [`schema`] describes its word lists for the OpenAPI document (utoipa).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod country;
mod credentials;
mod email;
mod ids;
pub mod market;
pub mod privacy;
mod roles;
pub mod rx;
pub mod schema;
pub mod status;

pub use country::CountryCode;
pub use credentials::{CredentialKind, SERVICES};
pub use email::Email;
pub use ids::{AuditEventId, JobId, OrgId, UserId};
pub use roles::{DataRegion, OrgKind, OrgRole, StaffRole};
pub use status::{AnalysisStatus, CaseStatus, QuoteStatus};

use serde::Serialize;

/// One problem with one input field, reported to clients inside a problem+json
/// body as `errors: [{field, code, message}]`. `field` is a path such as
/// `rx.items[0].shade`; `code` is a stable snake_case identifier clients may match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}
