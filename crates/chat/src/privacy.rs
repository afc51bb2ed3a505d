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
