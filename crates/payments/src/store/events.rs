//! `stripe_events`: each event received once, applied once.

use crate::stripe::EventHint;
use dentex_db::entities::stripe_event::{ActiveModel, Column, Entity, Model};
use dentex_db::now;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// Records the event; `false` when it was already there (a second delivery).
pub async fn insert_new<C: ConnectionTrait>(db: &C, e: &EventHint) -> Result<bool, DbErr> {
    let am = ActiveModel {
        id: Set(e.id.clone()),
        kind: Set(e.kind.clone()),
        object_id: Set(e.object_id.clone()),
        account_id: Set(e.account.clone()),
        stripe_created: Set(e.created),
        received_at: Set(now()),
        applied_at: Set(None),
    };
    let r = Entity::insert(am)
        .on_conflict(OnConflict::column(Column::Id).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(r > 0)
}

pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Marks the event applied, in the transaction of its effect; `false` when
/// another applier got there first (its effect is then the one that stands).
pub async fn mark_applied<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, DbErr> {
    let r = Entity::update_many()
        .col_expr(Column::AppliedAt, Expr::value(now()))
        .filter(Column::Id.eq(id))
        .filter(Column::AppliedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Stripe's `created` of the newest event seen (where reconciliation resumes).
pub async fn newest_created<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbErr> {
    Ok(Entity::find()
        .order_by_desc(Column::StripeCreated)
        .one(db)
        .await?
        .map(|e| e.stripe_created))
}

/// Events received more than `minutes` ago and still not applied (their
/// job gave up), oldest first, at most `limit`.
pub async fn unapplied<C: ConnectionTrait>(db: &C, minutes: i64, limit: u64) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AppliedAt.is_null())
        .filter(Column::ReceivedAt.lt(now() - chrono::Duration::minutes(minutes)))
        .order_by_asc(Column::StripeCreated)
        .limit(limit)
        .all(db)
        .await
}
