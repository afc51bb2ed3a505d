//! Cases: drafts, submission, cancellation, lists and the access log; and
//! the steps the market takes on a case inside its own transactions
//! ([`lock_open_to_quotes`], [`award`], [`reopen`]).

use super::{Allowed, audit_change, audit_read, lock_draft, today};
use crate::policy::CaseAction;
use crate::policy::{LAB_KINDS, Viewer};
use crate::state::CasesState;
use crate::store;
use chrono::NaiveDate;
use dentex_accounts::{Actor, policy as accounts_policy};
use dentex_db::entities::{audit_event, case, organization};
use dentex_db::now;
use dentex_domain::rx::{Rx, RxInput};
use dentex_domain::{CaseStatus, FieldError, OrgId, OrgRole};
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use sea_orm::{DatabaseTransaction, DbErr, Set};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The wording of the consent attestation a clinic confirms.
pub const CONSENT_VERSION: &str = "2026-11";
const MAX_NAMED_LABS: usize = 20;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// The clinic confirms it holds the patient's consent to share this case.
    pub patient_consent: bool,
}

/// A new draft. Only the patient reference is needed to start; the Rx, due
/// date and consent may follow (they are checked on submission).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The clinic to draft for; needed only when you belong to several.
    pub organization: Option<Uuid>,
    /// Your own reference for the patient (not their name), 1–64
    /// characters. Shown only to your clinic and, after award, the lab;
    /// never logged or mailed.
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub patient_ref: String,
    pub rx: Option<RxInput>,
    /// After today.
    pub due_date: Option<NaiveDate>,
    pub consent: Option<ConsentInput>,
}

/// The fields of a draft to change; each is optional, and `rx` replaces the
/// whole Rx. A case stays with the clinic that drafted it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub patient_ref: Option<String>,
    pub rx: Option<RxInput>,
    pub due_date: Option<NaiveDate>,
    pub consent: Option<ConsentInput>,
}

