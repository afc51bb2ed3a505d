//! A lab's payouts: its Connect Express account, made once, and the
//! onboarding link Stripe hosts; the account's state as Stripe reports it
//! (kept current by `account.updated`).

use super::{denied, provider};
use crate::policy::{self, PayoutAction};
use crate::state::PaymentsState;
use crate::store;
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_db::entities::payout_account;
use dentex_domain::OrgId;
use dentex_http::ApiError;
use uuid::Uuid;

/// The organisation, if the actor is one of its members; else 404.
async fn lab_for(state: &PaymentsState, actor: &Actor, raw: &str, action: PayoutAction) -> Result<Uuid, ApiError> {
    dentex_accounts::policy::require_full_session(actor)?;
    let org = Uuid::parse_str(raw).map_err(|_| ApiError::not_found())?;
    if actor.role_in(OrgId(org)).is_none() {
        return Err(ApiError::not_found());
    }
    let o = store::organization(&state.db, org)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if let Err(why) = policy::decide_payout(actor, org, o.kind != "clinic", action) {
        let mut ev = actor.event("payouts", "organization", Outcome::Denied);
        ev.org_id = Some(OrgId(org));
        ev.resource_id = Some(org.to_string());
        return Err(denied(state, ev, why).await);
    }
    Ok(org)
}

/// Makes the lab's account (once) and answers a fresh onboarding link.
pub async fn start(state: &PaymentsState, actor: &Actor, raw: &str) -> Result<String, ApiError> {
    let org = lab_for(state, actor, raw, PayoutAction::Onboard).await?;
    let stripe = state.stripe()?;
    let account = match store::accounts::find(&state.db, org).await? {
        Some(a) => a.stripe_account_id,
        None => {
            let o = store::organization(&state.db, org)
                .await?
                .ok_or_else(ApiError::not_found)?;
            // Under the organisation's idempotency key: a race makes one account.
            let a = stripe.create_account(org, &o.country).await.map_err(provider)?;
            let txn = dentex_db::begin_write(&state.db).await?;
            store::accounts::insert(&txn, org, &a).await?;
            let mut ev = actor.event("payouts.account_created", "organization", Outcome::Success);
            ev.org_id = Some(OrgId(org));
            ev.resource_id = Some(org.to_string());
            dentex_accounts::audit_in(&txn, ev).await?;
            txn.commit().await?;
            store::accounts::find(&state.db, org)
                .await?
                .map(|a| a.stripe_account_id)
                .ok_or_else(ApiError::not_found)?
        }
    };
    let base = state.config.app_base_url.trim_end_matches('/');
    let back = format!("{base}/organizations/{org}/payouts");
    stripe
        .onboarding_link(&account, &format!("{back}?refresh=1"), &back)
        .await
        .map_err(provider)
}

/// The lab's account as Stripe last reported it (`None`: not onboarded).
pub async fn show(state: &PaymentsState, actor: &Actor, raw: &str) -> Result<Option<payout_account::Model>, ApiError> {
    let org = lab_for(state, actor, raw, PayoutAction::Read).await?;
    Ok(store::accounts::find(&state.db, org).await?)
}
