//! Two-step sign-in: enrol a TOTP authenticator, confirm it (receiving ten
//! single-use recovery codes), turn it off, and the second step of sign-in.
//! Every change signs out the user's other sessions and is told by e-mail.

use super::{audit_in, queue_mail, record, signed_in_user, too_many_attempts};
use crate::store::{self, User};
use crate::{AccountsState, Actor, mfa, sessions, throttle};
use dentex_audit::Outcome;
use dentex_domain::{Email, FieldError};
use dentex_http::ApiError;
use dentex_mail::templates;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// A started enrolment: the secret to add to an authenticator.
pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
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
pub async fn enrol(db: &DatabaseConnection, actor: &Actor) -> Result<Enrollment, ApiError> {
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
    store::users::set_pending_secret(&txn, u, secret.clone()).await?;
    audit_in(&txn, actor.event("auth.mfa_enrol_start", "user", Outcome::Success)).await?;
    txn.commit().await?;
    Ok(Enrollment { secret, otpauth_uri })
}

/// Confirms enrolment with a code from the authenticator; answers the recovery
/// codes (once) and signs out the user's other sessions.
pub async fn confirm(state: &AccountsState, actor: &Actor, code: &str) -> Result<Vec<String>, ApiError> {
    let u = signed_in_user(&state.db, actor).await?;
    let Some(secret) = u.mfa_pending_secret.clone() else {
        return Err(ApiError::new(
            &crate::codes::MFA_NOT_ENROLLING,
            "Start enrolment first with POST /api/v1/auth/mfa/totp.",
        ));
    };
    let Some(step) = mfa::check(&secret, code, None) else {
        record(state, actor.event("auth.mfa_enable", "user", Outcome::Failure)).await?;
        return Err(bad_code());
    };
    let codes = mfa::new_recovery_codes();
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let hashes = codes.iter().map(|c| mfa::recovery_hash(c)).collect();
    store::users::enable_mfa(&txn, u, secret, step, hashes).await?;
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
    let Some(secret) = u.mfa_secret.clone().filter(|_| u.mfa_enabled_at.is_some()) else {
        return Err(ApiError::new(
            &crate::codes::MFA_NOT_ENABLED,
            "Two-step sign-in is not on.",
        ));
    };
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
    u: &User,
    totp_code: Option<&str>,
    recovery: Option<&str>,
) -> Result<Result<Option<&'static str>, ()>, ApiError> {
    let Some(secret) = u.mfa_secret.as_deref() else {
        return Ok(Ok(None));
    };
    if let Some(code) = totp_code {
        let Some(step) = mfa::check(secret, code, u.mfa_last_step) else {
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