/// What a create and an update share.
struct CaseFields {
    patient_ref: Option<String>,
    rx: Option<RxInput>,
    due_date: Option<NaiveDate>,
    consent: Option<ConsentInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitTarget {
    /// Send to these labs by id.
    pub labs: Option<Vec<Uuid>>,
    /// Or open it to every verified lab that offers the services in your region.
    pub open: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitInput {
    pub target: SubmitTarget,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Why, 1 to 1000 characters (trimmed).
    /// (A reason of spaces only is refused: 422.)
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// A case as its viewer may see it, with the labs it was sent to by name
/// (for the clinic; empty for a lab).
pub struct Shown {
    pub case: case::Model,
    pub viewer: Viewer,
    pub labs: Vec<Uuid>,
}

async fn shown(state: &CasesState, case: case::Model, viewer: Viewer) -> Result<Shown, ApiError> {
    let labs = if viewer.is_clinic() {
        store::named_labs(&state.db, case.id).await?
    } else {
        Vec::new()
    };
    Ok(Shown { case, viewer, labs })
}

async fn reread(state: &CasesState, id: Uuid) -> Result<case::Model, ApiError> {
    store::find_case(&state.db, id).await?.ok_or_else(ApiError::not_found)
}

/// The field rules of a draft's patient reference and a cancellation's
/// reason, on their trimmed values.
#[derive(validator::Validate)]
struct PatientRef<'a> {
    #[validate(length(max = 64, code = "too_long", message = "At most 64 characters."))]
    patient_ref: &'a str,
}

#[derive(validator::Validate)]
struct Reason<'a> {
    #[validate(length(min = 1, max = 1000, code = "required", message = "Say why, in 1–1000 characters."))]
    reason: &'a str,
}

fn patient_ref_problem(r: Option<&str>, creating: bool) -> Option<FieldError> {
    match r {
        // Blank is missing (hand-written: a presence, not a length).
        Some("") => Some(FieldError::new(
            "patient_ref",
            "required",
            "Give the case your reference for the patient (not the patient's name).",
        )),
        Some(patient_ref) => dentex_accounts::validate::field_errors(&PatientRef { patient_ref })
            .into_iter()
            .next(),
        None if creating => Some(FieldError::new(
            "patient_ref",
            "required",
            "Give the case your reference for the patient (not the patient's name).",
        )),
        None => None,
    }
}

/// Checks and applies the fields of a draft; every problem at once.
fn apply_input(input: CaseFields, actor: &Actor, am: &mut case::ActiveModel, creating: bool) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let patient_ref = input.patient_ref.map(|r| r.trim().to_owned());
    match patient_ref_problem(patient_ref.as_deref(), creating) {
        Some(e) => errors.push(e),
        None => {
            if let Some(r) = patient_ref {
                am.patient_ref = Set(r);
            }
        }
    }
    if let Some(raw) = input.rx {
        match raw.parse("rx") {
            Ok(rx) => am.rx = Set(serde_json::to_string(&rx).map_err(ApiError::internal)?),
            Err(e) => errors.extend(e),
        }
    }
    if let Some(d) = input.due_date {
        if d <= today() {
            errors.push(FieldError::new(
                "due_date",
                "not_in_future",
                "The due date must be after today.",
            ));
        } else {
            am.due_date = Set(Some(d));
        }
    }
    if let Some(c) = input.consent {
        let given = c.patient_consent;
        am.consent_by = Set(given.then_some(actor.user_id.0));
        am.consent_at = Set(given.then(now));
        am.consent_version = Set(given.then(|| CONSENT_VERSION.to_owned()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The clinic a new draft is for: the one named, or the caller's only clinic.
async fn drafting_clinic(
    state: &CasesState,
    actor: &Actor,
    named: Option<Uuid>,
) -> Result<organization::Model, ApiError> {
    let mine: Vec<Uuid> = actor.memberships.iter().map(|(o, _)| o.0).collect();
    let mut clinics = store::organizations(&state.db, mine).await?;
    clinics.retain(|o| o.kind == "clinic");
    let problem = |code, msg| ApiError::validation(vec![FieldError::new("organization", code, msg)]);
    match named {
        Some(id) => clinics
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| problem("not_your_clinic", "Draft for a clinic you belong to.")),
        None => match clinics.len() {
            1 => clinics.into_iter().next().ok_or_else(ApiError::not_found),
            0 => Err(accounts_policy::forbidden("Only members of a clinic draft cases.")),
            _ => Err(problem("required", "You belong to several clinics: say which one.")),
        },
    }
}

/// Drafts a case for the actor's clinic.
pub async fn create(state: &CasesState, actor: &Actor, input: NewCase) -> Result<Shown, ApiError> {
    accounts_policy::require_full_session(actor)?;
    let clinic = drafting_clinic(state, actor, input.organization).await?;
    let t = now();
    let mut am = case::ActiveModel {
        id: Set(Uuid::now_v7()),
        clinic_org_id: Set(clinic.id),
        region: Set(clinic.region.clone()),
        status: Set(CaseStatus::Draft.as_str().into()),
        patient_ref: Set(String::new()),
        rx: Set(serde_json::to_string(&Rx::default()).map_err(ApiError::internal)?),
        due_date: Set(None),
        consent_by: Set(None),
        consent_at: Set(None),
        consent_version: Set(None),
        open_to_all: Set(false),
        cancel_reason: Set(None),
        created_by: Set(actor.user_id.0),
        created_at: Set(t),
        updated_at: Set(t),
        submitted_at: Set(None),
        cancelled_at: Set(None),
        awarded_lab_org_id: Set(None),
        restricted_at: Set(None),
        restricted_by: Set(None),
    };
    let fields = CaseFields {
        patient_ref: Some(input.patient_ref),
        rx: input.rx,
        due_date: input.due_date,
        consent: input.consent,
    };
    apply_input(fields, actor, &mut am, true)?;
    let viewer = Viewer::Clinic {
        org: clinic.id,
        role: actor.role_in(OrgId(clinic.id)).unwrap_or(OrgRole::Member),
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let c = store::insert_case(&txn, am).await?;
    audit_change(&txn, actor, &c, viewer, "case.create", None).await?;
    txn.commit().await?;
    Ok(Shown {
        case: c,
        viewer,
        labs: Vec::new(),
    })
}

/// A case the actor sees, audited as read.
pub async fn read(state: &CasesState, actor: &Actor, allowed: &Allowed) -> Result<Shown, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::Read)?;
    let c = c.clone();
    audit_read(state, actor, &c, v, "case.read", None).await?;
    shown(state, c, v).await
}

/// Changes a draft (`rx` replaces the whole Rx).
pub async fn update(state: &CasesState, actor: &Actor, allowed: &Allowed, input: CasePatch) -> Result<Shown, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::Update)?;
    let c = c.clone();
    let id = c.id;
    let mut am: case::ActiveModel = c.into();
    let fields = CaseFields {
        patient_ref: input.patient_ref,
        rx: input.rx,
        due_date: input.due_date,
        consent: input.consent,
    };
    apply_input(fields, actor, &mut am, false)?;
    am.updated_at = Set(now());
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_draft(&txn, id).await?;
    let c = store::update_case(&txn, am).await?;
    audit_change(&txn, actor, &c, v, "case.update", None).await?;
    txn.commit().await?;
    shown(state, c, v).await
}

