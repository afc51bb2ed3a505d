//! Sign-in (password, then the second step when it is on), sign-out, and
//! what `/me` shows.

use super::{Origin, audit_in, record, too_many_attempts};
use crate::sessions::NewSession;
use crate::store::{self, Membership, Organization, User};
use crate::{AccountsState, Actor, password, sessions, throttle};
use dentex_audit::{ActorKind, AuditEvent, Outcome};
use dentex_domain::{Email, UserId};
use dentex_http::ApiError;
use sea_orm::DatabaseConnection;

/// A sign-in attempt whose fields are well-formed.
pub struct Login {
    pub email: Email,
    pub password: String,
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
}

/// An opened session, with the account and its organisations to show.
pub struct Opened {
    pub session: NewSession,
    pub user: User,
    pub organizations: Vec<(Membership, Organization)>,
}

/// The throttle keys of one attempt: the account as submitted and the client address.
struct Attempt {
    account: String,
    addr: Option<String>,
    keys: Vec<(String, throttle::Rule)>,
}

/// Exchanges an address and a password (and a second-step code when two-step
/// sign-in is on) for a session. Repeated failures slow further attempts.
/// Every attempt is audited: failures through the batched log, the success in
/// the session's transaction.
pub async fn login(state: &AccountsState, origin: &Origin, l: Login) -> Result<Opened, ApiError> {
    let account = throttle::account(l.email.as_str());
    let keys = throttle::keys(Some(&account), origin.client_addr.as_deref());
    let attempt = Attempt {
        account,
        addr: origin.client_addr.clone(),
        keys,
    };
    let (u, mut ev) = check_password(state, origin, &attempt, &l).await?;
    check_may_sign_in(state, &u, &mut ev).await?;
    // The second step's use of its code, the session and the row of the
    // sign-in commit together.
    let txn = dentex_db::begin_write(&state.db).await?;
    if u.mfa_enabled_at.is_some() {
        if l.totp_code.is_none() && l.recovery_code.is_none() {
            drop(txn);
            ev.outcome = Outcome::Denied;
            ev.reason = Some("second step required".into());
            record(state, ev).await?;
            return Err(ApiError::new(
                &crate::codes::MFA_REQUIRED,
                "Enter the code from your authenticator app (totp_code) or a recovery code (recovery_code).",
            ));
        }
        let step = super::mfa::second_step(
            &txn,
            &state.mfa_keys,
            &u,
            l.totp_code.as_deref(),
            l.recovery_code.as_deref(),
        )
        .await;
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                // The stored secret does not open (a key missing from the
                // configuration): the sign-in fails, audited.
                drop(txn);
                ev.outcome = Outcome::Failure;
                ev.reason = Some("second-step secret does not open".into());
                record(state, ev).await?;
                return Err(e);
            }
        };
        match step {
            Ok(note) => ev.reason = note.map(str::to_owned),
            Err(()) => {
                drop(txn);
                throttle::record_failure(&state.db, &attempt.keys).await?;
                ev.outcome = Outcome::Failure;
                ev.reason = Some("wrong or reused second-step code".into());
                record(state, ev).await?;
                return Err(ApiError::new(
                    &crate::codes::INVALID_MFA_CODE,
                    "That code is wrong or was already used; try the next one.",
                ));
            }
        }
    }
    throttle::record_success(&txn, &attempt.account, attempt.addr.as_deref()).await?;
    // With MFA on, a code was checked above.
    let session = sessions::issue(&txn, u.id, state.sessions, u.mfa_enabled_at.is_some()).await?;
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    tracing::info!(user.id = %u.id, session.id = %session.id, "login succeeded");
    let organizations = store::memberships::of_user(&state.db, u.id).await?;
    Ok(Opened {
        session,
        user: u,
        organizations,
    })
}

