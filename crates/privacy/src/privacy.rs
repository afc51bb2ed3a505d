//! What `dentex-privacy` holds about people (the data inventory, issue #17):
//! the requests themselves. A request about a patient names the clinic's
//! reference until it is erased; then it holds the pseudonym the case got.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[Table {
    table: "privacy_requests",
    owner: "dentex-privacy",
    find: "a person: `subject_user_id`, `filed_by`; a patient: `patient_ref` with `clinic_org_id`",
    retention: "6 years after the request ends (the proof that it was answered)",
    personal: &[
        field("patient_ref", Category::Health, Erasure::Pseudonymise),
        field("details", Category::Account, Erasure::Clear),
        field("identity_check", Category::Audit, Erasure::Clear),
        field("extension_reason", Category::Audit, Erasure::Clear),
        field("reject_reason", Category::Audit, Erasure::Clear),
    ],
    other: &[
        "id",
        "kind",
        "subject",
        "subject_user_id",
        "clinic_org_id",
        "status",
        "channel",
        "filed_by",
        "verified_by",
        "received_at",
        "due_at",
        "extended_at",
        "hold_reason",
        "flagged_at",
        "completed_at",
        "report",
        "updated_at",
        "lifted_at",
    ],
}];
