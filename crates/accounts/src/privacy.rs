//! What `dentex-accounts` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Store, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "users",
        owner: "dentex-accounts",
        find: "a person: `id`",
        retention: "account life + 90 days",
        personal: &[
            field("email", Category::Account, Erasure::Pseudonymise),
            field("display_name", Category::Account, Erasure::Pseudonymise),
            field("password_hash", Category::Account, Erasure::Clear),
            field("mfa_secret", Category::Account, Erasure::Clear),
            field("mfa_pending_secret", Category::Account, Erasure::Clear),
        ],
        other: &[
            "id",
            "staff_role",
            "created_at",
            "updated_at",
            "email_verified_at",
            "password_changed_at",
            "mfa_enabled_at",
            "mfa_last_step",
        ],
    },
    Table {
        table: "organizations",
        owner: "dentex-accounts",
        find: "an organisation: `id` (a sole trader's name names a person)",
        retention: "organisation life; its name and country stay on receipts",
        personal: &[field("name", Category::Account, Erasure::Pseudonymise)],
        other: &[
            "id",
            "kind",
            "country",
            "region",
            "accepts_new_work",
            "services",
            "service_countries",
            "suspended_at",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "memberships",
        owner: "dentex-accounts",
        find: "a person: `user_id`",
        retention: "while a member",
        personal: &[field("user_id", Category::Account, Erasure::Delete)],
        other: &["id", "org_id", "role", "created_at", "updated_at"],
    },
    Table {
        table: "sessions",
        owner: "dentex-accounts",
        find: "a person: `user_id`",
        retention: "until expiry or sign-out, then 90 days",
        personal: &[field("user_id", Category::Account, Erasure::Delete)],
        other: &[
            "id",
            "token_hash",
            "created_at",
            "last_seen_at",
            "expires_at",
            "revoked_at",
            "second_step",
        ],
    },
    Table {
        table: "one_time_tokens",
        owner: "dentex-accounts",
        find: "a person: `user_id` or `email` (invitations)",
        retention: "until used or expired, then 90 days",
        personal: &[
            field("email", Category::Account, Erasure::Delete),
            field("user_id", Category::Account, Erasure::Delete),
        ],
        other: &[
            "id",
            "purpose",
            "token_hash",
            "org_id",
            "role",
            "created_by",
            "expires_at",
            "used_at",
            "created_at",
        ],
    },
    Table {
        table: "recovery_codes",
        owner: "dentex-accounts",
        find: "a person: `user_id`",
        retention: "account life",
        personal: &[field("user_id", Category::Account, Erasure::Delete)],
        other: &["id", "code_hash", "used_at", "created_at"],
    },
    Table {
        table: "login_throttles",
        owner: "dentex-accounts",
        find: "a person: `key` (from the e-mail address or the client address)",
        retention: "a day after the window",
        personal: &[field("key", Category::Log, Erasure::Delete)],
        other: &["failures", "window_started_at", "blocked_until", "updated_at"],
    },
    Table {
        table: "credentials",
        owner: "dentex-accounts",
        find: "an organisation: `org_id` (a licence number can name a person)",
        retention: "organisation life + 6 years (proof of the checks made)",
        personal: &[
            field("number", Category::Credential, Erasure::Pseudonymise),
            field("decision_reason", Category::Credential, Erasure::Clear),
            field("document_key", Category::Credential, Erasure::DeleteObject),
        ],
        other: &[
            "id",
            "org_id",
            "kind",
            "issuing_authority",
            "country",
            "state",
            "expires_on",
            "status",
            "decided_by",
            "decided_at",
            "document_sha256",
            "document_size",
            "document_content_type",
            "submitted_by",
            "expiry_notice_sent_at",
            "created_at",
            "updated_at",
        ],
    },
];

pub const STORES: &[Store] = &[Store {
    pattern: "{region}/{org}/credentials/{credential}/{id}",
    owner: "dentex-accounts",
    category: Category::Credential,
    find: "an organisation: its credentials' `document_key`",
    retention: "with the credential",
    erasure: Erasure::DeleteObject,
}];
