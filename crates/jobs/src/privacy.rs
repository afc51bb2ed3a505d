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

/// Deletes the jobs whose payload names `needle` (an erased person's
/// address in their mail): with `finished_only`, only jobs that are over
/// (a name is not unique: someone else's waiting mail stays); never one a
/// worker holds right now. Answers how many went.
pub async fn forget<C: sea_orm::ConnectionTrait>(
    txn: &C,
    needle: &str,
    finished_only: bool,
) -> Result<u64, sea_orm::DbErr> {
    use dentex_db::entities::job;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if needle.trim().is_empty() {
        return Ok(0);
    }
    let statuses: &[&str] = if finished_only {
        &[crate::STATUS_DONE, crate::STATUS_DEAD]
    } else {
        &[crate::STATUS_DONE, crate::STATUS_DEAD, crate::STATUS_QUEUED]
    };
    Ok(job::Entity::delete_many()
        .filter(dentex_db::contains_text(job::Column::Payload, needle))
        .filter(job::Column::Status.is_in(statuses.iter().copied()))
        .exec(txn)
        .await?
        .rows_affected)
}
