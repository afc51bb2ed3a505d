//! Messages: the page of a thread, posting, deleting within 15 minutes.

use super::{Reached, event, record, side_org, thread_for};
use crate::policy::ThreadAction;
use crate::state::ChatState;
use crate::store;
use crate::store::messages::NewMessage;
use dentex_accounts::Actor;
use dentex_db::entities::{case_file, chat_message};
use dentex_domain::FieldError;
use dentex_http::ApiError;
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest message, in characters.
pub const MAX_CHARS: usize = 10_000;
/// Most files on one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// How long a sender may delete a message.
pub const DELETE_WINDOW_SECS: i64 = 15 * 60;

/// A new message.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// Plain text, 1–10,000 characters after trimming.
    pub body: String,
    /// Files of the case to attach (the clinic's, or this thread's lab's),
    /// at most 10.
    #[serde(default)]
    pub attachments: Vec<Uuid>,
}

/// Which page of a thread.
#[derive(Debug, Clone, Copy)]
pub struct PageOf {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub limit: u64,
}

/// Messages with what they show.
pub struct Shown {
    pub reached: Reached,
    pub messages: Vec<chat_message::Model>,
    pub files: HashMap<Uuid, Vec<case_file::Model>>,
    pub senders: HashMap<Uuid, String>,
    pub org_names: HashMap<Uuid, String>,
}

/// A page of a thread, audited as one read in the clinic's chain.
pub async fn page(state: &ChatState, actor: &Actor, raw: &str, p: PageOf) -> Result<Shown, ApiError> {
    let reached = thread_for(state, actor, raw, ThreadAction::Read).await?;
    let messages = store::messages::page(&state.db, reached.thread.id, p.before, p.after, p.limit).await?;
    let mut ev = event(actor, &reached.thread, reached.viewer, "chat.read");
    ev.reason = messages
        .first()
        .zip(messages.last())
        .map(|(a, b)| format!("messages {}-{}", a.seq, b.seq));
    record(state, ev).await?;
    shown(state, reached, messages).await
}

async fn shown(state: &ChatState, reached: Reached, messages: Vec<chat_message::Model>) -> Result<Shown, ApiError> {
    let attached = store::messages::attachments(&state.db, messages.iter().map(|m| m.id).collect()).await?;
    let ids: Vec<Uuid> = attached.values().flatten().copied().collect();
    let rows =
        dentex_cases::service::files::thread_files(&state.db, reached.case.id, reached.thread.lab_org_id, ids).await?;
    let by_id: HashMap<Uuid, case_file::Model> = rows.into_iter().map(|f| (f.id, f)).collect();
    let files = attached
        .into_iter()
        .map(|(m, fs)| (m, fs.iter().filter_map(|f| by_id.get(f).cloned()).collect()))
        .collect();
    let senders = dentex_accounts::service::directory::display_names(
        &state.db,
        messages.iter().filter_map(|m| m.sender_user_id).collect(),
    )
    .await?;
    let org_names = dentex_accounts::service::directory::organization_names(
        &state.db,
        messages.iter().filter_map(|m| m.sender_org_id).collect(),
    )
    .await?;
    Ok(Shown {
        reached,
        messages,
        files,
        senders,
        org_names,
    })
}

