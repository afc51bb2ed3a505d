//! `memberships`: who belongs to which organisation, with which role.

use super::{Membership, Organization, User};
use dentex_db::entities::{membership, organization, user};
use dentex_db::now;
use dentex_domain::{OrgId, OrgRole};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

pub async fn insert<C: ConnectionTrait>(db: &C, org: Uuid, user: Uuid, role: &str) -> Result<(), DbErr> {
    let t = now();
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        user_id: Set(user),
        role: Set(role.to_owned()),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub async fn find<C: ConnectionTrait>(db: &C, org: OrgId, user: Uuid) -> Result<Option<Membership>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org.0))
        .filter(membership::Column::UserId.eq(user))
        .one(db)
        .await
}

/// A user's memberships with their organisations (suspended ones included).
pub async fn of_user<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<Vec<(Membership, Organization)>, DbErr> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .find_also_related(organization::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(m, o)| Some((m, o?)))
        .collect())
}

/// The organisation's members with their accounts, oldest first.
pub async fn of_org<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<(Membership, User)>, DbErr> {
    let ms = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org.0))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(ms.len());
    for m in ms {
        if let Some(u) = user::Entity::find_by_id(m.user_id).one(db).await? {
            out.push((m, u));
        }
    }
    Ok(out)
}

/// Owners of `org`, counted with their rows locked (`FOR UPDATE` on
/// PostgreSQL; SQLite serialises writers), so two owners demoting or removing
/// each other at once cannot leave none.
pub async fn owners_locked<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<u64, DbErr> {
    let mut q = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org.0))
        .filter(membership::Column::Role.eq(OrgRole::Owner.as_str()));
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.all(db).await?.len() as u64)
}

pub async fn set_role<C: ConnectionTrait>(db: &C, m: Membership, role: OrgRole) -> Result<Membership, DbErr> {
    let mut am: membership::ActiveModel = m.into();
    am.role = Set(role.as_str().into());
    am.updated_at = Set(now());
    am.update(db).await
}

pub async fn delete<C: ConnectionTrait>(db: &C, m: &Membership) -> Result<(), DbErr> {
    membership::Entity::delete_by_id(m.id).exec(db).await.map(|_| ())
}
