//! Restriction of processing (GDPR Art. 18): a patient's cases keep their
//! data but cannot be submitted, quoted, downloaded or messaged on (409
//! `restricted`, decided by the cases crate) until support lifts it.

use super::{event, find, status_of, support_step, wrong_state};
use crate::model::{Kind, Status, Subject};
use crate::notices;
use crate::state::PrivacyState;
use crate::store::{self, Request};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_http::ApiError;
use uuid::Uuid;

/// Carries out a verified restriction of a patient: their cases are
/// restricted now; the request is done (and stays in force until lifted).
pub(crate) async fn apply(state: &PrivacyState, actor: &Actor, id: Uuid) -> Result<Request, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut r = store::lock(&txn, id).await?.ok_or_else(ApiError::not_found)?;
    if !matches!(status_of(&r), Status::Verified | Status::Held) {
        return Err(wrong_state(&r, "carried out"));
    }
    let (Some(clinic), Some(reference)) = (r.clinic_org_id, r.patient_ref.clone()) else {
        return Err(ApiError::new(
            &crate::codes::PRIVACY_KIND_NOT_EXECUTABLE,
            "A person's restriction (of their account data) is carried out by support by hand for now.",
        ));
    };
    let found = dentex_cases::privacy::patient_cases(&txn, clinic, &[reference]).await?;
    let n = dentex_cases::privacy::restrict(&txn, &found.case_ids, Some(r.id), r.id).await?;
    r.status = Status::Done.as_str().into();
    r.completed_at = Some(dentex_db::now());
    r.hold_reason = None;
    let r = store::save(&txn, r).await?;
    notices::tell_requester(
        &txn,
        &r,
        "Processing restricted",
        format!(
            "The restriction {} is in force: {n} case(s) keep their data but cannot be submitted, quoted, \
             downloaded or messaged on until it is lifted.\n",
            r.id
        ),
    )
    .await?;
    let mut ev = event(actor, "privacy.restriction.apply", &r, Outcome::Success);
    ev.reason = Some(format!("{n} case(s)"));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %r.id, cases = n, "restriction applied");
    Ok(r)
}

/// Support lifts a restriction in force: the cases it restricted are used
/// again; the requester is told.
pub async fn lift(state: &PrivacyState, actor: &Actor, raw: &str) -> Result<Request, ApiError> {
    support_step(state, actor, "privacy.restriction.lift").await?;
    let id = find(state, raw).await?.id;
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut r = store::lock(&txn, id).await?.ok_or_else(ApiError::not_found)?;
    let in_force = Kind::parse(&r.kind) == Some(Kind::Restriction)
        && r.subject == Subject::Patient.as_str()
        && status_of(&r) == Status::Done
        && r.lifted_at.is_none();
    if !in_force {
        return Err(wrong_state(&r, "lifted (only a restriction in force is)"));
    }
    let n = dentex_cases::privacy::restrict(&txn, &[], None, r.id).await?;
    r.lifted_at = Some(dentex_db::now());
    let r = store::save(&txn, r).await?;
    notices::tell_requester(
        &txn,
        &r,
        "Restriction lifted",
        format!("The restriction {} was lifted: {n} case(s) are in use again.\n", r.id),
    )
    .await?;
    let mut ev = event(actor, "privacy.restriction.lift", &r, Outcome::Success);
    ev.reason = Some(format!("{n} case(s)"));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(r)
}
