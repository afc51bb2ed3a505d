//! The erasure job: one step per inventory target, re-querying when it
//! runs, safe to run again (a retry finds what a failed run left: the
//! patient by reference or by the pseudonym it already got, objects that
//! are already gone). What would break an open order, or leave an
//! organisation with no owner, holds the request with the reason; the
//! daily look tries held erasures again.

use crate::model::{Status, Subject};
use crate::notices;
use crate::report::{Kept, Report};
use crate::state::PrivacyState;
use crate::store::{self, Request};
use dentex_audit::{ActorKind, AuditEvent, Outcome};
use dentex_domain::OrgId;
use dentex_domain::privacy::Erased;
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const JOB: &str = "privacy.erase";

#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub request_id: Uuid,
}

pub(crate) async fn enqueue<C: ConnectionTrait>(txn: &C, request_id: Uuid) -> Result<(), ApiError> {
    let opts = EnqueueOptions {
        max_attempts: 10,
        ..EnqueueOptions::default()
    };
    Queue::enqueue_with(txn, JOB, &Job { request_id }, opts)
        .await
        .map(|_| ())
        .map_err(ApiError::internal)
}

/// A held erasure tried again (the daily look): back to running, queued.
pub async fn resume(state: &PrivacyState, id: Uuid) -> Result<(), ApiError> {
    let Some(mut r) = store::find(&state.db, id).await? else {
        return Ok(());
    };
    r.status = Status::Running.as_str().into();
    let txn = dentex_db::begin_write(&state.db).await?;
    if store::save_if(&txn, r, Status::Held.as_str()).await?.is_some() {
        enqueue(&txn, id).await?;
    }
    txn.commit().await?;
    state.queue.wake();
    Ok(())
}

fn system_event(r: &Request, action: &str, outcome: Outcome) -> AuditEvent {
    let mut ev = AuditEvent::new(action, "privacy_request", outcome);
    ev.actor_kind = ActorKind::System;
    ev.org_id = r.clinic_org_id.map(OrgId);
    ev.resource_id = Some(r.id.to_string());
    ev
}

/// The pseudonym a patient's reference becomes (one per clinic and
/// reference under the process's key).
pub fn patient_pseudonym(state: &PrivacyState, clinic: Uuid, patient_ref: &str) -> String {
    format!(
        "erased-{}",
        state.pseudonyms.of("patient", &format!("{clinic}\n{patient_ref}"))
    )
}

/// Runs the erasure of request `id` (the job's body).
pub async fn run(state: &PrivacyState, id: Uuid) -> Result<(), ApiError> {
    let Some(r) = store::find(&state.db, id).await? else {
        return Ok(());
    };
    if r.status != Status::Running.as_str() {
        return Ok(());
    }
    match Subject::parse(&r.subject) {
        Some(Subject::Patient) => patient(state, r).await,
        _ => person(state, r).await,
    }
}

/// Holds `r` with `why`; the requester and support are told.
async fn hold(state: &PrivacyState, mut r: Request, why: String) -> Result<(), ApiError> {
    r.status = Status::Held.as_str().into();
    r.hold_reason = Some(why.clone());
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(r) = store::save_if(&txn, r, Status::Running.as_str()).await? else {
        return Ok(());
    };
    let text = format!(
        "The erasure {} waits: {why}\nIt is tried again every day and runs as soon as nothing holds it.\n",
        r.id
    );
    notices::tell_requester(&txn, &r, "Your erasure request waits", text.clone()).await?;
    notices::tell_support(
        &txn,
        state.config.support_email.as_deref(),
        "Privacy request held",
        text,
    )
    .await?;
    let mut ev = system_event(&r, "privacy.erasure.hold", Outcome::Denied);
    ev.reason = Some(why);
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %r.id, "erasure held");
    Ok(())
}

/// Deletes each object (every version the store keeps), counting them.
async fn remove_objects(state: &PrivacyState, keys: &[String], uploads: &[(String, String)]) -> Result<u64, ApiError> {
    for (key, upload) in uploads {
        state
            .store
            .abort_multipart(key, upload)
            .await
            .map_err(ApiError::internal)?;
    }
    let mut n = 0;
    for k in keys.iter().chain(uploads.iter().map(|(k, _)| k)) {
        state.store.erase(k).await.map_err(ApiError::internal)?;
        n += 1;
    }
    Ok(n)
}

