//! `Idempotency-Key` for writes that must not happen twice (SECURITY.md
//! item 17). The first request with a key claims it (a row with no answer
//! yet); when it succeeds its answer is stored, and a retry with the same key
//! and the same request gets that answer again instead of a second effect. A
//! retry while the first is still at work gets 409; the same key on another
//! request gets 422. A request that fails before its commit releases its key,
//! so the client may try again after fixing the cause; the answer is stored
//! in the same transaction as the effect, so a committed effect always has
//! its answer for retries.

use crate::store::idempotency as store;
use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use dentex_db::now;
use dentex_domain::FieldError;
use dentex_http::ApiError;
use sea_orm::{ConnectionTrait, DatabaseConnection, SqlErr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const KEY_MAX: usize = 255;
/// A claim with no answer this old belongs to a request that died before
/// its transaction committed (the answer is stored in the same
/// transaction as the effect); a retry may take it over.
const STALE_CLAIM: chrono::Duration = chrono::Duration::minutes(5);

/// What the first use of a key decided.
pub enum Claim {
    /// Go ahead; then [`finish`] or [`release`].
    Fresh(Key),
    /// The stored answer to give again.
    Replay { status: StatusCode, body: String },
}

/// A claimed key; `claimed_at` tells this claim from a later takeover, so a
/// request that was taken over can neither store its answer nor free the key.
pub struct Key {
    user: Uuid,
    key: String,
    claimed_at: chrono::DateTime<chrono::Utc>,
}

/// Reads the header; a missing or malformed key is a 400 naming it.
pub fn header(req: &HttpRequest) -> Result<String, ApiError> {
    let raw = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if raw.is_empty() || raw.len() > KEY_MAX || raw.chars().any(|c| c.is_control()) {
        return Err(ApiError::new(&crate::codes::IDEMPOTENCY_KEY_REQUIRED,
            format!("Send an Idempotency-Key header (1–{KEY_MAX} printable characters, e.g. a UUID) so a retry cannot act twice."),
        )
        .with_errors(vec![FieldError::new("Idempotency-Key", "required", "A unique key per intended action.")]));
    }
    Ok(raw.to_owned())
}

fn hash(scope: &str, body: &str) -> String {
    hex::encode(Sha256::digest(format!("{scope}\n{body}").as_bytes()))
}

/// Claims `key` for `user`'s request (`scope` names the action and its
/// target, `body` the request's content).
pub async fn claim(
    db: &DatabaseConnection,
    user: Uuid,
    key: String,
    scope: &str,
    body: &str,
) -> Result<Claim, ApiError> {
    let request_hash = hash(scope, body);
    let claimed_at = now();
    match store::insert_claim(db, user, &key, scope, &request_hash, claimed_at).await {
        Ok(()) => return Ok(Claim::Fresh(Key { user, key, claimed_at })),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(found) = store::find(db, user, &key).await? else {
        // Released between the insert and the read: the client may retry.
        return Err(in_progress());
    };
    if found.scope != scope || found.request_hash != request_hash {
        return Err(ApiError::new(
            &crate::codes::IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was used for another request; use a new key for a new action.",
        ));
    }
    match (found.status_code, found.response_body) {
        (Some(code), Some(body)) => Ok(Claim::Replay {
            status: u16::try_from(code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::OK),
            body,
        }),
        _ if found.created_at < now() - STALE_CLAIM => {
            // Taken over by exactly one retry.
            let claimed_at = now();
            if store::take_over(db, user, &key, found.created_at, claimed_at).await? {
                Ok(Claim::Fresh(Key { user, key, claimed_at }))
            } else {
                Err(in_progress())
            }
        }
        _ => Err(in_progress()),
    }
}

fn in_progress() -> ApiError {
    ApiError::new(
        &crate::codes::IDEMPOTENCY_IN_PROGRESS,
        "A request with this Idempotency-Key is still at work; retry shortly.",
    )
}

/// Stores the answer for retries; call it inside the transaction that makes
/// the effect, so both commit together. Fails (and so rolls the effect back)
/// when this claim was taken over meanwhile.
pub async fn finish<C: ConnectionTrait>(db: &C, k: &Key, status: StatusCode, body: &str) -> Result<(), ApiError> {
    if store::store_answer(db, k.user, &k.key, k.claimed_at, i32::from(status.as_u16()), body).await? {
        Ok(())
    } else {
        Err(in_progress())
    }
}

/// Frees the key after a failure that changed nothing (before or instead of
/// the commit), so the client may try again; a claim taken over meanwhile
/// is left to its new owner.
pub async fn release(db: &DatabaseConnection, k: Key) {
    if let Err(e) = store::delete_claim(db, k.user, &k.key, k.claimed_at).await {
        tracing::warn!(error = %e, "releasing an idempotency key failed");
    }
}
