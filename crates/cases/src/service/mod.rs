//! The rules of cases, files and uploads. HTTP handlers, jobs, the CLI and
//! the crates above call these; each takes the crate's state (database,
//! audit log, queue, store, limits) or a transaction, and the typed
//! [`Actor`]. A change records its audit row in its own transaction, last
//! before commit; a read is audited through the batched appender before it
//! is answered.
//!
//! - [`cases`]: drafts, submission, cancellation, lists, the access log, and
//!   the steps the market takes on a case inside its own transactions.
//! - [`lists`]: the case list, by the page.
//! - [`files`]: streamed uploads, reads, downloads, deletion.
//! - [`uploads`]: presigned multipart uploads.

pub mod cases;
pub mod disclosures;
pub mod files;
pub mod lists;
pub mod uploads;

use crate::policy::{self, CaseAction, Refusal, Viewer};
use crate::state::CasesState;
use crate::store;
use chrono::{NaiveDate, Utc};
use dentex_accounts::{Actor, policy as accounts_policy};
use dentex_audit::{AuditEvent, Outcome};
use dentex_db::entities::case;
use dentex_domain::OrgId;
use dentex_http::ApiError;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The audit event of an action on a case, or one of its files (`file`),
/// in the clinic's chain, naming the lab the reader acted for.
pub(crate) fn case_event(
    actor: &Actor,
    c: &case::Model,
    viewer: Viewer,
    action: &str,
    file: Option<Uuid>,
) -> AuditEvent {
    let (ty, id) = match file {
        Some(f) => ("case_file", format!("{}/{f}", c.id)),
        None => ("case", c.id.to_string()),
    };
    let mut ev = actor.event(action, ty, Outcome::Success);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(id);
    if let Viewer::Lab { org } = viewer {
        ev.acting_org_id = Some(OrgId(org));
    }
    ev
}

/// Appends `ev` through the batched appender (reads and refusals).
pub(crate) async fn record(state: &CasesState, ev: AuditEvent) -> Result<(), ApiError> {
    state.audit.record(ev).await.map(|_| ()).map_err(ApiError::from)
}

/// Audits a read of a case or one of its files before it is answered.
pub(crate) async fn audit_read(
    state: &CasesState,
    actor: &Actor,
    c: &case::Model,
    v: Viewer,
    action: &str,
    file: Option<Uuid>,
) -> Result<(), ApiError> {
    record(state, case_event(actor, c, v, action, file)).await
}

/// Audits a change of a case inside its transaction (call it last before
/// `commit`): the change and its row commit together or not at all.
pub(crate) async fn audit_change(
    txn: &DatabaseTransaction,
    actor: &Actor,
    c: &case::Model,
    v: Viewer,
    action: &str,
    file: Option<Uuid>,
) -> Result<(), ApiError> {
    dentex_accounts::audit_in(txn, case_event(actor, c, v, action, file)).await
}

/// A case the actor may do one action to: only [`case_for`] makes one, so a
/// service that takes it cannot be reached past the policy (by a handler,
/// a job or another crate alike); it serves the actor and the action it was
/// made for, and the file or upload a service is handed must be of its case.
/// (The steps the market takes inside its own transactions,
/// `service::cases::{lock_open_to_quotes, award, reopen}`, take a case id:
/// the market decides who may award.)
#[derive(Debug)]
pub struct Allowed {
    case: case::Model,
    viewer: Viewer,
    action: CaseAction,
    /// Who it was decided for: another actor may not use it.
    user: dentex_domain::UserId,
}

impl Allowed {
    /// The case and how the actor sees it, for the action it was allowed;
    /// asking for another action is a mistake in the code (500).
    pub(crate) fn take(&self, actor: &Actor, action: CaseAction) -> Result<(&case::Model, Viewer), ApiError> {
        if self.action == action && self.user == actor.user_id {
            Ok((&self.case, self.viewer))
        } else {
            Err(ApiError::internal(anyhow::anyhow!(
                "a case allowed for {:?} by one actor was used for {action:?} by another or for another action",
                self.action
            )))
        }
    }

    pub fn case(&self) -> &case::Model {
        &self.case
    }

    pub fn viewer(&self) -> Viewer {
        self.viewer
    }
}

/// What a case's file or upload id names, for [`case_for_child`].
#[derive(Debug, Clone, Copy)]
pub enum Child {
    File,
    Upload,
}

