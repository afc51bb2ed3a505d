//! The hourly job of payments: releases that fell due (delivered and
//! waited out), refunds left pending tried again, long holds flagged to support (Stripe limits how long
//! funds may be held: docs/payments.md), and reconciliation: Stripe's
//! events since the newest one seen, so an event whose webhook never
//! arrived is applied all the same.

use super::{apply, release};
use crate::state::PaymentsState;
use crate::store;
use dentex_http::ApiError;

pub const JOB: &str = "payments.sweep";

/// What one sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    pub released: usize,
    pub alerted: usize,
    pub recovered: usize,
    /// Refunds still pending after half an hour, and events still not
    /// applied after an hour (their jobs gave up), tried again.
    pub retried: usize,
}

pub async fn run(state: &PaymentsState) -> Result<Swept, ApiError> {
    let mut done = Swept::default();
    if state.stripe.is_none() {
        return Ok(done);
    }
    let alert_after = chrono::Duration::days(i64::from(state.config.hold_alert_days));
    for p in store::payments::held(&state.db).await? {
        // One order Stripe refuses does not stop the others (nor the alerts).
        match release::release(state, p.order_id).await {
            Ok(release::Outcome::Released { .. }) => {
                done.released += 1;
                continue;
            }
            Ok(release::Outcome::Holding(_)) => {}
            Err(e) => {
                tracing::warn!(order.id = %p.order_id, error = ?e, "a release failed; the next sweep tries again")
            }
        }
        if p.paid_at.is_some_and(|t| t + alert_after <= chrono::Utc::now())
            && p.hold_alerted_at.is_none()
            && store::payments::alerted(&state.db, p.order_id).await?
        {
            tracing::warn!(order.id = %p.order_id, "payment held past payments.hold_alert_days");
            if let Some(to) = &state.config.support_email
                && let Ok(to) = dentex_domain::Email::parse(to)
            {
                let mail = dentex_mail::OutgoingMail {
                    to,
                    to_name: None,
                    subject: format!("Payment of order {} held for a long time", p.order_id),
                    text: format!(
                        "The payment of order {} has been held since {}. Stripe limits how long funds may be held; release or refund it.\n",
                        p.order_id,
                        p.paid_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                    ),
                };
                state
                    .queue
                    .enqueue(dentex_mail::JOB_KIND, &mail, dentex_jobs::EnqueueOptions::default())
                    .await
                    .map_err(ApiError::internal)?;
            }
            done.alerted += 1;
        }
    }
    for r in store::refunds::stale(&state.db, 30).await? {
        done.retried += 1;
        if let Err(e) = super::refund::run(state, r.id).await {
            tracing::warn!(order.id = %r.order_id, refund.id = %r.id, error = ?e, "a refund is still pending");
        }
    }
    for e in store::events::unapplied(&state.db, 60, 500).await? {
        done.retried += 1;
        if let Err(err) = apply::apply(state, &e.id).await {
            tracing::warn!(stripe.event = %e.id, error = ?err, "an event is still not applied");
        }
    }
    done.recovered = reconcile(state).await?;
    Ok(done)
}

/// Lists Stripe's events since the newest seen (less a minute, for events
/// of the same second) and takes in any that never arrived.
pub async fn reconcile(state: &PaymentsState) -> Result<usize, ApiError> {
    let stripe = state.stripe()?;
    let since = store::events::newest_created(&state.db)
        .await?
        .unwrap_or_else(|| (chrono::Utc::now() - chrono::Duration::days(30)).timestamp())
        - 60;
    let mut recovered = 0;
    for e in stripe.events_since(since).await.map_err(super::provider)? {
        if apply::intake(state, &e).await? {
            recovered += 1;
        }
    }
    Ok(recovered)
}
