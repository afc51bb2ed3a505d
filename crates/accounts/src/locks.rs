//! Row locks other crates take on accounts' rows, through the owner.

use dentex_db::entities::organization;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Takes the organisation's row for the caller's transaction (a write that
/// changes nothing: PostgreSQL holds the row lock, SQLite its write lock,
/// until commit). Decisions per organisation, such as a storage quota, are
/// then made one at a time.
pub async fn lock_organization<C: ConnectionTrait>(txn: &C, org: Uuid) -> Result<(), DbErr> {
    organization::Entity::update_many()
        .col_expr(
            organization::Column::UpdatedAt,
            Expr::col(organization::Column::UpdatedAt),
        )
        .filter(organization::Column::Id.eq(org))
        .exec(txn)
        .await?;
    Ok(())
}
