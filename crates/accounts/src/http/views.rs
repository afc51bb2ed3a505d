//! Response bodies more than one resource shows.

use crate::service::organizations::Verified;
use crate::store::{Membership, Organization as OrgRow, User};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

dentex_domain::doc_enum!(
    /// `Accepted.status` in the document.
    Outcome = "What happened: a verification mail was sent (`verification_sent`), a reset mail was sent if the address is known (`reset_sent_if_known`, or `verification_resent_if_unverified` for a repeated verification mail), the password was changed (`password_changed`), or the address was confirmed (`verified`).",
    ["verification_sent", "verification_resent_if_unverified", "reset_sent_if_known", "password_changed", "verified"]
);

/// The answer of a step of registration or password reset that has no
/// resource to show.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// What happened, as a word to match on.
    #[schema(value_type = Outcome)]
    pub status: &'static str,
    /// The same, for a person to read.
    pub detail: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// `support` or `platform_admin` for platform staff.
    #[schema(value_type = Option<dentex_domain::StaffRole>)]
    pub staff_role: Option<String>,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub organizations: Vec<MyOrganization>,
    /// Messages waiting unread over every thread the caller sees (derived
    /// from the threads and the caller's read marks).
    pub unread_messages: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyOrganization {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = dentex_domain::OrgKind)]
    pub kind: String,
    #[schema(value_type = dentex_domain::OrgRole)]
    pub role: String,
}

impl Me {
    pub fn new(u: User, organizations: Vec<(Membership, OrgRow)>) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            staff_role: u.staff_role,
            email_verified: u.email_verified_at.is_some(),
            mfa_enabled: u.mfa_enabled_at.is_some(),
            organizations: organizations
                .into_iter()
                .map(|(m, o)| MyOrganization {
                    id: o.id,
                    name: o.name,
                    kind: o.kind,
                    role: m.role,
                })
                .collect(),
            unread_messages: 0,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    /// `clinic`, `dental_lab` or `manufacturing_lab`.
    #[schema(value_type = dentex_domain::OrgKind)]
    pub kind: String,
    pub country: String,
    /// `eu` or `us`.
    #[schema(value_type = dentex_domain::DataRegion)]
    pub region: String,
    pub accepts_new_work: bool,
    #[schema(value_type = Vec<dentex_domain::rx::Restoration>)]
    pub services: Vec<String>,
    pub service_countries: Vec<String>,
    pub suspended: bool,
    /// Holds an approved, unexpired credential that fits its kind: required
    /// to submit cases (clinics) and to quote (labs).
    pub verified: bool,
    pub verified_until: Option<chrono::NaiveDate>,
    pub created_at: DateTime<Utc>,
}

impl From<Verified> for Organization {
    fn from(v: Verified) -> Self {
        let o = v.organization;
        Self {
            id: o.id,
            name: o.name,
            kind: o.kind,
            country: o.country,
            region: o.region,
            accepts_new_work: o.accepts_new_work,
            services: serde_json::from_str(&o.services).unwrap_or_default(),
            service_countries: serde_json::from_str(&o.service_countries).unwrap_or_default(),
            suspended: o.suspended_at.is_some(),
            verified: v.verification.verified,
            verified_until: v.verification.verified_until,
            created_at: o.created_at,
        }
    }
}
