//! Two-step sign-in: enrol a TOTP authenticator, confirm it (receiving ten
//! single-use recovery codes), turn it off, and the second step of sign-in.
//! Every change signs out the user's other sessions and is told by e-mail.

use super::{audit_in, queue_mail, record, signed_in_user, too_many_attempts};
use crate::mfa_keys::{Column, MfaKeys};
use crate::store::{self, User};
use crate::{AccountsState, Actor, mfa, sessions, throttle};
use dentex_audit::Outcome;
use dentex_domain::{Email, FieldError};
use dentex_http::ApiError;
use dentex_mail::templates;
use sea_orm::ConnectionTrait;

/// A started enrolment: the secret to add to an authenticator.
pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// A stored secret, opened; one that does not open is the operator's to
/// fix (a key missing from `auth.mfa_previous_keys`), never the user's.
fn opened(keys: &MfaKeys, user: uuid::Uuid, column: Column, stored: &str) -> Result<String, ApiError> {
    keys.open(user, column, stored).map_err(|e| {
        tracing::error!(user.id = %user, error = %e, "a TOTP secret does not open");
        ApiError::internal(e)
    })
}

fn bad_code() -> ApiError {
    let mut e = ApiError::new(
        &crate::codes::INVALID_MFA_CODE_CONFIRM,
        "That code is wrong or was already used; try the next one.",
    );
    e.errors = vec![FieldError::new("code", "invalid_mfa_code", "Wrong or already used.")];
    e
}

/// Starts enrolment: a new secret to add to an authenticator app. MFA turns
/// on only when a code from it is confirmed.
pub async fn enrol(state: &AccountsState, actor: &Actor) -> Result<Enrollment, ApiError> {
    let db = &state.db;
    let u = signed_in_user(db, actor).await?;
    if u.mfa_enabled_at.is_some() {
        return Err(ApiError::new(
            &crate::codes::MFA_ALREADY_ENABLED,
            "Two-step sign-in is already on; turn it off first to enrol a new authenticator.",
        ));
    }
    let secret = mfa::new_secret();
    let otpauth_uri =
        mfa::otpauth_uri(&secret, &u.email).ok_or_else(|| ApiError::internal(anyhow::anyhow!("otpauth URI")))?;
    let txn = dentex_db::begin_write(db).await?;
    let sealed = state.mfa_keys.seal(u.id, Column::Pending, &secret);
    store::users::set_pending_secret(&txn, u, sealed).await?;
    audit_in(&txn, actor.event("auth.mfa_enrol_start", "user", Outcome::Success)).await?;
    txn.commit().await?;
    Ok(Enrollment { secret, otpauth_uri })
}

