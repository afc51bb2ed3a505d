//! The erasure job: one step per inventory target, re-querying when it
//! runs, safe to run again and to run twice at once (each phase locks the
//! request's row and reads it fresh).
//!
//! A patient's erasure has three phases. (1) In one transaction, with the
//! patient's case rows locked (an award takes the case row first, so it
//! waits, or the erasure waits for it): what would break an open order
//! holds the request with the reason; otherwise every crate's eraser runs,
//! the labs that received a case are told (each of its own cases), and the
//! objects still to remove are written down on the request. (2) The
//! objects go, every version. (3) The report is written and the request is
//! done. A retry after (1) finds the objects written down and goes on from
//! (2). A person's erasure is one transaction (their account holds no
//! objects); erasing the only owner of an organisation holds it. The daily
//! look tries held erasures again.

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
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const JOB: &str = "privacy.erase";

#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub request_id: Uuid,
}

/// What phase (1) leaves for (2) and (3), kept on the request as it runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    /// Objects still to remove.
    objects: Vec<String>,
    /// Unfinished uploads: (object key, the store's upload id).
    uploads: Vec<(String, String)>,
    targets: Vec<Erased>,
    notified: Vec<Uuid>,
    cases: usize,
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

fn system_event(r: &Request, action: &str, outcome: Outcome) -> AuditEvent {
    let mut ev = AuditEvent::new(action, "privacy_request", outcome);
    ev.actor_kind = ActorKind::System;
    ev.org_id = r.clinic_org_id.map(OrgId);
    ev.resource_id = Some(r.id.to_string());
    ev
}

/// A held erasure tried again (the daily look): back to running, queued,
/// audited.
pub async fn resume(state: &PrivacyState, id: Uuid) -> Result<(), ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut r) = store::lock(&txn, id).await? else {
        return Ok(());
    };
    if r.status != Status::Held.as_str() {
        return Ok(());
    }
    r.status = Status::Running.as_str().into();
    let r = store::save(&txn, r).await?;
    enqueue(&txn, id).await?;
    dentex_accounts::audit_in(&txn, system_event(&r, "privacy.erasure.resume", Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(())
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
        Some(Subject::Patient) => patient(state, id).await,
        _ => person(state, id).await,
    }
}

/// Holds `r` (locked in `txn`) with `why`. The requester and support are
/// told the first time; a daily retry that finds the same reason says
/// nothing new.
async fn hold(state: &PrivacyState, txn: &DatabaseTransaction, mut r: Request, why: String) -> Result<(), ApiError> {
    let again = r.hold_reason.as_deref() == Some(why.as_str());
    r.status = Status::Held.as_str().into();
    r.hold_reason = Some(why.clone());
    let r = store::save(txn, r).await?;
    if !again {
        let text = format!(
            "The erasure {} waits: {why}\nIt is tried again every day and runs as soon as nothing holds it.\n",
            r.id
        );
        notices::tell_requester(txn, &r, "Your erasure request waits", text.clone()).await?;
        notices::tell_support(txn, state.config.support_email.as_deref(), "Privacy request held", text).await?;
    }
    let mut ev = system_event(&r, "privacy.erasure.hold", Outcome::Denied);
    ev.reason = Some(why);
    dentex_accounts::audit_in(txn, ev).await?;
    tracing::info!(privacy_request.id = %r.id, "erasure held");
    Ok(())
}