/// The problems of a submission's target (named labs, or open to all).
async fn target_problems(state: &CasesState, open: bool, labs: &[Uuid]) -> Result<Vec<FieldError>, ApiError> {
    let mut errors = Vec::new();
    if open != labs.is_empty() {
        errors.push(FieldError::new(
            "target",
            "one_target",
            "Either name labs (`labs`) or open the case to all (`open: true`).",
        ));
    }
    if labs.len() > MAX_NAMED_LABS {
        errors.push(FieldError::new(
            "target.labs",
            "too_many",
            format!("Name at most {MAX_NAMED_LABS} labs, or open the case to all."),
        ));
    }
    let mut seen = Vec::new();
    for (i, lab) in labs.iter().enumerate().take(MAX_NAMED_LABS) {
        let ok = match store::organization(&state.db, *lab).await? {
            Some(o) if LAB_KINDS.contains(&o.kind.as_str()) && o.suspended_at.is_none() => {
                dentex_accounts::verification::status(&state.db, &o, today())
                    .await?
                    .verified
            }
            _ => false,
        };
        if !ok || seen.contains(lab) {
            errors.push(FieldError::new(
                format!("target.labs[{i}]"),
                "lab_not_available",
                "Name each verified lab once (see GET /api/v1/labs).",
            ));
        }
        seen.push(*lab);
    }
    Ok(errors)
}

/// What a draft still lacks before it can be sent.
async fn draft_problems(txn: &DatabaseTransaction, c: &case::Model) -> Result<Vec<FieldError>, ApiError> {
    let rx: Rx = serde_json::from_str(&c.rx).unwrap_or_default();
    let mut errors = rx.check_complete("rx");
    if c.patient_ref.trim().is_empty() {
        errors.push(FieldError::new(
            "patient_ref",
            "required",
            "Give the patient reference.",
        ));
    }
    match c.due_date {
        None => errors.push(FieldError::new("due_date", "required", "Give a due date.")),
        Some(d) if d <= today() => errors.push(FieldError::new(
            "due_date",
            "not_in_future",
            "The due date must be after today.",
        )),
        Some(_) => {}
    }
    if c.consent_at.is_none() {
        errors.push(FieldError::new(
            "consent.patient_consent",
            "required",
            "Confirm that you hold the patient's consent to share this case.",
        ));
    }
    if store::count_scans(txn, c.id).await? == 0 {
        errors.push(FieldError::new(
            "files",
            "scan_required",
            "Upload at least one scan (STL, PLY or OBJ).",
        ));
    }
    Ok(errors)
}

