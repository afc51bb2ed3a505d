//! Who may see a case, and what they may do to it: the one decision every
//! case, file and upload route asks for ([`viewer`], then [`decide`] with a
//! typed [`CaseAction`]).
//!
//! - Members of the clinic that owns it: everything, at every status.
//! - A lab, once the case is submitted and open to it: named at submission,
//!   or the case is open to all and the lab is verified, takes new work,
//!   offers every service the Rx needs and sits in the clinic's data region.
//!   Labs never see the patient reference before an award.
//! - Once the case is awarded (a quote accepted), only the awarded lab; every
//!   other lab loses it at once.
//! - Anyone else, platform staff included (they need break-glass, a later
//!   feature): nothing, answered as 404.
//!
//! Membership is re-read on every request (the `Principal`), and lab
//! eligibility is evaluated now, not remembered: a lab that loses its
//! verification or is suspended loses access at once.

use chrono::NaiveDate;
use dentex_accounts::Principal;
use dentex_db::entities::{case, organization};
use dentex_domain::rx::{Restoration, Rx};
use dentex_domain::{CaseStatus, OrgId, OrgRole};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Clinic {
        org: Uuid,
        role: OrgRole,
    },
    Lab {
        org: Uuid,
    },
    /// A support agent under a break-glass grant: reads the case as its
    /// clinic would, changes nothing (`clinic` is the case's clinic).
    Support {
        clinic: Uuid,
    },
}

impl Viewer {
    pub fn org(self) -> Uuid {
        match self {
            Viewer::Clinic { org, .. } | Viewer::Lab { org } => org,
            Viewer::Support { clinic } => clinic,
        }
    }

    pub fn is_support(self) -> bool {
        matches!(self, Viewer::Support { .. })
    }

    pub fn is_clinic(self) -> bool {
        matches!(self, Viewer::Clinic { .. })
    }
}

/// What a caller does to a case, its files or its uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    Read,
    Update,
    Submit,
    Cancel,
    AccessLog,
    ListFiles,
    ReadFile,
    UploadFile,
    DeleteFile,
    DownloadFile,
    Thumbnail,
    StartUpload,
    ReadUpload,
    AbortUpload,
    CompleteUpload,
    /// A lab uploads a design file (a preview for the clinic to approve)
    /// into its thread: the lab only, while the case is open to it.
    UploadDesign,
}

impl CaseAction {
    /// How a refusal's audit row names it.
    pub fn label(self) -> &'static str {
        match self {
            CaseAction::Read => "read case",
            CaseAction::Update => "update case",
            CaseAction::Submit => "submit case",
            CaseAction::Cancel => "cancel case",
            CaseAction::AccessLog => "access log",
            CaseAction::ListFiles => "list files",
            CaseAction::ReadFile => "read file",
            CaseAction::UploadFile => "upload file",
            CaseAction::DeleteFile => "delete file",
            CaseAction::DownloadFile => "download file",
            CaseAction::Thumbnail => "thumbnail",
            CaseAction::StartUpload => "start upload",
            CaseAction::ReadUpload => "read upload",
            CaseAction::AbortUpload => "abort upload",
            CaseAction::CompleteUpload => "complete upload",
            CaseAction::UploadDesign => "upload design",
        }
    }

    /// Reads are for everyone who sees the case; changes, the access log
    /// and uploads for the clinic only.
    fn clinic_only(self) -> bool {
        !matches!(
            self,
            CaseAction::Read
                | CaseAction::ListFiles
                | CaseAction::ReadFile
                | CaseAction::DownloadFile
                | CaseAction::Thumbnail
                | CaseAction::UploadDesign
        )
    }

    /// What changes the case's content needs a draft; cancelling and
    /// abandoning an upload do not.
    fn draft_only(self) -> bool {
        matches!(
            self,
            CaseAction::Update
                | CaseAction::Submit
                | CaseAction::UploadFile
                | CaseAction::DeleteFile
                | CaseAction::StartUpload
                | CaseAction::ReadUpload
                | CaseAction::CompleteUpload
        )
    }
}

/// Why a caller who sees the case may not do the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A lab asked for what only the clinic does (403, audited).
    ClinicOnly,
    /// The case is past its draft (409).
    NotDraft,
    /// The clinic asked for what only a lab does (403).
    LabOnly,
    /// The case's processing is restricted (409 `restricted`).
    Restricted,
}

/// What a restricted case may not be used for (GDPR Art. 18): submitted,
/// downloaded (scans and previews), or worked on by a lab's design upload.
/// Quotes and messages ask [`require_unrestricted`].
fn uses(action: CaseAction) -> bool {
    matches!(
        action,
        CaseAction::Submit | CaseAction::DownloadFile | CaseAction::Thumbnail | CaseAction::UploadDesign
    )
}

