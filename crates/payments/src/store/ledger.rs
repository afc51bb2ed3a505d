//! `payment_ledger`: every movement of an order's money, signed by what it
//! does to what the platform holds; the held amount is their sum.

use dentex_db::entities::payment_ledger::{ActiveModel, Column, Entity, Model};
use dentex_db::now;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// The kinds of movement.
pub const CHARGE: &str = "charge";
pub const FEE: &str = "fee";
pub const REFUND: &str = "refund";
pub const TRANSFER: &str = "transfer";
/// Taken back from the lab's transfer (a refund after release).
pub const REVERSAL: &str = "reversal";
pub const DISPUTE: &str = "dispute";
pub const DISPUTE_REINSTATED: &str = "dispute_reinstated";

/// Records a movement once per (kind, Stripe id); `false` when it was there.
pub async fn add<C: ConnectionTrait>(
    db: &C,
    order: Uuid,
    kind: &str,
    amount: i64,
    currency: &str,
    stripe_id: &str,
) -> Result<bool, DbErr> {
    let am = ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order),
        kind: Set(kind.to_owned()),
        amount_minor: Set(amount),
        currency: Set(currency.to_owned()),
        stripe_id: Set(Some(stripe_id.to_owned())),
        created_at: Set(now()),
    };
    let r = Entity::insert(am)
        .on_conflict(
            OnConflict::columns([Column::Kind, Column::StripeId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(r > 0)
}

pub async fn of<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrderId.eq(order))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// The sum of the movements of `kind`.
pub fn total(rows: &[Model], kind: &str) -> i64 {
    rows.iter().filter(|r| r.kind == kind).map(|r| r.amount_minor).sum()
}

/// What the platform holds for the order: the sum of its ledger.
pub fn held(rows: &[Model]) -> i64 {
    rows.iter().map(|r| r.amount_minor).sum()
}

/// Records the charge's refunds up to Stripe's `refunded` total (what is not
/// recorded yet, keyed by the total: the webhook's sync and the refund
/// operation record it once between them).
pub async fn refunds_up_to<C: ConnectionTrait>(
    db: &C,
    p: &dentex_db::entities::payment::Model,
    rows: &[Model],
    charge: &str,
    refunded: i64,
) -> Result<(), DbErr> {
    let recorded = -total(rows, REFUND);
    if refunded > recorded {
        let id = format!("{charge}:refunded:{refunded}");
        add(db, p.order_id, REFUND, recorded - refunded, &p.currency, &id).await?;
    }
    Ok(())
}
