//! Who may do what in a thread. Seeing a thread is seeing its case
//! (`dentex_cases::access`) from the thread's side: the clinic of the case,
//! or the thread's own lab while it may see the case. Everyone else gets
//! 404, as for the case.

use dentex_cases::access::Viewer;
use dentex_db::entities::{case, chat_thread};
use dentex_domain::CaseStatus;

/// What a caller does to a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAction {
    Read,
    Post,
    MarkRead,
    DeleteMessage,
    UploadDesign,
}

impl ThreadAction {
    pub fn label(self) -> &'static str {
        match self {
            ThreadAction::Read => "read thread",
            ThreadAction::Post => "post message",
            ThreadAction::MarkRead => "mark read",
            ThreadAction::DeleteMessage => "delete message",
            ThreadAction::UploadDesign => "upload design",
        }
    }
}

/// Why a caller who sees the thread may not do the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Only the lab uploads design files into its thread (403).
    LabOnly,
    /// The case is cancelled: the thread is read-only (409).
    Closed,
}

/// Whether `viewer` (how the caller sees the case) sees `thread`.
pub fn sees(viewer: Viewer, thread: &chat_thread::Model) -> bool {
    match viewer {
        Viewer::Clinic { org, .. } => org == thread.clinic_org_id,
        Viewer::Lab { org } => org == thread.lab_org_id,
    }
}

/// Whether `viewer`, who sees the thread, may do `action` in it.
pub fn decide(viewer: Viewer, case: &case::Model, action: ThreadAction) -> Result<(), Refusal> {
    if action == ThreadAction::UploadDesign && viewer.is_clinic() {
        return Err(Refusal::LabOnly);
    }
    let writes = matches!(
        action,
        ThreadAction::Post | ThreadAction::DeleteMessage | ThreadAction::UploadDesign
    );
    match CaseStatus::parse(&case.status) {
        Some(CaseStatus::Submitted | CaseStatus::Awarded) => Ok(()),
        Some(CaseStatus::Draft | CaseStatus::Canceled) | None if writes => Err(Refusal::Closed),
        Some(CaseStatus::Draft | CaseStatus::Canceled) | None => Ok(()),
    }
}