/// The account whose password this is, with the sign-in's audit event so
/// far; refuses (and audits) a throttled attempt or a wrong password, the same
/// way whether or not the address has an account.
async fn check_password(
    state: &AccountsState,
    origin: &Origin,
    attempt: &Attempt,
    l: &Login,
) -> Result<(User, AuditEvent), ApiError> {
    let found = store::users::by_email(&state.db, &l.email.as_str().to_lowercase()).await?;
    if let Some(wait) = throttle::blocked(&state.db, &attempt.keys).await? {
        let mut ev = origin.event("auth.login", "user", Outcome::Denied);
        ev.actor_kind = ActorKind::Anonymous;
        ev.resource_id = found.as_ref().map(|u| u.id.to_string());
        ev.reason = Some("throttled".into());
        record(state, ev).await?;
        return Err(too_many_attempts(wait, |secs| {
            format!("Too many failed sign-ins. Try again in {secs} seconds; a password reset also lifts the wait.")
        }));
    }
    let ok = password::verify(l.password.clone(), found.as_ref().map(|u| u.password_hash.clone())).await;
    let mut ev = origin.event(
        "auth.login",
        "user",
        if ok { Outcome::Success } else { Outcome::Failure },
    );
    ev.resource_id = found.as_ref().map(|u| u.id.to_string());
    let Some(u) = found.filter(|_| ok) else {
        throttle::record_failure(&state.db, &attempt.keys).await?;
        ev.actor_kind = ActorKind::Anonymous;
        record(state, ev).await?;
        tracing::info!("login refused");
        return Err(ApiError::new(
            &crate::codes::INVALID_CREDENTIALS,
            "The e-mail address or the password is wrong.",
        ));
    };
    ev.actor_id = Some(UserId(u.id));
    ev.actor_kind = if u.staff_role.is_some() {
        ActorKind::Staff
    } else {
        ActorKind::User
    };
    Ok((u, ev))
}

/// The signed-in person proves again that they are who the session says
/// (a data-subject request, issue #17): the password, and a current TOTP
/// code when two-step sign-in is on.
/// Wrong answers count towards the same throttle as sign-in; each attempt
/// is audited (`auth.reauthenticate`).
pub async fn reauthenticate(
    state: &AccountsState,
    actor: &Actor,
    password: Option<&str>,
    totp_code: Option<&str>,
) -> Result<(), ApiError> {
    let u = store::users::by_id(&state.db, actor.user_id.0)
        .await?
        .ok_or_else(crate::principal::unauthenticated)?;
    let account = throttle::account(&u.email);
    let keys = throttle::keys(Some(&account), actor.client_addr.as_deref());
    if let Some(wait) = throttle::blocked(&state.db, &keys).await? {
        return Err(too_many_attempts(wait, |secs| {
            format!("Too many wrong answers. Try again in {secs} seconds.")
        }));
    }
    let refuse = |field: &'static str, detail: &str| {
        ApiError::new(&crate::codes::REAUTHENTICATION_FAILED, detail.to_owned())
            .with_errors(vec![dentex_domain::FieldError::new(field, "invalid", detail)])
    };
    let ok = password::verify(password.unwrap_or_default().to_owned(), Some(u.password_hash.clone())).await
        && password.is_some();
    let mut failed = (!ok).then(|| refuse("password", "The password is wrong or missing."));
    if failed.is_none() && u.mfa_enabled_at.is_some() {
        let step = super::mfa::second_step(&state.db, &state.mfa_keys, &u, totp_code, None).await?;
        if step.is_err() {
            failed = Some(refuse(
                "totp_code",
                "A current code from the authenticator app is needed.",
            ));
        }
    }
    let outcome = if failed.is_some() {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let mut ev = actor.event("auth.reauthenticate", "user", outcome);
    ev.resource_id = Some(u.id.to_string());
    if let Some(e) = failed {
        throttle::record_failure(&state.db, &keys).await?;
        record(state, ev).await?;
        return Err(e);
    }
    record(state, ev).await?;
    Ok(())
}

/// Refuses (and audits) an unconfirmed address, and staff without two-step
/// sign-in after the one sign-in allowed for enrolment.
async fn check_may_sign_in(state: &AccountsState, u: &User, ev: &mut AuditEvent) -> Result<(), ApiError> {
    if u.email_verified_at.is_none() {
        ev.outcome = Outcome::Denied;
        ev.reason = Some("e-mail address not verified".into());
        record(state, ev.clone()).await?;
        return Err(ApiError::new(
            &crate::codes::EMAIL_NOT_VERIFIED,
            "Confirm your e-mail address first: follow the link we sent you.",
        ));
    }
    // Staff may sign in once with a password alone, to enrol; never again.
    if u.staff_role.is_some() && u.mfa_enabled_at.is_none() && sessions::count_for_user(&state.db, u.id).await? > 0 {
        ev.outcome = Outcome::Denied;
        ev.reason = Some("staff without two-step sign-in after the first sign-in".into());
        record(state, ev.clone()).await?;
        return Err(ApiError::new(
            &crate::codes::MFA_ENROLLMENT_REQUIRED,
            "Platform staff sign in with two steps. The one sign-in allowed for enrolment was used; \
             ask a platform admin to reset your account.",
        ));
    }
    Ok(())
}

/// Ends the caller's session on the server.
pub async fn logout(db: &DatabaseConnection, actor: &Actor) -> Result<(), ApiError> {
    let txn = dentex_db::begin_write(db).await?;
    sessions::revoke(&txn, actor.session_id).await?;
    let mut ev = actor.event("auth.logout", "session", Outcome::Success);
    ev.resource_id = Some(actor.session_id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(())
}