/// Sends a draft: to named labs, or open to every verified lab that offers
/// the services it needs in the clinic's region. Refuses an incomplete case
/// with every problem and its field.
pub async fn submit(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    input: SubmitInput,
) -> Result<Shown, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::Submit)?;
    let c = c.clone();
    let clinic = store::organization(&state.db, c.clinic_org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    accounts_policy::require_verified(&state.db, &clinic, today()).await?;
    // The target first (it does not depend on the draft).
    let open = input.target.open.unwrap_or(false);
    let labs = input.target.labs.unwrap_or_default();
    let target_errors = target_problems(state, open, &labs).await?;
    // Then the draft, checked under its lock: an edit, upload or delete
    // cannot slip in between the checks and the change of status.
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_draft(&txn, c.id).await?;
    let c = store::find_case(&txn, c.id).await?.ok_or_else(ApiError::not_found)?;
    let mut errors = draft_problems(&txn, &c).await?;
    errors.extend(target_errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    store::mark_submitted(&txn, c.id, open, &labs).await?;
    // Open to all: every lab it reaches hears of it (the gate drops those
    // that are not verified when it delivers).
    let told = if open {
        let reread = store::find_case(&txn, c.id).await?.ok_or_else(ApiError::not_found)?;
        crate::policy::open_labs(&txn, &reread).await?
    } else {
        labs.clone()
    };
    case_moved(&txn, &c, &told, "case.submitted", CaseStatus::Submitted).await?;
    audit_change(&txn, actor, &c, v, "case.submit", None).await?;
    txn.commit().await?;
    dentex_events::committed();
    Ok(Shown {
        case: reread(state, c.id).await?,
        viewer: v,
        labs,
    })
}

/// Cancels a case before award, with a reason. The labs involved (named, or
/// with a quote on it: the crates above say which, through the hooks, and
/// end what they hold) are told by mail: the case id only, never the
/// patient reference or the reason.
pub async fn cancel(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    input: CancelInput,
) -> Result<Shown, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::Cancel)?;
    let c = c.clone();
    let reason = input.reason.trim().to_owned();
    // The length as sent (the schema's), the content once trimmed.
    let checked = if input.reason.chars().count() > 1000 {
        input.reason.as_str()
    } else {
        reason.as_str()
    };
    let problems = dentex_accounts::validate::field_errors(&Reason { reason: checked });
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let labs = store::named_labs(&state.db, c.id).await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    // Take the row first, then read its status under the lock: whether the
    // labs are told depends on what it was at this moment.
    if !store::lock_case_in(&txn, c.id, &[CaseStatus::Draft, CaseStatus::Submitted]).await? {
        return Err(ApiError::new(
            &crate::codes::CASE_NOT_CANCELABLE,
            "The case is already cancelled, or awarded: an awarded case's order is cancelled instead.",
        ));
    }
    let was = store::find_case(&txn, c.id)
        .await?
        .map(|m| m.status)
        .unwrap_or_default();
    store::mark_cancelled(&txn, c.id, reason).await?;
    let mut involved = labs.clone();
    for lab in state.hooks.cancelled(&txn, c.id).await? {
        if !involved.contains(&lab) {
            involved.push(lab);
        }
    }
    case_moved(&txn, &c, &involved, "case.canceled", CaseStatus::Canceled).await?;
    if CaseStatus::parse(&was) == Some(CaseStatus::Submitted) {
        tell_labs(&txn, c.id, involved).await?;
    }
    audit_change(&txn, actor, &c, v, "case.cancel", None).await?;
    txn.commit().await?;
    dentex_events::committed();
    Ok(Shown {
        case: reread(state, c.id).await?,
        viewer: v,
        labs,
    })
}

/// The live event of a case's move, for its clinic and the labs named (in
/// the move's transaction, before its audit row).
pub(crate) async fn case_moved(
    txn: &DatabaseTransaction,
    c: &case::Model,
    labs: &[Uuid],
    kind: &'static str,
    status: CaseStatus,
) -> Result<(), ApiError> {
    let mut to = vec![dentex_events::Recipient::org(c.clinic_org_id)];
    to.extend(labs.iter().map(|l| dentex_events::Recipient::org(*l)));
    // A cancellation reaches the labs that lose the case with it: not gated
    // by the case (ids only).
    let gated = (status != CaseStatus::Canceled).then_some(c.id);
    let mut out = dentex_events::Outbox::new();
    out.push(
        to,
        kind,
        gated,
        &serde_json::json!({"case_id": c.id, "status": status.as_str()}),
    );
    out.write_in(txn).await?;
    Ok(())
}

