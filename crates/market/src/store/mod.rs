//! The market's queries: the only code that reads or writes `quotes`,
//! `quote_versions`, `orders`, `order_transitions` and `idempotency_keys`,
//! and that reads, as the table of ownership in `docs/architecture.md`
//! allows, `cases` and `organizations`. The market changes a case only
//! through `dentex_cases::service::cases`.
//!
//! Services name the rows by the aliases below.

pub mod idempotency;
pub mod orders;
pub mod quotes;

use dentex_db::entities::{case, organization};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

pub use dentex_db::entities::case::Model as Case;
pub use dentex_db::entities::order::Model as Order;
pub use dentex_db::entities::order_transition::Model as Transition;
pub use dentex_db::entities::organization::Model as Organization;
pub use dentex_db::entities::quote::Model as Quote;
pub use dentex_db::entities::quote_version::Model as QuoteVersion;

/// A case by id (a read of cases' table, allowed to the market).
pub async fn find_case<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Case>, DbErr> {
    case::Entity::find_by_id(id).one(db).await
}

/// An organisation by id (a read of accounts' table, allowed to the market).
pub async fn organization<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Organization>, DbErr> {
    organization::Entity::find_by_id(id).one(db).await
}

/// Organisations by id, in no particular order.
pub async fn organizations<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<Organization>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// Labs that take new work and are not suspended, by name.
pub async fn open_labs<C: ConnectionTrait>(db: &C) -> Result<Vec<Organization>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::Kind.is_in(["dental_lab", "manufacturing_lab"]))
        .filter(organization::Column::AcceptsNewWork.eq(true))
        .filter(organization::Column::SuspendedAt.is_null())
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await
}
