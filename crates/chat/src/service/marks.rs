//! Read marks: how far a person has read a thread. They only move forward;
//! unread counts are derived from them.

use super::{side_org, thread_for};
use crate::policy::ThreadAction;
use crate::state::ChatState;
use crate::store;
use dentex_accounts::Actor;
use dentex_domain::FieldError;
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// The sequence number of the last message read (`seq` of a message).
    #[schema(minimum = 0)]
    pub up_to: i64,
}

/// Where the caller's mark stands.
#[derive(Serialize, ToSchema)]
pub struct ReadMark {
    pub thread_id: Uuid,
    /// Never less than before: a mark does not move back.
    pub up_to: i64,
    pub unread: i64,
}

/// Moves the caller's mark forward (a lower `up_to` leaves it where it is);
/// the caller's other screens hear `thread.read`.
pub async fn read(state: &ChatState, actor: &Actor, raw: &str, input: ReadInput) -> Result<ReadMark, ApiError> {
    let reached = thread_for(state, actor, raw, ThreadAction::MarkRead).await?;
    let t = &reached.thread;
    if input.up_to < 0 || input.up_to > t.last_seq {
        return Err(ApiError::validation(vec![FieldError::new(
            "up_to",
            "out_of_range",
            format!("Between 0 and the thread's last message, {}.", t.last_seq),
        )]));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let up_to = store::threads::mark_read(&txn, t.id, actor.user_id.0, input.up_to).await?;
    let unread = (t.last_seq - up_to).max(0);
    let mut out = dentex_events::Outbox::new();
    out.push(
        [dentex_events::Recipient::person(side_org(&reached), actor.user_id.0)],
        "thread.read",
        Some(t.case_id),
        &serde_json::json!({"case_id": t.case_id, "thread_id": t.id, "up_to": up_to, "unread": unread}),
    );
    out.write_in(&txn).await?;
    txn.commit().await?;
    dentex_events::committed();
    Ok(ReadMark {
        thread_id: t.id,
        up_to,
        unread,
    })
}
