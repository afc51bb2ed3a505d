//! `payments`: one row per order, its status and what is held.

use super::{Order, Payment};
use crate::status::PaymentStatus;
use dentex_db::entities::payment::{ActiveModel, Column, Entity};
use dentex_db::now;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub async fn find<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<Option<Payment>, DbErr> {
    Entity::find_by_id(order).one(db).await
}

/// The row, taken for the rest of the transaction (PostgreSQL's row lock;
/// SQLite's write transaction already holds the database).
pub async fn lock<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<Option<Payment>, DbErr> {
    Entity::find_by_id(order).lock_exclusive().one(db).await
}

/// The order's payment row, made if it is not there yet (status `unpaid`).
pub async fn ensure<C: ConnectionTrait>(db: &C, o: &Order, mode: &str) -> Result<(), DbErr> {
    let t = now();
    let am = ActiveModel {
        order_id: Set(o.id),
        clinic_org_id: Set(o.clinic_org_id),
        lab_org_id: Set(o.lab_org_id),
        mode: Set(mode.to_owned()),
        status: Set(PaymentStatus::Unpaid.as_str().to_owned()),
        amount_minor: Set(o.amount_minor),
        currency: Set(o.currency.clone()),
        fee_minor: Set(0),
        attempt: Set(1),
        intent_id: Set(None),
        intent_key: Set(None),
        charge_id: Set(None),
        payer_user_id: Set(None),
        refunded_minor: Set(0),
        transfer_id: Set(None),
        transferred_minor: Set(0),
        reversed_minor: Set(0),
        released_at: Set(None),
        dispute_id: Set(None),
        dispute_status: Set(None),
        evidence_due_by: Set(None),
        hold_alerted_at: Set(None),
        paid_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    };
    Entity::insert(am)
        .on_conflict(OnConflict::column(Column::OrderId).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn by_intent<C: ConnectionTrait>(db: &C, intent: &str) -> Result<Option<Payment>, DbErr> {
    Entity::find().filter(Column::IntentId.eq(intent)).one(db).await
}

pub async fn by_charge<C: ConnectionTrait>(db: &C, charge: &str) -> Result<Option<Payment>, DbErr> {
    Entity::find().filter(Column::ChargeId.eq(charge)).one(db).await
}

/// Saves the row as changed by the caller (who holds its lock).
pub async fn save<C: ConnectionTrait>(db: &C, p: Payment) -> Result<(), DbErr> {
    let mut am: ActiveModel = p.into();
    am = sea_orm::ActiveModelTrait::reset_all(am);
    am.updated_at = Set(now());
    Entity::update(am).exec(db).await?;
    Ok(())
}

/// Paid, not released, not disputed: what the sweep looks at.
pub async fn held<C: ConnectionTrait>(db: &C) -> Result<Vec<Payment>, DbErr> {
    Entity::find()
        .filter(Column::Mode.eq("stripe"))
        .filter(Column::ReleasedAt.is_null())
        .filter(Column::Status.is_in([
            PaymentStatus::Paid.as_str(),
            PaymentStatus::PartiallyRefunded.as_str(),
            PaymentStatus::Disputed.as_str(),
        ]))
        .all(db)
        .await
}

/// Marks the hold alert sent (once).
pub async fn alerted<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<bool, DbErr> {
    let r = Entity::update_many()
        .col_expr(Column::HoldAlertedAt, Expr::value(now()))
        .filter(Column::OrderId.eq(order))
        .filter(Column::HoldAlertedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Payments with an open dispute or inquiry, the soonest evidence deadline first.
pub async fn disputed<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<Payment>, DbErr> {
    Entity::find()
        .filter(Column::DisputeStatus.is_in(["open", "inquiry"]))
        .order_by_asc(Column::EvidenceDueBy)
        .order_by_asc(Column::OrderId)
        .limit(limit)
        .all(db)
        .await
}
