//! `users` and their `recovery_codes`.

use super::User;
use dentex_db::entities::{recovery_code, user};
use dentex_db::now;
use dentex_domain::{StaffRole, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// The account of an address (give it lower-cased, as stored).
pub async fn by_email<C: ConnectionTrait>(db: &C, address: &str) -> Result<Option<User>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(address))
        .one(db)
        .await
}

pub async fn by_id<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<User>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// The display names of these accounts, in one query.
pub async fn display_names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>, DbErr> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    Ok(rows.into_iter().map(|u| (u.id, u.display_name)).collect())
}

/// A new account: `verified` says whether the address is already proven (an
/// operator vouched for it, or an e-mailed link was followed).
pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: String,
    pub staff_role: Option<StaffRole>,
    pub verified: bool,
}

pub async fn insert<C: ConnectionTrait>(db: &C, n: NewUser<'_>) -> Result<User, DbErr> {
    let t = now();
    user::ActiveModel {
        id: Set(n.id.0),
        email: Set(n.email.to_lowercase()),
        display_name: Set(n.display_name.trim().to_owned()),
        password_hash: Set(n.password_hash),
        staff_role: Set(n.staff_role.map(|r| r.as_str().to_owned())),
        created_at: Set(t),
        updated_at: Set(t),
        email_verified_at: Set(n.verified.then_some(t)),
        password_changed_at: Set(Some(t)),
        mfa_secret: Set(None),
        mfa_pending_secret: Set(None),
        mfa_enabled_at: Set(None),
        mfa_last_step: Set(None),
    }
    .insert(db)
    .await
}

/// Marks the address confirmed, unless it already was.
pub async fn mark_email_verified<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<(), DbErr> {
    let t = now();
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(t))
        .col_expr(user::Column::UpdatedAt, Expr::value(t))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Stores a new password hash; `proves_address` (a reset link was followed)
/// also confirms an unconfirmed address.
pub async fn set_password<C: ConnectionTrait>(
    db: &C,
    u: User,
    hash: String,
    proves_address: bool,
) -> Result<(), DbErr> {
    let t = now();
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.password_changed_at = Set(Some(t));
    if proves_address && matches!(am.email_verified_at, sea_orm::ActiveValue::Unchanged(None)) {
        am.email_verified_at = Set(Some(t));
    }
    am.updated_at = Set(t);
    am.update(db).await.map(|_| ())
}

/// Keeps the secret of an enrolment waiting for its first code.
pub async fn set_pending_secret<C: ConnectionTrait>(db: &C, u: User, secret: String) -> Result<(), DbErr> {
    let mut am: user::ActiveModel = u.into();
    am.mfa_pending_secret = Set(Some(secret));
    am.updated_at = Set(now());
    am.update(db).await.map(|_| ())
}

/// Turns two-step sign-in on with `secret`, the `step` its first code
/// matched, and a fresh set of recovery codes (stored as `code_hashes`).
pub async fn enable_mfa<C: ConnectionTrait>(
    db: &C,
    u: User,
    secret: String,
    step: i64,
    code_hashes: Vec<String>,
) -> Result<(), DbErr> {
    let t = now();
    delete_recovery_codes(db, u.id).await?;
    for code_hash in code_hashes {
        recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(u.id),
            code_hash: Set(code_hash),
            used_at: Set(None),
            created_at: Set(t),
        }
        .insert(db)
        .await?;
    }
    let mut am: user::ActiveModel = u.into();
    am.mfa_secret = Set(Some(secret));
    am.mfa_pending_secret = Set(None);
    am.mfa_enabled_at = Set(Some(t));
    am.mfa_last_step = Set(Some(step));
    am.updated_at = Set(t);
    am.update(db).await.map(|_| ())
}

/// Turns two-step sign-in off with a code of `step`; `false` when a later or
/// equal step was already used (of two racing requests with one code, one wins).
pub async fn disable_mfa<C: ConnectionTrait>(db: &C, id: Uuid, step: i64) -> Result<bool, DbErr> {
    delete_recovery_codes(db, id).await?;
    let r = user::Entity::update_many()
        .col_expr(user::Column::MfaSecret, Expr::value(Option::<String>::None))
        .col_expr(
            user::Column::MfaEnabledAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(user::Column::MfaLastStep, Expr::value(step))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(id))
        .filter(later_step(step))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Records `step` as the last TOTP step used; `false` when it was not later
/// than the last one (of two racing sign-ins with one code, one wins).
pub async fn claim_totp_step<C: ConnectionTrait>(db: &C, id: Uuid, step: i64) -> Result<bool, DbErr> {
    let r = user::Entity::update_many()
        .col_expr(user::Column::MfaLastStep, Expr::value(step))
        .filter(user::Column::Id.eq(id))
        .filter(later_step(step))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

fn later_step(step: i64) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(user::Column::MfaLastStep.is_null())
        .add(user::Column::MfaLastStep.lt(step))
}

/// Uses up an unused recovery code; `false` when there is none with that hash.
pub async fn use_recovery_code<C: ConnectionTrait>(db: &C, id: Uuid, code_hash: String) -> Result<bool, DbErr> {
    let r = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now()))
        .filter(recovery_code::Column::UserId.eq(id))
        .filter(recovery_code::Column::CodeHash.eq(code_hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

async fn delete_recovery_codes<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<(), DbErr> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Accounts holding a TOTP secret (on or being enrolled).
pub async fn with_mfa_secrets<C: ConnectionTrait>(db: &C) -> Result<Vec<User>, DbErr> {
    user::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::MfaSecret.is_not_null())
                .add(user::Column::MfaPendingSecret.is_not_null()),
        )
        .all(db)
        .await
}

/// Replaces the stored secrets of `u` if they are still what `u` read
/// (`false`: they changed meanwhile; read again).
pub async fn reseal<C: ConnectionTrait>(
    db: &C,
    u: &User,
    secret: Option<String>,
    pending: Option<String>,
) -> Result<bool, DbErr> {
    let mut q = user::Entity::update_many()
        .col_expr(user::Column::MfaSecret, Expr::value(secret))
        .col_expr(user::Column::MfaPendingSecret, Expr::value(pending))
        .filter(user::Column::Id.eq(u.id));
    q = match &u.mfa_secret {
        Some(v) => q.filter(user::Column::MfaSecret.eq(v.clone())),
        None => q.filter(user::Column::MfaSecret.is_null()),
    };
    q = match &u.mfa_pending_secret {
        Some(v) => q.filter(user::Column::MfaPendingSecret.eq(v.clone())),
        None => q.filter(user::Column::MfaPendingSecret.is_null()),
    };
    Ok(q.exec(db).await?.rows_affected == 1)
}
