//! Single-use tickets of the event stream.

use chrono::{DateTime, Utc};
use dentex_db::entities::event_ticket;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

pub async fn insert<C: ConnectionTrait>(
    txn: &C,
    hash: String,
    session: Uuid,
    user: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    event_ticket::Entity::insert(event_ticket::ActiveModel {
        id: Set(id),
        token_hash: Set(hash),
        session_id: Set(session),
        user_id: Set(user),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(dentex_db::now()),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(id)
}

/// Uses the ticket once: its session and user, if it was unused and
/// unexpired (a second use, or a race, gets `None`).
pub async fn consume<C: ConnectionTrait>(db: &C, hash: &str) -> Result<Option<(Uuid, Uuid, Uuid)>, DbErr> {
    let t = dentex_db::now();
    let row = db
        .query_one_raw(dentex_db::stmt(
            db.get_database_backend(),
            "UPDATE event_tickets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING id, session_id, user_id",
            vec![hash.into(), t.into()],
        ))
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((
        r.try_get::<Uuid>("", "id")?,
        r.try_get::<Uuid>("", "session_id")?,
        r.try_get::<Uuid>("", "user_id")?,
    )))
}

/// Removes tickets that expired before `before`.
pub async fn purge<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(event_ticket::Entity::delete_many()
        .filter(event_ticket::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
