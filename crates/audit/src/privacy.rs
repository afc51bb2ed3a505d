//! What `dentex-audit` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "audit_events",
        owner: "dentex-audit",
        find: "a person: `actor_id`; an organisation: `org_id`, `acting_org_id`",
        retention: "6 years",
        personal: &[
            field(
                "client_addr",
                Category::Audit,
                Erasure::Keep(
                    "legal obligation: the audit trail is kept 6 years as written (HIPAA 164.316(b)(2), GDPR Art. 17(3)(b)); the address is a keyed pseudonym from the request on (`ip:` and 24 hex digits; matched by whoever holds `privacy.pseudonym_key`, read by no one), so nothing needs altering under the hash chain",
                ),
            ),
            field(
                "reason",
                Category::Audit,
                Erasure::Keep(
                    "legal obligation: the audit trail is kept 6 years as written (HIPAA 164.316(b)(2), GDPR Art. 17(3)(b)); the hash chain covers this value, so it is not altered",
                ),
            ),
        ],
        other: &[
            "id",
            "chain",
            "seq",
            "org_id",
            "actor_id",
            "actor_kind",
            "action",
            "resource_type",
            "resource_id",
            "outcome",
            "request_id",
            "occurred_at",
            "prev_hash",
            "hash",
            "acting_org_id",
        ],
    },
    Table {
        table: "audit_heads",
        owner: "dentex-audit",
        find: "no one (the head of each chain)",
        retention: "as the chain",
        personal: &[],
        other: &["chain", "seq", "hash", "updated_at"],
    },
];
