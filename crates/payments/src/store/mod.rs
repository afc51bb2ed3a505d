//! The queries of payments: the tables it owns (`payout_accounts`,
//! `payments`, `payment_ledger`, `payment_refunds`, `stripe_events`,
//! `receipts`, `receipt_counters`), and what it reads of the market's
//! orders and of organisations.

pub mod accounts;
pub mod events;
pub mod ledger;
pub mod payments;
pub mod receipts;
pub mod refunds;

use dentex_db::entities::{order, order_transition, organization};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

pub type Payment = dentex_db::entities::payment::Model;
pub type Order = order::Model;

pub async fn order<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Order>, DbErr> {
    order::Entity::find_by_id(id).one(db).await
}

pub async fn organization<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find_by_id(id).one(db).await
}

/// When the order was (last) delivered.
pub async fn delivered_at<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, DbErr> {
    Ok(order_transition::Entity::find()
        .filter(order_transition::Column::OrderId.eq(order_id))
        .filter(order_transition::Column::ToStatus.eq("delivered"))
        .order_by_desc(order_transition::Column::At)
        .one(db)
        .await?
        .map(|t| t.at))
}

/// Whether a remake of the order still keeps its money held: one not
/// completed or cancelled, unless it was delivered more than `window` ago
/// (its own delivery waited out, as the original's would be).
pub async fn open_remake<C: ConnectionTrait>(db: &C, order_id: Uuid, window: chrono::Duration) -> Result<bool, DbErr> {
    let open = order::Entity::find()
        .filter(order::Column::RemakeOf.eq(order_id))
        .filter(order::Column::Status.is_not_in(["completed", "canceled"]))
        .all(db)
        .await?;
    for r in open {
        let waited_out = r.status == "delivered"
            && delivered_at(db, r.id)
                .await?
                .is_some_and(|d| d + window <= chrono::Utc::now());
        if !waited_out {
            return Ok(true);
        }
    }
    Ok(false)
}
