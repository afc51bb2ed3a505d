//! The rules of threads, messages, read marks and the live stream. HTTP
//! handlers call these, the market calls [`system`] inside its own
//! transactions, and the notice job reads through the store. A change
//! records its audit row (in the clinic's chain, naming the lab acted for)
//! in its own transaction, last before commit, after its events; a read
//! of a thread's messages is audited through the batched appender, one row
//! per page.

pub mod live;
pub mod marks;
pub mod messages;
pub mod system;
pub mod threads;

use crate::policy::{self, Refusal, ThreadAction};
use crate::state::ChatState;
use crate::store;
use dentex_accounts::Actor;
use dentex_audit::{AuditEvent, Outcome};
use dentex_cases::access::{CaseAction, Viewer};
use dentex_db::entities::{case, chat_thread};
use dentex_domain::OrgId;
use dentex_events::Recipient;
use dentex_http::ApiError;
use uuid::Uuid;

/// A thread the actor sees, with its case and how the actor sees it.
pub struct Reached {
    pub thread: chat_thread::Model,
    pub case: case::Model,
    pub viewer: Viewer,
}

impl Reached {
    /// Both sides of the thread: every member of the clinic and of the lab.
    pub fn sides(&self) -> [Recipient; 2] {
        [
            Recipient::org(self.thread.clinic_org_id),
            Recipient::org(self.thread.lab_org_id),
        ]
    }
}

/// The thread at `raw` if the actor sees it and may do `action` in it. A
/// thread the actor does not see (another tenant's, a lab's that lost the
/// case, another lab's) is 404, audited in the actor's own chain.
pub async fn thread_for(
    state: &ChatState,
    actor: &Actor,
    raw: &str,
    action: ThreadAction,
) -> Result<Reached, ApiError> {
    let found = match Uuid::parse_str(raw) {
        Ok(id) => store::threads::find(&state.db, id).await?,
        Err(_) => None,
    };
    let Some(thread) = found else {
        return Err(not_found(state, actor, raw, action).await);
    };
    // The case's own decision (and its refusal trail) first.
    let allowed =
        match dentex_cases::service::case_for(&state.cases, actor, &thread.case_id.to_string(), CaseAction::Read).await
        {
            Ok(a) => a,
            // `case_for` has audited the refusal already.
            Err(e) if e.status == 404 => return Err(ApiError::not_found()),
            Err(e) => return Err(e),
        };
    let viewer = allowed.viewer();
    if !policy::sees(viewer, &thread) {
        return Err(not_found(state, actor, raw, action).await);
    }
    let case = allowed.case().clone();
    match policy::decide(viewer, &case, &thread, action) {
        Ok(()) => Ok(Reached { thread, case, viewer }),
        Err(Refusal::LabOnly) => {
            let mut ev = event(actor, &thread, viewer, "access.refused");
            ev.outcome = Outcome::Denied;
            ev.reason = Some(action.label().into());
            record(state, ev).await?;
            Err(dentex_accounts::policy::forbidden(
                "Only the thread's lab uploads design files into it.",
            ))
        }
        Err(Refusal::Closed) => Err(closed(&case)),
    }
}

/// 409 `thread_closed`: the case is no longer with the thread's lab.
pub(crate) fn closed(case: &case::Model) -> ApiError {
    ApiError::new(
        &crate::codes::THREAD_CLOSED,
        format!(
            "The case is {}: this thread is kept to read, not written to.",
            case.status
        ),
    )
}

/// The thread's writes re-checked under the case's row (held to commit):
/// an award or cancellation that got there first closes it (404 for the
/// lab, which lost the case; 409 for the clinic).
pub(crate) async fn still_open(txn: &sea_orm::DatabaseTransaction, r: &Reached) -> Result<(), ApiError> {
    if dentex_cases::service::cases::still_with_lab(txn, r.case.id, r.thread.lab_org_id).await? {
        Ok(())
    } else if r.viewer.is_clinic() {
        Err(closed(&r.case))
    } else {
        Err(ApiError::not_found())
    }
}

async fn not_found(state: &ChatState, actor: &Actor, raw: &str, action: ThreadAction) -> ApiError {
    let mut ev = actor.event("access.refused", "chat_thread", Outcome::Denied);
    ev.org_id = actor.memberships.first().map(|(o, _)| *o);
    ev.resource_id = Uuid::parse_str(raw).ok().map(|u| u.to_string());
    ev.reason = Some(format!("{}: not_found", action.label()));
    match record(state, ev).await {
        Ok(()) => ApiError::not_found(),
        Err(e) => e,
    }
}

/// An audit event about a thread, in the clinic's chain, naming the lab the
/// actor acted for.
pub(crate) fn event(actor: &Actor, t: &chat_thread::Model, viewer: Viewer, action: &str) -> AuditEvent {
    let mut ev = actor.event(action, "chat_thread", Outcome::Success);
    ev.org_id = Some(OrgId(t.clinic_org_id));
    ev.resource_id = Some(t.id.to_string());
    if let Viewer::Lab { org } = viewer {
        ev.acting_org_id = Some(OrgId(org));
    }
    ev
}

pub(crate) async fn record(state: &ChatState, ev: AuditEvent) -> Result<(), ApiError> {
    state.audit.record(ev).await.map(|_| ()).map_err(ApiError::from)
}

/// The organisation the actor speaks for in the thread.
pub(crate) fn side_org(r: &Reached) -> Uuid {
    r.viewer.org()
}
