//! Break-glass (SECURITY.md item 4): a support agent reads one case for a
//! stated reason and a time box of at most an hour. The grant is asked
//! when a platform staff member who sees no case asks for one; it ends by
//! itself at `expires_at`. Every read under it is audited like any read of
//! the case (in the clinic's chain, by the agent); the clinic is told when
//! it is granted (by `dentex-privacy`, which grants it).

use chrono::{DateTime, Utc};
use dentex_db::entities::{case, case_access_grant};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

pub type Grant = case_access_grant::Model;

/// The case `id`, for a grant (`None` when there is no such case).
pub async fn case_of<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find_by_id(id).one(db).await
}

/// Records a grant of `minutes` to `agent` on `c`, from now.
pub async fn grant<C: ConnectionTrait>(
    db: &C,
    c: &case::Model,
    agent: Uuid,
    reason: &str,
    minutes: i64,
) -> Result<Grant, DbErr> {
    let now = dentex_db::now();
    case_access_grant::ActiveModel::from(Grant {
        id: Uuid::now_v7(),
        case_id: c.id,
        clinic_org_id: c.clinic_org_id,
        staff_user_id: agent,
        reason: reason.to_owned(),
        granted_at: now,
        expires_at: now + chrono::Duration::minutes(minutes),
    })
    .insert(db)
    .await
}

/// Whether `agent` holds a grant on case `case` at `now`.
pub async fn active<C: ConnectionTrait>(db: &C, case: Uuid, agent: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(case_access_grant::Entity::find()
        .filter(case_access_grant::Column::CaseId.eq(case))
        .filter(case_access_grant::Column::StaffUserId.eq(agent))
        .filter(case_access_grant::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .is_some())
}
