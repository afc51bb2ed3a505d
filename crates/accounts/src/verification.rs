//! Whether an organisation is verified: it holds an approved credential that
//! has not expired and whose kind fits the organisation's kind. Computed from
//! the credentials on every read, so it can never drift from them. Case
//! submission (clinics) and quoting (labs) ask [`require_verified`].

use chrono::NaiveDate;
use dentex_db::entities::{credential, organization};
use dentex_domain::{CredentialKind, OrgKind};
use dentex_http::ApiError;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

pub const APPROVED: &str = "approved";
pub const PENDING: &str = "pending";
pub const REJECTED: &str = "rejected";
pub const EXPIRED: &str = "expired";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub verified: bool,
    /// The last day of the longest-running qualifying credential.
    pub verified_until: Option<NaiveDate>,
}

/// Whether `c` makes an organisation of `kind` verified on `today`.
pub fn qualifies(c: &credential::Model, kind: OrgKind, today: NaiveDate) -> bool {
    c.status == APPROVED && c.expires_on >= today && c.kind.parse::<CredentialKind>().is_ok_and(|k| k.fits(kind))
}

pub async fn status<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    today: NaiveDate,
) -> Result<Verification, DbErr> {
    if org.suspended_at.is_some() {
        return Ok(Verification {
            verified: false,
            verified_until: None,
        });
    }
    let Ok(kind) = org.kind.parse::<OrgKind>() else {
        return Ok(Verification {
            verified: false,
            verified_until: None,
        });
    };
    let creds = credential::Entity::find()
        .filter(credential::Column::OrgId.eq(org.id))
        .filter(credential::Column::Status.eq(APPROVED))
        .all(db)
        .await?;
    let until = creds
        .iter()
        .filter(|c| qualifies(c, kind, today))
        .map(|c| c.expires_on)
        .max();
    Ok(Verification {
        verified: until.is_some(),
        verified_until: until,
    })
}

/// [`status`] of several organisations in one query.
pub async fn statuses<C: ConnectionTrait>(
    db: &C,
    orgs: &[&organization::Model],
    today: NaiveDate,
) -> Result<HashMap<Uuid, Verification>, DbErr> {
    let creds = if orgs.is_empty() {
        Vec::new()
    } else {
        credential::Entity::find()
            .filter(credential::Column::OrgId.is_in(orgs.iter().map(|o| o.id)))
            .filter(credential::Column::Status.eq(APPROVED))
            .all(db)
            .await?
    };
    Ok(orgs
        .iter()
        .map(|org| {
            let kind = org.kind.parse::<OrgKind>().ok().filter(|_| org.suspended_at.is_none());
            let until = kind.and_then(|kind| {
                creds
                    .iter()
                    .filter(|c| c.org_id == org.id && qualifies(c, kind, today))
                    .map(|c| c.expires_on)
                    .max()
            });
            (
                org.id,
                Verification {
                    verified: until.is_some(),
                    verified_until: until,
                },
            )
        })
        .collect())
}

/// Refuses an action that needs a verified organisation (403 `organization_not_verified`).
pub async fn require_verified<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    today: NaiveDate,
) -> Result<(), ApiError> {
    if status(db, org, today).await?.verified {
        Ok(())
    } else {
        Err(ApiError::new(
            &crate::codes::ORGANIZATION_NOT_VERIFIED,
            "Your organisation needs an approved, unexpired credential first.",
        ))
    }
}