/// 409 `restricted` when the case's processing is restricted: the market
/// (quotes, awards) and chat (messages) ask before they use a case.
pub fn require_unrestricted(case: &case::Model) -> Result<(), dentex_http::ApiError> {
    if case.restricted_at.is_some() {
        return Err(restricted());
    }
    Ok(())
}

/// The 409 of a restricted case.
pub fn restricted() -> dentex_http::ApiError {
    dentex_http::ApiError::new(
        &crate::codes::RESTRICTED,
        "The patient asked for this case's processing to be restricted: it cannot be used until support lifts it.",
    )
}

/// Whether `viewer`, who sees `case`, may do `action` to it.
pub fn decide(viewer: Viewer, case: &case::Model, action: CaseAction) -> Result<(), Refusal> {
    // Break-glass reads, and does nothing else.
    if viewer.is_support()
        && !matches!(
            action,
            CaseAction::Read
                | CaseAction::ListFiles
                | CaseAction::ReadFile
                | CaseAction::DownloadFile
                | CaseAction::Thumbnail
        )
    {
        return Err(Refusal::ClinicOnly);
    }
    if action.clinic_only() && !viewer.is_clinic() {
        return Err(Refusal::ClinicOnly);
    }
    if action == CaseAction::UploadDesign && viewer.is_clinic() {
        return Err(Refusal::LabOnly);
    }
    if action.draft_only() && CaseStatus::parse(&case.status) != Some(CaseStatus::Draft) {
        return Err(Refusal::NotDraft);
    }
    if uses(action) && case.restricted_at.is_some() {
        return Err(Refusal::Restricted);
    }
    Ok(())
}

pub use crate::store::LAB_KINDS;

/// How `p` may see `case`, if at all.
pub async fn viewer<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    case: &case::Model,
    today: NaiveDate,
) -> Result<Option<Viewer>, DbErr> {
    viewer_for(db, p, case, today, None).await
}

/// Like [`viewer`], acting for one of the caller's organisations only (a
/// user in two labs chooses which one quotes).
pub async fn viewer_for<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    case: &case::Model,
    today: NaiveDate,
    acting_for: Option<Uuid>,
) -> Result<Option<Viewer>, DbErr> {
    Ok(viewers(db, p, &[case], today, acting_for).await?.pop().flatten())
}

/// [`viewer_for`] for many cases at once (a page of a list), in at most three
/// queries whatever their number: the caller's lab organisations, the labs
/// named on those cases, and the labs' credentials.
pub async fn viewers<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    cases: &[&case::Model],
    today: NaiveDate,
    acting_for: Option<Uuid>,
) -> Result<Vec<Option<Viewer>>, DbErr> {
    let acts_as = |org: Uuid| acting_for.is_none_or(|a| a == org);
    let mut out: Vec<Option<Viewer>> = vec![None; cases.len()];
    // What labs decide: open cases (submitted), and awarded ones.
    let mut for_labs: Vec<usize> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if acts_as(case.clinic_org_id)
            && let Some(role) = p.role_in(OrgId(case.clinic_org_id))
        {
            out[i] = Some(Viewer::Clinic {
                org: case.clinic_org_id,
                role,
            });
        } else if CaseStatus::parse(&case.status).is_some_and(CaseStatus::open_to_labs) && !p.memberships.is_empty() {
            for_labs.push(i);
        }
    }
    if for_labs.is_empty() {
        return Ok(out);
    }
    let mine: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).filter(|o| acts_as(*o)).collect();
    // Once awarded, the winning lab alone: declined labs lose the case at once.
    let mut open: Vec<usize> = Vec::new();
    for i in for_labs {
        let case = cases[i];
        if CaseStatus::parse(&case.status) == Some(CaseStatus::Awarded) {
            out[i] = case
                .awarded_lab_org_id
                .filter(|lab| mine.contains(lab))
                .map(|org| Viewer::Lab { org });
        } else {
            open.push(i);
        }
    }
    if open.is_empty() {
        return Ok(out);
    }
    let labs = crate::store::labs_among(db, mine).await?;
    if labs.is_empty() {
        return Ok(out);
    }
    let named = crate::store::named_pairs(db, open.iter().map(|&i| cases[i].id), labs.iter().map(|l| l.id)).await?;
    let mut verified: Option<HashMap<Uuid, bool>> = None;
    for i in open {
        let case = cases[i];
        // Named at submission: the first of the caller's labs, in lab order.
        if let Some(lab) = labs.iter().find(|l| named.contains(&(case.id, l.id))) {
            out[i] = Some(Viewer::Lab { org: lab.id });
            continue;
        }
        let candidates = open_to(case, &labs);
        if candidates.is_empty() {
            continue;
        }
        if verified.is_none() {
            let all: Vec<&organization::Model> = labs.iter().collect();
            verified = Some(
                dentex_accounts::verification::statuses(db, &all, today)
                    .await?
                    .into_iter()
                    .map(|(id, v)| (id, v.verified))
                    .collect(),
            );
        }
        let verified = verified.as_ref();
        out[i] = candidates
            .into_iter()
            .find(|l| verified.and_then(|v| v.get(&l.id)).copied().unwrap_or(false))
            .map(|l| Viewer::Lab { org: l.id });
    }
    Ok(out)
}

