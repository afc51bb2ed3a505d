//! Single-use, expiring tokens sent by e-mail: e-mail verification, password
//! reset, invitations. The client gets the token once; the database keeps its
//! SHA-256. Consuming is one conditional UPDATE, so two racing uses cannot both win.

use chrono::Duration;
use dentex_db::entities::one_time_token as ott;
use dentex_db::now;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

pub const VERIFY_EMAIL: &str = "verify_email";
pub const PASSWORD_RESET: &str = "password_reset";
pub const INVITATION: &str = "invitation";

#[derive(Debug, Default, Clone)]
pub struct TokenFor {
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub created_by: Option<Uuid>,
}

/// 256 random bits as hex after `prefix`: every token the server hands out
/// (sessions, e-mailed links, event-stream tickets).
pub fn random(prefix: &str) -> String {
    crate::sessions::random_token(prefix)
}

pub fn hash(token: &str) -> String {
    crate::sessions::token_hash(token)
}

/// Creates a token and returns it (to be mailed; never stored or logged).
pub async fn issue<C: ConnectionTrait>(db: &C, purpose: &str, f: TokenFor, ttl: Duration) -> Result<String, DbErr> {
    let token = random("");
    let t = now();
    ott::ActiveModel {
        id: Set(Uuid::now_v7()),
        purpose: Set(purpose.to_owned()),
        token_hash: Set(hash(&token)),
        user_id: Set(f.user_id),
        org_id: Set(f.org_id),
        email: Set(f.email),
        role: Set(f.role),
        created_by: Set(f.created_by),
        expires_at: Set(t + ttl),
        used_at: Set(None),
        created_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Uses a token up: `None` when it is unknown, of another purpose, used or expired.
pub async fn consume<C: ConnectionTrait>(db: &C, purpose: &str, token: &str) -> Result<Option<ott::Model>, DbErr> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let h = hash(token);
    let t = now();
    let r = ott::Entity::update_many()
        .col_expr(ott::Column::UsedAt, sea_orm::sea_query::Expr::value(t))
        .filter(ott::Column::TokenHash.eq(h.clone()))
        .filter(ott::Column::Purpose.eq(purpose))
        .filter(ott::Column::UsedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(t))
        .exec(db)
        .await?;
    if r.rows_affected != 1 {
        return Ok(None);
    }
    ott::Entity::find().filter(ott::Column::TokenHash.eq(h)).one(db).await
}

/// Voids the unused tokens of one purpose for a user (a newer one supersedes them).
pub async fn void_for_user<C: ConnectionTrait>(db: &C, purpose: &str, user_id: Uuid) -> Result<(), DbErr> {
    ott::Entity::update_many()
        .col_expr(ott::Column::UsedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(ott::Column::UserId.eq(user_id))
        .filter(ott::Column::Purpose.eq(purpose))
        .filter(ott::Column::UsedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// A new token of `purpose` for a user, voiding the unused ones it
/// supersedes (a newer link is the only one that works).
pub async fn replace_for_user<C: ConnectionTrait>(
    db: &C,
    purpose: &str,
    user_id: Uuid,
    ttl: Duration,
) -> Result<String, DbErr> {
    void_for_user(db, purpose, user_id).await?;
    let f = TokenFor {
        user_id: Some(user_id),
        ..Default::default()
    };
    issue(db, purpose, f, ttl).await
}

/// The row of a token, used or not (`purpose`: only of that purpose).
pub async fn find<C: ConnectionTrait>(db: &C, token: &str, purpose: Option<&str>) -> Result<Option<ott::Model>, DbErr> {
    let mut q = ott::Entity::find().filter(ott::Column::TokenHash.eq(hash(token)));
    if let Some(p) = purpose {
        q = q.filter(ott::Column::Purpose.eq(p));
    }
    q.one(db).await
}

/// How many tokens of `purpose` were issued to a user since `since`.
pub async fn issued_since<C: ConnectionTrait>(
    db: &C,
    purpose: &str,
    user_id: Uuid,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    ott::Entity::find()
        .filter(ott::Column::UserId.eq(user_id))
        .filter(ott::Column::Purpose.eq(purpose))
        .filter(ott::Column::CreatedAt.gt(since))
        .count(db)
        .await
}

/// A page of an organization's open invitations (unused, unexpired), in id
/// order after `after`.
pub async fn open_invitations<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<ott::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    let mut q = ott::Entity::find()
        .filter(ott::Column::Purpose.eq(INVITATION))
        .filter(ott::Column::OrgId.eq(org))
        .filter(ott::Column::UsedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(now()));
    if let Some(a) = after {
        q = q.filter(ott::Column::Id.gt(a));
    }
    q.order_by_asc(ott::Column::Id).limit(limit).all(db).await
}

/// One open invitation of `org`.
pub async fn open_invitation<C: ConnectionTrait>(db: &C, org: Uuid, id: Uuid) -> Result<Option<ott::Model>, DbErr> {
    ott::Entity::find_by_id(id)
        .filter(ott::Column::Purpose.eq(INVITATION))
        .filter(ott::Column::OrgId.eq(org))
        .filter(ott::Column::UsedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(now()))
        .one(db)
        .await
}

/// Revokes an open invitation of `org`: its link stops working. `false`
/// when there is no such open invitation.
pub async fn revoke_invitation<C: ConnectionTrait>(db: &C, org: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let t = now();
    let r = ott::Entity::update_many()
        .col_expr(ott::Column::UsedAt, sea_orm::sea_query::Expr::value(t))
        .filter(ott::Column::Id.eq(id))
        .filter(ott::Column::Purpose.eq(INVITATION))
        .filter(ott::Column::OrgId.eq(org))
        .filter(ott::Column::UsedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(t))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}
