//! Sessions: a random 256-bit token given to the client once, its SHA-256 kept
//! in the database. A session ends at its absolute expiry, after the idle
//! timeout, or when revoked (logout, password or MFA change).

use chrono::{DateTime, Utc};
use dentex_db::entities::{membership, organization, session, user};
use dentex_db::now;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
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

/// A new session for `user_id`; `second_step` when the sign-in checked a
/// TOTP or recovery code.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    policy: SessionPolicy,
    second_step: bool,
) -> Result<NewSession, DbErr> {
    let token = random_token(TOKEN_PREFIX);
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
        second_step: Set(second_step),
    }
    .insert(db)
    .await?;
    Ok(NewSession { id, token, expires_at })
}

/// A live session, its user, and the user's memberships with their
/// organisations (suspended ones included).
pub struct SignIn {
    pub session: session::Model,
    pub user: user::Model,
    pub organizations: Vec<(membership::Model, organization::Model)>,
}

/// `SELECT` list of `entity`'s columns as `{alias}.{col} AS {alias}_{col}`.
fn columns<E: EntityTrait>(alias: &str) -> String
where
    E::Column: Iterable,
{
    E::Column::iter()
        .map(|c| format!("{alias}.\"{0}\" AS \"{alias}_{0}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sign_in_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| sign_in_sql_by("s.token_hash"))
}

fn sign_in_by_id_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| sign_in_sql_by("s.id"))
}

fn sign_in_sql_by(key: &str) -> String {
    {
        format!(
            "SELECT {}, {}, {}, {} FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             LEFT JOIN memberships m ON m.user_id = u.id \
             LEFT JOIN organizations o ON o.id = m.org_id \
             WHERE {key} = $1 \
             ORDER BY m.created_at, m.id",
            columns::<session::Entity>("s"),
            columns::<user::Entity>("u"),
            columns::<membership::Entity>("m"),
            columns::<organization::Entity>("o"),
        )
    }
}

/// The live session for a token with its user and memberships, in one
/// query, touching the session's last-seen time at most every few seconds;
/// `None` when the token is unknown, revoked, expired or idle for too long.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    token: &str,
    policy: SessionPolicy,
) -> Result<Option<SignIn>, DbErr> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let rows = db
        .query_all_raw(dentex_db::stmt(
            db.get_database_backend(),
            sign_in_sql(),
            vec![token_hash(token).into()],
        ))
        .await?;
    live_sign_in(db, rows, policy, true).await
}

/// [`authenticate`] by the session's id, for a caller who proved it some
/// other way (a single-use ticket of the event stream made by that session).
pub async fn authenticate_id<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
    policy: SessionPolicy,
) -> Result<Option<SignIn>, DbErr> {
    let rows = db
        .query_all_raw(dentex_db::stmt(
            db.get_database_backend(),
            sign_in_by_id_sql(),
            vec![session_id.into()],
        ))
        .await?;
    // Not a request of the person: an open stream does not keep an idle
    // session alive.
    live_sign_in(db, rows, policy, false).await
}

async fn live_sign_in<C: ConnectionTrait>(
    db: &C,
    rows: Vec<sea_orm::QueryResult>,
    policy: SessionPolicy,
    touch: bool,
) -> Result<Option<SignIn>, DbErr> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let s = session::Model::from_query_result(first, "s_")?;
    let u = user::Model::from_query_result(first, "u_")?;
    let mut organizations = Vec::new();
    for row in &rows {
        let m = Option::<membership::Model>::from_query_result(row, "m_")?;
        let o = Option::<organization::Model>::from_query_result(row, "o_")?;
        if let (Some(m), Some(o)) = (m, o) {
            organizations.push((m, o));
        }
    }
    let t = now();
    let idle = chrono::Duration::from_std(policy.idle).unwrap_or(chrono::Duration::minutes(30));
    if s.revoked_at.is_some() || s.expires_at <= t || s.last_seen_at + idle <= t {
        return Ok(None);
    }
    // Touch at most every few seconds: enough precision for a 30-minute timeout.
    if touch && t - s.last_seen_at > chrono::Duration::seconds(TOUCH_EVERY_SECS) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, sea_orm::sea_query::Expr::value(t))
            .filter(session::Column::Id.eq(s.id))
            .exec(db)
            .await?;
    }
    Ok(Some(SignIn {
        session: s,
        user: u,
        organizations,
    }))
}

/// How stale a session's last-seen time may get before a request moves it.
pub const TOUCH_EVERY_SECS: i64 = 5;

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

/// Ends every session of a user but `keep` (a password or MFA change made in it).
pub async fn revoke_others<C: ConnectionTrait>(db: &C, user_id: Uuid, keep: Uuid) -> Result<u64, DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// How many sessions a user ever had, live or not.
pub async fn count_for_user<C: ConnectionTrait>(db: &C, user_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .count(db)
        .await
}

/// The sessions among `ids` that are live (not revoked, expired or idle too
/// long) and whose person is a member of `org`, a not suspended
/// organisation: one query, asked by the event hub before it delivers.
pub async fn live_members<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    ids: Vec<Uuid>,
    policy: SessionPolicy,
) -> Result<std::collections::HashSet<Uuid>, DbErr> {
    if ids.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let t = now();
    let idle = chrono::Duration::from_std(policy.idle).unwrap_or(chrono::Duration::minutes(30));
    let mut values: Vec<sea_orm::Value> = vec![org.into(), t.into(), (t - idle).into()];
    let list: Vec<String> = ids
        .into_iter()
        .map(|id| {
            values.push(id.into());
            format!("${}", values.len())
        })
        .collect();
    let sql = format!(
        "SELECT s.id AS id FROM sessions s \
         JOIN memberships m ON m.user_id = s.user_id AND m.org_id = $1 \
         JOIN organizations o ON o.id = m.org_id \
         WHERE s.id IN ({}) AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3 \
         AND o.suspended_at IS NULL",
        list.join(", ")
    );
    let rows = db
        .query_all_raw(dentex_db::stmt(db.get_database_backend(), &sql, values))
        .await?;
    rows.iter().map(|r| r.try_get::<Uuid>("", "id")).collect()
}

/// 256 random bits as hex after `prefix` (`dentex_accounts::tokens::random`
/// for the other crates).
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}
