//! A stand-in for Stripe, for Dentex's tests and for trying the payment flow
//! by hand (`cargo run -p dentex-stripe-standin`). It is **not Stripe**: it
//! speaks Stripe's wire format for the calls Dentex makes and keeps state
//! that moves as Stripe's does, nothing more.
//!
//! - Requests: `application/x-www-form-urlencoded` with nested keys, `Bearer`
//!   secret keys (`401` otherwise), answers in Stripe's JSON shapes with their
//!   `object` names, errors in Stripe's envelope (`{"error": {type, code,
//!   message, param}}`).
//! - `Idempotency-Key` on a `POST`: the same key with the same body answers
//!   what the first request answered (`Idempotent-Replayed: true`); the same
//!   key with another body is `400 idempotency_error`. Requests with one key
//!   are answered one at a time, so a race makes one object.
//! - Objects: Connect accounts and account links, PaymentIntents (and their
//!   charges), refunds, transfers and their reversals, disputes, events
//!   (`GET /v1/events`, newest first, `created[gt]`, `starting_after`).
//! - State moves through the control calls ([`StandIn::complete_onboarding`],
//!   [`StandIn::succeed`], [`StandIn::fail`], [`StandIn::process`],
//!   [`StandIn::dispute`], [`StandIn::close_dispute`]), also reachable over
//!   HTTP under `/_standin/`. Each makes the events Stripe would and, when a
//!   webhook endpoint is set, delivers them signed as Stripe signs
//!   (`Stripe-Signature: t=…,v1=HMAC-SHA256("{t}.{body}")`).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod form;
pub mod objects;
mod server;
pub mod webhook;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use webhook::sign;

/// Where and how events are delivered.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    pub secret: String,
}

#[derive(Default)]
pub(crate) struct State {
    pub objects: HashMap<String, Value>,
    /// Oldest first.
    pub events: Vec<Value>,
    /// key → (fingerprint of the request, status, body)
    pub idempotency: HashMap<String, (String, u16, Value)>,
    /// What each connected account holds (transfers in, reversals out).
    pub balances: HashMap<String, i64>,
    /// Every API request: (method, path, idempotency key, form).
    pub requests: Vec<Request>,
}

/// One API request the stand-in received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub form: Value,
}

pub(crate) struct Inner {
    pub secret_key: String,
    pub base: String,
    pub state: Mutex<State>,
    /// Serialises requests that share an idempotency key.
    pub keyed: tokio::sync::Mutex<()>,
    pub endpoint: Mutex<Option<Endpoint>>,
    pub auto_deliver: std::sync::atomic::AtomicBool,
    pub http: reqwest::Client,
}

/// A running stand-in on a port of loopback.
#[derive(Clone)]
pub struct StandIn {
    /// `http://127.0.0.1:PORT/` (ends with `/`, as `payments.stripe_api_base`).
    pub base: String,
    pub(crate) inner: Arc<Inner>,
}

impl StandIn {
    /// Starts on `addr` (`127.0.0.1:0` for any port), accepting `secret_key`.
    pub async fn start(addr: &str, secret_key: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = format!("http://{}/", listener.local_addr()?);
        let inner = Arc::new(Inner {
            secret_key: secret_key.to_owned(),
            base: base.trim_end_matches('/').to_owned(),
            state: Mutex::new(State::default()),
            keyed: tokio::sync::Mutex::new(()),
            endpoint: Mutex::new(None),
            auto_deliver: std::sync::atomic::AtomicBool::new(true),
            http: reqwest::Client::new(),
        });
        server::spawn(listener, inner.clone());
        Ok(Self { base, inner })
    }

    /// Events go to `endpoint` from now on, signed with its secret.
    pub fn deliver_to(&self, endpoint: Endpoint) {
        *lock(&self.inner.endpoint) = Some(endpoint);
    }

    /// Whether new events are delivered as they happen (default) or only
    /// when [`StandIn::deliver`] is called (to send them late, out of order
    /// or twice).
    pub fn auto_deliver(&self, on: bool) {
        self.inner.auto_deliver.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sends `event` to the endpoint now (signed at the current time);
    /// answers the endpoint's status.
    pub async fn deliver(&self, event: &Value) -> anyhow::Result<u16> {
        let endpoint = lock(&self.inner.endpoint)
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no webhook endpoint set"))?;
        webhook::post(&self.inner.http, &endpoint, event).await
    }

    /// An object as it stands.
    pub fn object(&self, id: &str) -> Option<Value> {
        lock(&self.inner.state).objects.get(id).cloned()
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.inner.state).events.clone()
    }

    /// Every API request so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.inner.state).requests.clone()
    }

    /// Objects of one kind (`"payment_intent"`, `"transfer"`, …).
    pub fn objects_of(&self, object: &str) -> Vec<Value> {
        let mut v: Vec<Value> = lock(&self.inner.state)
            .objects
            .values()
            .filter(|o| o["object"] == object)
            .cloned()
            .collect();
        v.sort_by_key(|o| o["created"].as_i64().unwrap_or(0));
        v
    }

    /// The account finished onboarding: charges and payouts enabled.
    pub async fn complete_onboarding(&self, account: &str) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::complete_onboarding(s, account)).await
    }

    /// The account's balance is paid out to its bank (a reversal then finds
    /// nothing to take back).
    pub async fn pay_out(&self, account: &str) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::pay_out(s, account)).await
    }

    /// The clinic's payment is being processed (a bank debit, say).
    pub async fn process(&self, intent: &str) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::process(s, intent)).await
    }

    /// The payment succeeded: a charge, captured.
    pub async fn succeed(&self, intent: &str) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::succeed(s, intent)).await
    }

    /// The payment failed (card declined); the intent can be paid again.
    pub async fn fail(&self, intent: &str) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::fail(s, intent)).await
    }

    /// The card holder disputes the charge of `intent`.
    pub async fn dispute(&self, intent: &str) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::open_dispute(s, intent)).await
    }

    /// The dispute ends, `won` or `lost`.
    pub async fn close_dispute(&self, dispute: &str, won: bool) -> anyhow::Result<Vec<Value>> {
        self.change(|s| server::close_dispute(s, dispute, won)).await
    }

    /// Applies a control change and delivers its events (when automatic).
    async fn change(&self, f: impl FnOnce(&mut State) -> Result<Vec<Value>, String>) -> anyhow::Result<Vec<Value>> {
        let events = {
            let mut s = lock(&self.inner.state);
            f(&mut s).map_err(anyhow::Error::msg)?
        };
        server::after_events(&self.inner, &events).await;
        Ok(events)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a control call over HTTP answers.
pub(crate) fn events_answer(events: &[Value]) -> Value {
    json!({"object": "standin.result", "events": events.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()})
}
