//! What the privacy routes answer.

use crate::model::{Channel, Kind, Status, Subject};
use crate::report::Report;
use crate::store::Request;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct RequestView {
    pub id: Uuid,
    #[schema(value_type = Kind)]
    pub kind: String,
    #[schema(value_type = Subject)]
    pub subject: String,
    /// The person it is about (a person's request).
    pub subject_user_id: Option<Uuid>,
    /// The clinic that is the controller (a patient's request).
    pub clinic_org_id: Option<Uuid>,
    /// The clinic's reference of the patient; after the erasure, the
    /// pseudonym the patient's cases now carry.
    pub patient_ref: Option<String>,
    #[schema(value_type = Status)]
    pub status: String,
    #[schema(value_type = Channel)]
    pub channel: String,
    /// How the requester's identity was checked.
    pub identity_check: Option<String>,
    pub received_at: DateTime<Utc>,
    /// One month after receipt, or later once extended.
    pub due_at: DateTime<Utc>,
    /// Open and past its due date.
    pub overdue: bool,
    pub extended_at: Option<DateTime<Utc>>,
    pub extension_reason: Option<String>,
    pub reject_reason: Option<String>,
    /// Why an erasure waits (it is tried again every day).
    pub hold_reason: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When support lifted a restriction (in force from `completed_at`).
    pub lifted_at: Option<DateTime<Utc>>,
    /// The report, once an erasure is done.
    pub report: Option<Report>,
}

pub fn request_view(r: Request) -> RequestView {
    let open = Status::parse(&r.status).is_some_and(|s| !s.is_over());
    RequestView {
        overdue: open && r.due_at < Utc::now(),
        report: r.report.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        id: r.id,
        kind: r.kind,
        subject: r.subject,
        subject_user_id: r.subject_user_id,
        clinic_org_id: r.clinic_org_id,
        patient_ref: r.patient_ref,
        status: r.status,
        channel: r.channel,
        identity_check: r.identity_check,
        received_at: r.received_at,
        due_at: r.due_at,
        extended_at: r.extended_at,
        extension_reason: r.extension_reason,
        reject_reason: r.reject_reason,
        hold_reason: r.hold_reason,
        completed_at: r.completed_at,
        lifted_at: r.lifted_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    pub items: Vec<RequestView>,
}
