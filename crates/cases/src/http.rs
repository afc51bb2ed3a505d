//! The case and file routes (`/api/v1/cases…`).

use crate::access::{self, LAB_KINDS, Viewer};
use crate::files::{self, Kind};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_accounts::{Principal, policy};
use dentex_audit::{AuditEvent, AuditLog, Outcome};
use dentex_db::entities::{audit_event, case, case_file, case_lab, case_upload, organization, quote};
use dentex_db::now;
use dentex_domain::CaseStatus;
use dentex_domain::rx::{Rx, RxInput};
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_storage::{ObjectStore, StorageError};
use futures_util::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The wording of the consent attestation a clinic confirms.
pub const CONSENT_VERSION: &str = "2026-11";
const PATIENT_REF_MAX: usize = 64;
const REASON_MAX: usize = 1000;
const FILE_NAME_MAX: usize = 255;
const MAX_NAMED_LABS: usize = 20;

#[derive(Debug, Clone, Copy)]
pub struct CaseLimits {
    /// Largest single upload.
    pub upload_max_bytes: u64,
    /// Photos are held whole while their metadata is removed.
    pub photo_max_bytes: u64,
    /// All files of one organisation together.
    pub org_quota_bytes: u64,
    /// Serve downloads through the gateway instead of a presigned redirect.
    pub stream_downloads: bool,
    /// Part size of presigned multipart uploads (at least 5 MiB).
    pub part_size: u64,
    /// How long a presigned part URL works.
    pub upload_url_ttl: Duration,
    /// How long a presigned upload may stay unfinished before the sweep aborts it.
    pub upload_expiry: Duration,
    pub mesh: dentex_mesh::Limits,
}

#[derive(Clone)]
pub struct CasesState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    pub store: ObjectStore,
    pub limits: CaseLimits,
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_case)
        .service(list_cases)
        .service(get_case)
        .service(update_case)
        .service(submit_case)
        .service(cancel_case)
        .service(upload_file)
        .service(list_files)
        .service(get_file)
        .service(delete_file)
        .service(file_content)
        .service(file_thumbnail)
        .service(access_log);
}

// ---------------------------------------------------------------- wire types

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// The clinic confirms it holds the patient's consent to share this case.
    pub patient_consent: bool,
}

/// A draft, or the fields of a draft to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    /// The clinic to draft for; needed only when you belong to several.
    pub organization: Option<Uuid>,
    /// Your own reference for the patient (not their name). Shown only to
    /// your clinic and, after award, the lab; never logged or mailed.
    pub patient_ref: Option<String>,
    /// `{tooth_notation?: fdi|universal, items: [{teeth, pontics?, restoration,
    /// material, shade, notes}], notes}`.
    #[schema(value_type = Object)]
    pub rx: Option<serde_json::Value>,
    pub due_date: Option<NaiveDate>,
    pub consent: Option<ConsentInput>,
}

#[derive(Serialize, ToSchema)]
pub struct Consent {
    pub by: Uuid,
    pub at: DateTime<Utc>,
    pub statement_version: String,
}

