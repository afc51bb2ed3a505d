//! The threads of a case, as each side sees them.

use crate::state::ChatState;
use crate::store;
use dentex_accounts::Actor;
use dentex_cases::access::{CaseAction, Viewer};
use dentex_db::entities::chat_thread;
use dentex_domain::CaseStatus;
use dentex_http::ApiError;
use std::collections::HashMap;
use uuid::Uuid;

/// A thread with the caller's unread count.
pub struct Listed {
    pub thread: chat_thread::Model,
    pub lab_name: String,
    pub unread: i64,
}

/// The threads of a case: the clinic sees one per lab (every named lab's,
/// and those a lab opened on a case open to all); a lab sees its own,
/// made on first sight.
pub async fn list(state: &ChatState, actor: &Actor, raw_case: &str) -> Result<Vec<Listed>, ApiError> {
    let allowed = dentex_cases::service::case_for(&state.cases, actor, raw_case, CaseAction::Read).await?;
    let c = allowed.case();
    let threads = match allowed.viewer() {
        // Break-glass opens the case and its files, not its conversations.
        Viewer::Support { .. } => return Err(ApiError::not_found()),
        Viewer::Lab { org } => vec![store::threads::ensure(&state.db, c.id, c.clinic_org_id, org).await?],
        Viewer::Clinic { .. } => {
            if CaseStatus::parse(&c.status).is_some_and(CaseStatus::open_to_labs) {
                for lab in dentex_cases::service::cases::named_labs(&state.cases, c.id).await? {
                    store::threads::ensure(&state.db, c.id, c.clinic_org_id, lab).await?;
                }
            }
            let all = store::threads::of_case(&state.db, c.id).await?;
            // Once awarded, the clinic keeps every thread to read.
            all
        }
    };
    let marks = store::threads::marks(&state.db, actor.user_id.0, threads.iter().map(|t| t.id).collect()).await?;
    let names: HashMap<Uuid, String> = dentex_accounts::service::directory::organization_names(
        &state.db,
        threads.iter().map(|t| t.lab_org_id).collect(),
    )
    .await?;
    Ok(threads
        .into_iter()
        .map(|t| Listed {
            unread: (t.last_seq - marks.get(&t.id).copied().unwrap_or(0)).max(0),
            lab_name: names.get(&t.lab_org_id).cloned().unwrap_or_default(),
            thread: t,
        })
        .collect())
}
