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
    /// The case is cancelled, or awarded to another lab: the thread is
    /// read-only (409).
    Closed,
}

/// Whether `viewer` (how the caller sees the case) sees `thread`.
pub fn sees(viewer: Viewer, thread: &chat_thread::Model) -> bool {
    match viewer {
        Viewer::Clinic { org, .. } => org == thread.clinic_org_id,
        Viewer::Lab { org } => org == thread.lab_org_id,
        // Break-glass opens the case and its files, not its conversations.
        Viewer::Support { .. } => false,
    }
}

/// Whether `viewer`, who sees the thread, may do `action` in it. Writing
/// needs the case still with the thread's lab: submitted, or awarded to it
/// (the clinic keeps a losing lab's thread to read, not to write into).
pub fn decide(
    viewer: Viewer,
    case: &case::Model,
    thread: &chat_thread::Model,
    action: ThreadAction,
) -> Result<(), Refusal> {
    if action == ThreadAction::UploadDesign && viewer.is_clinic() {
        return Err(Refusal::LabOnly);
    }
    let writes = match action {
        ThreadAction::Post | ThreadAction::DeleteMessage | ThreadAction::UploadDesign => true,
        ThreadAction::Read | ThreadAction::MarkRead => false,
    };
    let with_lab = match CaseStatus::parse(&case.status) {
        Some(CaseStatus::Submitted) => true,
        Some(CaseStatus::Awarded) => case.awarded_lab_org_id == Some(thread.lab_org_id),
        Some(CaseStatus::Draft | CaseStatus::Canceled) | None => false,
    };
    if writes && !with_lab {
        return Err(Refusal::Closed);
    }
    Ok(())
}