#[derive(Serialize, ToSchema)]
pub struct Target {
    pub open: bool,
    pub labs: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    pub clinic_id: Uuid,
    /// `draft`, `submitted`, `awarded` or `cancelled`.
    pub status: String,
    /// Only for the clinic and, once awarded, the lab.
    pub patient_ref: Option<String>,
    #[schema(value_type = Object)]
    pub rx: Rx,
    pub due_date: Option<NaiveDate>,
    pub consent: Option<Consent>,
    /// Where the case was sent (only for the clinic).
    pub target: Option<Target>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// `draft`, `submitted`, `awarded` or `cancelled`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u64>,
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
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct FileView {
    pub id: Uuid,
    pub case_id: Uuid,
    /// `scan`, `photo` or `document`.
    pub kind: String,
    pub content_type: String,
    /// For scans: `stl_binary`, `stl_ascii`, `ply_ascii`, `ply_binary_little_endian`, `ply_binary_big_endian`, `obj`.
    pub format: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    /// The name it was uploaded with (only for the clinic).
    pub name: Option<String>,
    /// `pending`, `done` or `failed` for scans; `not_applicable` otherwise.
    pub analysis_status: String,
    pub analysis_error: Option<String>,
    /// The mesh report (single-file view only).
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub items: Vec<FileView>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// The organisation the reader acted for, when it was not the clinic.
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLog {
    pub items: Vec<AccessEntry>,
}

// ------------------------------------------------------------------ helpers

pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(crate) use dentex_accounts::http::event_by as event;

pub(crate) async fn record(state: &CasesState, ev: AuditEvent) -> Result<(), ApiError> {
    state.audit.record(ev).await.map(|_| ()).map_err(ApiError::from)
}

/// Audits an action on a case (or one of its files: `file`), in the clinic's
/// chain, naming the lab the reader acted for.
pub(crate) async fn audit_case(
    state: &CasesState,
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    viewer: Viewer,
    action: &str,
    file: Option<Uuid>,
) -> Result<(), ApiError> {
    record(state, case_event(req, p, c, viewer, action, file)).await
}

/// Audits an action on a case inside the change's transaction `txn`: the
/// change and its row commit together or not at all. Call it last before
/// `commit`.
pub(crate) async fn audit_case_in(
    txn: &sea_orm::DatabaseTransaction,
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    viewer: Viewer,
    action: &str,
    file: Option<Uuid>,
) -> Result<(), ApiError> {
    dentex_accounts::http::record_in(txn, case_event(req, p, c, viewer, action, file)).await
}

/// The audit event of an action on a case or one of its files.
fn case_event(
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    viewer: Viewer,
    action: &str,
    file: Option<Uuid>,
) -> AuditEvent {
    let (ty, id) = match file {
        Some(f) => ("case_file", format!("{}/{f}", c.id)),
        None => ("case", c.id.to_string()),
    };
    let mut ev = event(req, p, action, ty, Outcome::Success);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(id);
    if let Viewer::Lab { org } = viewer {
        ev.acting_org_id = Some(OrgId(org));
    }
    ev
}

/// Loads a case the caller may see, or answers 404 (and audits the refusal
/// in the caller's own chain: probing leaves a trace, the other tenant's
/// trail is not written).
pub(crate) async fn load_case(
    state: &CasesState,
    req: &HttpRequest,
    p: &Principal,
    raw: &str,
    what: &str,
) -> Result<(case::Model, Viewer), ApiError> {
    policy::require_full_session(p)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => case::Entity::find_by_id(id).one(&state.db).await?,
        Err(_) => None,
    };
    let viewer = match &found {
        Some(c) => access::viewer(&state.db, p, c, today()).await?,
        None => None,
    };
    match (found, viewer) {
        (Some(c), Some(v)) => Ok((c, v)),
        _ => {
            let mut ev = event(req, p, "access.refused", "case", Outcome::Denied);
            ev.org_id = p.memberships.first().map(|(o, _)| *o);
            ev.resource_id = Uuid::parse_str(raw).ok().map(|u| u.to_string());
            ev.reason = Some(format!("{what}: not_found"));
            record(state, ev).await?;
            Err(ApiError::not_found())
        }
    }
}

/// The clinic's own changes need the clinic; labs get 404 for them as for
/// anything they may not see... except that they may see the case, so they
/// are told plainly.
pub(crate) async fn require_clinic(
    state: &CasesState,
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    v: Viewer,
) -> Result<(), ApiError> {
    if v.is_clinic() {
        return Ok(());
    }
    let mut ev = event(req, p, "access.refused", "case", Outcome::Denied);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(c.id.to_string());
    ev.acting_org_id = Some(OrgId(v.org()));
    ev.reason = Some("clinic only".into());
    record(state, ev).await?;
    Err(policy::forbidden("Only the clinic that owns the case may do this."))
}

pub(crate) fn require_draft(c: &case::Model) -> Result<(), ApiError> {
    if CaseStatus::parse(&c.status) == Some(CaseStatus::Draft) {
        Ok(())
    } else {
        Err(ApiError::new(
            &crate::codes::CASE_NOT_DRAFT,
            format!(
                "The case is {}; only drafts change. Use the case's chat for later changes.",
                c.status
            ),
        ))
    }
}

/// Takes the case's row for this transaction while it is still a draft: a
/// write to the row, so PostgreSQL holds its lock and SQLite its write lock
/// until commit. A submission or cancellation that got there first wins
/// (409), and one that comes later waits and then sees this change.
pub(crate) async fn lock_draft<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<(), ApiError> {
    let r = case::Entity::update_many()
        .col_expr(case::Column::UpdatedAt, Expr::value(now()))
        .filter(case::Column::Id.eq(id))
        .filter(case::Column::Status.eq(dentex_domain::CaseStatus::Draft.as_str()))
        .exec(txn)
        .await?;
    if r.rows_affected == 1 {
        Ok(())
    } else {
        Err(ApiError::new(
            &crate::codes::CASE_NOT_DRAFT,
            "The case is no longer a draft; only drafts change.",
        ))
    }
}

fn view(c: case::Model, viewer: Viewer, labs: Vec<Uuid>) -> CaseView {
    let clinic = viewer.is_clinic();
    // The patient reference: the clinic, and the lab once it is awarded the case.
    let sees_ref = match viewer {
        Viewer::Clinic { .. } => true,
        Viewer::Lab { org } => c.awarded_lab_org_id == Some(org),
    };
    let consent = match (c.consent_by, c.consent_at, c.consent_version) {
        (Some(by), Some(at), Some(v)) => Some(Consent {
            by,
            at,
            statement_version: v,
        }),
        _ => None,
    };
    CaseView {
        id: c.id,
        clinic_id: c.clinic_org_id,
        status: c.status,
        patient_ref: sees_ref.then_some(c.patient_ref),
        rx: serde_json::from_str(&c.rx).unwrap_or_default(),
        due_date: c.due_date,
        consent,
        target: clinic.then_some(Target {
            open: c.open_to_all,
            labs,
        }),
        cancel_reason: c.cancel_reason,
        created_at: c.created_at,
        updated_at: c.updated_at,
        submitted_at: c.submitted_at,
        cancelled_at: c.cancelled_at,
    }
}

/// The case as `viewer` may see it (the clinic also sees where it was sent).
async fn view_for(state: &CasesState, c: case::Model, viewer: Viewer) -> Result<CaseView, ApiError> {
    let labs = if viewer.is_clinic() {
        named_labs(state, c.id).await?
    } else {
        Vec::new()
    };
    Ok(view(c, viewer, labs))
}

async fn named_labs(state: &CasesState, case: Uuid) -> Result<Vec<Uuid>, ApiError> {
    Ok(case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.eq(case))
        .order_by_asc(case_lab::Column::LabOrgId)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| l.lab_org_id)
        .collect())
}

