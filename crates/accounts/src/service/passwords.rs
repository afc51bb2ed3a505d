//! Password reset by e-mail link, and the signed-in user's password change.

use super::{Origin, audit_in, invalid_token, queue_mail, record, signed_in_user, too_many_attempts};
use crate::store::{self, User};
use crate::{AccountsState, Actor, password, sessions, throttle, tokens};
use dentex_audit::{ActorKind, Outcome};
use dentex_db::now;
use dentex_domain::{Email, FieldError, UserId};
use dentex_http::ApiError;
use dentex_mail::templates;

pub const RESET_TTL_MINUTES: i64 = 60;

/// Reset mails per account and hour.
const RESETS_PER_HOUR: u64 = 3;

/// Mails a password-reset link when the address has an account; the outcome
/// is the same whether or not it does (nor for a malformed address).
pub async fn request_reset(state: &AccountsState, origin: &Origin, email: &str) -> Result<(), ApiError> {
    let email = super::mailed_address(email)?;
    let found = store::users::by_email(&state.db, &email.as_str().to_lowercase()).await?;
    let mut ev = origin.event("auth.password_reset_request", "user", Outcome::Success);
    ev.actor_kind = ActorKind::Anonymous;
    // At most three reset mails an hour per account: the endpoint cannot be
    // used to flood someone's inbox. The answer stays the same.
    let recent = match &found {
        Some(u) => {
            let since = now() - chrono::Duration::hours(1);
            tokens::issued_since(&state.db, tokens::PASSWORD_RESET, u.id, since).await?
        }
        None => 0,
    };
    let Some(u) = found.filter(|_| recent < RESETS_PER_HOUR) else {
        ev.outcome = Outcome::Failure;
        ev.reason = Some(
            if recent >= RESETS_PER_HOUR {
                "hourly limit reached"
            } else {
                "unknown address"
            }
            .into(),
        );
        return record(state, ev).await;
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let ttl = chrono::Duration::minutes(RESET_TTL_MINUTES);
    let token = tokens::replace_for_user(&txn, tokens::PASSWORD_RESET, u.id, ttl).await?;
    let mail = templates::password_reset(email, &state.public_base_url, &token, RESET_TTL_MINUTES);
    queue_mail(&txn, &mail).await?;
    ev.resource_id = Some(u.id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(())
}

/// Sets a new password with the token from the reset e-mail, confirms the
/// address (following the link proved it) and signs out every session.
pub async fn confirm_reset(
    state: &AccountsState,
    origin: &Origin,
    token: &str,
    new_password: String,
) -> Result<(), ApiError> {
    let token = token.trim();
    let invalid = || invalid_token("This link is unknown, already used or expired. Ask for a new one.");
    // Check the password before spending the token, so a weak choice can be retried.
    let pending = tokens::find(&state.db, token, None).await?;
    let owner = match pending.as_ref().and_then(|t| t.user_id) {
        Some(uid) => store::users::by_id(&state.db, uid).await?,
        None => None,
    };
    if let Some(u) = &owner {
        password::check_new("new_password", &new_password, &[&u.email, &u.display_name])
            .map_err(|e| ApiError::validation(vec![e]))?;
    }
    let hash = password::hash(new_password).await.map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let Some(tok) = tokens::consume(&txn, tokens::PASSWORD_RESET, token).await? else {
        return Err(invalid());
    };
    let user_id = tok.user_id.ok_or_else(invalid)?;
    let Some(u) = store::users::by_id(&txn, user_id).await? else {
        return Err(invalid());
    };
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    store::users::set_password(&txn, u, hash, true).await?;
    let revoked = sessions::revoke_all(&txn, user_id).await?;
    throttle::clear_account(&txn, &throttle::account(email.as_str())).await?;
    queue_mail(&txn, &templates::password_changed(email)).await?;
    let mut ev = origin.event("auth.password_reset", "user", Outcome::Success);
    ev.actor_id = Some(UserId(user_id));
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(user_id.to_string());
    ev.reason = Some(format!("{revoked} session(s) revoked"));
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(())
}

/// Changes the caller's password, given the current one (wrong ones are
/// throttled like sign-ins); every other session is signed out.
pub async fn change(
    state: &AccountsState,
    actor: &Actor,
    current: String,
    new_password: String,
) -> Result<(), ApiError> {
    let u = signed_in_user(&state.db, actor).await?;
    password::check_new("new_password", &new_password, &[&u.email, &u.display_name])
        .map_err(|e| ApiError::validation(vec![e]))?;
    check_current(state, actor, &u, current).await?;
    let hash = password::hash(new_password).await.map_err(ApiError::internal)?;
    let email = Email::parse(&u.email).map_err(ApiError::internal)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    store::users::set_password(&txn, u, hash, false).await?;
    // Every other session ends; this one goes on.
    let revoked = sessions::revoke_others(&txn, actor.user_id.0, actor.session_id).await?;
    queue_mail(&txn, &templates::password_changed(email)).await?;
    let mut ev = actor.event("auth.password_change", "user", Outcome::Success);
    ev.reason = Some(format!("{revoked} other session(s) revoked"));
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(())
}

async fn check_current(state: &AccountsState, actor: &Actor, u: &User, current: String) -> Result<(), ApiError> {
    let account = throttle::account(&u.email);
    let keys = throttle::keys(Some(&account), actor.client_addr.as_deref());
    if let Some(wait) = throttle::blocked(&state.db, &keys).await? {
        return Err(too_many_attempts(wait, |secs| {
            format!("Too many wrong passwords. Try again in {secs} seconds.")
        }));
    }
    if password::verify(current, Some(u.password_hash.clone())).await {
        return Ok(());
    }
    throttle::record_failure(&state.db, &keys).await?;
    record(state, actor.event("auth.password_change", "user", Outcome::Failure)).await?;
    let mut e = ApiError::new(&crate::codes::INVALID_CREDENTIALS, "The current password is wrong.");
    e.errors = vec![FieldError::new(
        "current_password",
        "invalid_credentials",
        "Wrong password.",
    )];
    Err(e)
}
