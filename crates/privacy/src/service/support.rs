//! Support's work on requests: filing one that came by e-mail, letter or
//! phone, the queue, and the steps (verify, execute, reject, extend). Each
//! step needs a fresh sign-in with a second step and is audited with the
//! change it makes.

use super::requests::{details, kind, new_row, patient_ref, record_filed};
use super::{event, find, invalid, status_of, support_step, text, wrong_state};
use crate::model::{Channel, Kind, Status, Subject};
use crate::notices;
use crate::state::PrivacyState;
use crate::store::{self, Request};
use chrono::{DateTime, Months, Utc};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_http::ApiError;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct SupportFileInput {
    pub kind: Option<String>,
    /// A person with an account…
    pub user_id: Option<Uuid>,
    /// …or a clinic's patient.
    pub clinic_org_id: Option<Uuid>,
    pub patient_ref: Option<String>,
    pub channel: Option<String>,
    /// How the requester's identity was checked.
    pub identity_check: Option<String>,
    pub details: Option<String>,
}

/// Files a request that reached support outside the platform; it is
/// verified at once (the identity check is recorded) and the subject is
/// told at the address on file.
pub async fn file_for(state: &PrivacyState, actor: &Actor, input: SupportFileInput) -> Result<Request, ApiError> {
    support_step(state, actor, "privacy.request.file").await?;
    let kind = kind(input.kind.as_deref())?;
    let details = details(input.details.as_deref())?;
    let channel = match input.channel.as_deref().map(Channel::parse) {
        Some(Some(c)) if c != Channel::Api => c,
        _ => {
            let outside = crate::model::OutsideChannel::ALL.iter().map(|c| c.as_str());
            return Err(ApiError::unknown_value("channel", outside));
        }
    };
    let check = text("identity_check", input.identity_check.as_deref(), 500)?;
    // The ids first (an unknown one is 404), then how they go together.
    if let Some(user) = input.user_id
        && dentex_accounts::store::users::by_id(&state.db, user).await?.is_none()
    {
        return Err(ApiError::not_found());
    }
    if let Some(clinic) = input.clinic_org_id
        && dentex_accounts::service::directory::organization_names(&state.db, vec![clinic])
            .await?
            .is_empty()
    {
        return Err(ApiError::not_found());
    }
    let mut row = match (input.user_id, input.clinic_org_id, input.patient_ref.as_deref()) {
        (Some(user), None, None) => {
            let mut row = new_row(kind, Subject::Person, channel, actor.user_id.0);
            row.subject_user_id = Some(user);
            row
        }
        (None, Some(clinic), Some(p)) => {
            let p = patient_ref(p)?;
            let mut row = new_row(kind, Subject::Patient, channel, actor.user_id.0);
            row.clinic_org_id = Some(clinic);
            row.patient_ref = Some(p);
            row
        }
        _ => {
            return Err(invalid(
                "user_id",
                "subject_required",
                "Name the subject: `user_id` (a person), or `clinic_org_id` with `patient_ref` (a patient).",
            ));
        }
    };
    row.details = details;
    row.identity_check = Some(check);
    row.status = Status::Verified.as_str().into();
    row.verified_by = Some(actor.user_id.0);
    record_filed(state, actor, row).await
}

/// The queue: open requests (or those in `status`), due before
/// `due_before`, soonest due first.
pub async fn queue(
    state: &PrivacyState,
    actor: &Actor,
    status: Option<&str>,
    due_before: Option<DateTime<Utc>>,
    limit: Option<u64>,
) -> Result<Vec<Request>, ApiError> {
    dentex_accounts::policy::authorize_support(actor)?;
    // The paging rule of every list: 1–200, default 50 (400 `invalid_query`).
    let page = dentex_http::paging::page::<i64>(limit, None)?;
    if let Some(s) = status
        && Status::parse(s).is_none()
    {
        return Err(ApiError::unknown_value(
            "status",
            Status::ALL.iter().map(|s| s.as_str()),
        ));
    }
    let rows = store::queue(&state.db, status, due_before, page.limit).await?;
    let mut ev = actor.event("privacy.request.list", "privacy_request", Outcome::Success);
    ev.reason = Some(format!("{} listed", rows.len()));
    state.audit.record(ev).await?;
    Ok(rows)
}

/// What a step did, for its audit row and the requester's mail.
#[derive(Default)]
struct Change {
    reason: Option<String>,
    tell: Option<(&'static str, String)>,
}

/// Runs a step on request `raw`: its row is locked and read in the write
/// transaction, `change` checks and changes it there (two steps at once
/// take turns, and each sees what the other did), and the row, the audit
/// row and the mails commit together.
async fn step(
    state: &PrivacyState,
    actor: &Actor,
    raw: &str,
    action: &str,
    change: impl FnOnce(&mut Request) -> Result<Change, ApiError>,
) -> Result<Request, ApiError> {
    let id = find(state, raw).await?.id;
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut r = store::lock(&txn, id).await?.ok_or_else(ApiError::not_found)?;
    let done = change(&mut r)?;
    let r = store::save(&txn, r).await?;
    let mut ev = event(actor, action, &r, Outcome::Success);
    ev.reason = done.reason;
    if let Some((subject, text)) = done.tell {
        notices::tell_requester(&txn, &r, subject, text).await?;
    }
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %r.id, action, "privacy request step");
    Ok(r)
}