/// Checks and applies the fields of a draft; every problem at once.
fn apply_input(input: CaseInput, p: &Principal, am: &mut case::ActiveModel, creating: bool) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    match input.patient_ref.map(|r| r.trim().to_owned()) {
        Some(r) if r.is_empty() => errors.push(FieldError::new(
            "patient_ref",
            "required",
            "Give the case your reference for the patient (not the patient's name).",
        )),
        Some(r) if r.chars().count() > PATIENT_REF_MAX => errors.push(FieldError::new(
            "patient_ref",
            "too_long",
            format!("At most {PATIENT_REF_MAX} characters."),
        )),
        Some(r) => am.patient_ref = Set(r),
        None if creating => errors.push(FieldError::new(
            "patient_ref",
            "required",
            "Give the case your reference for the patient (not the patient's name).",
        )),
        None => {}
    }
    if let Some(v) = input.rx {
        match serde_json::from_value::<RxInput>(v) {
            Ok(raw) => match raw.parse("rx") {
                Ok(rx) => am.rx = Set(serde_json::to_string(&rx).map_err(ApiError::internal)?),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.push(FieldError::new("rx", "invalid", format!("The Rx is malformed: {e}"))),
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
        if c.patient_consent {
            am.consent_by = Set(Some(p.user_id.0));
            am.consent_at = Set(Some(now()));
            am.consent_version = Set(Some(CONSENT_VERSION.to_owned()));
        } else {
            am.consent_by = Set(None);
            am.consent_at = Set(None);
            am.consent_version = Set(None);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

// ------------------------------------------------------------------- cases

/// Drafts a case for the caller's clinic.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), request_body = CaseInput,
    responses((status = 201, body = CaseView), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/cases")]
pub async fn create_case(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    input: dentex_http::Json<CaseInput>,
) -> Result<HttpResponse, ApiError> {
    policy::require_full_session(&p)?;
    let input = input.into_inner();
    let mine: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).collect();
    let clinics = organization::Entity::find()
        .filter(organization::Column::Id.is_in(mine))
        .filter(organization::Column::Kind.eq("clinic"))
        .all(&state.db)
        .await?;
    let clinic = match input.organization {
        Some(id) => clinics.into_iter().find(|c| c.id == id).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "organization",
                "not_your_clinic",
                "Draft for a clinic you belong to.",
            )])
        })?,
        None => match clinics.len() {
            1 => clinics.into_iter().next().ok_or_else(ApiError::not_found)?,
            0 => return Err(policy::forbidden("Only members of a clinic draft cases.")),
            _ => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "organization",
                    "required",
                    "You belong to several clinics: say which one.",
                )]));
            }
        },
    };
    let id = Uuid::now_v7();
    let t = now();
    let mut am = case::ActiveModel {
        id: Set(id),
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
        created_by: Set(p.user_id.0),
        created_at: Set(t),
        updated_at: Set(t),
        submitted_at: Set(None),
        cancelled_at: Set(None),
        awarded_lab_org_id: Set(None),
    };
    apply_input(input, &p, &mut am, true)?;
    let viewer = Viewer::Clinic {
        org: clinic.id,
        role: p.role_in(OrgId(clinic.id)).unwrap_or(dentex_domain::OrgRole::Member),
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let c = am.insert(&txn).await?;
    audit_case_in(&txn, &req, &p, &c, viewer, "case.create", None).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(view(c, viewer, Vec::new())))
}

/// A case the caller may see. Labs never see the patient reference.
#[utoipa::path(get, path = "/api/v1/cases/{case}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = CaseView), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}")]
pub async fn get_case(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "read case").await?;
    audit_case(&state, &req, &p, &c, v, "case.read", None).await?;
    Ok(HttpResponse::Ok().json(view_for(&state, c, v).await?))
}

/// Changes a draft (the clinic's members only). `rx` replaces the whole Rx.
#[utoipa::path(patch, path = "/api/v1/cases/{case}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = CaseInput,
    responses((status = 200, body = CaseView), (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[patch("/api/v1/cases/{case}")]
pub async fn update_case(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: dentex_http::Json<CaseInput>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "update case").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let input = input.into_inner();
    if input.organization.is_some_and(|o| o != c.clinic_org_id) {
        return Err(ApiError::validation(vec![FieldError::new(
            "organization",
            "immutable",
            "A case stays with the clinic that drafted it.",
        )]));
    }
    let id = c.id;
    let mut am: case::ActiveModel = c.into();
    apply_input(input, &p, &mut am, false)?;
    am.updated_at = Set(now());
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_draft(&txn, id).await?;
    let c = am.update(&txn).await?;
    audit_case_in(&txn, &req, &p, &c, v, "case.update", None).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(view_for(&state, c, v).await?))
}

