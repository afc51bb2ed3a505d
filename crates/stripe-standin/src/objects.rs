//! The JSON of Stripe's objects, in the shapes (and `object` names) its API
//! answers, with the fields the Rust client (`async-stripe`) requires.

use serde_json::{Value, json};

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Stripe-like id: `pi_` and 24 characters.
pub fn id(prefix: &str) -> String {
    format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

fn string_map(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => json!({}),
    }
}

pub fn account(form: &Value) -> Value {
    let id = id("acct");
    json!({
        "id": id,
        "object": "account",
        "type": form["type"].as_str().unwrap_or("express"),
        "country": form["country"].as_str().unwrap_or("DE"),
        "email": form["email"],
        "default_currency": "eur",
        "created": now(),
        "charges_enabled": false,
        "payouts_enabled": false,
        "details_submitted": false,
        "metadata": string_map(form.get("metadata")),
        "requirements": requirements(&["external_account", "tos_acceptance.date", "business_profile.url"]),
        "capabilities": {},
    })
}

pub fn requirements(due: &[&str]) -> Value {
    json!({
        "currently_due": due,
        "eventually_due": due,
        "past_due": [],
        "pending_verification": [],
        "errors": [],
        "alternatives": [],
        "current_deadline": null,
        "disabled_reason": if due.is_empty() { Value::Null } else { json!("requirements.past_due") },
    })
}

pub fn account_link(base: &str, account: &str) -> Value {
    let t = now();
    json!({
        "object": "account_link",
        "created": t,
        "expires_at": t + 300,
        "url": format!("{base}/connect/onboarding/{account}"),
    })
}

pub fn payment_intent(form: &Value, amount: i64, currency: &str) -> Value {
    let id = id("pi");
    json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "currency": currency,
        "capture_method": form["capture_method"].as_str().unwrap_or("automatic"),
        "confirmation_method": "automatic",
        "automatic_payment_methods": {"enabled": true, "allow_redirects": "always"},
        "client_secret": format!("{id}_secret_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
        "created": now(),
        "livemode": false,
        "metadata": string_map(form.get("metadata")),
        "payment_method_types": ["card"],
        "status": "requires_payment_method",
        "transfer_group": form["transfer_group"],
        "latest_charge": null,
        "last_payment_error": null,
    })
}

pub fn charge(pi: &Value) -> Value {
    json!({
        "id": id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": pi["amount"],
        "amount_refunded": 0,
        "balance_transaction": id("txn"),
        "billing_details": {"address": null, "email": null, "name": null, "phone": null},
        "captured": true,
        "created": now(),
        "currency": pi["currency"],
        "disputed": false,
        "livemode": false,
        "metadata": pi["metadata"],
        "paid": true,
        "payment_intent": pi["id"],
        "refunded": false,
        "status": "succeeded",
        "transfer_group": pi["transfer_group"],
    })
}

pub fn refund(charge: &Value, amount: i64, form: &Value) -> Value {
    json!({
        "id": id("re"),
        "object": "refund",
        "amount": amount,
        "charge": charge["id"],
        "payment_intent": charge["payment_intent"],
        "created": now(),
        "currency": charge["currency"],
        "metadata": string_map(form.get("metadata")),
        "reason": form["reason"],
        "status": "succeeded",
    })
}

pub fn transfer(form: &Value, amount: i64) -> Value {
    let id = id("tr");
    json!({
        "id": id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "created": now(),
        "currency": form["currency"],
        "destination": form["destination"],
        "livemode": false,
        "metadata": string_map(form.get("metadata")),
        "reversals": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/transfers/{id}/reversals")},
        "reversed": false,
        "source_transaction": form["source_transaction"],
        "transfer_group": form["transfer_group"],
    })
}

pub fn reversal(transfer: &Value, amount: i64, form: &Value) -> Value {
    json!({
        "id": id("trr"),
        "object": "transfer_reversal",
        "amount": amount,
        "created": now(),
        "currency": transfer["currency"],
        "metadata": string_map(form.get("metadata")),
        "transfer": transfer["id"],
    })
}

pub fn dispute(charge: &Value) -> Value {
    json!({
        "id": id("dp"),
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "payment_intent": charge["payment_intent"],
        "created": now(),
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {"enhanced_evidence": {}},
        "evidence_details": {
            "due_by": now() + 7 * 86_400,
            "enhanced_eligibility": {},
            "has_evidence": false,
            "past_due": false,
            "submission_count": 0
        },
        "is_charge_refundable": false,
        "livemode": false,
        "metadata": {},
        "reason": "product_not_received",
        "status": "needs_response",
    })
}

pub fn event(kind: &str, object: &Value, account: Option<&str>) -> Value {
    json!({
        "id": id("evt"),
        "object": "event",
        "api_version": "2026-09-30.endive",
        "account": account,
        "created": now(),
        "data": {"object": object},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
    })
}

/// Stripe's error envelope.
pub fn error(kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Value {
    json!({"error": {"type": kind, "code": code, "message": message, "param": param}})
}
