//! What `dentex-cases` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Store, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "cases",
        owner: "dentex-cases",
        find: "a patient: `patient_ref` with `clinic_org_id` (the clinic is the controller); a person: `created_by`, `consent_by`",
        retention: "7 years after the case's last activity",
        personal: &[
            field("patient_ref", Category::Health, Erasure::Pseudonymise),
            field("rx", Category::Health, Erasure::Clear),
            field("cancel_reason", Category::Health, Erasure::Clear),
        ],
        other: &[
            "id",
            "clinic_org_id",
            "region",
            "status",
            "due_date",
            "consent_by",
            "consent_at",
            "consent_version",
            "open_to_all",
            "created_by",
            "created_at",
            "updated_at",
            "submitted_at",
            "cancelled_at",
            "awarded_lab_org_id",
        ],
    },
    Table {
        table: "case_labs",
        owner: "dentex-cases",
        find: "a patient: through `case_id`",
        retention: "with the case",
        personal: &[],
        other: &["case_id", "lab_org_id", "created_at"],
    },
    Table {
        table: "case_files",
        owner: "dentex-cases",
        find: "a patient: through `case_id`",
        retention: "with the case",
        personal: &[
            field("original_name", Category::File, Erasure::Pseudonymise),
            field("object_key", Category::File, Erasure::DeleteObject),
            field("thumbnail_key", Category::File, Erasure::DeleteObject),
        ],
        other: &[
            "id",
            "case_id",
            "org_id",
            "kind",
            "content_type",
            "format",
            "size_bytes",
            "sha256",
            "analysis_status",
            "analysis_error",
            "analysis",
            "created_by",
            "created_at",
            "lab_org_id",
        ],
    },
    Table {
        table: "case_uploads",
        owner: "dentex-cases",
        find: "a patient: through `case_id`",
        retention: "1 day (unfinished uploads)",
        personal: &[
            field("original_name", Category::File, Erasure::Delete),
            field("object_key", Category::File, Erasure::DeleteObject),
        ],
        other: &[
            "id",
            "case_id",
            "org_id",
            "store_upload_id",
            "size_bytes",
            "sha256",
            "part_size",
            "created_by",
            "created_at",
            "expires_at",
            "completing_at",
        ],
    },
];

pub const STORES: &[Store] = &[
    Store {
        pattern: "{region}/{clinic}/{case}/{file}",
        owner: "dentex-cases",
        category: Category::File,
        find: "a patient: the case's files (`case_files.object_key`; parts of unfinished uploads under the same key)",
        retention: "with the case",
        erasure: Erasure::DeleteObject,
    },
    Store {
        pattern: "{region}/{clinic}/{case}/{file}.thumbnail.png",
        owner: "dentex-cases",
        category: Category::File,
        find: "a patient: the case's previews (`case_files.thumbnail_key`)",
        retention: "with the case",
        erasure: Erasure::DeleteObject,
    },
];