/// Sends the case: to named labs, or open to every verified lab that offers
/// the services it needs in the clinic's region. Refuses an incomplete case
/// with every problem and its field.
#[utoipa::path(post, path = "/api/v1/cases/{case}/submit", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = SubmitInput,
    responses((status = 200, body = CaseView), (status = 403, body = dentex_http::Problem),
        (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/submit")]
pub async fn submit_case(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: dentex_http::Json<SubmitInput>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "submit case").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let clinic = organization::Entity::find_by_id(c.clinic_org_id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    policy::require_verified(&state.db, &clinic, today()).await?;

    // The target first (it does not depend on the draft).
    let mut target_errors = Vec::new();
    let target = input.into_inner().target;
    let open = target.open.unwrap_or(false);
    let labs = target.labs.unwrap_or_default();
    match (open, labs.is_empty()) {
        (true, false) | (false, true) => target_errors.push(FieldError::new(
            "target",
            "one_target",
            "Either name labs (`labs`) or open the case to all (`open: true`).",
        )),
        _ => {}
    }
    if labs.len() > MAX_NAMED_LABS {
        target_errors.push(FieldError::new(
            "target.labs",
            "too_many",
            format!("Name at most {MAX_NAMED_LABS} labs, or open the case to all."),
        ));
    }
    let mut seen = Vec::new();
    for (i, lab) in labs.iter().enumerate().take(MAX_NAMED_LABS) {
        let ok = match organization::Entity::find_by_id(*lab).one(&state.db).await? {
            Some(o) if LAB_KINDS.contains(&o.kind.as_str()) && o.suspended_at.is_none() => {
                dentex_accounts::verification::status(&state.db, &o, today())
                    .await?
                    .verified
            }
            _ => false,
        };
        if !ok || seen.contains(lab) {
            target_errors.push(FieldError::new(
                format!("target.labs[{i}]"),
                "lab_not_available",
                "Name each verified lab once (see GET /api/v1/labs).",
            ));
        }
        seen.push(*lab);
    }
    // Then the draft, checked under its lock: an edit, upload or delete
    // cannot slip in between the checks and the change of status.
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_draft(&txn, c.id).await?;
    let c = case::Entity::find_by_id(c.id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
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
        Some(d) if d <= today() => {
            errors.push(FieldError::new(
                "due_date",
                "not_in_future",
                "The due date must be after today.",
            ));
        }
        Some(_) => {}
    }
    if c.consent_at.is_none() {
        errors.push(FieldError::new(
            "consent.patient_consent",
            "required",
            "Confirm that you hold the patient's consent to share this case.",
        ));
    }
    let scans = case_file::Entity::find()
        .filter(case_file::Column::CaseId.eq(c.id))
        .filter(case_file::Column::Kind.eq("scan"))
        .count(&txn)
        .await?;
    if scans == 0 {
        errors.push(FieldError::new(
            "files",
            "scan_required",
            "Upload at least one scan (STL, PLY or OBJ).",
        ));
    }
    errors.extend(target_errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let t = now();
    case::Entity::update_many()
        .col_expr(
            case::Column::Status,
            Expr::value(dentex_domain::CaseStatus::Submitted.as_str()),
        )
        .col_expr(case::Column::OpenToAll, Expr::value(open))
        .col_expr(case::Column::SubmittedAt, Expr::value(t))
        .col_expr(case::Column::UpdatedAt, Expr::value(t))
        .filter(case::Column::Id.eq(c.id))
        .exec(&txn)
        .await?;
    for lab in &labs {
        case_lab::ActiveModel {
            case_id: Set(c.id),
            lab_org_id: Set(*lab),
            created_at: Set(t),
        }
        .insert(&txn)
        .await?;
    }
    audit_case_in(&txn, &req, &p, &c, v, "case.submit", None).await?;
    txn.commit().await?;
    let c = case::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view(c, v, labs)))
}

/// Cancels a case before award, with a reason. The labs involved (named, or
/// with a quote on it) are told by mail (the case id only, never the patient
/// reference or the reason); their quotes are declined.
#[utoipa::path(post, path = "/api/v1/cases/{case}/cancel", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = CancelInput,
    responses((status = 200, body = CaseView), (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/cancel")]
pub async fn cancel_case(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: dentex_http::Json<CancelInput>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "cancel case").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    let reason = input.into_inner().reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        return Err(ApiError::validation(vec![FieldError::new(
            "reason",
            "required",
            format!("Say why, in 1–{REASON_MAX} characters."),
        )]));
    }
    let labs = named_labs(&state, c.id).await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let t = now();
    // Take the row first, then read its status under the lock: whether the
    // labs are told depends on what it was at this moment.
    let r = case::Entity::update_many()
        .col_expr(case::Column::UpdatedAt, Expr::value(t))
        .filter(case::Column::Id.eq(c.id))
        .filter(case::Column::Status.is_in([CaseStatus::Draft.as_str(), CaseStatus::Submitted.as_str()]))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(ApiError::new(
            &crate::codes::CASE_NOT_CANCELLABLE,
            "The case is already cancelled, or awarded: an awarded case's order is cancelled instead.",
        ));
    }
    let was = case::Entity::find_by_id(c.id)
        .one(&txn)
        .await?
        .map(|m| m.status)
        .unwrap_or_default();
    case::Entity::update_many()
        .col_expr(
            case::Column::Status,
            Expr::value(dentex_domain::CaseStatus::Cancelled.as_str()),
        )
        .col_expr(case::Column::CancelReason, Expr::value(reason))
        .col_expr(case::Column::CancelledAt, Expr::value(t))
        .filter(case::Column::Id.eq(c.id))
        .exec(&txn)
        .await?;
    // The labs involved: those named, and those that quoted (on an open
    // case too); their quotes end with the case.
    let quoted = quote::Entity::update_many()
        .col_expr(
            quote::Column::Status,
            Expr::value(dentex_domain::QuoteStatus::Declined.as_str()),
        )
        .col_expr(quote::Column::UpdatedAt, Expr::value(t))
        .filter(quote::Column::CaseId.eq(c.id))
        .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Active.as_str()))
        .exec_with_returning(&txn)
        .await?;
    let mut involved = labs.clone();
    for q in quoted {
        if !involved.contains(&q.lab_org_id) {
            involved.push(q.lab_org_id);
        }
    }
    // Owners and admins of each, in the same transaction.
    if CaseStatus::parse(&was) == Some(CaseStatus::Submitted) && !involved.is_empty() {
        for lab in involved {
            for to in dentex_accounts::sweep::managers(&txn, lab).await? {
                let mail = dentex_mail::templates::case_cancelled(to, &c.id.to_string());
                Queue::enqueue_with(&txn, dentex_mail::JOB_KIND, &mail, EnqueueOptions::default())
                    .await
                    .map_err(ApiError::internal)?;
            }
        }
    }
    audit_case_in(&txn, &req, &p, &c, v, "case.cancel", None).await?;
    txn.commit().await?;
    let c = case::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view(c, v, labs)))
}

