//! Sessions: a random 256-bit token given to the client once, its SHA-256 kept
//! in the database. A session ends at its absolute expiry, after the idle
//! timeout, or when revoked (logout, password or MFA change).

use chrono::{DateTime, Utc};
use dentex_db::entities::session;
use dentex_db::now;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// Tokens carry a prefix so that leaked ones are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "dtx_";

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub absolute: Duration,
    pub idle: Duration,
}

pub struct NewSession {
    pub id: Uuid,
    /// Shown to the client once; never stored or logged.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The browser cookie that may carry the session instead of a bearer header.
pub const COOKIE: &str = "__Host-dentex_session";
/// Header that must echo the CSRF token on unsafe requests authenticated by cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token of a session: derived from the session token, so the server
/// keeps no extra state and a page that cannot read the (HttpOnly) cookie
/// cannot forge it.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(format!("dentex-csrf\n{session_token}").as_bytes()))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn issue<C: ConnectionTrait>(db: &C, user_id: Uuid, policy: SessionPolicy) -> Result<NewSession, DbErr> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let t = now();
    let expires_at = t + chrono::Duration::from_std(policy.absolute).unwrap_or(chrono::Duration::hours(12));
    let id = Uuid::now_v7();
    session::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(t),
        last_seen_at: Set(t),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(NewSession { id, token, expires_at })
}

/// The live session for a token, touching its last-seen time; `None` when the
/// token is unknown, revoked, expired or idle for too long.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    token: &str,
    policy: SessionPolicy,
) -> Result<Option<session::Model>, DbErr> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let Some(s) = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let t = now();
    let idle = chrono::Duration::from_std(policy.idle).unwrap_or(chrono::Duration::minutes(30));
    if s.revoked_at.is_some() || s.expires_at <= t || s.last_seen_at + idle <= t {
        return Ok(None);
    }
    // Touch at most every few seconds: enough precision for a 30-minute timeout.
    if t - s.last_seen_at > chrono::Duration::seconds(5) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, sea_orm::sea_query::Expr::value(t))
            .filter(session::Column::Id.eq(s.id))
            .exec(db)
            .await?;
    }
    Ok(Some(s))
}

pub async fn revoke<C: ConnectionTrait>(db: &C, session_id: Uuid) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every session of a user (password or MFA change, removal).
pub async fn revoke_all<C: ConnectionTrait>(db: &C, user_id: Uuid) -> Result<u64, DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}
