//! Organisations: one as its members see it, and its profile. (The labs
//! list is the market's: it reads the labs' quotes.)

use super::{audit_in, authorized_org};
use crate::policy::Action;
use crate::store::{self, Organization, organizations::Changes};
use crate::verification::{self, Verification};
use crate::{AccountsState, Actor, validate};
use chrono::Utc;
use dentex_audit::Outcome;
use dentex_domain::{CountryCode, FieldError, OrgId, OrgKind};
use dentex_http::ApiError;
use sea_orm::DatabaseConnection;

/// An organisation with its verification today.
pub struct Verified {
    pub organization: Organization,
    pub verification: Verification,
}

pub async fn verified(db: &DatabaseConnection, o: Organization) -> Result<Verified, ApiError> {
    let verification = verification::status(db, &o, Utc::now().date_naive()).await?;
    Ok(Verified {
        organization: o,
        verification,
    })
}

/// One organisation. Members and platform staff only; anyone else gets 404.
pub async fn get(state: &AccountsState, actor: &Actor, org: OrgId) -> Result<Verified, ApiError> {
    let o = authorized_org(state, actor, org, Action::ViewOrganization).await?;
    verified(&state.db, o).await
}

/// A profile change as asked (`name` trimmed); checked after the caller is
/// allowed to make it.
#[derive(Debug, Default, validator::Validate)]
pub struct ProfileChange {
    #[validate(length(
        min = 2,
        max = 200,
        code = "invalid_length",
        message = "Give a name of 2 to 200 characters."
    ))]
    pub name: Option<String>,
    pub accepts_new_work: Option<bool>,
    pub services: Option<Vec<String>>,
    pub service_countries: Option<Vec<String>>,
}

/// Changes the organisation's profile (owners and admins); labs alone declare
/// whether they take work, their services and the countries they serve.
pub async fn update(state: &AccountsState, actor: &Actor, org: OrgId, c: ProfileChange) -> Result<Verified, ApiError> {
    let o = authorized_org(state, actor, org, Action::EditOrganization).await?;
    let is_lab = o.kind.parse::<OrgKind>().is_ok_and(OrgKind::is_lab);
    let mut errs = validate::field_errors(&c);
    let lab_only = |errs: &mut Vec<FieldError>, field: &str| {
        if !is_lab {
            errs.push(FieldError::new(field, "labs_only", "Only labs declare this."));
        }
    };
    if c.accepts_new_work.is_some() {
        lab_only(&mut errs, "accepts_new_work");
    }
    let services = c.services.map(|s| {
        lab_only(&mut errs, "services");
        known_services(&mut errs, &s)
    });
    let service_countries = c.service_countries.map(|s| {
        lab_only(&mut errs, "service_countries");
        country_codes(&mut errs, &s)
    });
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let changes = Changes {
        name: c.name,
        accepts_new_work: c.accepts_new_work,
        services,
        service_countries,
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let o = store::organizations::update(&txn, o, changes).await?;
    let mut ev = actor.event("organization.update", "organization", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(org.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    verified(&state.db, o).await
}

/// The known services in `services`, each once; the unknown ones are errors.
fn known_services(errs: &mut Vec<FieldError>, services: &[String]) -> Vec<String> {
    let mut clean = Vec::new();
    for (i, s) in services.iter().enumerate() {
        if dentex_domain::SERVICES.contains(&s.as_str()) {
            if !clean.contains(s) {
                clean.push(s.clone());
            }
        } else {
            errs.push(FieldError::new(
                format!("services[{i}]"),
                "invalid_choice",
                format!("{s:?} is not a known service."),
            ));
        }
    }
    clean
}

/// The countries in `countries`, normalised, each once; the invalid ones are errors.
fn country_codes(errs: &mut Vec<FieldError>, countries: &[String]) -> Vec<String> {
    let mut clean = Vec::new();
    for (i, c) in countries.iter().enumerate() {
        match CountryCode::parse(c) {
            Ok(cc) => {
                let cc = cc.to_string();
                if !clean.contains(&cc) {
                    clean.push(cc);
                }
            }
            Err(e) => errs.push(FieldError::new(format!("service_countries[{i}]"), "invalid_country", e)),
        }
    }
    clean
}