/// The body trimmed, or the field's problem.
fn checked(input: &MessageInput) -> Result<String, ApiError> {
    let body = input.body.trim().to_owned();
    let mut errors = Vec::new();
    if body.is_empty() {
        errors.push(FieldError::new(
            "body",
            "required",
            "Write something: the message is empty.",
        ));
    } else if body.chars().count() > MAX_CHARS {
        errors.push(FieldError::new(
            "body",
            "too_long",
            format!("At most {MAX_CHARS} characters."),
        ));
    }
    if input.attachments.len() > MAX_ATTACHMENTS {
        errors.push(FieldError::new(
            "attachments",
            "too_many",
            format!("At most {MAX_ATTACHMENTS} files on one message."),
        ));
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Posts a message: its sequence number is taken under the thread's lock,
/// its event and audit row are written in the same transaction, and the
/// sender's own mark moves to it.
pub async fn post(state: &ChatState, actor: &Actor, raw: &str, input: MessageInput) -> Result<Shown, ApiError> {
    let reached = thread_for(state, actor, raw, ThreadAction::Post).await?;
    dentex_cases::policy::require_unrestricted(&reached.case)?;
    let body = checked(&input)?;
    // Each file once, in the order given.
    let mut seen = std::collections::HashSet::new();
    let wanted: Vec<Uuid> = input
        .attachments
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    let found = dentex_cases::service::files::thread_files(
        &state.db,
        reached.case.id,
        reached.thread.lab_org_id,
        wanted.clone(),
    )
    .await?;
    let errors: Vec<FieldError> = input
        .attachments
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.iter().any(|f| f.id == **id))
        .map(|(i, _)| {
            FieldError::new(
                format!("attachments[{i}]"),
                "unknown_file",
                "Not a file of this case that this thread may carry.",
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let t = &reached.thread;
    let txn = dentex_db::begin_write(&state.db).await?;
    super::still_open(&txn, &reached).await?;
    let seq = store::threads::next_seq(&txn, t.id).await?;
    let m = store::messages::insert(
        &txn,
        NewMessage {
            thread: t.id,
            seq,
            sender: Some((actor.user_id.0, side_org(&reached))),
            kind: "text",
            body,
            system_code: None,
            at: dentex_db::now(),
        },
        &wanted,
    )
    .await?;
    store::threads::mark_read(&txn, t.id, actor.user_id.0, seq).await?;
    let mut out = dentex_events::Outbox::new();
    out.push(
        reached.sides(),
        "message.created",
        Some(t.case_id),
        &serde_json::json!({"case_id": t.case_id, "thread_id": t.id, "message_id": m.id, "seq": seq}),
    );
    out.write_in(&txn).await?;
    dentex_accounts::audit_in(&txn, event(actor, t, reached.viewer, "chat.message.create")).await?;
    txn.commit().await?;
    dentex_events::committed();
    shown(state, reached, vec![m]).await
}

/// Deletes the sender's own message within 15 minutes: a tombstone stays.
pub async fn delete(state: &ChatState, actor: &Actor, raw: &str, raw_message: &str) -> Result<Shown, ApiError> {
    let reached = thread_for(state, actor, raw, ThreadAction::DeleteMessage).await?;
    let t = &reached.thread;
    let m = match Uuid::parse_str(raw_message) {
        Ok(id) => store::messages::find(&state.db, t.id, id).await?,
        Err(_) => None,
    }
    .ok_or_else(ApiError::not_found)?;
    if m.sender_user_id != Some(actor.user_id.0) {
        let mut ev = event(actor, t, reached.viewer, "access.refused");
        ev.outcome = dentex_audit::Outcome::Denied;
        ev.reason = Some("delete message: not the sender".into());
        record(state, ev).await?;
        return Err(dentex_accounts::policy::forbidden("Only the sender deletes a message."));
    }
    if m.deleted_at.is_some() {
        return Err(ApiError::new(
            &crate::codes::MESSAGE_NOT_DELETABLE,
            "The message is deleted already.",
        ));
    }
    let now = dentex_db::now();
    if now - m.created_at > chrono::Duration::seconds(DELETE_WINDOW_SECS) {
        return Err(ApiError::new(
            &crate::codes::MESSAGE_NOT_DELETABLE,
            "A message is deleted within 15 minutes of sending; this one is older.",
        ));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    super::still_open(&txn, &reached).await?;
    if !store::messages::tombstone(&txn, m.id, now).await? {
        return Err(ApiError::new(
            &crate::codes::MESSAGE_NOT_DELETABLE,
            "The message is deleted already.",
        ));
    }
    let mut out = dentex_events::Outbox::new();
    out.push(
        reached.sides(),
        "message.deleted",
        Some(t.case_id),
        &serde_json::json!({"case_id": t.case_id, "thread_id": t.id, "message_id": m.id, "seq": m.seq}),
    );
    out.write_in(&txn).await?;
    let mut ev = event(actor, t, reached.viewer, "chat.message.delete");
    ev.reason = Some(format!("message {}", m.id));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    dentex_events::committed();
    let gone = store::messages::find(&state.db, t.id, m.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    shown(state, reached, vec![gone]).await
}