/// The caller's labs a case open to all reaches, but for their verification.
fn open_to<'a>(case: &case::Model, labs: &'a [organization::Model]) -> Vec<&'a organization::Model> {
    if !case.open_to_all {
        return Vec::new();
    }
    let Some(services) = services_of(case) else {
        return Vec::new();
    };
    labs.iter().filter(|l| fits(l, case, &services)).collect()
}

/// The services the case's Rx needs; `None` (open to nobody) when the stored
/// Rx cannot be read or names none: eligibility fails closed.
pub fn services_of(case: &case::Model) -> Option<Vec<Restoration>> {
    let services = serde_json::from_str::<Rx>(&case.rx).ok()?.services();
    (!services.is_empty()).then_some(services)
}

/// Whether a case open to all reaches `lab`, but for its verification: a lab
/// that takes new work, is not suspended, sits in the case's region and
/// offers every service the Rx needs.
fn fits(lab: &organization::Model, case: &case::Model, services: &[Restoration]) -> bool {
    if !LAB_KINDS.contains(&lab.kind.as_str())
        || lab.suspended_at.is_some()
        || !lab.accepts_new_work
        || lab.region != case.region
    {
        return false;
    }
    let offered: Vec<String> = serde_json::from_str(&lab.services).unwrap_or_default();
    services.iter().all(|s| offered.iter().any(|o| o == s.as_str()))
}

/// Which of `cases` the organisation `org` may see now, as any of its
/// members would (the live events ask this when they deliver, so a lab
/// that lost a case stops receiving its events at once).
pub async fn org_sees<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    cases: Vec<Uuid>,
    today: NaiveDate,
) -> Result<HashSet<Uuid>, DbErr> {
    let rows = crate::store::cases_by_ids(db, cases).await?;
    let as_member = Principal {
        user_id: dentex_domain::UserId(Uuid::nil()),
        session_id: Uuid::nil(),
        staff_role: None,
        memberships: vec![(OrgId(org), OrgRole::Member)],
        second_step: true,
        signed_in_at: chrono::Utc::now(),
    };
    let refs: Vec<&case::Model> = rows.iter().collect();
    let seen = viewers(db, &as_member, &refs, today, None).await?;
    Ok(rows
        .iter()
        .zip(seen)
        .filter(|(_, v)| v.is_some())
        .map(|(c, _)| c.id)
        .collect())
}

/// [`org_sees`] as the event hub's gate, with the accounts crate's answer
/// of which subscribers' sessions are still live members.
pub struct CaseGate {
    pub sessions: dentex_accounts::sessions::SessionPolicy,
}

impl dentex_events::Gate for CaseGate {
    fn visible<'a>(
        &'a self,
        db: &'a sea_orm::DatabaseConnection,
        org: Uuid,
        cases: Vec<Uuid>,
    ) -> futures_util::future::BoxFuture<'a, Result<HashSet<Uuid>, DbErr>> {
        Box::pin(org_sees(db, org, cases, chrono::Utc::now().date_naive()))
    }

    fn live_sessions<'a>(
        &'a self,
        db: &'a sea_orm::DatabaseConnection,
        org: Uuid,
        sessions: Vec<Uuid>,
    ) -> futures_util::future::BoxFuture<'a, Result<HashSet<Uuid>, DbErr>> {
        Box::pin(dentex_accounts::sessions::live_members(
            db,
            org,
            sessions,
            self.sessions,
        ))
    }
}

/// The labs a case open to all reaches now, but for their verification
/// (which the event hub's gate asks when it delivers): those that take new
/// work in the case's region and offer every service its Rx needs.
pub async fn open_labs<C: ConnectionTrait>(db: &C, case: &case::Model) -> Result<Vec<Uuid>, DbErr> {
    let Some(services) = services_of(case) else {
        return Ok(Vec::new());
    };
    let labs = crate::store::working_labs_in(db, &case.region).await?;
    Ok(labs.iter().filter(|l| fits(l, case, &services)).map(|l| l.id).collect())
}

/// Whether a file of a case the caller sees is shown to it: the clinic
/// sees every file; a lab the clinic's files and its own design files,
/// never another lab's. (`store::files_of` applies the same rule in SQL
/// for a page.)
pub fn sees_file(viewer: Viewer, f: &dentex_db::entities::case_file::Model) -> bool {
    match viewer {
        Viewer::Clinic { .. } | Viewer::Support { .. } => true,
        Viewer::Lab { org } => f.lab_org_id.is_none_or(|l| l == org),
    }
}
