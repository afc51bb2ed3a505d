//! Stripe's webhook signature (SECURITY.md item 15), checked over the raw
//! body before anything is parsed: `Stripe-Signature: t=…,v1=…[,v1=…]`, an
//! HMAC-SHA256 of `"{t}.{body}"`, compared in constant time against every
//! `v1` and every configured secret (a rotation has two), the timestamp
//! within 300 s; refused when no secret is configured.
//!
//! `async_stripe_webhook::Webhook::construct_event` does the check (and
//! only then parses); what payments keeps of an event is its hint (id, type,
//! the object's id): the job fetches the object itself.

use crate::stripe::EventHint;
use stripe_webhook::{Webhook, WebhookError};

/// Why a delivery is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No secret is configured: every delivery is refused.
    NotConfigured,
    /// Missing or malformed header, no matching `v1`, or too old.
    Signature(&'static str),
    /// Signed, an event, but about no object (nothing to apply).
    Unreadable,
    /// Signed, but not an event as this server reads them (kept a 400:
    /// Stripe retries it, and reconciliation lists it again).
    Unparseable,
}

/// The event of a signed delivery, or why it is refused.
pub fn verify(body: &str, header: Option<&str>, secrets: &[String]) -> Result<EventHint, Refused> {
    if secrets.is_empty() {
        return Err(Refused::NotConfigured);
    }
    let header = header.ok_or(Refused::Signature("no Stripe-Signature header"))?;
    let mut why = Refused::Signature("no signature matches");
    for secret in secrets {
        match Webhook::construct_event(body, header, secret) {
            Ok(e) => {
                return Ok(EventHint {
                    id: e.id.to_string(),
                    kind: e.type_.as_str().to_owned(),
                    object_id: object_id(body).ok_or(Refused::Unreadable)?,
                    account: e.account.clone(),
                    created: e.created,
                });
            }
            Err(WebhookError::BadTimestamp(_)) => why = Refused::Signature("the signature is older than 300 seconds"),
            Err(WebhookError::BadParse(_)) => return Err(Refused::Unparseable),
            Err(WebhookError::BadHeader(_)) => {
                return Err(Refused::Signature("the Stripe-Signature header is malformed"));
            }
            Err(_) => {}
        }
    }
    Err(why)
}

/// The id of the object an event is about, read from the body once its
/// signature is known good (the typed event names it per type).
fn object_id(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v["data"]["object"]["id"].as_str().map(str::to_owned)
}