/// Queues the cancellation notice to the owners and admins of each lab, in
/// the cancellation's transaction.
async fn tell_labs(txn: &DatabaseTransaction, case: Uuid, labs: Vec<Uuid>) -> Result<(), ApiError> {
    for lab in labs {
        for to in dentex_accounts::sweep::managers(txn, lab).await? {
            let mail = dentex_mail::templates::case_cancelled(to, &case.to_string());
            Queue::enqueue_with(txn, dentex_mail::JOB_KIND, &mail, EnqueueOptions::default())
                .await
                .map_err(ApiError::internal)?;
        }
    }
    Ok(())
}

/// A page of who read or changed the case and its files, and when (the
/// clinic only), newest first.
pub async fn access_log(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    page: dentex_http::paging::Page<i64>,
) -> Result<AccessPage, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::AccessLog)?;
    let rows = store::access_log(&state.db, c, page.after, page.limit + 1).await?;
    audit_read(state, actor, c, v, "case.access_log", None).await?;
    let (rows, next_cursor) = dentex_http::paging::split(rows, page.limit, |r| r.seq);
    let people: Vec<Uuid> = rows.iter().filter_map(|r| r.actor_id).collect();
    let orgs: Vec<Uuid> = rows.iter().filter_map(acting_org).collect();
    Ok(AccessPage {
        people: dentex_accounts::service::directory::display_names(&state.db, people).await?,
        organizations: dentex_accounts::service::directory::organization_names(&state.db, orgs).await?,
        rows,
        next_cursor,
    })
}

/// A page of the access log, with the names of the people and
/// organizations it mentions.
pub struct AccessPage {
    pub rows: Vec<audit_event::Model>,
    pub people: std::collections::HashMap<Uuid, String>,
    pub organizations: std::collections::HashMap<Uuid, String>,
    pub next_cursor: Option<String>,
}

/// The organization a reader acted for, when it was not the clinic. Rows
/// written before `acting_org_id` existed named the lab in `reason`
/// ("lab {id}", "lab {id}: why").
pub fn acting_org(r: &audit_event::Model) -> Option<Uuid> {
    r.acting_org_id.or_else(|| {
        let rest = r.reason.as_deref()?.strip_prefix("lab ")?;
        Uuid::parse_str(rest.split(':').next().unwrap_or(rest)).ok()
    })
}

// ------------------------------------------- steps the market takes on a case

/// Takes the case's row in the market's transaction while it is still open
/// to quotes (`submitted`): an award or a cancellation waits, or has won.
/// `false` when it is no longer open.
pub async fn lock_open_to_quotes(txn: &DatabaseTransaction, case: Uuid) -> Result<bool, DbErr> {
    store::lock_case_in(txn, case, &[CaseStatus::Submitted]).await
}

/// The award, in the market's transaction: `submitted → awarded` to `lab`.
/// `false` when the case was awarded or cancelled first.
pub async fn award(txn: &DatabaseTransaction, case: Uuid, lab: Uuid) -> Result<bool, DbErr> {
    store::move_case(txn, case, CaseStatus::Submitted, CaseStatus::Awarded, Some(lab)).await
}

/// The award undone, in the market's transaction (its order was cancelled):
/// `awarded → submitted`, no awarded lab. `false` when it was not awarded.
pub async fn reopen(txn: &DatabaseTransaction, case: Uuid) -> Result<bool, DbErr> {
    store::move_case(txn, case, CaseStatus::Awarded, CaseStatus::Submitted, None).await
}

/// The labs a case was sent to by name (chat makes their threads).
pub async fn named_labs(state: &CasesState, case: Uuid) -> Result<Vec<Uuid>, ApiError> {
    Ok(store::named_labs(&state.db, case).await?)
}

/// Whether `lab` still has the case, decided under a shared lock on its row
/// in `txn` (a chat message posted in the lab's thread commits before an
/// award or a cancellation, or sees it): the case is submitted, or awarded
/// to this lab.
pub async fn still_with_lab(txn: &DatabaseTransaction, case: Uuid, lab: Uuid) -> Result<bool, ApiError> {
    let Some(c) = store::case_shared(txn, case).await? else {
        return Ok(false);
    };
    Ok(match CaseStatus::parse(&c.status) {
        Some(CaseStatus::Submitted) => true,
        Some(CaseStatus::Awarded) => c.awarded_lab_org_id == Some(lab),
        Some(CaseStatus::Draft | CaseStatus::Canceled) | None => false,
    })
}