async fn patient(state: &PrivacyState, mut r: Request) -> Result<(), ApiError> {
    let (Some(clinic), Some(reference)) = (r.clinic_org_id, r.patient_ref.clone()) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a patient request without its patient"
        )));
    };
    let pseudonym = if reference.starts_with("erased-") {
        reference.clone()
    } else {
        patient_pseudonym(state, clinic, &reference)
    };
    let refs = vec![reference.clone(), pseudonym.clone()];
    let found = dentex_cases::privacy::patient_cases(&state.db, clinic, &refs).await?;
    let open = dentex_market::privacy::open_orders(&state.db, &found.case_ids).await?;
    if let Some((order, status)) = open.first() {
        let why = format!(
            "order {order} is {status} ({} open order(s)); the erasure runs once they are completed or cancelled",
            open.len()
        );
        return hold(state, r, why).await;
    }
    let objects = remove_objects(state, &found.objects, &found.uploads).await?;
    let mut targets = vec![Erased::new("{region}/{clinic}/{case}/{file}", "removed", objects)];
    let txn = dentex_db::begin_write(&state.db).await?;
    targets.extend(dentex_chat::privacy::redact_cases(&txn, &found.case_ids).await?);
    targets.extend(dentex_market::privacy::clear_cases(&txn, &found.case_ids).await?);
    targets.extend(dentex_cases::privacy::erase_patient(&txn, &found.case_ids, &pseudonym).await?);
    let requests = store::pseudonymise_patient(&txn, clinic, &reference, &pseudonym).await?;
    targets.push(Erased::new("privacy_requests", "pseudonymised", requests));
    let report = Report::new(
        state,
        &r,
        targets,
        Kept::patient(),
        found.labs.clone(),
        found.case_ids.len(),
    );
    r.patient_ref = Some(pseudonym);
    r.details = None;
    finish(state, &txn, r, &report).await?;
    for lab in &found.labs {
        let mails = dentex_accounts::sweep::managers(&txn, *lab).await?;
        let text = format!(
            "At the request of the clinic that sent them, the patient data of these cases was erased on Dentex \
             (GDPR Art. 17 and 19):\n\n{}\n\nPlease erase any copies you keep outside Dentex \
             (downloaded scans, printouts), unless the law requires you to keep them.\n",
            found
                .case_ids
                .iter()
                .map(|c| format!("- case {c}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        notices::queue(
            &txn,
            mails
                .into_iter()
                .map(|to| notices::mail(to, "Patient data erased".into(), text.clone()))
                .collect(),
        )
        .await?;
    }
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %report.request_id, cases = found.case_ids.len(), "patient erased");
    Ok(())
}

async fn person(state: &PrivacyState, mut r: Request) -> Result<(), ApiError> {
    let Some(user) = r.subject_user_id else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a person request without its person"
        )));
    };
    let sole = dentex_accounts::privacy::sole_owner_of(&state.db, user).await?;
    if let Some(org) = sole.first() {
        let why = format!(
            "the person is the only owner of organisation {org}; the erasure runs once another owner is named \
             or support suspends the organisation"
        );
        return hold(state, r, why).await;
    }
    let u = dentex_accounts::store::users::by_id(&state.db, user).await?;
    let (email, name) = u.map(|u| (u.email, u.display_name)).unwrap_or_default();
    let erased_already = email.ends_with("@erased.invalid");
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut targets = Vec::new();
    if !erased_already {
        // Mail to the person; mail that names them (finished only: a name
        // is not unique, someone else's waiting mail stays).
        let mut mail_jobs = dentex_jobs::privacy::forget(&txn, &email, false).await?;
        if name.trim().chars().count() >= 4 {
            mail_jobs += dentex_jobs::privacy::forget(&txn, name.trim(), true).await?;
        }
        targets.push(Erased::new("jobs", "removed", mail_jobs));
        let answers = dentex_market::privacy::forget_person(&txn, user, &email).await?;
        targets.push(Erased::new("idempotency_keys", "removed", answers));
    }
    targets.extend(dentex_accounts::privacy::erase_person(&txn, user, &state.pseudonyms).await?);
    targets.push(Erased::new(
        "privacy_requests",
        "cleared",
        store::clear_person(&txn, user).await?,
    ));
    let report = Report::new(state, &r, targets, Kept::person(), Vec::new(), 0);
    r.details = None;
    finish(state, &txn, r, &report).await?;
    txn.commit().await?;
    // Sent now, not queued: a queued mail would keep the address the
    // erasure just removed.
    if let Ok(to) = dentex_domain::Email::parse(&email) {
        let m = notices::mail(
            to,
            "Your account was erased".into(),
            format!(
                "Your Dentex account was erased as you asked (request {}). What was kept, and why, is in the report \
                 given to support; ask them for it at any time.\n",
                report.request_id
            ),
        );
        if state.mailer.send(&m).await.is_err() {
            tracing::warn!(privacy_request.id = %report.request_id, "erasure confirmation not delivered");
        }
    }
    tracing::info!(privacy_request.id = %report.request_id, "person erased");
    Ok(())
}

/// Marks `r` done with its report, audited, in `txn`.
async fn finish(
    state: &PrivacyState,
    txn: &sea_orm::DatabaseTransaction,
    mut r: Request,
    report: &Report,
) -> Result<(), ApiError> {
    r.status = Status::Done.as_str().into();
    r.completed_at = Some(dentex_db::now());
    r.report = Some(serde_json::to_string(report).map_err(ApiError::internal)?);
    let Some(r) = store::save_if(txn, r, Status::Running.as_str()).await? else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the request moved during its erasure"
        )));
    };
    if r.subject == Subject::Patient.as_str() {
        notices::tell_requester(
            txn,
            &r,
            "Erasure done",
            format!(
                "The erasure {} is done: {} case(s). The report: GET /api/v1/privacy/requests/{}\n",
                r.id, report.cases, r.id
            ),
        )
        .await?;
    }
    let mut ev = system_event(&r, "privacy.erasure.done", Outcome::Success);
    ev.reason = Some(format!(
        "{} target(s), {} kept",
        report.targets.len(),
        report.kept.len()
    ));
    let _ = state;
    dentex_accounts::audit_in(txn, ev).await
}