/// Support confirms the requester is who the request says.
pub async fn verify(
    state: &PrivacyState,
    actor: &Actor,
    raw: &str,
    identity_check: Option<&str>,
) -> Result<Request, ApiError> {
    support_step(state, actor, "privacy.request.verify").await?;
    let check = identity_check
        .map(|c| text("identity_check", Some(c), 500))
        .transpose()?;
    let agent = actor.user_id.0;
    step(state, actor, raw, "privacy.request.verify", |r| {
        if status_of(r) != Status::Received {
            return Err(wrong_state(r, "verified"));
        }
        if let Some(c) = check {
            r.identity_check = Some(c);
        }
        r.status = Status::Verified.as_str().into();
        r.verified_by = Some(agent);
        Ok(Change::default())
    })
    .await
}

/// Support rejects a request (manifestly unfounded, identity not shown),
/// with the reason, which the requester is told.
pub async fn reject(state: &PrivacyState, actor: &Actor, raw: &str, reason: Option<&str>) -> Result<Request, ApiError> {
    support_step(state, actor, "privacy.request.reject").await?;
    let reason = text("reason", reason, 500)?;
    step(state, actor, raw, "privacy.request.reject", |r| {
        if !matches!(status_of(r), Status::Received | Status::Verified | Status::Held) {
            return Err(wrong_state(r, "rejected"));
        }
        r.status = Status::Rejected.as_str().into();
        r.reject_reason = Some(reason.clone());
        r.completed_at = Some(dentex_db::now());
        let tell = format!(
            "Your {} request {} was not carried out. The reason:\n\n{reason}\n\n\
             You may complain to a supervisory authority or seek a judicial remedy.\n",
            r.kind, r.id
        );
        Ok(Change {
            reason: None,
            tell: Some(("Your privacy request was not carried out", tell)),
        })
    })
    .await
}

/// Support extends the deadline once, by 1 or 2 months, within the first
/// month, with the reason; the requester is told before the original due
/// date. The new date counts from receipt: received on 31 January and
/// extended by two months, it is due on 30 April. `now` is the clock.
pub async fn extend(
    state: &PrivacyState,
    actor: &Actor,
    raw: &str,
    months: Option<i64>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Request, ApiError> {
    support_step(state, actor, "privacy.request.extend").await?;
    let months = match months {
        Some(m @ 1..=2) => m as u32,
        _ => return Err(invalid("months", "out_of_range", "1 or 2.")),
    };
    let reason = text("reason", reason, 500)?;
    step(state, actor, raw, "privacy.request.extend", |r| {
        if status_of(r).is_over() {
            return Err(wrong_state(r, "extended"));
        }
        if r.extended_at.is_some() {
            return Err(ApiError::new(
                &crate::codes::EXTENSION_REFUSED,
                "The deadline was already extended once.",
            ));
        }
        if super::deadlines::first_month_over(r.received_at, now) {
            return Err(ApiError::new(
                &crate::codes::EXTENSION_REFUSED,
                "The first month after receipt is over: the deadline can no longer be extended.",
            ));
        }
        let original = r.due_at;
        r.due_at = r
            .received_at
            .checked_add_months(Months::new(1 + months))
            .unwrap_or(r.due_at);
        r.extended_at = Some(now);
        r.extension_reason = Some(reason.clone());
        let tell = format!(
            "We need more time for your {} request {}: it will be answered by {} instead of {}.\nThe reason:\n\n{reason}\n",
            r.kind,
            r.id,
            notices::date(r.due_at),
            notices::date(original)
        );
        Ok(Change {
            reason: Some(format!("by {months} month(s)")),
            tell: Some(("Your privacy request needs more time", tell)),
        })
    })
    .await
}

/// Support carries out a verified (or held) request: an erasure is handed
/// to its job and answered `running` (a running one whose job gave up is
/// handed to a new job: every step is safe to run again); a patient's
/// restriction is put in force at once (`done`, until lifted). Other kinds
/// are carried out by hand for now (409 `privacy_kind_not_executable`).
pub async fn execute(state: &PrivacyState, actor: &Actor, raw: &str) -> Result<Request, ApiError> {
    support_step(state, actor, "privacy.request.execute").await?;
    let r = find(state, raw).await?;
    match Kind::parse(&r.kind) {
        Some(Kind::Restriction) => return super::restriction::apply(state, actor, r.id).await,
        Some(Kind::Erasure) => {}
        _ => {
            return Err(ApiError::new(
                &crate::codes::PRIVACY_KIND_NOT_EXECUTABLE,
                format!(
                    "A {} request is carried out by support by hand for now; reject or answer it outside the platform.",
                    r.kind
                ),
            ));
        }
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut r = store::lock(&txn, r.id).await?.ok_or_else(ApiError::not_found)?;
    if !matches!(status_of(&r), Status::Verified | Status::Held | Status::Running) {
        return Err(wrong_state(&r, "carried out"));
    }
    r.status = Status::Running.as_str().into();
    r.hold_reason = None;
    let r = store::save(&txn, r).await?;
    super::erasure::enqueue(&txn, r.id).await?;
    dentex_accounts::audit_in(&txn, event(actor, "privacy.request.execute", &r, Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %r.id, "erasure started");
    Ok(r)
}
