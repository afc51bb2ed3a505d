//! Registration (a person with a new organisation they own) and the
//! confirmation of the address.

use super::{Origin, audit_in, invalid_token, queue_mail, record};
use crate::store::{self, users::NewUser};
use crate::{AccountsState, password, throttle, tokens};
use dentex_audit::{ActorKind, Outcome};
use dentex_domain::{CountryCode, DataRegion, Email, OrgId, OrgKind, OrgRole, UserId};
use dentex_http::ApiError;
use dentex_mail::templates;
use sea_orm::DatabaseConnection;

pub const VERIFY_TTL_HOURS: i64 = 24;

/// "Someone tried to register with your address" notices per account and hour.
const NOTICES_PER_HOUR: u32 = 3;

/// Verification mails per account and hour (the first one included).
const VERIFICATIONS_PER_HOUR: u64 = 3;

/// A registration whose fields passed their rules.
pub struct Registration {
    pub email: Email,
    pub password: String,
    pub display_name: String,
    pub org_name: String,
    pub kind: OrgKind,
    pub country: CountryCode,
    pub region: DataRegion,
}

/// Registers a person together with a new organisation, of which they become
/// the owner, and mails them a verification link. The outcome is the same
/// whether or not the address already has an account (that address is told by
/// e-mail instead), so registration reveals nothing about who uses Dentex.
pub async fn register(state: &AccountsState, origin: &Origin, r: Registration) -> Result<(), ApiError> {
    let address = r.email.as_str().to_lowercase();
    // Hash before looking the address up, so both outcomes cost the same.
    let hash = password::hash(r.password.clone()).await.map_err(ApiError::internal)?;
    match store::users::by_email(&state.db, &address).await? {
        Some(u) => notify_existing(state, origin, u, r.email).await,
        None => create(state, origin, r, &address, hash).await,
    }
}

/// The address has an account: tell its owner, at most three times in any
/// hour (claimed atomically, so the form cannot flood a real person's inbox).
async fn notify_existing(state: &AccountsState, origin: &Origin, u: store::User, email: Email) -> Result<(), ApiError> {
    let notify = throttle::claim_slot(
        &state.db,
        &format!("notice:already-registered:{}", u.id),
        NOTICES_PER_HOUR,
        chrono::Duration::hours(1),
    )
    .await?;
    if notify {
        let txn = dentex_db::begin_write(&state.db).await?;
        queue_mail(&txn, &templates::already_registered(email, &state.public_base_url)).await?;
        txn.commit().await?;
        state.queue.wake();
    }
    let mut ev = origin.event("auth.register", "user", Outcome::Failure);
    ev.actor_kind = ActorKind::Anonymous;
    ev.resource_id = Some(u.id.to_string());
    ev.reason = Some(
        if notify {
            "address already registered; owner notified"
        } else {
            "address already registered; hourly notice limit reached"
        }
        .into(),
    );
    record(state, ev).await?;
    tracing::info!(notified = notify, "registration for an existing address");
    Ok(())
}

/// The account, its organisation, the owner's membership, the verification
/// mail and the audit row, in one transaction.
async fn create(
    state: &AccountsState,
    origin: &Origin,
    r: Registration,
    address: &str,
    hash: String,
) -> Result<(), ApiError> {
    let user_id = UserId::new();
    let org_id = OrgId::new();
    let txn = dentex_db::begin_write(&state.db).await?;
    let new_user = NewUser {
        id: user_id,
        email: address,
        display_name: &r.display_name,
        password_hash: hash,
        staff_role: None,
        verified: false,
    };
    store::users::insert(&txn, new_user).await?;
    store::organizations::insert(&txn, org_id, r.org_name, r.kind, r.country, r.region).await?;
    store::memberships::insert(&txn, org_id.0, user_id.0, OrgRole::Owner.as_str()).await?;
    let token = tokens::issue(
        &txn,
        tokens::VERIFY_EMAIL,
        tokens::TokenFor {
            user_id: Some(user_id.0),
            ..Default::default()
        },
        chrono::Duration::hours(VERIFY_TTL_HOURS),
    )
    .await?;
    let mail = templates::verify_email(
        r.email,
        &r.display_name,
        &state.public_base_url,
        &token,
        VERIFY_TTL_HOURS,
    );
    queue_mail(&txn, &mail).await?;
    let mut ev = origin.event("organization.register", "organization", Outcome::Success);
    ev.org_id = Some(org_id);
    ev.actor_id = Some(user_id);
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(org_id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(user.id = %user_id, org.id = %org_id, "registered");
    Ok(())
}

/// Confirms an e-mail address with the token from the verification e-mail.
pub async fn verify_email(db: &DatabaseConnection, origin: &Origin, token: &str) -> Result<(), ApiError> {
    let invalid = || invalid_token("This link is unknown, already used or expired. Ask for a new one.");
    let txn = dentex_db::begin_write(db).await?;
    let Some(tok) = tokens::consume(&txn, tokens::VERIFY_EMAIL, token.trim()).await? else {
        return Err(invalid());
    };
    let user_id = tok.user_id.ok_or_else(invalid)?;
    store::users::mark_email_verified(&txn, user_id).await?;
    let mut ev = origin.event("auth.verify_email", "user", Outcome::Success);
    ev.actor_id = Some(UserId(user_id));
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(user_id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(())
}

/// Sends a new verification link to an address whose account is not
/// confirmed yet (the older links stop working). The answer is the same for
/// an unknown address, a confirmed one, or one past its hourly limit (three
/// mails), so the route tells no one who uses Dentex or floods an inbox.
pub async fn resend_verification(state: &AccountsState, origin: &Origin, email: &str) -> Result<(), ApiError> {
    let email = super::mailed_address(email)?;
    let found = store::users::by_email(&state.db, &email.as_str().to_lowercase()).await?;
    let mut ev = origin.event("auth.verification_resend", "user", Outcome::Success);
    ev.actor_kind = ActorKind::Anonymous;
    let since = dentex_db::now() - chrono::Duration::hours(1);
    let why_not = match &found {
        None => Some("unknown address"),
        Some(u) if u.email_verified_at.is_some() => Some("already verified"),
        Some(u)
            if tokens::issued_since(&state.db, tokens::VERIFY_EMAIL, u.id, since).await? >= VERIFICATIONS_PER_HOUR =>
        {
            Some("hourly limit reached")
        }
        Some(_) => None,
    };
    let (Some(u), None) = (found, why_not) else {
        ev.outcome = Outcome::Failure;
        ev.reason = why_not.map(str::to_owned);
        return record(state, ev).await;
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let ttl = chrono::Duration::hours(VERIFY_TTL_HOURS);
    let token = tokens::replace_for_user(&txn, tokens::VERIFY_EMAIL, u.id, ttl).await?;
    let mail = templates::verify_email(email, &u.display_name, &state.public_base_url, &token, VERIFY_TTL_HOURS);
    queue_mail(&txn, &mail).await?;
    ev.resource_id = Some(u.id.to_string());
    ev.actor_id = Some(UserId(u.id));
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(())
}