/// The cases the caller's organisations may see, newest first: a clinic's
/// own, and for a lab those open to it. Keyset paging on the id.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = CaseList)))]
#[get("/api/v1/cases")]
pub async fn list_cases(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    policy::require_full_session(&p)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            &dentex_http::codes::INVALID_QUERY,
            "limit: between 1 and 200.",
        ));
    }
    if let Some(s) = &q.status
        && CaseStatus::parse(s).is_none()
    {
        return Err(ApiError::new(
            &dentex_http::codes::INVALID_QUERY,
            "status: one of draft, submitted, awarded, cancelled.",
        ));
    }
    let cursor = match &q.cursor {
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| ApiError::new(&dentex_http::codes::INVALID_QUERY, "cursor: not one we gave."))?,
        ),
        None => None,
    };
    let mine: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).collect();
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(mine))
        .all(&state.db)
        .await?;
    let clinics: Vec<Uuid> = orgs.iter().filter(|o| o.kind == "clinic").map(|o| o.id).collect();
    let labs: Vec<&organization::Model> = orgs.iter().filter(|o| LAB_KINDS.contains(&o.kind.as_str())).collect();
    let lab_ids: Vec<Uuid> = labs.iter().map(|o| o.id).collect();
    let lab_regions: Vec<String> = labs.iter().map(|o| o.region.clone()).collect();

    let mut visible = Condition::any();
    if !clinics.is_empty() {
        visible = visible.add(case::Column::ClinicOrgId.is_in(clinics.clone()));
    }
    if !labs.is_empty() {
        let named = case_lab::Entity::find()
            .select_only()
            .column(case_lab::Column::CaseId)
            .filter(case_lab::Column::LabOrgId.is_in(lab_ids.clone()))
            .into_query();
        visible = visible.add(
            Condition::all()
                .add(case::Column::Status.eq(dentex_domain::CaseStatus::Awarded.as_str()))
                .add(case::Column::AwardedLabOrgId.is_in(lab_ids.clone())),
        );
        visible = visible.add(
            Condition::all()
                .add(case::Column::Status.eq(dentex_domain::CaseStatus::Submitted.as_str()))
                .add(
                    Condition::any().add(case::Column::Id.in_subquery(named)).add(
                        Condition::all()
                            .add(case::Column::OpenToAll.eq(true))
                            .add(case::Column::Region.is_in(lab_regions)),
                    ),
                ),
        );
    }
    let mut items = Vec::new();
    let mut next_cursor = None;
    if clinics.is_empty() && labs.is_empty() {
        return Ok(HttpResponse::Ok().json(CaseList { items, next_cursor }));
    }
    let mut after = cursor;
    // Open cases are checked for each lab's services and verification here,
    // so a page may need more than one fetch; the rows looked at per request
    // are bounded, and a short page then carries a cursor to go on from.
    let budget = (limit + 1) * 5;
    let mut scanned = 0u64;
    let mut shown: Vec<(case::Model, Viewer)> = Vec::new();
    'pages: loop {
        let mut query = case::Entity::find().filter(visible.clone());
        if let Some(s) = &q.status {
            query = query.filter(case::Column::Status.eq(s.as_str()));
        }
        if let Some(a) = after {
            query = query.filter(case::Column::Id.lt(a));
        }
        let batch = query
            .order_by_desc(case::Column::Id)
            .limit(limit + 1)
            .all(&state.db)
            .await?;
        let exhausted = batch.len() as u64 <= limit;
        // Who sees what, for the whole fetch at once.
        let viewers = {
            let refs: Vec<&case::Model> = batch.iter().collect();
            access::viewers(&state.db, &p, &refs, today(), None).await?
        };
        for (c, v) in batch.into_iter().zip(viewers) {
            if let Some(v) = v {
                if shown.len() as u64 == limit {
                    next_cursor = after.map(|a| a.to_string());
                    break 'pages;
                }
                after = Some(c.id);
                shown.push((c, v));
            } else {
                after = Some(c.id);
            }
            scanned += 1;
        }
        if exhausted {
            break;
        }
        if scanned >= budget {
            next_cursor = after.map(|a| a.to_string());
            break;
        }
    }
    // Each case shown is a read of its Rx: audited in its clinic's chain,
    // one write per chain for the whole page.
    let events = shown
        .iter()
        .map(|(c, v)| case_event(&req, &p, c, *v, "case.list", None))
        .collect();
    state.audit.record_many(events).await?;
    // The labs each case was sent to, for the clinic's cases of the page, at once.
    let clinic_cases: Vec<Uuid> = shown.iter().filter(|(_, v)| v.is_clinic()).map(|(c, _)| c.id).collect();
    let mut named: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if !clinic_cases.is_empty() {
        for l in case_lab::Entity::find()
            .filter(case_lab::Column::CaseId.is_in(clinic_cases))
            .order_by_asc(case_lab::Column::LabOrgId)
            .all(&state.db)
            .await?
        {
            named.entry(l.case_id).or_default().push(l.lab_org_id);
        }
    }
    for (c, v) in shown {
        let labs = if v.is_clinic() {
            named.remove(&c.id).unwrap_or_default()
        } else {
            Vec::new()
        };
        items.push(view(c, v, labs));
    }
    Ok(HttpResponse::Ok().json(CaseList { items, next_cursor }))
}

// ------------------------------------------------------------------- files

pub(crate) fn file_view(f: case_file::Model, viewer: Viewer, with_analysis: bool) -> FileView {
    FileView {
        id: f.id,
        case_id: f.case_id,
        kind: f.kind,
        content_type: f.content_type,
        format: f.format,
        size_bytes: f.size_bytes,
        sha256: f.sha256,
        name: if viewer.is_clinic() { f.original_name } else { None },
        analysis_status: f.analysis_status,
        analysis_error: f.analysis_error,
        analysis: if with_analysis {
            f.analysis.and_then(|a| serde_json::from_str(&a).ok())
        } else {
            None
        },
        created_at: f.created_at,
    }
}

pub(crate) fn too_large(limit: u64, quota: bool) -> ApiError {
    if quota {
        ApiError::new(
            &crate::codes::QUOTA_EXCEEDED,
            "This upload would take your organisation over its storage quota.",
        )
    } else {
        ApiError::new(
            &dentex_http::codes::PAYLOAD_TOO_LARGE,
            format!("A file may be at most {limit} bytes."),
        )
    }
}

