//! Threads and read marks.

use dentex_db::entities::{chat_read_mark, chat_thread};
use dentex_db::now;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use uuid::Uuid;

/// The thread of (`case`, `lab`), made if it is not there yet (whoever
/// races, one row: the pair is unique).
pub async fn ensure<C: ConnectionTrait>(
    db: &C,
    case: Uuid,
    clinic: Uuid,
    lab: Uuid,
) -> Result<chat_thread::Model, DbErr> {
    db.execute_raw(dentex_db::stmt(
        db.get_database_backend(),
        "INSERT INTO chat_threads (id, case_id, clinic_org_id, lab_org_id, last_seq, last_message_at, created_at) \
         VALUES ($1, $2, $3, $4, 0, NULL, $5) ON CONFLICT (case_id, lab_org_id) DO NOTHING",
        vec![
            Uuid::now_v7().into(),
            case.into(),
            clinic.into(),
            lab.into(),
            now().into(),
        ],
    ))
    .await?;
    chat_thread::Entity::find()
        .filter(chat_thread::Column::CaseId.eq(case))
        .filter(chat_thread::Column::LabOrgId.eq(lab))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("chat thread".into()))
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<chat_thread::Model>, DbErr> {
    chat_thread::Entity::find_by_id(id).one(db).await
}

/// The threads of a case, oldest first.
pub async fn of_case<C: ConnectionTrait>(db: &C, case: Uuid) -> Result<Vec<chat_thread::Model>, DbErr> {
    chat_thread::Entity::find()
        .filter(chat_thread::Column::CaseId.eq(case))
        .order_by_asc(chat_thread::Column::Id)
        .all(db)
        .await
}

/// Takes the thread's row and the next sequence number: the row stays
/// locked until the transaction ends, so sequence numbers commit in order.
pub async fn next_seq<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<i64, DbErr> {
    let row = txn
        .query_one_raw(dentex_db::stmt(
            txn.get_database_backend(),
            "UPDATE chat_threads SET last_seq = last_seq + 1, last_message_at = $2 WHERE id = $1 RETURNING last_seq",
            vec![id.into(), now().into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("chat thread".into()))?;
    row.try_get::<i64>("", "last_seq")
}

/// Moves `user`'s mark on `thread` forward to `up_to` (never back);
/// answers where it stands.
pub async fn mark_read<C: ConnectionTrait>(db: &C, thread: Uuid, user: Uuid, up_to: i64) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(dentex_db::stmt(
            db.get_database_backend(),
            "INSERT INTO chat_read_marks (thread_id, user_id, up_to, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (thread_id, user_id) DO UPDATE SET \
             up_to = CASE WHEN excluded.up_to > chat_read_marks.up_to THEN excluded.up_to ELSE chat_read_marks.up_to END, \
             updated_at = excluded.updated_at \
             RETURNING up_to",
            vec![thread.into(), user.into(), up_to.into(), now().into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("read mark".into()))?;
    row.try_get::<i64>("", "up_to")
}

/// `user`'s marks on `threads` (a thread never read is left out: 0).
pub async fn marks<C: ConnectionTrait>(db: &C, user: Uuid, threads: Vec<Uuid>) -> Result<HashMap<Uuid, i64>, DbErr> {
    if threads.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(chat_read_mark::Entity::find()
        .filter(chat_read_mark::Column::UserId.eq(user))
        .filter(chat_read_mark::Column::ThreadId.is_in(threads))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.thread_id, m.up_to))
        .collect())
}

/// Unread messages of `user` over every thread of `clinics` and those of
/// `labs` whose case the lab still has (submitted, or awarded to it):
/// the threads' last sequence minus the person's marks, derived in one
/// query.
pub async fn unread_total<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    clinics: &[Uuid],
    labs: &[Uuid],
) -> Result<i64, DbErr> {
    if clinics.is_empty() && labs.is_empty() {
        return Ok(0);
    }
    let mut values: Vec<sea_orm::Value> = vec![user.into()];
    let list = |ids: &[Uuid], values: &mut Vec<sea_orm::Value>| -> String {
        if ids.is_empty() {
            return "NULL".into();
        }
        ids.iter()
            .map(|id| {
                values.push((*id).into());
                format!("${}", values.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let clinic_list = list(clinics, &mut values);
    let lab_list = list(labs, &mut values);
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(t.last_seq - COALESCE(m.up_to, 0)), 0) AS BIGINT) AS n \
         FROM chat_threads t JOIN cases c ON c.id = t.case_id \
         LEFT JOIN chat_read_marks m ON m.thread_id = t.id AND m.user_id = $1 \
         WHERE t.clinic_org_id IN ({clinic_list}) \
            OR (t.lab_org_id IN ({lab_list}) AND (c.status = 'submitted' OR (c.status = 'awarded' AND c.awarded_lab_org_id = t.lab_org_id)))"
    );
    let row = db
        .query_one_raw(dentex_db::stmt(db.get_database_backend(), &sql, values))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0).max(0))
}
