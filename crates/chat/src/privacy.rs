//! What `dentex-chat` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "event_tickets",
        owner: "dentex-chat",
        find: "a person: `user_id`",
        retention: "minutes (until used or expired)",
        personal: &[],
        other: &[
            "id",
            "token_hash",
            "session_id",
            "user_id",
            "expires_at",
            "used_at",
            "created_at",
        ],
    },
    Table {
        table: "chat_threads",
        owner: "dentex-chat",
        find: "a patient: through `case_id`",
        retention: "3 years after the last message",
        personal: &[],
        other: &[
            "id",
            "case_id",
            "clinic_org_id",
            "lab_org_id",
            "last_seq",
            "last_message_at",
            "created_at",
        ],
    },
    Table {
        table: "chat_messages",
        owner: "dentex-chat",
        find: "a person: `sender_user_id`; a patient: through the thread's case",
        retention: "3 years",
        personal: &[field("body", Category::Message, Erasure::Redact)],
        other: &[
            "id",
            "thread_id",
            "seq",
            "sender_user_id",
            "sender_org_id",
            "kind",
            "system_code",
            "created_at",
            "deleted_at",
        ],
    },
    Table {
        table: "chat_attachments",
        owner: "dentex-chat",
        find: "a patient: through the message's thread",
        retention: "with the message",
        personal: &[],
        other: &["message_id", "file_id"],
    },
    Table {
        table: "chat_read_marks",
        owner: "dentex-chat",
        find: "a person: `user_id`",
        retention: "with the thread",
        personal: &[],
        other: &["thread_id", "user_id", "up_to", "updated_at"],
    },
    Table {
        table: "chat_notices",
        owner: "dentex-chat",
        find: "a person: `user_id`",
        retention: "with the thread",
        personal: &[],
        other: &["thread_id", "user_id", "seq", "created_at"],
    },
];

/// Redacts every message on the cases' threads to a tombstone (no text,
/// `deleted_at` set: the thread shows where a message was); attachments
/// go with the case's files.
pub async fn redact_cases<C: sea_orm::ConnectionTrait>(
    txn: &C,
    case_ids: &[uuid::Uuid],
) -> Result<Vec<dentex_domain::privacy::Erased>, sea_orm::DbErr> {
    use dentex_db::entities::{chat_message, chat_thread};
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
    let threads = chat_thread::Entity::find()
        .select_only()
        .column(chat_thread::Column::Id)
        .filter(chat_thread::Column::CaseId.is_in(case_ids.to_vec()))
        .into_query();
    let redacted = chat_message::Entity::update_many()
        .col_expr(chat_message::Column::Body, Expr::value(Option::<String>::None))
        .col_expr(
            chat_message::Column::DeletedAt,
            Expr::col(chat_message::Column::DeletedAt).if_null(dentex_db::now()),
        )
        .filter(chat_message::Column::ThreadId.in_subquery(threads))
        .filter(chat_message::Column::Body.is_not_null())
        .exec(txn)
        .await?
        .rows_affected;
    Ok(vec![dentex_domain::privacy::Erased::new(
        "chat_messages",
        "redacted",
        redacted,
    )])
}