/// Confirms enrolment with a code from the authenticator; answers the recovery
/// codes (once) and signs out the user's other sessions.
pub async fn confirm(state: &AccountsState, actor: &Actor, code: &str) -> Result<Vec<String>, ApiError> {
    let u = signed_in_user(&state.db, actor).await?;
    let Some(sealed) = u.mfa_pending_secret.clone() else {
        return Err(ApiError::new(
            &crate::codes::MFA_NOT_ENROLLING,
            "Start enrolment first with POST /api/v1/auth/mfa/totp.",
        ));
    };
    let secret = opened(&state.mfa_keys, u.id, Column::Pending, &sealed)?;
    let Some(step) = mfa::check(&secret, code, None) else {
        record(state, actor.event("auth.mfa_enable", "user", Outcome::Failure)).await?;
        return Err(bad_code());
    };
    let codes = mfa::new_recovery_codes();
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let hashes = codes.iter().map(|c| mfa::recovery_hash(c)).collect();
    let sealed = state.mfa_keys.seal(u.id, Column::Secret, &secret);
    store::users::enable_mfa(&txn, u, sealed, step, hashes).await?;
    sessions::revoke_others(&txn, actor.user_id.0, actor.session_id).await?;
    queue_mail(&txn, &templates::mfa_changed(email, true)).await?;
    audit_in(&txn, actor.event("auth.mfa_enable", "user", Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(codes)
}

/// Turns two-step sign-in off with a current code. Platform staff cannot.
/// Wrong codes are throttled like sign-in attempts, per account and address.
pub async fn disable(state: &AccountsState, actor: &Actor, code: &str) -> Result<(), ApiError> {
    crate::policy::may_disable_mfa(actor)?;
    let u = signed_in_user(&state.db, actor).await?;
    let Some(sealed) = u.mfa_secret.clone().filter(|_| u.mfa_enabled_at.is_some()) else {
        return Err(ApiError::new(
            &crate::codes::MFA_NOT_ENABLED,
            "Two-step sign-in is not on.",
        ));
    };
    let secret = opened(&state.mfa_keys, u.id, Column::Secret, &sealed)?;
    let account = throttle::account(&u.email);
    let keys = throttle::keys(Some(&account), actor.client_addr.as_deref());
    if let Some(wait) = throttle::blocked(&state.db, &keys).await? {
        return Err(too_many_attempts(wait, |secs| {
            format!("Too many wrong codes. Try again in {secs} seconds.")
        }));
    }
    let Some(step) = mfa::check(&secret, code, u.mfa_last_step) else {
        throttle::record_failure(&state.db, &keys).await?;
        record(state, actor.event("auth.mfa_disable", "user", Outcome::Failure)).await?;
        return Err(bad_code());
    };
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    if !store::users::disable_mfa(&txn, u.id, step).await? {
        return Err(bad_code());
    }
    sessions::revoke_others(&txn, actor.user_id.0, actor.session_id).await?;
    queue_mail(&txn, &templates::mfa_changed(email, false)).await?;
    audit_in(&txn, actor.event("auth.mfa_disable", "user", Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(())
}

/// The second step of sign-in: a TOTP code (accepted once) or an unused
/// recovery code (used up). `Ok(Some(note))` names a recovery-code use.
pub(crate) async fn second_step<C: ConnectionTrait>(
    db: &C,
    keys: &MfaKeys,
    u: &User,
    totp_code: Option<&str>,
    recovery: Option<&str>,
) -> Result<Result<Option<&'static str>, ()>, ApiError> {
    let Some(sealed) = u.mfa_secret.as_deref() else {
        return Ok(Ok(None));
    };
    if let Some(code) = totp_code {
        let secret = opened(keys, u.id, Column::Secret, sealed)?;
        let Some(step) = mfa::check(&secret, code, u.mfa_last_step) else {
            return Ok(Err(()));
        };
        let won = store::users::claim_totp_step(db, u.id, step).await?;
        return Ok(if won { Ok(None) } else { Err(()) });
    }
    if let Some(code) = recovery {
        let used = store::users::use_recovery_code(db, u.id, mfa::recovery_hash(code)).await?;
        return Ok(if used { Ok(Some("recovery code used")) } else { Err(()) });
    }
    Ok(Err(()))
}

/// What a rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    pub total: usize,
    pub resealed: usize,
    /// Already under the current key (and opening with it).
    pub current: usize,
    /// Accounts whose secret opens with no configured key: left as they
    /// are (their owners must enrol again, or the missing key be given).
    pub unopenable: Vec<uuid::Uuid>,
}

/// Reseals every stored TOTP secret under the current key (after a
/// rotation, and for secrets stored before sealing existed); `progress` is
/// told (done, total) as it goes. Values said to be under the current key
/// are opened too, so a key that differs under the same id is found.
pub async fn reseal_all<C: ConnectionTrait>(
    db: &C,
    keys: &MfaKeys,
    mut progress: impl FnMut(usize, usize),
) -> Result<Resealed, ApiError> {
    let mut done = Resealed::default();
    let mut users = store::users::with_mfa_secrets(db).await?;
    done.total = users.len();
    let mut i = 0;
    while i < users.len() {
        let u = &users[i];
        let fresh = |v: &Option<String>, c: Column| -> Result<Option<String>, crate::mfa_keys::OpenError> {
            v.as_deref()
                .map(|v| keys.open(u.id, c, v).map(|plain| keys.seal(u.id, c, &plain)))
                .transpose()
        };
        let (secret, pending) = match (
            fresh(&u.mfa_secret, Column::Secret),
            fresh(&u.mfa_pending_secret, Column::Pending),
        ) {
            (Ok(s), Ok(p)) => (s, p),
            _ => {
                tracing::warn!(user.id = %u.id, "a TOTP secret opens with no configured key; left as it is");
                done.unopenable.push(u.id);
                i += 1;
                progress(i, done.total);
                continue;
            }
        };
        let stale = |v: &Option<String>| v.as_deref().is_some_and(|v| !keys.is_current(v));
        if !stale(&u.mfa_secret) && !stale(&u.mfa_pending_secret) {
            done.current += 1;
            i += 1;
            progress(i, done.total);
            continue;
        }
        if store::users::reseal(db, u, secret, pending).await? {
            done.resealed += 1;
            i += 1;
            progress(i, done.total);
        } else if let Some(now) = store::users::by_id(db, u.id).await? {
            // Changed meanwhile (an enrolment): look at it again.
            users[i] = now;
        } else {
            i += 1;
        }
    }
    Ok(done)
}