/// A scan whose first bytes show no triangles, or a header its analysis
/// could not start from, is refused (422) before a row is written.
pub(crate) fn scan_preflight(
    sniffed: &files::Sniffed,
    head: &[u8],
    size: u64,
    limits: &dentex_mesh::Limits,
) -> Result<(), ApiError> {
    let Some(format) = sniffed.format else {
        return Ok(());
    };
    match dentex_mesh::preflight(head, size, format, limits) {
        Ok(()) => Ok(()),
        Err(dentex_mesh::MeshError::NoTriangles) => Err(mesh_empty()),
        Err(e) => {
            // The reader's message may quote the file: a short piece of it at most.
            let mut msg = e.to_string();
            if msg.len() > 160 {
                let cut = (0..=160).rev().find(|&i| msg.is_char_boundary(i)).unwrap_or(0);
                msg.truncate(cut);
                msg.push('…');
            }
            Err(ApiError::new(
                &crate::codes::MESH_UNREADABLE,
                format!("The scan cannot be read: {msg}."),
            ))
        }
    }
}

pub(crate) fn mesh_empty() -> ApiError {
    ApiError::new(
        &crate::codes::MESH_EMPTY,
        "The scan has no triangles; export it again from the scanner software.",
    )
}

pub(crate) fn unsupported() -> ApiError {
    ApiError::new(
        &dentex_http::codes::UNSUPPORTED_MEDIA_TYPE,
        "Upload scans as STL, PLY or OBJ, photos as JPEG or PNG, documents as PDF.",
    )
}

fn interrupted() -> ApiError {
    ApiError::new(
        &dentex_http::codes::UNREADABLE_BODY,
        "The upload was interrupted; nothing was kept.",
    )
}

/// The client's file name, kept as metadata: control characters removed,
/// length bounded. It never reaches a key, a URL or a log.
fn file_name(req: &HttpRequest) -> Option<String> {
    let raw = req.headers().get("x-file-name")?;
    clean_file_name(&String::from_utf8_lossy(raw.as_bytes()))
}

/// Control characters removed, length bounded, blank means none.
pub(crate) fn clean_file_name(s: &str) -> Option<String> {
    let clean: String = s.chars().filter(|c| !c.is_control()).take(FILE_NAME_MAX).collect();
    let clean = clean.trim().to_owned();
    (!clean.is_empty()).then_some(clean)
}

/// Uploads a file by streaming the body into the object store. The type comes
/// from the bytes; the size limit and the organisation's quota hold while
/// streaming (413 at once, nothing kept); photos lose their metadata first.
#[utoipa::path(post, path = "/api/v1/cases/{case}/files", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("X-File-Name" = Option<String>, Header, description = "Your name for the file (metadata only)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileView), (status = 409, body = dentex_http::Problem),
        (status = 413, body = dentex_http::Problem), (status = 415, body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/files")]
pub async fn upload_file(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "upload file").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let limits = state.limits;
    let used = org_usage(&state.db, c.clinic_org_id).await?;
    let room = limits.org_quota_bytes.saturating_sub(u64::try_from(used).unwrap_or(0));
    let max = limits.upload_max_bytes.min(room);
    let quota_bound = room < limits.upload_max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max, quota_bound));
    }
    // Enough of the start to know what it is.
    let mut head = BytesMut::new();
    let mut ended = false;
    while head.len() < files::SNIFF_BYTES {
        match payload.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(interrupted()),
            None => {
                ended = true;
                break;
            }
        }
        if head.len() as u64 > max {
            return Err(too_large(max, quota_bound));
        }
    }
    if head.is_empty() {
        return Err(ApiError::new(
            &dentex_http::codes::EMPTY_BODY,
            "The body is empty: send the file's bytes.",
        ));
    }
    let Some(sniffed) = files::sniff(&head, ended) else {
        let mut ev = event(&req, &p, "case_file.upload", "case", Outcome::Denied);
        ev.org_id = Some(OrgId(c.clinic_org_id));
        ev.resource_id = Some(c.id.to_string());
        ev.reason = Some("unsupported type".into());
        record(&state, ev).await?;
        return Err(unsupported());
    };
    // A scan whose first bytes show it has no triangles goes no further.
    scan_preflight(
        &sniffed,
        &head,
        if ended { head.len() as u64 } else { u64::MAX },
        &limits.mesh,
    )?;
    let file_id = Uuid::now_v7();
    // Keys come from ids only; the client's name is metadata.
    let key = format!("{}/{}/{}/{}", c.region, c.clinic_org_id, c.id, file_id);
    let head = head.freeze();
    // An OBJ's faces may come anywhere: they are looked for as it streams.
    let faces = std::rc::Rc::new(std::cell::Cell::new(dentex_mesh::ObjFaceScan::default()));
    let stored = if sniffed.kind == Kind::Photo {
        // Held whole (photos are small) so the metadata can go before storing.
        let cap = max.min(limits.photo_max_bytes);
        let mut all = BytesMut::from(&head[..]);
        if all.len() as u64 > cap {
            return Err(too_large(cap, quota_bound && cap == max));
        }
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| interrupted())?;
            all.extend_from_slice(&chunk);
            if all.len() as u64 > cap {
                return Err(too_large(cap, quota_bound && cap == max));
            }
        }
        let clean = match sniffed.content_type {
            "image/png" => files::strip_png(&all),
            _ => files::strip_jpeg(&all),
        }
        .map_err(|e| ApiError::new(&crate::codes::UNREADABLE_IMAGE, e.0))?;
        let body = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(clean)) });
        state
            .store
            .put_stream(&key, sniffed.content_type, Box::pin(body), cap)
            .await
    } else {
        let first = head.clone();
        let seen = faces.clone();
        let body = futures_util::stream::once(async move { Ok::<Bytes, actix_web::error::PayloadError>(first) })
            .chain(payload)
            .inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    let mut scan = seen.get();
                    scan.feed(bytes);
                    seen.set(scan);
                }
            });
        state
            .store
            .put_stream(&key, sniffed.content_type, Box::pin(body), max)
            .await
    };
    let stored = stored.map_err(|e| match e {
        StorageError::TooLarge { limit } => too_large(limit, quota_bound),
        StorageError::Source(_) => interrupted(),
        other => ApiError::from(other),
    })?;
    // A binary STL has no signature: its size must fit its triangle count.
    if sniffed.format == Some(dentex_mesh::Format::StlBinary) && !files::binary_stl_size_ok(&head, stored.size) {
        remove_object(&state, &key).await;
        return Err(unsupported());
    }
    if sniffed.format == Some(dentex_mesh::Format::Obj) && !faces.get().found() {
        remove_object(&state, &key).await;
        return Err(mesh_empty());
    }
    let is_scan = sniffed.kind == Kind::Scan;
    let row = case_file::ActiveModel {
        id: Set(file_id),
        case_id: Set(c.id),
        org_id: Set(c.clinic_org_id),
        kind: Set(sniffed.kind.as_str().into()),
        content_type: Set(sniffed.content_type.into()),
        format: Set(sniffed.format.map(|f| files::format_name(f).to_owned())),
        size_bytes: Set(i64::try_from(stored.size).unwrap_or(i64::MAX)),
        sha256: Set(stored.sha256.clone()),
        object_key: Set(key.clone()),
        original_name: Set(file_name(&req)),
        analysis_status: Set(if is_scan {
            dentex_domain::AnalysisStatus::Pending
        } else {
            dentex_domain::AnalysisStatus::NotApplicable
        }
        .as_str()
        .into()),
        analysis_error: Set(None),
        analysis: Set(None),
        thumbnail_key: Set(None),
        created_by: Set(p.user_id.0),
        created_at: Set(now()),
    };
    let saved: Result<case_file::Model, ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        // Still a draft, or the file is not kept.
        lock_draft(&txn, c.id).await?;
        // The quota again, under the organisation's row lock: uploads that
        // streamed side by side are settled one at a time here.
        let used = usage_locked(&txn, c.clinic_org_id).await?;
        if used.saturating_add(stored.size) > limits.org_quota_bytes {
            return Err(too_large(limits.org_quota_bytes, true));
        }
        let f = row.insert(&txn).await?;
        if is_scan {
            Queue::enqueue_with(
                &txn,
                crate::ANALYZE_JOB,
                &crate::analysis::Payload { file_id },
                EnqueueOptions::default(),
            )
            .await
            .map_err(ApiError::internal)?;
        }
        audit_case_in(&txn, &req, &p, &c, v, "case_file.upload", Some(f.id)).await?;
        txn.commit().await?;
        Ok(f)
    }
    .await;
    let f = match saved {
        Ok(f) => f,
        Err(e) => {
            remove_object(&state, &key).await;
            return Err(e);
        }
    };
    if is_scan {
        state.queue.wake();
    }
    Ok(HttpResponse::Created().json(file_view(f, v, false)))
}

