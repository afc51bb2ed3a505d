//! What `dentex-events` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::Table;

pub const TABLES: &[Table] = &[
    Table {
        table: "events",
        owner: "dentex-events",
        find: "an organisation: `org_id`; a person: `user_id`; a patient: through `case_id` (payloads carry ids and states only)",
        retention: "7 days (the event outbox)",
        personal: &[],
        other: &[
            "id",
            "org_id",
            "position",
            "user_id",
            "kind",
            "case_id",
            "payload",
            "created_at",
        ],
    },
    Table {
        table: "event_streams",
        owner: "dentex-events",
        find: "an organisation: `org_id`",
        retention: "organisation life",
        personal: &[],
        other: &["org_id", "last_position", "purged_through"],
    },
];