/// The request, locked, if it is still running.
async fn running(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<Request>, ApiError> {
    Ok(store::lock(txn, id)
        .await?
        .filter(|r| r.status == Status::Running.as_str()))
}

async fn patient(state: &PrivacyState, id: Uuid) -> Result<(), ApiError> {
    let progress = match store::find(&state.db, id)
        .await?
        .and_then(|r| r.report)
        .and_then(|j| serde_json::from_str::<Progress>(&j).ok())
    {
        Some(p) => p,
        None => match erase_patient_rows(state, id).await? {
            Some(p) => p,
            None => return Ok(()),
        },
    };
    // (2) The objects, every version; a missing one is already gone.
    for (key, upload) in &progress.uploads {
        state
            .store
            .abort_multipart(key, upload)
            .await
            .map_err(ApiError::internal)?;
    }
    let mut objects = 0;
    for k in progress.objects.iter().chain(progress.uploads.iter().map(|(k, _)| k)) {
        state.store.erase(k).await.map_err(ApiError::internal)?;
        objects += 1;
    }
    // (3) The report.
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(r) = running(&txn, id).await? else {
        return Ok(());
    };
    let mut targets = vec![Erased::new("{region}/{clinic}/{case}/{file}", "removed", objects)];
    targets.extend(progress.targets);
    let report = Report::new(state, &r, targets, Kept::patient(), progress.notified, progress.cases);
    finish(&txn, r, &report).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(privacy_request.id = %id, cases = report.cases, "patient erased");
    Ok(())
}

/// Phase (1) of a patient's erasure; `None` when it was held (or is no
/// longer running).
async fn erase_patient_rows(state: &PrivacyState, id: Uuid) -> Result<Option<Progress>, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut r) = running(&txn, id).await? else {
        return Ok(None);
    };
    // Another run got here first (two jobs at once): go on from its list.
    if let Some(p) = r
        .report
        .as_deref()
        .and_then(|j| serde_json::from_str::<Progress>(j).ok())
    {
        return Ok(Some(p));
    }
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
    let found = dentex_cases::privacy::patient_cases(&txn, clinic, &refs).await?;
    let open = dentex_market::privacy::open_orders(&txn, &found.case_ids).await?;
    if let Some((order, status)) = open.first() {
        let why = format!(
            "order {order} is {status} ({} open order(s)); the erasure runs once they are completed or cancelled",
            open.len()
        );
        hold(state, &txn, r, why).await?;
        txn.commit().await?;
        state.queue.wake();
        return Ok(None);
    }
    let (quoted, orders) = dentex_market::privacy::case_parties(&txn, &found.case_ids).await?;
    let mut targets = Vec::new();
    targets.extend(dentex_chat::privacy::redact_cases(&txn, &found.case_ids).await?);
    targets.extend(dentex_market::privacy::clear_cases(&txn, &found.case_ids).await?);
    let refunds = dentex_payments::privacy::clear_refund_reasons(&txn, &orders).await?;
    targets.push(Erased::new("payment_refunds", "cleared", refunds));
    targets.extend(dentex_cases::privacy::erase_patient(&txn, &found.case_ids, &pseudonym).await?);
    let requests = store::pseudonymise_patient(&txn, clinic, &reference, &pseudonym).await?;
    targets.push(Erased::new("privacy_requests", "pseudonymised", requests));
    let notified = tell_labs(&txn, found.labs.into_iter().chain(quoted).collect()).await?;
    let progress = Progress {
        objects: found.objects,
        uploads: found.uploads,
        targets,
        notified,
        cases: found.case_ids.len(),
    };
    r.patient_ref = Some(pseudonym);
    r.details = None;
    r.report = Some(serde_json::to_string(&progress).map_err(ApiError::internal)?);
    store::save(&txn, r).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(Some(progress))
}

/// Tells each lab that received a case (Art. 19), naming only its own
/// cases; answers the labs told.
async fn tell_labs(txn: &DatabaseTransaction, mut pairs: Vec<(Uuid, Uuid)>) -> Result<Vec<Uuid>, ApiError> {
    use std::collections::BTreeMap;
    pairs.sort();
    pairs.dedup();
    let mut by_lab: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (case, lab) in pairs {
        by_lab.entry(lab).or_default().push(case);
    }
    for (lab, cases) in &by_lab {
        let text = format!(
            "At the request of the clinic that sent them, the patient data of these cases was erased on Dentex \
             (GDPR Art. 17 and 19):\n\n{}\n\nPlease erase any copies you keep outside Dentex \
             (downloaded scans, printouts), unless the law requires you to keep them.\n",
            cases
                .iter()
                .map(|c| format!("- case {c}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        notices::tell_managers(txn, *lab, "Patient data erased", &text).await?;
    }
    Ok(by_lab.into_keys().collect())
}

async fn person(state: &PrivacyState, id: Uuid) -> Result<(), ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(mut r) = running(&txn, id).await? else {
        return Ok(());
    };
    let Some(user) = r.subject_user_id else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a person request without its person"
        )));
    };
    let sole = dentex_accounts::privacy::sole_owner_of(&txn, user).await?;
    if let Some(org) = sole.first() {
        let why = format!(
            "the person is the only owner of organisation {org}; the erasure runs once another owner is named \
             or support suspends the organisation"
        );
        hold(state, &txn, r, why).await?;
        txn.commit().await?;
        state.queue.wake();
        return Ok(());
    }
    let u = dentex_accounts::store::users::by_id(&txn, user).await?;
    let (email, name) = u.map(|u| (u.email, u.display_name)).unwrap_or_default();
    let erased_already = email.ends_with("@erased.invalid");
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
    finish(&txn, r, &report).await?;
    txn.commit().await?;
    // Sent now, not queued: a queued mail would keep the address the
    // erasure just removed.
    if !erased_already && let Ok(to) = dentex_domain::Email::parse(&email) {
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

/// Marks `r` (locked in `txn`) done with its report, audited.
async fn finish(txn: &DatabaseTransaction, mut r: Request, report: &Report) -> Result<(), ApiError> {
    r.status = Status::Done.as_str().into();
    r.completed_at = Some(dentex_db::now());
    r.hold_reason = None;
    r.report = Some(serde_json::to_string(report).map_err(ApiError::internal)?);
    let r = store::save(txn, r).await?;
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
    dentex_accounts::audit_in(txn, ev).await
}
