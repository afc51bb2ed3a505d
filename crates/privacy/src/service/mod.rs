//! The privacy services: what the routes, the jobs and the command line
//! call. A request is filed ([`requests`]), worked through by support
//! ([`support`]), watched for its deadline ([`deadlines`]) and, for an
//! erasure, carried out by a job ([`erasure`]).

pub mod audit;
pub mod break_glass;
pub mod deadlines;
pub mod erasure;
pub mod requests;
pub mod restriction;
pub mod support;

use crate::model::Status;
use crate::state::PrivacyState;
use crate::store::{self, Request};
use dentex_accounts::Actor;
use dentex_audit::{AuditEvent, Outcome};
use dentex_domain::OrgId;
use dentex_http::ApiError;
use uuid::Uuid;

/// The audit event of a step on `r` by `actor`.
pub(crate) fn event(actor: &Actor, action: &str, r: &Request, outcome: Outcome) -> AuditEvent {
    let mut ev = actor.event(action, "privacy_request", outcome);
    ev.org_id = r.clinic_org_id.map(OrgId);
    ev.resource_id = Some(r.id.to_string());
    ev
}

/// Support's steps: platform staff with a fresh sign-in with a second
/// step; a refusal is audited.
pub(crate) async fn support_step(state: &PrivacyState, actor: &Actor, action: &str) -> Result<(), ApiError> {
    let check = if actor.staff_role.is_some() {
        dentex_accounts::policy::require_fresh_sign_in(actor, state.config.fresh_sign_in)
    } else {
        Err(dentex_accounts::policy::forbidden("Platform support only."))
    };
    let Err(e) = check else {
        return Ok(());
    };
    let mut ev = actor.event("access.refused", "privacy_request", Outcome::Denied);
    ev.reason = Some(format!("{action}: {}", e.code));
    state.audit.record(ev).await?;
    Err(e)
}

/// The request `raw` names, or 404.
pub(crate) async fn find(state: &PrivacyState, raw: &str) -> Result<Request, ApiError> {
    let id = Uuid::parse_str(raw).map_err(|_| ApiError::not_found())?;
    store::find(&state.db, id).await?.ok_or_else(ApiError::not_found)
}

pub(crate) fn status_of(r: &Request) -> Status {
    Status::parse(&r.status).unwrap_or(Status::Received)
}

/// 409 `privacy_request_state`: the step does not apply in `r`'s status.
pub(crate) fn wrong_state(r: &Request, step: &str) -> ApiError {
    ApiError::new(
        &crate::codes::PRIVACY_REQUEST_STATE,
        format!("The request is {}: it cannot be {step}.", r.status),
    )
}

/// 422 naming `field`.
pub(crate) fn invalid(field: &str, code: &'static str, detail: &str) -> ApiError {
    ApiError::validation(vec![dentex_domain::FieldError::new(field, code, detail)])
}

/// A reason or note from support: 1 to 500 characters, not blank.
pub(crate) fn text(field: &str, v: Option<&str>, max: usize) -> Result<String, ApiError> {
    let v = v.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(invalid(
            field,
            "required",
            "Required (1 to 500 characters, not only spaces).",
        ));
    }
    if v.chars().count() > max {
        return Err(invalid(field, "too_long", &format!("At most {max} characters.")));
    }
    Ok(v.to_owned())
}