/// [`case_for`] for a route about one of the case's files or uploads: an id
/// the case does not have is 404 whatever the case's state, so a case past
/// its draft answers 409 `case_not_draft` only for a child it has (the
/// refusal rule, `docs/errors.md`).
pub async fn case_for_child(
    state: &CasesState,
    actor: &Actor,
    raw_case: &str,
    raw_child: &str,
    child: Child,
    action: CaseAction,
) -> Result<Allowed, ApiError> {
    match case_for(state, actor, raw_case, action).await {
        Err(e) if e.code == crate::codes::CASE_NOT_DRAFT.code => {
            // The case is one the actor sees (the refusal came after the
            // viewer was decided): an id it does not have is 404, audited
            // like any probe.
            let (Ok(case_id), id) = (Uuid::parse_str(raw_case), Uuid::parse_str(raw_child).ok()) else {
                return Err(ApiError::not_found());
            };
            let known = match (child, id) {
                (Child::File, Some(id)) => store::file_in_case(&state.db, case_id, id).await?.is_some(),
                (Child::Upload, Some(id)) => store::upload_in_case(&state.db, case_id, id).await?.is_some(),
                (_, None) => false,
            };
            if known {
                return Err(e);
            }
            let Some(c) = store::find_case(&state.db, case_id).await? else {
                return Err(ApiError::not_found());
            };
            let resource = match child {
                Child::File => "case_file",
                Child::Upload => "case_upload",
            };
            Err(missing_in_case(state, actor, &c, resource, id).await)
        }
        r => r,
    }
}

/// The case at `raw` if the actor sees it and may do `action` to it. A case
/// the actor does not see is 404, audited in the actor's own chain (probing
/// leaves a trace; the other tenant's trail is not written); a lab asking
/// for what only the clinic does is 403, audited in the clinic's chain.
pub async fn case_for(state: &CasesState, actor: &Actor, raw: &str, action: CaseAction) -> Result<Allowed, ApiError> {
    accounts_policy::require_full_session(actor)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => store::find_case(&state.db, id).await?,
        Err(_) => None,
    };
    let viewer = match &found {
        Some(c) => match policy::viewer(&state.db, actor, c, today()).await? {
            Some(v) => Some(v),
            // Platform staff see a case only under a break-glass grant.
            None if actor.staff_role.is_some()
                && crate::break_glass::active(&state.db, c.id, actor.user_id.0, dentex_db::now()).await? =>
            {
                Some(Viewer::Support {
                    clinic: c.clinic_org_id,
                })
            }
            None => None,
        },
        None => None,
    };
    let (Some(c), Some(v)) = (found, viewer) else {
        let mut ev = actor.event("access.refused", "case", Outcome::Denied);
        ev.org_id = actor.memberships.first().map(|(o, _)| *o);
        ev.resource_id = Uuid::parse_str(raw).ok().map(|u| u.to_string());
        ev.reason = Some(format!("{}: not_found", action.label()));
        record(state, ev).await?;
        return Err(ApiError::not_found());
    };
    match policy::decide(v, &c, action) {
        Ok(()) => Ok(Allowed {
            case: c,
            viewer: v,
            action,
            user: actor.user_id,
        }),
        Err(Refusal::ClinicOnly) => {
            let mut ev = actor.event("access.refused", "case", Outcome::Denied);
            ev.org_id = Some(OrgId(c.clinic_org_id));
            ev.resource_id = Some(c.id.to_string());
            ev.acting_org_id = Some(OrgId(v.org()));
            ev.reason = Some("clinic only".into());
            record(state, ev).await?;
            Err(accounts_policy::forbidden(
                "Only the clinic that owns the case may do this.",
            ))
        }
        Err(Refusal::LabOnly) => Err(accounts_policy::forbidden(
            "Only a lab uploads design files, into its own thread.",
        )),
        Err(Refusal::Restricted) => Err(policy::restricted()),
        Err(Refusal::NotDraft) => Err(ApiError::new(
            &crate::codes::CASE_NOT_DRAFT,
            format!(
                "The case is {}; only drafts change. Use the case's chat for later changes.",
                c.status
            ),
        )),
    }
}

/// Takes the case's row for this transaction while it is still a draft: a
/// submission or cancellation that got there first wins (409), and one that
/// comes later waits and then sees this change.
pub(crate) async fn lock_draft(txn: &DatabaseTransaction, id: Uuid) -> Result<(), ApiError> {
    if store::touch_draft(txn, id).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            &crate::codes::CASE_NOT_DRAFT,
            "The case is no longer a draft; only drafts change.",
        ))
    }
}

/// A file or upload of a visible case that is not there: 404, audited in
/// the clinic's chain (`resource` names what was asked for).
pub(crate) async fn missing_in_case(
    state: &CasesState,
    actor: &Actor,
    c: &case::Model,
    resource: &str,
    id: Option<Uuid>,
) -> ApiError {
    let mut ev = actor.event("access.refused", resource, Outcome::Denied);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(format!("{}/{}", c.id, id.map(|u| u.to_string()).unwrap_or_default()));
    ev.reason = Some(format!("{resource}: not_found"));
    match record(state, ev).await {
        Ok(()) => ApiError::not_found(),
        Err(e) => e,
    }
}

/// A file's or upload's row handed to a service must belong to the allowed
/// case (another case's id under this one is 404, as `file_of` answers).
pub(crate) fn of_case(row_case: Uuid, c: &case::Model) -> Result<(), ApiError> {
    if row_case == c.id {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// Best effort: an object whose row was never written (or is gone) is
/// removed now, or by the orphan sweep.
pub(crate) async fn remove_object(state: &CasesState, key: &str) {
    if state.store.delete(key).await.is_err() {
        tracing::warn!("an object without a row could not be removed; the sweep will");
    }
}
