//! Messages and their attachments.

use chrono::{DateTime, Utc};
use dentex_db::entities::{chat_attachment, chat_message};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use uuid::Uuid;

pub struct NewMessage {
    pub thread: Uuid,
    pub seq: i64,
    pub sender: Option<(Uuid, Uuid)>,
    pub kind: &'static str,
    pub body: String,
    pub system_code: Option<&'static str>,
    pub at: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(txn: &C, m: NewMessage, files: &[Uuid]) -> Result<chat_message::Model, DbErr> {
    let row = chat_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        thread_id: Set(m.thread),
        seq: Set(m.seq),
        sender_user_id: Set(m.sender.map(|s| s.0)),
        sender_org_id: Set(m.sender.map(|s| s.1)),
        kind: Set(m.kind.to_owned()),
        body: Set(Some(m.body)),
        system_code: Set(m.system_code.map(str::to_owned)),
        created_at: Set(m.at),
        deleted_at: Set(None),
    };
    let saved = chat_message::Entity::insert(row).exec_with_returning(txn).await?;
    if !files.is_empty() {
        chat_attachment::Entity::insert_many(files.iter().map(|f| chat_attachment::ActiveModel {
            message_id: Set(saved.id),
            file_id: Set(*f),
        }))
        .exec_without_returning(txn)
        .await?;
    }
    Ok(saved)
}

pub async fn find<C: ConnectionTrait>(db: &C, thread: Uuid, id: Uuid) -> Result<Option<chat_message::Model>, DbErr> {
    chat_message::Entity::find_by_id(id)
        .filter(chat_message::Column::ThreadId.eq(thread))
        .one(db)
        .await
}

/// A page of a thread: the newest `limit` before `before` (or the newest
/// of all), or the oldest `limit` after `after`; answered oldest first.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    thread: Uuid,
    before: Option<i64>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<chat_message::Model>, DbErr> {
    let mut q = chat_message::Entity::find().filter(chat_message::Column::ThreadId.eq(thread));
    if let Some(b) = before {
        q = q.filter(chat_message::Column::Seq.lt(b));
    }
    if let Some(a) = after {
        q = q.filter(chat_message::Column::Seq.gt(a));
        return q.order_by_asc(chat_message::Column::Seq).limit(limit).all(db).await;
    }
    let mut rows = q.order_by_desc(chat_message::Column::Seq).limit(limit).all(db).await?;
    rows.reverse();
    Ok(rows)
}

/// The files attached to each of `messages`.
pub async fn attachments<C: ConnectionTrait>(db: &C, messages: Vec<Uuid>) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    if messages.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = chat_attachment::Entity::find()
        .filter(chat_attachment::Column::MessageId.is_in(messages))
        .order_by_asc(chat_attachment::Column::FileId)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        out.entry(r.message_id).or_default().push(r.file_id);
    }
    Ok(out)
}

/// Leaves a tombstone: the body and attachments go, the row and its place
/// stay. `false` when it was deleted already.
pub async fn tombstone<C: ConnectionTrait>(txn: &C, id: Uuid, at: DateTime<Utc>) -> Result<bool, DbErr> {
    let r = chat_message::Entity::update_many()
        .col_expr(chat_message::Column::Body, Expr::value(Option::<String>::None))
        .col_expr(chat_message::Column::DeletedAt, Expr::value(at))
        .filter(chat_message::Column::Id.eq(id))
        .filter(chat_message::Column::DeletedAt.is_null())
        .exec(txn)
        .await?;
    chat_attachment::Entity::delete_many()
        .filter(chat_attachment::Column::MessageId.eq(id))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Messages of `thread` after `seq` that others sent, oldest first (for the
/// notice job): (sequence, time).
pub async fn unread_since<C: ConnectionTrait>(
    db: &C,
    thread: Uuid,
    seq: i64,
    reader: Uuid,
) -> Result<Vec<(i64, DateTime<Utc>)>, DbErr> {
    chat_message::Entity::find()
        .select_only()
        .column(chat_message::Column::Seq)
        .column(chat_message::Column::CreatedAt)
        .filter(chat_message::Column::ThreadId.eq(thread))
        .filter(chat_message::Column::Seq.gt(seq))
        .filter(
            sea_orm::Condition::any()
                .add(chat_message::Column::SenderUserId.is_null())
                .add(chat_message::Column::SenderUserId.ne(reader)),
        )
        .order_by_asc(chat_message::Column::Seq)
        .into_tuple()
        .all(db)
        .await
}
