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
            "restricted_at",
            "restricted_by",
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
            field("original_name", Category::File, Erasure::Delete),
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
    GRANTS,
];

pub const GRANTS: Table = Table {
    table: "case_access_grants",
    owner: "dentex-cases",
    find: "a person: `staff_user_id` (the support agent); a patient: through `case_id`",
    retention: "6 years (with the audit trail)",
    personal: &[field(
        "reason",
        Category::Audit,
        Erasure::Keep(
            "legal obligation: the record of a break-glass access is part of the audit trail (HIPAA 164.312(b)); support is told to name no patient",
        ),
    )],
    other: &[
        "id",
        "case_id",
        "clinic_org_id",
        "staff_user_id",
        "granted_at",
        "expires_at",
    ],
};

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

/// A patient's share of the cases crate, found at the time of erasure.
#[derive(Debug, Default)]
pub struct PatientCases {
    pub case_ids: Vec<uuid::Uuid>,
    /// Which lab received which case: sent by name, awarded, or a lab that
    /// read or downloaded it (an open case's readers, from the trail).
    pub labs: Vec<(uuid::Uuid, uuid::Uuid)>,
    /// Every object of the cases (files and previews).
    pub objects: Vec<String>,
    /// Unfinished uploads: (object key, the store's upload id).
    pub uploads: Vec<(String, String)>,
}

/// The cases of the clinic's patient known by any of `refs` (the reference,
/// and its pseudonym: a retried erasure finds what it already changed).
pub async fn patient_cases<C: sea_orm::ConnectionTrait>(
    db: &C,
    clinic: uuid::Uuid,
    refs: &[String],
) -> Result<PatientCases, sea_orm::DbErr> {
    use dentex_db::entities::{audit_event, case, case_file, case_lab, case_upload};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    // Locked for the caller's transaction: an award takes the case row first,
    // so it waits for the erasure, or the erasure for it.
    let cases = case::Entity::find()
        .filter(case::Column::ClinicOrgId.eq(clinic))
        .filter(case::Column::PatientRef.is_in(refs.iter().cloned()))
        .lock_exclusive()
        .all(db)
        .await?;
    let case_ids: Vec<uuid::Uuid> = cases.iter().map(|c| c.id).collect();
    let mut labs: Vec<(uuid::Uuid, uuid::Uuid)> = cases
        .iter()
        .filter_map(|c| c.awarded_lab_org_id.map(|l| (c.id, l)))
        .collect();
    for l in case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.is_in(case_ids.clone()))
        .all(db)
        .await?
    {
        labs.push((l.case_id, l.lab_org_id));
    }
    let mut objects = Vec::new();
    for f in case_file::Entity::find()
        .filter(case_file::Column::CaseId.is_in(case_ids.clone()))
        .all(db)
        .await?
    {
        objects.push(f.object_key);
        objects.extend(f.thumbnail_key);
    }
    // Labs that acted on a case or its files, from the clinic's chain (a
    // file's row names `{case}/{file}`).
    let mut about = sea_orm::Condition::any();
    for id in &case_ids {
        about = about
            .add(audit_event::Column::ResourceId.eq(id.to_string()))
            .add(audit_event::Column::ResourceId.starts_with(format!("{id}/")));
    }
    if !case_ids.is_empty() {
        for e in audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(clinic.to_string()))
            .filter(about)
            .filter(audit_event::Column::ActingOrgId.is_not_null())
            .filter(audit_event::Column::ActingOrgId.ne(clinic))
            .all(db)
            .await?
        {
            let case = e
                .resource_id
                .as_deref()
                .and_then(|r| r.split('/').next())
                .and_then(|r| uuid::Uuid::parse_str(r).ok());
            if let (Some(case), Some(lab)) = (case, e.acting_org_id) {
                labs.push((case, lab));
            }
        }
    }
    labs.sort();
    labs.dedup();
    let uploads = case_upload::Entity::find()
        .filter(case_upload::Column::CaseId.is_in(case_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.object_key, u.store_upload_id))
        .collect();
    Ok(PatientCases {
        case_ids,
        labs,
        objects,
        uploads,
    })
}

/// Erases the cases' personal data in `txn` (their objects are removed by
/// the caller first): the patient reference becomes `pseudonym`, the
/// prescription and reasons are emptied, the files' and unfinished
/// uploads' rows are deleted (attachments in chat go with them). The case
/// rows stay, for the orders and receipts that point at them.
pub async fn erase_patient<C: sea_orm::ConnectionTrait>(
    txn: &C,
    case_ids: &[uuid::Uuid],
    pseudonym: &str,
) -> Result<Vec<dentex_domain::privacy::Erased>, sea_orm::DbErr> {
    use dentex_db::entities::{case, case_file, case_upload};
    use dentex_domain::privacy::Erased;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ids = case_ids.to_vec();
    let cases = case::Entity::update_many()
        .col_expr(case::Column::PatientRef, Expr::value(pseudonym))
        .col_expr(case::Column::Rx, Expr::value("{}"))
        .col_expr(case::Column::CancelReason, Expr::value(Option::<String>::None))
        .col_expr(case::Column::UpdatedAt, Expr::value(dentex_db::now()))
        .filter(case::Column::Id.is_in(ids.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    let files = case_file::Entity::delete_many()
        .filter(case_file::Column::CaseId.is_in(ids.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    let uploads = case_upload::Entity::delete_many()
        .filter(case_upload::Column::CaseId.is_in(ids))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(vec![
        Erased::new("cases", "pseudonymised", cases),
        Erased::new("case_files", "removed", files),
        Erased::new("case_uploads", "removed", uploads),
    ])
}

/// Restricts the cases' processing for `request` (GDPR Art. 18), or with
/// `None` lifts the restriction that `lifting` set (on every case it set
/// it on; `case_ids` is not used then); answers how many cases changed. A
/// case already restricted by another request stays with that one.
pub async fn restrict<C: sea_orm::ConnectionTrait>(
    txn: &C,
    case_ids: &[uuid::Uuid],
    request: Option<uuid::Uuid>,
    lifting: uuid::Uuid,
) -> Result<u64, sea_orm::DbErr> {
    use dentex_db::entities::case;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    // Lifting frees every case this request restricted, whatever its
    // reference has become since; restricting takes the cases given.
    let q = case::Entity::update_many();
    let q = match request {
        Some(r) => q
            .filter(case::Column::Id.is_in(case_ids.to_vec()))
            .col_expr(case::Column::RestrictedAt, Expr::value(Some(dentex_db::now())))
            .col_expr(case::Column::RestrictedBy, Expr::value(Some(r)))
            .filter(case::Column::RestrictedAt.is_null()),
        None => q
            .col_expr(
                case::Column::RestrictedAt,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .col_expr(case::Column::RestrictedBy, Expr::value(Option::<uuid::Uuid>::None))
            .filter(case::Column::RestrictedBy.eq(lifting)),
    };
    Ok(q.exec(txn).await?.rows_affected)
}
