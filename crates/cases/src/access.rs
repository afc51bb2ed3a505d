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
use dentex_domain::{CaseStatus, OrgId, OrgRole};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
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
    Ok(viewers(db, p, &[case], today, acting_for).await?.pop().flatten())
}

/// [`viewer_for`] for many cases at once (a page of a list), in at most three
/// queries whatever their number: the caller's lab organisations, the labs
/// named on those cases, and the labs' credentials.
pub async fn viewers<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    cases: &[&case::Model],
    today: NaiveDate,
    acting_for: Option<Uuid>,
) -> Result<Vec<Option<Viewer>>, DbErr> {
    let acts_as = |org: Uuid| acting_for.is_none_or(|a| a == org);
    let mut out: Vec<Option<Viewer>> = vec![None; cases.len()];
    // What labs decide: open cases (submitted), and awarded ones.
    let mut for_labs: Vec<usize> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if acts_as(case.clinic_org_id)
            && let Some(role) = p.role_in(OrgId(case.clinic_org_id))
        {
            out[i] = Some(Viewer::Clinic {
                org: case.clinic_org_id,
                role,
            });
        } else if CaseStatus::parse(&case.status).is_some_and(CaseStatus::open_to_labs) && !p.memberships.is_empty() {
            for_labs.push(i);
        }
    }
    if for_labs.is_empty() {
        return Ok(out);
    }
    let mine: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).filter(|o| acts_as(*o)).collect();
    // Once awarded, the winning lab alone: declined labs lose the case at once.
    let mut open: Vec<usize> = Vec::new();
    for i in for_labs {
        let case = cases[i];
        if CaseStatus::parse(&case.status) == Some(CaseStatus::Awarded) {
            out[i] = case
                .awarded_lab_org_id
                .filter(|lab| mine.contains(lab))
                .map(|org| Viewer::Lab { org });
        } else {
            open.push(i);
        }
    }
    if open.is_empty() {
        return Ok(out);
    }
    let labs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(mine))
        .filter(organization::Column::Kind.is_in(LAB_KINDS))
        .all(db)
        .await?;
    if labs.is_empty() {
        return Ok(out);
    }
    let named: Vec<(Uuid, Uuid)> = case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.is_in(open.iter().map(|&i| cases[i].id)))
        .filter(case_lab::Column::LabOrgId.is_in(labs.iter().map(|l| l.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.case_id, r.lab_org_id))
        .collect();
    let mut verified: Option<HashMap<Uuid, bool>> = None;
    for i in open {
        let case = cases[i];
        // Named at submission: the first of the caller's labs, in lab order.
        if let Some(lab) = labs.iter().find(|l| named.contains(&(case.id, l.id))) {
            out[i] = Some(Viewer::Lab { org: lab.id });
            continue;
        }
        if !case.open_to_all {
            continue;
        }
        let Some(services) = services_of(case) else {
            continue;
        };
        let candidates: Vec<&organization::Model> = labs.iter().filter(|l| fits(l, case, &services)).collect();
        if candidates.is_empty() {
            continue;
        }
        if verified.is_none() {
            let all: Vec<&organization::Model> = labs.iter().collect();
            verified = Some(
                dentex_accounts::verification::statuses(db, &all, today)
                    .await?
                    .into_iter()
                    .map(|(id, v)| (id, v.verified))
                    .collect(),
            );
        }
        let verified = verified.as_ref();
        out[i] = candidates
            .into_iter()
            .find(|l| verified.and_then(|v| v.get(&l.id)).copied().unwrap_or(false))
            .map(|l| Viewer::Lab { org: l.id });
    }
    Ok(out)
}

/// The services the case's Rx needs; `None` (open to nobody) when the stored
/// Rx cannot be read or names none: eligibility fails closed.
pub fn services_of(case: &case::Model) -> Option<Vec<Restoration>> {
    let services = serde_json::from_str::<Rx>(&case.rx).ok()?.services();
    (!services.is_empty()).then_some(services)
}

/// Whether a case open to all reaches `lab`, but for its verification: a lab
/// that takes new work, is not suspended, sits in the case's region and
/// offers every service the Rx needs.
fn fits(lab: &organization::Model, case: &case::Model, services: &[Restoration]) -> bool {
    if !LAB_KINDS.contains(&lab.kind.as_str())
        || lab.suspended_at.is_some()
        || !lab.accepts_new_work
        || lab.region != case.region
    {
        return false;
    }
    let offered: Vec<String> = serde_json::from_str(&lab.services).unwrap_or_default();
    services.iter().all(|s| offered.iter().any(|o| o == s.as_str()))
}
