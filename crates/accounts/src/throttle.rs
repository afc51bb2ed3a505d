//! Sign-in throttling that slows guessing without letting a stranger lock a
//! real user out.
//!
//! Failures are counted under three keys, all built from the address *as
//! submitted* (hashed), so an address with an account and one without behave
//! exactly alike and throttling reveals nothing. Past a threshold inside a
//! 15-minute window, each further failure doubles a wait during which that key
//! is refused (HTTP 429 with `Retry-After`):
//!
//! | key | threshold | longest wait | why |
//! |---|---|---|---|
//! | account + client address | 5 | 15 min | guessing one account from one place |
//! | client address | 30 | 15 min | spraying many accounts from one place |
//! | account | 50 | 60 s | guessing one account from many places |
//!
//! A success clears the account + client-address key and marks that client
//! address as proven for the account for 30 days; the account-wide key is not
//! applied to proven addresses. So a stranger elsewhere cannot keep the owner
//! out: the owner's usual address is blocked only by the owner's own mistakes.
//! A password reset clears the account's keys.

use chrono::{DateTime, Duration, Utc};
use dentex_db::entities::login_throttle as lt;
use dentex_db::now;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub threshold: i32,
    pub max_wait: Duration,
}

pub const WINDOW_MINUTES: i64 = 15;

/// The account part of a key: a hash of the normalised address as submitted.
pub fn account(email: &str) -> String {
    crate::sessions::token_hash(&format!("throttle\n{}", email.trim().to_lowercase()))[..32].to_owned()
}

pub fn keys(account: Option<&str>, addr: Option<&str>) -> Vec<(String, Rule)> {
    let mut k = Vec::new();
    let addr = addr.unwrap_or("unknown");
    k.push((
        format!("addr:{addr}"),
        Rule {
            threshold: 30,
            max_wait: Duration::minutes(15),
        },
    ));
    if let Some(u) = account {
        k.push((
            format!("acct-addr:{u}:{addr}"),
            Rule {
                threshold: 5,
                max_wait: Duration::minutes(15),
            },
        ));
        k.push((
            format!("acct:{u}"),
            Rule {
                threshold: 50,
                max_wait: Duration::seconds(60),
            },
        ));
    }
    k
}

fn proven_key(account: &str, addr: &str) -> String {
    format!("proven:{account}:{addr}")
}

/// How long the caller must still wait, if any key is blocked.
pub async fn blocked<C: ConnectionTrait>(
    db: &C,
    keys: &[(String, Rule)],
) -> Result<Option<std::time::Duration>, DbErr> {
    let t = now();
    let mut wait: Option<DateTime<Utc>> = None;
    // A client address that signed in to this account recently skips the account-wide key.
    let mut proven = false;
    if let Some((k, _)) = keys.iter().find(|(k, _)| k.starts_with("acct-addr:"))
        && let Some((acct, addr)) = k["acct-addr:".len()..].split_once(':')
    {
        proven = lt::Entity::find_by_id(proven_key(acct, addr))
            .one(db)
            .await?
            .is_some_and(|r| t - r.window_started_at < Duration::days(30));
    }
    for (k, _) in keys {
        if proven && k.starts_with("acct:") {
            continue;
        }
        if let Some(row) = lt::Entity::find_by_id(k.clone()).one(db).await?
            && let Some(until) = row.blocked_until
            && until > t
        {
            wait = Some(wait.map_or(until, |w| w.max(until)));
        }
    }
    Ok(wait.map(|w| {
        (w - t)
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_secs(1))
    }))
}

