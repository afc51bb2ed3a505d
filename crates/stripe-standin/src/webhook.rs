//! Webhook deliveries, signed as Stripe signs them.

use crate::Endpoint;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The `Stripe-Signature` header of `body` at `t` (seconds): `t=…,v1=…`, the
/// `v1` an HMAC-SHA256 of `"{t}.{body}"` keyed with the endpoint's secret.
pub fn sign(body: &str, secret: &str, t: i64) -> String {
    format!("t={t},v1={}", v1(body, secret, t))
}

/// The hex HMAC of one signature.
pub fn v1(body: &str, secret: &str, t: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Posts `event` to the endpoint, signed now; answers its status.
pub async fn post(http: &reqwest::Client, endpoint: &Endpoint, event: &Value) -> anyhow::Result<u16> {
    let body = serde_json::to_string(event)?;
    let header = sign(&body, &endpoint.secret, chrono::Utc::now().timestamp());
    let r = http
        .post(&endpoint.url)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", header)
        .header("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) stand-in")
        .body(body)
        .send()
        .await?;
    Ok(r.status().as_u16())
}
