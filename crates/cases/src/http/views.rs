//! What the cases routes answer: the views of cases, files and the access
//! log, built from what the services return.

use crate::policy::Viewer;
use crate::service::cases::{AccessPage, Shown, acting_org};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_db::entities::{audit_event, case, case_file};
use dentex_domain::rx::Rx;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

dentex_domain::doc_enum!(
    /// `FileView.kind` in the document.
    FileKind = "What a file is, decided from its bytes.",
    ["scan", "photo", "document"]
);

dentex_domain::doc_enum!(
    /// `FileView.format` in the document.
    ScanFormat = "The mesh format of a scan.",
    [
        dentex_mesh::Format::StlBinary,
        dentex_mesh::Format::StlAscii,
        dentex_mesh::Format::PlyAscii,
        dentex_mesh::Format::PlyBinaryLittleEndian,
        dentex_mesh::Format::PlyBinaryBigEndian,
        dentex_mesh::Format::Obj,
    ]
    .map(crate::content::format_name)
);

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
    /// `draft`, `submitted`, `awarded` or `canceled`.
    #[schema(value_type = dentex_domain::CaseStatus)]
    pub status: String,
    /// Only for the clinic and, once awarded, the lab.
    pub patient_ref: Option<String>,
    #[schema(value_type = dentex_domain::rx::Rx)]
    pub rx: Rx,
    pub due_date: Option<NaiveDate>,
    pub consent: Option<Consent>,
    /// Where the case was sent (only for the clinic).
    pub target: Option<Target>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
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
    #[schema(value_type = crate::http::views::FileKind)]
    pub kind: String,
    pub content_type: String,
    /// For scans: `stl_binary`, `stl_ascii`, `ply_ascii`, `ply_binary_little_endian`, `ply_binary_big_endian`, `obj`.
    #[schema(value_type = Option<crate::http::views::ScanFormat>)]
    pub format: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    /// The name it was uploaded with (only for the clinic).
    pub name: Option<String>,
    /// `pending`, `done` or `failed` for scans; `not_applicable` otherwise.
    #[schema(value_type = dentex_domain::AnalysisStatus)]
    pub analysis_status: String,
    pub analysis_error: Option<String>,
    /// What the analysis found, once it is done (scans).
    pub summary: Option<AnalysisSummary>,
    /// Where to download the bytes.
    pub content_url: String,
    /// A PNG preview, once it is drawn (scans and photos).
    pub thumbnail_url: Option<String>,
    /// The whole mesh report (single-file view only).
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

dentex_domain::doc_enum!(
    /// `AnalysisSummary.units` in the document.
    UnitGuess = "The unit the file's coordinates are most likely in.",
    ["millimeters", "inches", "meters", "micrometers"]
);

dentex_domain::doc_enum!(
    /// `AnalysisSummary.units_confidence` in the document.
    Confidence = "How sure the unit guess is.",
    ["high", "medium", "low"]
);

/// The figures of a scan's analysis a list shows.
#[derive(Serialize, ToSchema)]
pub struct AnalysisSummary {
    pub triangles: u64,
    /// Every edge is shared by exactly two triangles.
    pub watertight: bool,
    /// The bounding box's corners, in file units.
    pub bbox_min: [f64; 3],
    pub bbox_max: [f64; 3],
    #[schema(value_type = UnitGuess)]
    pub units: String,
    #[schema(value_type = Confidence)]
    pub units_confidence: String,
}

impl AnalysisSummary {
    fn of(report: &serde_json::Value) -> Option<Self> {
        let corner = |k: &str| -> Option<[f64; 3]> {
            let v = report.get(k)?.as_array()?;
            Some([v.first()?.as_f64()?, v.get(1)?.as_f64()?, v.get(2)?.as_f64()?])
        };
        Some(Self {
            triangles: report.get("triangles")?.as_u64()?,
            watertight: report.get("watertight")?.as_bool()?,
            bbox_min: corner("bbox_min")?,
            bbox_max: corner("bbox_max")?,
            units: report.pointer("/units/unit")?.as_str()?.to_owned(),
            units_confidence: report.pointer("/units/confidence")?.as_str()?.to_owned(),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub items: Vec<FileView>,
    pub next_cursor: Option<String>,
}

/// Someone named in a view.
#[derive(Serialize, ToSchema)]
pub struct Person {
    pub id: Uuid,
    pub display_name: Option<String>,
}

/// An organization named in a view.
#[derive(Serialize, ToSchema)]
pub struct OrganizationRef {
    pub id: Uuid,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// Who it was (none for the system).
    pub actor: Option<Person>,
    /// The organization the reader acted for, when it was not the clinic.
    pub on_behalf_of: Option<OrganizationRef>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLog {
    pub items: Vec<AccessEntry>,
    pub next_cursor: Option<String>,
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
        Viewer::Clinic { .. } | Viewer::Support { .. } => true,
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
        canceled_at: c.cancelled_at,
    }
}

pub fn file_view(f: case_file::Model, viewer: Viewer, with_analysis: bool) -> FileView {
    let report: Option<serde_json::Value> = f.analysis.as_deref().and_then(|a| serde_json::from_str(a).ok());
    let at = format!("/api/v1/cases/{}/files/{}", f.case_id, f.id);
    let previewed = f.thumbnail_key.is_some();
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
        summary: report.as_ref().and_then(AnalysisSummary::of),
        content_url: format!("{at}/content"),
        thumbnail_url: previewed.then(|| format!("{at}/thumbnail.png")),
        analysis: if with_analysis { report } else { None },
        created_at: f.created_at,
    }
}

/// A page of the access log, with names.
pub fn access_log(p: AccessPage) -> AccessLog {
    let AccessPage {
        rows,
        people,
        organizations,
        next_cursor,
    } = p;
    AccessLog {
        items: rows
            .into_iter()
            .map(|r| access_entry(r, &people, &organizations))
            .collect(),
        next_cursor,
    }
}

fn access_entry(r: audit_event::Model, people: &HashMap<Uuid, String>, orgs: &HashMap<Uuid, String>) -> AccessEntry {
    AccessEntry {
        at: r.occurred_at,
        actor_id: r.actor_id,
        actor: r.actor_id.map(|id| Person {
            id,
            display_name: people.get(&id).cloned(),
        }),
        on_behalf_of: acting_org(&r).map(|id| OrganizationRef {
            id,
            name: orgs.get(&id).cloned(),
        }),
        action: r.action,
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        outcome: r.outcome,
    }
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureView {
    pub organization: OrganizationRef,
    /// When the clinic sent the case to it by name (`null`: it reached the
    /// case as open to every lab, or only through the award).
    pub sent_at: Option<DateTime<Utc>>,
    /// Whether the case was awarded to it (it then reads the patient reference).
    pub awarded: bool,
    pub first_access_at: Option<DateTime<Utc>>,
    pub last_access_at: Option<DateTime<Utc>>,
    /// Reads and changes of the case and its files recorded for it.
    pub accesses: u64,
    /// What it did, e.g. `case.read`, `case_file.download`.
    pub actions: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureList {
    pub items: Vec<DisclosureView>,
}

pub fn disclosures(items: Vec<crate::service::disclosures::Disclosure>) -> DisclosureList {
    DisclosureList {
        items: items
            .into_iter()
            .map(|d| DisclosureView {
                organization: OrganizationRef {
                    id: d.organization,
                    name: d.name,
                },
                sent_at: d.sent_at,
                awarded: d.awarded,
                first_access_at: d.first_access_at,
                last_access_at: d.last_access_at,
                accesses: d.accesses,
                actions: d.actions.into_iter().collect(),
            })
            .collect(),
    }
}
