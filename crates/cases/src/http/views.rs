//! What the cases routes answer: the views of cases, files and the access
//! log, built from what the services return.

use crate::policy::Viewer;
use crate::service::cases::Shown;
use chrono::{DateTime, NaiveDate, Utc};
use dentex_db::entities::{audit_event, case, case_file};
use dentex_domain::rx::Rx;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// The case as its viewer may see it: labs never see the patient reference
/// before an award, and only the clinic sees where the case was sent.
pub fn case_view(s: Shown) -> CaseView {
    view(s.case, s.viewer, s.labs)
}

pub(crate) fn view(c: case::Model, viewer: Viewer, labs: Vec<Uuid>) -> CaseView {
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

pub fn file_view(f: case_file::Model, viewer: Viewer, with_analysis: bool) -> FileView {
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

/// One row of the access log. Rows written before `acting_org_id` existed
/// named the lab in `reason` ("lab {id}", "lab {id}: why").
pub fn access_entry(r: audit_event::Model) -> AccessEntry {
    AccessEntry {
        at: r.occurred_at,
        actor_id: r.actor_id,
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
    }
}
