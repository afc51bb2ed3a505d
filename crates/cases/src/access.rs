//! Who may see a case: the one decision every case and file route asks for.
//!
//! - Members of the clinic that owns it: everything, at every status.
//! - A lab, once the case is submitted and open to it: named at submission,
//!   or the case is open to all and the lab is verified, takes new work,
//!   offers every service the Rx needs and sits in the clinic's data region.
//!   Labs never see the patient reference before an award.
//! - Once the case is awarded (a quote accepted), only the awarded lab; every
//!   other lab loses it at once.
//! - Anyone else, platform staff included (they need break-glass, a later
//!   feature): nothing, answered as 404.
//!
//! Membership is re-read on every request (the `Principal`), and lab
//! eligibility is evaluated now, not remembered: a lab that loses its
//! verification or is suspended loses access at once.

use chrono::NaiveDate;
use dentex_accounts::Principal;
use dentex_db::entities::{case, case_lab, organization};
use dentex_domain::rx::{Restoration, Rx};
use dentex_domain::{OrgId, OrgRole};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Clinic { org: Uuid, role: OrgRole },
    Lab { org: Uuid },
}

impl Viewer {
    pub fn org(self) -> Uuid {
        match self {
            Viewer::Clinic { org, .. } | Viewer::Lab { org } => org,
        }
    }

    pub fn is_clinic(self) -> bool {
        matches!(self, Viewer::Clinic { .. })
    }
}

pub const LAB_KINDS: [&str; 2] = ["dental_lab", "manufacturing_lab"];

/// How `p` may see `case`, if at all.
pub async fn viewer<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    case: &case::Model,
    today: NaiveDate,
) -> Result<Option<Viewer>, DbErr> {
    viewer_for(db, p, case, today, None).await
}

/// Like [`viewer`], acting for one of the caller's organisations only (a
/// user in two labs chooses which one quotes).
pub async fn viewer_for<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    case: &case::Model,
    today: NaiveDate,
    acting_for: Option<Uuid>,
) -> Result<Option<Viewer>, DbErr> {
    let acts_as = |org: Uuid| acting_for.is_none_or(|a| a == org);
    if acts_as(case.clinic_org_id)
        && let Some(role) = p.role_in(OrgId(case.clinic_org_id))
    {
        return Ok(Some(Viewer::Clinic {
            org: case.clinic_org_id,
            role,
        }));
    }
    if !(case.status == "submitted" || case.status == "awarded") || p.memberships.is_empty() {
        return Ok(None);
    }
    let mine: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).filter(|o| acts_as(*o)).collect();
    // Once awarded, the winning lab alone: declined labs lose the case at once.
    if case.status == "awarded" {
        return Ok(case
            .awarded_lab_org_id
            .filter(|lab| mine.contains(lab))
            .map(|org| Viewer::Lab { org }));
    }
    let labs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(mine))
        .filter(organization::Column::Kind.is_in(LAB_KINDS))
        .all(db)
        .await?;
    if labs.is_empty() {
        return Ok(None);
    }
    if let Some(row) = case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.eq(case.id))
        .filter(case_lab::Column::LabOrgId.is_in(labs.iter().map(|l| l.id)))
        .one(db)
        .await?
    {
        return Ok(Some(Viewer::Lab { org: row.lab_org_id }));
    }
    if case.open_to_all
        && let Some(services) = services_of(case)
    {
        for lab in &labs {
            if open_to(db, lab, case, &services, today).await? {
                return Ok(Some(Viewer::Lab { org: lab.id }));
            }
        }
    }
    Ok(None)
}

/// The services the case's Rx needs; `None` (open to nobody) when the stored
/// Rx cannot be read or names none: eligibility fails closed.
pub fn services_of(case: &case::Model) -> Option<Vec<Restoration>> {
    let services = serde_json::from_str::<Rx>(&case.rx).ok()?.services();
    (!services.is_empty()).then_some(services)
}

/// Whether a case open to all reaches `lab`.
pub async fn open_to<C: ConnectionTrait>(
    db: &C,
    lab: &organization::Model,
    case: &case::Model,
    services: &[Restoration],
    today: NaiveDate,
) -> Result<bool, DbErr> {
    if !LAB_KINDS.contains(&lab.kind.as_str())
        || lab.suspended_at.is_some()
        || !lab.accepts_new_work
        || lab.region != case.region
    {
        return Ok(false);
    }
    let offered: Vec<String> = serde_json::from_str(&lab.services).unwrap_or_default();
    if !services.iter().all(|s| offered.iter().any(|o| o == s.as_str())) {
        return Ok(false);
    }
    Ok(dentex_accounts::verification::status(db, lab, today).await?.verified)
}
