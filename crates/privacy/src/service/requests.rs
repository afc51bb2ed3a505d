//! Filing a request, as its subject or as the clinic for a patient, and
//! reading one.

use super::{event, find, invalid};
use crate::model::{Channel, Kind, Status, Subject};
use crate::notices;
use crate::state::PrivacyState;
use crate::store::{self, Request};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_domain::{OrgId, OrgRole};
use dentex_http::ApiError;
use uuid::Uuid;

/// What the caller sends.
#[derive(Debug, Default)]
pub struct FileInput {
    pub kind: Option<String>,
    /// For a patient: the clinic's reference, and the clinic.
    pub patient_ref: Option<String>,
    pub clinic_org_id: Option<Uuid>,
    /// What to correct (rectification).
    pub details: Option<String>,
    /// About oneself: the password again, and a current code when two-step
    /// sign-in is on.
    pub password: Option<String>,
    pub totp_code: Option<String>,
}

pub(crate) fn kind(raw: Option<&str>) -> Result<Kind, ApiError> {
    let raw = raw.ok_or_else(|| invalid("kind", "required", "Required."))?;
    Kind::parse(raw).ok_or_else(|| ApiError::unknown_value("kind", Kind::ALL.iter().map(|k| k.as_str())))
}

/// What to correct, or anything the requester adds: up to 2000
/// characters. (A rectification without it is filed all the same: support
/// asks what to correct when it verifies the request.)
pub(crate) fn details(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) if d.chars().count() > 2000 => Err(invalid("details", "too_long", "At most 2000 characters.")),
        d => Ok(d.map(str::to_owned)),
    }
}

pub(crate) fn patient_ref(raw: &str) -> Result<String, ApiError> {
    let r = raw.trim();
    if r.is_empty() || r.chars().count() > 100 {
        return Err(invalid(
            "patient_ref",
            "invalid",
            "The clinic's reference of the patient, 1 to 100 characters.",
        ));
    }
    Ok(r.to_owned())
}

/// A new request row, received now.
pub(crate) fn new_row(kind: Kind, subject: Subject, channel: Channel, filed_by: Uuid) -> Request {
    let now = dentex_db::now();
    Request {
        id: Uuid::now_v7(),
        kind: kind.as_str().into(),
        subject: subject.as_str().into(),
        subject_user_id: None,
        clinic_org_id: None,
        patient_ref: None,
        status: Status::Received.as_str().into(),
        channel: channel.as_str().into(),
        identity_check: None,
        details: None,
        filed_by,
        verified_by: None,
        received_at: now,
        due_at: super::deadlines::due(now),
        extended_at: None,
        extension_reason: None,
        reject_reason: None,
        hold_reason: None,
        flagged_at: None,
        completed_at: None,
        report: None,
        updated_at: now,
        lifted_at: None,
    }
}

/// Files a request: about oneself (re-authenticated), or as an owner or
/// admin of a clinic for one of its patients. The requester and support
/// are told.
pub async fn file(state: &PrivacyState, actor: &Actor, input: FileInput) -> Result<Request, ApiError> {
    dentex_accounts::policy::require_full_session(actor)?;
    if actor.staff_role.is_some() {
        return Err(dentex_accounts::policy::forbidden(
            "Platform staff file requests for others through /api/v1/support/privacy/requests.",
        ));
    }
    // A clinic named is one the caller manages (another's is 404), before
    // anything else is looked at.
    if let Some(clinic) = input.clinic_org_id {
        match actor.role_in(OrgId(clinic)) {
            None => return Err(ApiError::not_found()),
            Some(OrgRole::Owner | OrgRole::Admin) => {}
            Some(_) => {
                return Err(dentex_accounts::policy::forbidden(
                    "Owners and admins of the clinic file requests for its patients.",
                ));
            }
        }
    }
    let kind = kind(input.kind.as_deref())?;
    let details = details(input.details.as_deref())?;
    // Whoever files proves again who they are: about oneself, and for a
    // clinic's patient too (an erasure cannot be undone; a stolen session
    // alone must not start one).
    if input.patient_ref.is_some() == input.clinic_org_id.is_some() {
        dentex_accounts::service::sessions::reauthenticate(
            &state.accounts,
            actor,
            input.password.as_deref(),
            input.totp_code.as_deref(),
        )
        .await?;
    }
    let mut row = match (input.patient_ref.as_deref(), input.clinic_org_id) {
        (Some(p), Some(clinic)) => {
            let p = patient_ref(p)?;
            let mut row = new_row(kind, Subject::Patient, Channel::Api, actor.user_id.0);
            row.clinic_org_id = Some(clinic);
            row.patient_ref = Some(p);
            // The clinic is the controller and knows its patient; support
            // checks the request and verifies it.
            row.identity_check = Some(
                "filed by an owner or admin of the clinic, re-authenticated (the password, and a code when two-step sign-in is on)"
                    .into(),
            );
            row
        }
        (Some(_), None) => {
            return Err(invalid(
                "clinic_org_id",
                "required",
                "The clinic the patient belongs to.",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "patient_ref",
                "required",
                "The clinic's reference of the patient.",
            ));
        }
        (None, None) => {
            let mut row = new_row(kind, Subject::Person, Channel::Api, actor.user_id.0);
            row.subject_user_id = Some(actor.user_id.0);
            row.identity_check =
                Some("signed in, re-authenticated (the password, and a code when two-step sign-in is on)".into());
            row
        }
    };
    row.details = details;
    record_filed(state, actor, row).await
}

/// Stores `row`, audits it and tells the requester and support.
pub(crate) async fn record_filed(state: &PrivacyState, actor: &Actor, row: Request) -> Result<Request, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let r = store::insert(&txn, row).await?;
    let mut ev = event(actor, "privacy.request.file", &r, Outcome::Success);
    ev.reason = Some(format!("{} about a {} ({})", r.kind, r.subject, r.channel));
    notices::tell_requester(
        &txn,
        &r,
        "Your privacy request was received",
        format!(
            "We received a {} request (id {}) on {}. It will be answered by {}.\n\
             Its status: GET /api/v1/privacy/requests/{}\n",
            r.kind,
            r.id,
            notices::date(r.received_at),
            notices::date(r.due_at),
            r.id
        ),
    )
    .await?;
    notices::tell_support(
        &txn,
        state.config.support_email.as_deref(),
        "New privacy request",
        format!(
            "A {} request about a {} was filed ({}): {}, due {}.\n",
            r.kind,
            r.subject,
            r.channel,
            r.id,
            notices::date(r.due_at)
        ),
    )
    .await?;
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %r.id, kind = %r.kind, "privacy request filed");
    Ok(r)
}

/// A request, for whoever may see it: its subject, the clinic's owners
/// and admins (a patient's), and platform staff. Anyone else: 404.
pub async fn get(state: &PrivacyState, actor: &Actor, raw: &str) -> Result<Request, ApiError> {
    dentex_accounts::policy::require_full_session(actor)?;
    let r = find(state, raw).await?;
    let clinic_manager = r
        .clinic_org_id
        .is_some_and(|c| matches!(actor.role_in(OrgId(c)), Some(OrgRole::Owner | OrgRole::Admin)));
    let staff = actor.staff_role.is_some();
    let visible = staff || r.subject_user_id == Some(actor.user_id.0) || clinic_manager;
    if !visible {
        return Err(ApiError::not_found());
    }
    // Support reads a request's metadata (a patient reference among it):
    // every such read is in the trail.
    if staff {
        state
            .audit
            .record(event(actor, "privacy.request.read", &r, Outcome::Success))
            .await?;
    }
    Ok(r)
}