/// Adds one to the count of `key` in its current window, in one atomic
/// statement (so parallel attempts are each counted), starting a new window
/// when the last began before `window_start`; answers the count.
pub async fn hit<C: ConnectionTrait>(db: &C, key: &str, window_start: DateTime<Utc>) -> Result<i32, DbErr> {
    let t = now();
    let sql = "INSERT INTO login_throttles (key, failures, window_started_at, blocked_until, updated_at) \
               VALUES ($1, 1, $2, NULL, $2) \
               ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN login_throttles.window_started_at < $3 THEN 1 \
                                 ELSE login_throttles.failures + 1 END, \
                 blocked_until = CASE WHEN login_throttles.window_started_at < $3 THEN NULL \
                                      ELSE login_throttles.blocked_until END, \
                 window_started_at = CASE WHEN login_throttles.window_started_at < $3 THEN $2 \
                                          ELSE login_throttles.window_started_at END, \
                 updated_at = $2 \
               RETURNING failures";
    let row = db
        .query_one_raw(dentex_db::stmt(
            db.get_database_backend(),
            sql,
            vec![key.into(), t.into(), window_start.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("throttle key {key}")))?;
    row.try_get::<i32>("", "failures")
}

/// Claims one of `slots` sending slots under `prefix` that has been free for
/// `period`: at most `slots` claims succeed in any `period` (a sliding
/// window), however many run side by side: each slot is taken by one
/// atomic statement that only succeeds when the slot's last use is old enough.
pub async fn claim_slot<C: ConnectionTrait>(db: &C, prefix: &str, slots: u32, period: Duration) -> Result<bool, DbErr> {
    let t = now();
    let sql = "INSERT INTO login_throttles (key, failures, window_started_at, blocked_until, updated_at) \
               VALUES ($1, 0, $2, NULL, $2) \
               ON CONFLICT (key) DO UPDATE SET window_started_at = $2, updated_at = $2 \
               WHERE login_throttles.window_started_at <= $3 \
               RETURNING key";
    for i in 0..slots {
        let claimed = db
            .query_one_raw(dentex_db::stmt(
                db.get_database_backend(),
                sql,
                vec![format!("{prefix}:{i}").into(), t.into(), (t - period).into()],
            ))
            .await?;
        if claimed.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn record_failure<C: ConnectionTrait>(db: &C, keys: &[(String, Rule)]) -> Result<(), DbErr> {
    let t = now();
    for (k, rule) in keys {
        let failures = hit(db, k, t - Duration::minutes(WINDOW_MINUTES)).await?;
        if failures >= rule.threshold {
            let exp = u32::try_from((failures - rule.threshold).clamp(0, 20)).unwrap_or(20);
            let until = t + Duration::seconds(2i64.saturating_pow(exp)).min(rule.max_wait);
            // Failures counted side by side finish in any order: a block only
            // ever grows.
            db.execute_raw(dentex_db::stmt(
                db.get_database_backend(),
                "UPDATE login_throttles SET blocked_until = $1 \
                 WHERE key = $2 AND (blocked_until IS NULL OR blocked_until < $1)",
                vec![until.into(), k.clone().into()],
            ))
            .await?;
        }
    }
    Ok(())
}

/// A successful sign-in clears the account + address counter and marks the
/// address as proven for the account.
pub async fn record_success<C: ConnectionTrait>(db: &C, account: &str, addr: Option<&str>) -> Result<(), DbErr> {
    let addr = addr.unwrap_or("unknown");
    lt::Entity::delete_by_id(format!("acct-addr:{account}:{addr}"))
        .exec(db)
        .await?;
    let t = now();
    let key = proven_key(account, addr);
    lt::Entity::delete_by_id(key.clone()).exec(db).await?;
    let am = lt::ActiveModel {
        key: Set(key),
        failures: Set(0),
        window_started_at: Set(t),
        blocked_until: Set(None),
        updated_at: Set(t),
    };
    if let Err(e) = lt::Entity::insert(am).exec_without_returning(db).await
        && !dentex_db::is_unique_violation(&e)
    {
        return Err(e);
    }
    Ok(())
}

/// Clears every failure counter of an account (after a password reset).
pub async fn clear_account<C: ConnectionTrait>(db: &C, account: &str) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    lt::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(lt::Column::Key.eq(format!("acct:{account}")))
                .add(lt::Column::Key.starts_with(format!("acct-addr:{account}:"))),
        )
        .exec(db)
        .await
        .map(|_| ())
}
