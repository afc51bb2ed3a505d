//! What `dentex-jobs` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[Table {
    table: "jobs",
    owner: "dentex-jobs",
    find: "a person: a mail job's `payload` names its recipient",
    retention: "done jobs: 7 days",
    personal: &[
        field("payload", Category::Log, Erasure::Delete),
        field("last_error", Category::Log, Erasure::Clear),
    ],
    other: &[
        "id",
        "kind",
        "status",
        "run_at",
        "attempts",
        "max_attempts",
        "locked_until",
        "locked_by",
        "created_at",
        "updated_at",
    ],
}];
