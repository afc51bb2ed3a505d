//! The privacy crate's queries: the only code that reads or writes
//! `privacy_requests`.

use chrono::{DateTime, Utc};
use dentex_db::entities::privacy_request::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub type Request = Model;

pub async fn insert<C: ConnectionTrait>(db: &C, m: Model) -> Result<Model, DbErr> {
    ActiveModel::from(m).insert(db).await
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// The request's row, locked for the transaction `txn` (PostgreSQL's row
/// lock; on SQLite the write transaction already holds the one writer): a
/// step reads what it changes here, so two steps never overwrite each other.
pub async fn lock<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).lock_exclusive().one(txn).await
}

/// Saves a row read with [`lock`] in the same transaction, as changed.
pub async fn save<C: ConnectionTrait>(txn: &C, mut m: Model) -> Result<Model, DbErr> {
    m.updated_at = dentex_db::now();
    let mut am: ActiveModel = m.clone().into();
    for c in [
        Column::Status,
        Column::IdentityCheck,
        Column::Details,
        Column::VerifiedBy,
        Column::DueAt,
        Column::ExtendedAt,
        Column::ExtensionReason,
        Column::RejectReason,
        Column::HoldReason,
        Column::FlaggedAt,
        Column::CompletedAt,
        Column::Report,
        Column::PatientRef,
        Column::LiftedAt,
        Column::UpdatedAt,
    ] {
        am.reset(c);
    }
    am.update(txn).await
}

/// Support's queue: open requests (or those in `status`) due before
/// `due_before`, soonest first.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    status: Option<&str>,
    due_before: Option<DateTime<Utc>>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut q = Entity::find();
    q = match status {
        Some(s) => q.filter(Column::Status.eq(s)),
        None => q.filter(Column::Status.is_not_in(["done", "rejected"])),
    };
    if let Some(d) = due_before {
        q = q.filter(Column::DueAt.lt(d));
    }
    q.order_by_asc(Column::DueAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Open requests past their due date and not flagged since `since`.
pub async fn overdue<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.is_not_in(["done", "rejected"]))
        .filter(Column::DueAt.lt(now))
        .filter(
            sea_orm::Condition::any()
                .add(Column::FlaggedAt.is_null())
                .add(Column::FlaggedAt.lt(since)),
        )
        .order_by_asc(Column::DueAt)
        .all(db)
        .await
}

pub async fn mark_flagged<C: ConnectionTrait>(db: &C, ids: &[Uuid], at: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::FlaggedAt, Expr::value(at))
        .filter(Column::Id.is_in(ids.to_vec()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Erasures waiting for what held them.
pub async fn held<C: ConnectionTrait>(db: &C) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.eq("held"))
        .filter(Column::Kind.eq("erasure"))
        .all(db)
        .await
}

/// Every request about the clinic's patient gets `pseudonym` in place of
/// the reference; free text about it (support's notes included) is emptied.
pub async fn pseudonymise_patient<C: ConnectionTrait>(
    db: &C,
    clinic: Uuid,
    patient_ref: &str,
    pseudonym: &str,
) -> Result<u64, DbErr> {
    Ok(Entity::update_many()
        .col_expr(Column::PatientRef, Expr::value(pseudonym))
        .col_expr(Column::Details, Expr::value(Option::<String>::None))
        .col_expr(Column::IdentityCheck, Expr::value(Option::<String>::None))
        .col_expr(Column::ExtensionReason, Expr::value(Option::<String>::None))
        .col_expr(Column::RejectReason, Expr::value(Option::<String>::None))
        .filter(Column::ClinicOrgId.eq(clinic))
        .filter(Column::PatientRef.eq(patient_ref))
        .exec(db)
        .await?
        .rows_affected)
}

/// Free text in the requests about a person (support's notes included) is
/// emptied.
pub async fn clear_person<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<u64, DbErr> {
    Ok(Entity::update_many()
        .col_expr(Column::Details, Expr::value(Option::<String>::None))
        .col_expr(Column::IdentityCheck, Expr::value(Option::<String>::None))
        .col_expr(Column::ExtensionReason, Expr::value(Option::<String>::None))
        .col_expr(Column::RejectReason, Expr::value(Option::<String>::None))
        .filter(Column::SubjectUserId.eq(user))
        .exec(db)
        .await?
        .rows_affected)
}