/// Takes the organisation's row for this transaction and reads its usage:
/// every quota decision is made one at a time, under this lock.
pub(crate) async fn usage_locked<C: ConnectionTrait>(txn: &C, org: Uuid) -> Result<u64, ApiError> {
    organization::Entity::update_many()
        .col_expr(
            organization::Column::UpdatedAt,
            Expr::col(organization::Column::UpdatedAt),
        )
        .filter(organization::Column::Id.eq(org))
        .exec(txn)
        .await?;
    Ok(u64::try_from(org_usage(txn, org).await?).unwrap_or(0))
}

/// Bytes stored for an organisation's case files, plus the declared sizes
/// of its presigned uploads still in flight (they hold their room).
pub(crate) async fn org_usage<C: ConnectionTrait>(db: &C, org: Uuid) -> Result<i64, ApiError> {
    // SUM of a bigint is numeric on PostgreSQL: cast it back.
    let stored = case_file::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"), "total")
        .filter(case_file::Column::OrgId.eq(org))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0);
    let reserved = case_upload::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"), "total")
        .filter(case_upload::Column::OrgId.eq(org))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0);
    Ok(stored.saturating_add(reserved))
}

/// Best effort: an object whose row was never written (or is gone) is
/// removed now, or by the orphan sweep.
pub(crate) async fn remove_object(state: &CasesState, key: &str) {
    if state.store.delete(key).await.is_err() {
        tracing::warn!("an object without a row could not be removed; the sweep will");
    }
}

/// A file of a case the caller may see; a file of another case, or none,
/// is 404 and audited in the clinic's chain.
async fn load_file(
    state: &CasesState,
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    raw: &str,
) -> Result<case_file::Model, ApiError> {
    let id = Uuid::parse_str(raw).ok();
    let found = match id {
        Some(id) => {
            case_file::Entity::find_by_id(id)
                .filter(case_file::Column::CaseId.eq(c.id))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    match found {
        Some(f) => Ok(f),
        None => Err(missing_in_case(state, req, p, c, "case_file", id).await),
    }
}

/// A file or upload of a visible case that is not there: 404, audited in
/// the clinic's chain (`resource` names what was asked for).
pub(crate) async fn missing_in_case(
    state: &CasesState,
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    resource: &str,
    id: Option<Uuid>,
) -> ApiError {
    let mut ev = event(req, p, "access.refused", resource, Outcome::Denied);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(format!("{}/{}", c.id, id.map(|u| u.to_string()).unwrap_or_default()));
    ev.reason = Some(format!("{resource}: not_found"));
    match record(state, ev).await {
        Ok(()) => ApiError::not_found(),
        Err(e) => e,
    }
}

/// The files of a case.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = FileList), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files")]
pub async fn list_files(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "list files").await?;
    let rows = case_file::Entity::find()
        .filter(case_file::Column::CaseId.eq(c.id))
        .order_by_asc(case_file::Column::Id)
        .all(&state.db)
        .await?;
    audit_case(&state, &req, &p, &c, v, "case_file.list", None).await?;
    Ok(HttpResponse::Ok().json(FileList {
        items: rows.into_iter().map(|f| file_view(f, v, false)).collect(),
    }))
}

/// One file, with its mesh analysis.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files/{file}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 200, body = FileView), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files/{file}")]
pub async fn get_file(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "read file").await?;
    let f = load_file(&state, &req, &p, &c, &raw_file).await?;
    audit_case(&state, &req, &p, &c, v, "case_file.read", Some(f.id)).await?;
    Ok(HttpResponse::Ok().json(file_view(f, v, true)))
}

