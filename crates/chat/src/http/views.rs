//! What chat answers with.

use crate::service::messages::Shown;
use crate::service::threads::Listed;
use dentex_db::entities::{case_file, chat_message};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct LabSide {
    pub id: Uuid,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct ThreadView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub lab: LabSide,
    /// The sequence number of the newest message (0: none yet).
    pub last_seq: i64,
    pub last_message_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Messages after the caller's read mark.
    pub unread: i64,
    pub messages_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct ThreadList {
    pub items: Vec<ThreadView>,
    /// Unread over these threads.
    pub unread: i64,
}

pub fn thread_list(items: Vec<Listed>) -> ThreadList {
    let unread = items.iter().map(|l| l.unread).sum();
    ThreadList {
        unread,
        items: items
            .into_iter()
            .map(|l| ThreadView {
                id: l.thread.id,
                case_id: l.thread.case_id,
                lab: LabSide {
                    id: l.thread.lab_org_id,
                    name: l.lab_name,
                },
                last_seq: l.thread.last_seq,
                last_message_at: l.thread.last_message_at,
                unread: l.unread,
                messages_url: format!("/api/v1/threads/{}/messages", l.thread.id),
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Sender {
    pub user_id: Uuid,
    pub name: String,
    pub organization_id: Uuid,
    pub organization_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    pub file_id: Uuid,
    #[schema(value_type = dentex_cases::http::views::FileKind)]
    pub kind: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Set for a design file a lab uploaded into its thread.
    pub lab_org_id: Option<Uuid>,
    pub url: String,
}

dentex_domain::doc_enum!(
    /// `MessageView.kind` in the document.
    MessageKind = "What wrote the message: a person, or the platform for a market event.",
    ["text", "system"]
);

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub thread_id: Uuid,
    /// Its place in the thread: 1, 2, 3, … with no gaps.
    pub seq: i64,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    /// `null` for a system message.
    pub sender: Option<Sender>,
    /// `null` once deleted.
    pub body: Option<String>,
    /// A system message's event (`quote.revised`, `order.shipped`, …).
    pub system_code: Option<String>,
    pub deleted: bool,
    pub attachments: Vec<AttachmentView>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    /// Oldest first.
    pub items: Vec<MessageView>,
    pub thread: Uuid,
    pub last_seq: i64,
    /// Pass as `before` for older messages; `null` at the first.
    pub before: Option<i64>,
}

fn attachment(case: Uuid, f: &case_file::Model) -> AttachmentView {
    AttachmentView {
        file_id: f.id,
        kind: f.kind.clone(),
        content_type: f.content_type.clone(),
        size_bytes: f.size_bytes,
        lab_org_id: f.lab_org_id,
        url: format!("/api/v1/cases/{case}/files/{}", f.id),
    }
}

fn message(s: &Shown, m: &chat_message::Model) -> MessageView {
    let case = s.reached.case.id;
    MessageView {
        id: m.id,
        thread_id: m.thread_id,
        seq: m.seq,
        kind: m.kind.clone(),
        sender: m.sender_user_id.zip(m.sender_org_id).map(|(u, o)| Sender {
            user_id: u,
            name: s.senders.get(&u).cloned().unwrap_or_default(),
            organization_id: o,
            organization_name: s.org_names.get(&o).cloned().unwrap_or_default(),
        }),
        body: m.body.clone(),
        system_code: m.system_code.clone(),
        deleted: m.deleted_at.is_some(),
        attachments: s
            .files
            .get(&m.id)
            .map(|fs| fs.iter().map(|f| attachment(case, f)).collect())
            .unwrap_or_default(),
        created_at: m.created_at,
        deleted_at: m.deleted_at,
    }
}

pub fn message_page(s: &Shown) -> MessagePage {
    let before = s.messages.first().map(|m| m.seq).filter(|&seq| seq > 1);
    MessagePage {
        items: s.messages.iter().map(|m| message(s, m)).collect(),
        thread: s.reached.thread.id,
        last_seq: s.reached.thread.last_seq.max(s.messages.last().map_or(0, |m| m.seq)),
        before,
    }
}

/// The one message a post or delete answers with.
pub fn one_message(s: &Shown) -> Option<MessageView> {
    s.messages.first().map(|m| message(s, m))
}

#[derive(Serialize, ToSchema)]
pub struct TicketView {
    /// Pass once as `?ticket=` to `GET /api/v1/events` within a minute.
    pub ticket: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

dentex_domain::doc_enum!(
    /// `StreamEvent.event` in the document.
    EventKind = "What happened: fetch the resource named in `data` for the rest.",
    [
        "reset",
        "message.created",
        "message.deleted",
        "thread.read",
        "case.submitted",
        "case.canceled",
        "case.awarded",
        "file.analyzed",
        "quote.created",
        "quote.revised",
        "quote.withdrawn",
        "quote.accepted",
        "quote.declined",
        "order.transitioned",
        "remake.created",
    ]
);

/// One event of `GET /api/v1/events`, as an SSE client parses it.
#[derive(Serialize, ToSchema)]
pub struct StreamEvent {
    /// The cursor after this event: send it back as `Last-Event-ID`.
    pub id: String,
    #[schema(value_type = EventKind)]
    pub event: String,
    /// JSON: ids, states and counts only (`case_id`, `thread_id`,
    /// `message_id`, `seq`, `status`, …); `reset` asks the client to reload.
    pub data: String,
}
