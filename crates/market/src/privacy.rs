//! What `dentex-market` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "quotes",
        owner: "dentex-market",
        find: "a patient: through `case_id`",
        retention: "with the case",
        personal: &[field("notes", Category::Health, Erasure::Clear)],
        other: &[
            "id",
            "case_id",
            "lab_org_id",
            "clinic_org_id",
            "status",
            "version",
            "amount_minor",
            "currency",
            "turnaround_days",
            "valid_until",
            "line_items",
            "created_by",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "quote_versions",
        owner: "dentex-market",
        find: "a patient: through the quote's case",
        retention: "with the case",
        personal: &[field("notes", Category::Health, Erasure::Clear)],
        other: &[
            "quote_id",
            "version",
            "amount_minor",
            "currency",
            "turnaround_days",
            "valid_until",
            "line_items",
            "created_by",
            "created_at",
        ],
    },
    Table {
        table: "orders",
        owner: "dentex-market",
        find: "a patient: through `case_id`",
        retention: "with the case (10 years for a paid order's amounts, on its receipt)",
        personal: &[
            field("cancel_reason", Category::Health, Erasure::Clear),
            field("remake_notes", Category::Health, Erasure::Clear),
            field("carrier", Category::Log, Erasure::Clear),
            field("tracking_number", Category::Log, Erasure::Clear),
        ],
        other: &[
            "id",
            "case_id",
            "award_case_id",
            "quote_id",
            "quote_version",
            "clinic_org_id",
            "lab_org_id",
            "status",
            "amount_minor",
            "currency",
            "turnaround_days",
            "due_date",
            "cancelled_by",
            "remake_of",
            "remake_reason",
            "cost_bearer",
            "created_by",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "order_transitions",
        owner: "dentex-market",
        find: "a patient: through the order's case",
        retention: "with the case",
        personal: &[field("note", Category::Health, Erasure::Clear)],
        other: &[
            "id",
            "order_id",
            "from_status",
            "to_status",
            "actor_user_id",
            "actor_side",
            "at",
        ],
    },
    Table {
        table: "idempotency_keys",
        owner: "dentex-market",
        find: "a person: `user_id` (a stored answer can carry a patient reference)",
        retention: "24 hours",
        personal: &[field("response_body", Category::Health, Erasure::Delete)],
        other: &["user_id", "key", "scope", "request_hash", "status_code", "created_at"],
    },
];