/// Removes a file from a draft, and its object.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/files/{file}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 204), (status = 404, body = dentex_http::Problem), (status = 409, body = dentex_http::Problem)))]
#[delete("/api/v1/cases/{case}/files/{file}")]
pub async fn delete_file(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "delete file").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let f = load_file(&state, &req, &p, &c, &raw_file).await?;
    // The row first (a row must never point at a missing object), while the
    // case is still a draft, re-read so a preview drawn meanwhile goes too.
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_draft(&txn, c.id).await?;
    let f = case_file::Entity::find_by_id(f.id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    case_file::Entity::delete_by_id(f.id).exec(&txn).await?;
    audit_case_in(&txn, &req, &p, &c, v, "case_file.delete", Some(f.id)).await?;
    txn.commit().await?;
    remove_object(&state, &f.object_key).await;
    if let Some(t) = &f.thumbnail_key {
        remove_object(&state, t).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Hands out an object: a redirect to a URL valid for 5 minutes, or the
/// bytes through the gateway (configuration).
async fn hand_out(state: &CasesState, key: &str, content_type: &str, name: &str) -> Result<HttpResponse, ApiError> {
    if state.limits.stream_downloads {
        let body = state.store.get_stream(key).await?;
        let stream = tokio_util::io::ReaderStream::new(body.into_async_read());
        return Ok(HttpResponse::Ok()
            .content_type(content_type.to_owned())
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .streaming(stream));
    }
    let url = state
        .store
        .presign_get_as(key, Duration::from_secs(300), Some((name, content_type)))
        .await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// The file's bytes: 302 to a presigned URL valid for 5 minutes, or
/// streamed. Each issuance is audited.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files/{file}/content", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 302, description = "Location: a URL valid for 5 minutes"), (status = 200, description = "The bytes"),
        (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files/{file}/content")]
pub async fn file_content(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "download file").await?;
    let f = load_file(&state, &req, &p, &c, &raw_file).await?;
    audit_case(&state, &req, &p, &c, v, "case_file.download", Some(f.id)).await?;
    let ext = match f.kind.as_str() {
        "photo" if f.content_type == "image/png" => "png",
        "photo" => "jpg",
        "document" => "pdf",
        _ => match f.format.as_deref() {
            Some(s) if s.starts_with("ply") => "ply",
            Some("obj") => "obj",
            _ => "stl",
        },
    };
    hand_out(&state, &f.object_key, &f.content_type, &format!("{}.{ext}", f.id)).await
}

/// The scan's preview, once the analysis has drawn it.
#[utoipa::path(get, path = "/api/v1/cases/{case}/files/{file}/thumbnail.png", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 302, description = "Location: a URL valid for 5 minutes"), (status = 200, description = "PNG"),
        (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/files/{file}/thumbnail.png")]
pub async fn file_thumbnail(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_file) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "thumbnail").await?;
    let f = load_file(&state, &req, &p, &c, &raw_file).await?;
    let Some(key) = f.thumbnail_key.clone() else {
        return Err(ApiError::new(
            &crate::codes::THUMBNAIL_UNAVAILABLE,
            format!("No preview: the analysis is {}.", f.analysis_status),
        ));
    };
    audit_case(&state, &req, &p, &c, v, "case_file.thumbnail", Some(f.id)).await?;
    hand_out(&state, &key, "image/png", &format!("{}.png", f.id)).await
}

/// Who read or changed this case and its files, and when (the clinic only).
#[utoipa::path(get, path = "/api/v1/cases/{case}/access-log", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = AccessLog), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/access-log")]
pub async fn access_log(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "access log").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(c.clinic_org_id.to_string()))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(audit_event::Column::ResourceType.eq("case"))
                        .add(audit_event::Column::ResourceId.eq(c.id.to_string())),
                )
                .add(
                    Condition::all()
                        .add(audit_event::Column::ResourceType.eq("case_file"))
                        .add(audit_event::Column::ResourceId.starts_with(format!("{}/", c.id))),
                ),
        )
        .order_by_desc(audit_event::Column::Seq)
        .limit(500)
        .all(&state.db)
        .await?;
    audit_case(&state, &req, &p, &c, v, "case.access_log", None).await?;
    Ok(HttpResponse::Ok().json(AccessLog {
        items: rows
            .into_iter()
            .map(|r| AccessEntry {
                at: r.occurred_at,
                actor_id: r.actor_id,
                // Rows written before the column named the lab in `reason`
                // ("lab {id}", "lab {id}: why").
                on_behalf_of: r.acting_org_id.map(|lab| format!("lab {lab}")).or_else(|| {
                    r.reason
                        .as_deref()
                        .and_then(|s| s.strip_prefix("lab "))
                        .map(|rest| format!("lab {}", rest.split(':').next().unwrap_or(rest)))
                }),
                action: r.action,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                outcome: r.outcome,
            })
            .collect(),
    }))
}
