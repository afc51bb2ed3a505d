//! The only code that runs queries on `events` and `event_streams`.

use chrono::{DateTime, Utc};
use dentex_db::entities::{event, event_stream};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// Moves `org`'s stream on by `n` and answers its new last position. The
/// row stays locked until the transaction ends.
pub async fn advance<C: ConnectionTrait>(txn: &C, org: Uuid, n: i64) -> Result<i64, DbErr> {
    let row = txn
        .query_one_raw(dentex_db::stmt(
            txn.get_database_backend(),
            "INSERT INTO event_streams (org_id, last_position, purged_through) VALUES ($1, $2, 0) \
             ON CONFLICT (org_id) DO UPDATE SET last_position = event_streams.last_position + $2 \
             RETURNING last_position",
            vec![org.into(), n.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("event stream".into()))?;
    row.try_get::<i64>("", "last_position")
}

pub struct NewEvent {
    pub org: Uuid,
    pub position: i64,
    pub user: Option<Uuid>,
    pub kind: &'static str,
    pub case_id: Option<Uuid>,
    pub payload: String,
    pub at: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(txn: &C, e: NewEvent) -> Result<(), DbErr> {
    event::Entity::insert(event::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(e.org),
        position: Set(e.position),
        user_id: Set(e.user),
        kind: Set(e.kind.to_owned()),
        case_id: Set(e.case_id),
        payload: Set(e.payload),
        created_at: Set(e.at),
    })
    .exec_without_returning(txn)
    .await
    .map(|_| ())
}

/// The heads of the streams of `orgs` (an organisation with no event yet
/// has none).
pub async fn heads<C: ConnectionTrait>(db: &C, orgs: Vec<Uuid>) -> Result<Vec<event_stream::Model>, DbErr> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    event_stream::Entity::find()
        .filter(event_stream::Column::OrgId.is_in(orgs))
        .all(db)
        .await
}

/// Up to `limit` events of `org` after `position`, in order.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    position: i64,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::OrgId.eq(org))
        .filter(event::Column::Position.gt(position))
        .order_by_asc(event::Column::Position)
        .limit(limit)
        .all(db)
        .await
}

/// The organisations with events created before `before`, and the last
/// such position of each, in organisation order.
pub async fn purgeable<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> Result<Vec<(Uuid, i64)>, DbErr> {
    let mut gone: Vec<(Uuid, i64)> = event::Entity::find()
        .select_only()
        .column(event::Column::OrgId)
        .column_as(event::Column::Position.max(), "p")
        .filter(event::Column::CreatedAt.lt(before))
        .group_by(event::Column::OrgId)
        .into_tuple()
        .all(db)
        .await?;
    gone.sort();
    Ok(gone)
}

/// Removes `org`'s events up to `through` and records how far its stream
/// was purged (a cursor below it gets `reset`).
pub async fn purge_org<C: ConnectionTrait>(txn: &C, org: Uuid, through: i64) -> Result<(), DbErr> {
    event_stream::Entity::update_many()
        .col_expr(event_stream::Column::PurgedThrough, Expr::value(through))
        .filter(event_stream::Column::OrgId.eq(org))
        .filter(event_stream::Column::PurgedThrough.lt(through))
        .exec(txn)
        .await?;
    event::Entity::delete_many()
        .filter(event::Column::OrgId.eq(org))
        .filter(event::Column::Position.lte(through))
        .exec(txn)
        .await?;
    Ok(())
}
