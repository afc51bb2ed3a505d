//! The accounting of disclosures (HIPAA §164.528; issue #17): which
//! organisations received a case's data, when and for what. Read from what
//! is already kept: the labs the case was sent to by name (`case_labs`), the
//! lab it was awarded to, and every read or change the audit trail records
//! on the case and its files for another organisation than the clinic.

use super::{Allowed, audit_read};
use crate::policy::CaseAction;
use crate::service::cases::acting_org;
use crate::state::CasesState;
use crate::store;
use chrono::{DateTime, Utc};
use dentex_accounts::Actor;
use dentex_http::ApiError;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// How many audit rows of one case are looked at (the newest).
pub const ROWS_MAX: u64 = 10_000;

/// One organisation that received the case's data.
#[derive(Debug, Default)]
pub struct Disclosure {
    pub organization: Uuid,
    pub name: Option<String>,
    /// When the clinic sent the case to it by name.
    pub sent_at: Option<DateTime<Utc>>,
    /// Whether it was awarded the case (it then reads the patient reference).
    pub awarded: bool,
    pub first_access_at: Option<DateTime<Utc>>,
    pub last_access_at: Option<DateTime<Utc>>,
    /// Reads and changes recorded for it.
    pub accesses: u64,
    /// What it did (`case.read`, `case_file.download`, ...).
    pub actions: BTreeSet<String>,
}

/// The case's disclosures, the earliest first (the clinic only, as the
/// access log).
pub async fn of_case(state: &CasesState, actor: &Actor, allowed: &Allowed) -> Result<Vec<Disclosure>, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::AccessLog)?;
    let rows = store::access_log(&state.db, c, None, ROWS_MAX).await?;
    let sent = store::sent_to(&state.db, c.id).await?;
    audit_read(state, actor, c, v, "case.disclosures", None).await?;
    let mut by: BTreeMap<Uuid, Disclosure> = BTreeMap::new();
    fn of(by: &mut BTreeMap<Uuid, Disclosure>, org: Uuid) -> &mut Disclosure {
        by.entry(org).or_insert_with(|| Disclosure {
            organization: org,
            ..Disclosure::default()
        })
    }
    for l in sent {
        of(&mut by, l.lab_org_id).sent_at = Some(l.created_at);
    }
    if let Some(lab) = c.awarded_lab_org_id {
        of(&mut by, lab).awarded = true;
    }
    for r in rows {
        let Some(org) = acting_org(&r).filter(|o| *o != c.clinic_org_id) else {
            continue;
        };
        let d = of(&mut by, org);
        d.accesses += 1;
        d.first_access_at = Some(d.first_access_at.map_or(r.occurred_at, |t| t.min(r.occurred_at)));
        d.last_access_at = Some(d.last_access_at.map_or(r.occurred_at, |t| t.max(r.occurred_at)));
        d.actions.insert(r.action);
    }
    let names =
        dentex_accounts::service::directory::organization_names(&state.db, by.keys().copied().collect()).await?;
    let mut out: Vec<Disclosure> = by
        .into_values()
        .map(|mut d| {
            d.name = names.get(&d.organization).cloned();
            d
        })
        .collect();
    out.sort_by_key(|d| (d.sent_at.or(d.first_access_at), d.organization));
    Ok(out)
}
