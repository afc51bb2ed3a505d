//! The notice mails' bookkeeping.

use chrono::{DateTime, Utc};
use dentex_db::entities::{chat_notice, chat_read_mark, chat_thread};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

/// Threads with a message since `not_before` (whether a person's oldest
/// unread one is old enough is decided per person).
pub async fn active_threads<C: ConnectionTrait>(
    db: &C,
    not_before: DateTime<Utc>,
) -> Result<Vec<chat_thread::Model>, DbErr> {
    chat_thread::Entity::find()
        .filter(chat_thread::Column::LastMessageAt.gte(not_before))
        .order_by_asc(chat_thread::Column::Id)
        .limit(10_000)
        .all(db)
        .await
}

pub async fn all_marks<C: ConnectionTrait>(db: &C, thread: Uuid) -> Result<HashMap<Uuid, i64>, DbErr> {
    Ok(chat_read_mark::Entity::find()
        .filter(chat_read_mark::Column::ThreadId.eq(thread))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.user_id, m.up_to))
        .collect())
}

pub async fn last_notice<C: ConnectionTrait>(db: &C, thread: Uuid, user: Uuid) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(chat_notice::Entity::find()
        .filter(chat_notice::Column::ThreadId.eq(thread))
        .filter(chat_notice::Column::UserId.eq(user))
        .order_by_desc(chat_notice::Column::CreatedAt)
        .one(db)
        .await?
        .map(|n| n.created_at))
}

/// Records the notice; `false` when this (thread, person, sequence) had one.
pub async fn insert<C: ConnectionTrait>(txn: &C, thread: Uuid, user: Uuid, seq: i64) -> Result<bool, DbErr> {
    let r = txn
        .execute_raw(dentex_db::stmt(
            txn.get_database_backend(),
            "INSERT INTO chat_notices (thread_id, user_id, seq, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (thread_id, user_id, seq) DO NOTHING",
            vec![thread.into(), user.into(), seq.into(), dentex_db::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}
