//! `idempotency_keys`: a claim per user and key, and its stored answer.

use chrono::{DateTime, Utc};
use dentex_db::entities::idempotency_key;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

pub use dentex_db::entities::idempotency_key::Model as KeyRow;

/// A new claim with no answer yet; fails on the unique (user, key).
pub async fn insert_claim<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    key: &str,
    scope: &str,
    request_hash: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    idempotency_key::ActiveModel {
        user_id: Set(user),
        key: Set(key.to_owned()),
        scope: Set(scope.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        status_code: Set(None),
        response_body: Set(None),
        created_at: Set(at),
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub async fn find<C: ConnectionTrait>(db: &C, user: Uuid, key: &str) -> Result<Option<KeyRow>, DbErr> {
    idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await
}

/// Takes over a claim with no answer made at `was`; `false` when another
/// retry took it first.
pub async fn take_over<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    key: &str,
    was: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::CreatedAt, Expr::value(at))
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::StatusCode.is_null())
        .filter(idempotency_key::Column::CreatedAt.eq(was))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Stores the answer of the claim made at `claimed_at`; `false` when it was
/// taken over (or answered) meanwhile.
pub async fn store_answer<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    key: &str,
    claimed_at: DateTime<Utc>,
    status: i32,
    body: &str,
) -> Result<bool, DbErr> {
    let r = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::StatusCode, Expr::value(status))
        .col_expr(idempotency_key::Column::ResponseBody, Expr::value(body.to_owned()))
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::CreatedAt.eq(claimed_at))
        .filter(idempotency_key::Column::StatusCode.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Deletes the unanswered claim made at `claimed_at`.
pub async fn delete_claim<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    key: &str,
    claimed_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::CreatedAt.eq(claimed_at))
        .filter(idempotency_key::Column::StatusCode.is_null())
        .exec(db)
        .await
        .map(|_| ())
}
