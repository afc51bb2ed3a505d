//! `payment_refunds`: one row per refund operation, `pending` until both of
//! its Stripe calls are done.

use dentex_db::entities::payment_refund::{ActiveModel, Column, Entity, Model};
use dentex_db::now;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub type Refund = Model;

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

/// What a new operation is made of (its split fixed now).
pub struct NewRefund {
    pub order_id: Uuid,
    pub amount_minor: i64,
    pub reversal_minor: i64,
    pub fee_returned_minor: i64,
    pub currency: String,
    pub reason: String,
    pub requested_by: Option<Uuid>,
}

pub async fn insert<C: ConnectionTrait>(db: &C, r: NewRefund) -> Result<Refund, DbErr> {
    let am = ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(r.order_id),
        status: Set(PENDING.to_owned()),
        amount_minor: Set(r.amount_minor),
        reversal_minor: Set(r.reversal_minor),
        fee_returned_minor: Set(r.fee_returned_minor),
        currency: Set(r.currency),
        reason: Set(r.reason),
        requested_by: Set(r.requested_by),
        refund_id: Set(None),
        reversal_id: Set(None),
        last_error: Set(None),
        created_at: Set(now()),
        completed_at: Set(None),
    };
    Entity::insert(am).exec_with_returning(db).await
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Refund>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn lock<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Refund>, DbErr> {
    Entity::find_by_id(id).lock_exclusive().one(db).await
}

/// The order's operations, oldest first.
pub async fn of<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<Vec<Refund>, DbErr> {
    Entity::find()
        .filter(Column::OrderId.eq(order))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Whether an operation of the order is still under way.
pub async fn pending<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<bool, DbErr> {
    Ok(Entity::find()
        .filter(Column::OrderId.eq(order))
        .filter(Column::Status.eq(PENDING))
        .one(db)
        .await?
        .is_some())
}

/// Notes what went wrong on the last try (Stripe's code; no card data).
pub async fn note_error<C: ConnectionTrait>(db: &C, id: Uuid, error: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::LastError,
            Expr::value(error.chars().take(200).collect::<String>()),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(())
}

/// The reversal Stripe made for the operation.
pub async fn set_reversal<C: ConnectionTrait>(db: &C, id: Uuid, reversal: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::ReversalId, Expr::value(reversal))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Operations still under way that were asked more than `minutes` ago.
pub async fn stale<C: ConnectionTrait>(db: &C, minutes: i64) -> Result<Vec<Refund>, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::CreatedAt.lt(now() - chrono::Duration::minutes(minutes)))
        .all(db)
        .await
}

/// Ends the operation (the caller holds its lock).
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    status: &str,
    refund: Option<String>,
    reversal: Option<String>,
) -> Result<(), DbErr> {
    let error = if status == SUCCEEDED {
        Expr::value(Option::<String>::None)
    } else {
        Expr::col(Column::LastError)
    };
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::LastError, error)
        .col_expr(Column::RefundId, Expr::value(refund))
        .col_expr(Column::ReversalId, Expr::value(reversal))
        .col_expr(Column::CompletedAt, Expr::value(now()))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
