//! A market with payments through the Stripe stand-in
//! (`dentex-stripe-standin`: **not Stripe**, a server in this process that
//! speaks Stripe's wire format and signs its webhooks as Stripe does).

use super::market::{Market, move_order};
use super::{call, json_of};
use crate::{Actor, TestApp};
use dentex_stripe_standin::{Endpoint, StandIn};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

pub const SECRET_KEY: &str = "sk_test_dentex_standin";
pub const WEBHOOK_SECRET: &str = "whsec_dentex_standin";

pub struct Paid {
    pub m: Market,
    pub stripe: StandIn,
}

impl Paid {
    pub async fn new() -> Self {
        Self::configured(|_| {}).await
    }

    /// Payments on, pointed at a fresh stand-in; `f` adjusts the rest.
    pub async fn configured(f: impl FnOnce(&mut dentex_gateway::config::Config) + 'static) -> Self {
        let stripe = StandIn::start("127.0.0.1:0", SECRET_KEY).await.expect("stand-in");
        let base = stripe.base.clone();
        let m = Market::configured(move |c| {
            c.payments.stripe_secret_key = Some(SECRET_KEY.to_owned().into());
            c.payments.stripe_api_base = base;
            c.payments.webhook_secret = Some(WEBHOOK_SECRET.to_owned().into());
            f(c);
        })
        .await;
        stripe.deliver_to(Endpoint {
            url: m.app.url("/api/v1/webhooks/stripe"),
            secret: WEBHOOK_SECRET.into(),
        });
        Self { m, stripe }
    }

    /// `lab` onboards and Stripe enables it; answers its account id.
    pub async fn onboard(&self, lab: &Actor) -> String {
        let r = call(&self.m.app, Method::POST, &payouts(lab, "/onboarding"), lab, None).await;
        assert_eq!(r.status(), 200, "setup: onboarding");
        let url = json_of(r).await["url"].as_str().expect("url").to_owned();
        let account = url.rsplit('/').next().expect("account in the link").to_owned();
        self.stripe.complete_onboarding(&account).await.expect("onboarded");
        self.until(|| async {
            let r = call(&self.m.app, Method::GET, &payouts(lab, ""), lab, None).await;
            json_of(r).await["payouts_enabled"] == true
        })
        .await;
        account
    }

    /// Polls `ok` for up to 15 s (the events are applied by jobs).
    pub async fn until<F, Fut>(&self, ok: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..300 {
            if ok().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not reached in 15 s");
    }

    /// Waits until no job is due or running (each event received so far
    /// applied, each refund tried, each mail sent).
    pub async fn settled(&self) {
        let q = &self.m.app.state.queue;
        self.until(|| async {
            // One snapshot of the queue (a query per status would miss
            // a job claimed between them).
            let now = chrono::Utc::now();
            let busy = q.list(None, 10_000).await.expect("jobs");
            let busy: Vec<_> = busy
                .into_iter()
                .filter(|j| j.status == dentex_jobs::STATUS_QUEUED || j.status == dentex_jobs::STATUS_RUNNING)
                .collect();
            !busy.iter().any(|j| j.run_at <= now)
        })
        .await;
    }

    /// Runs the hourly sweep now (through the job queue, as the scheduler
    /// does) and waits for what it set off.
    pub async fn sweep(&self) {
        let q = &self.m.app.state.queue;
        q.enqueue("payments.sweep", &json!({}), dentex_jobs::EnqueueOptions::default())
            .await
            .expect("sweep queued");
        q.wake();
        self.settled().await;
    }

    /// Support refunds `order` (`body`: `amount_minor`, `reason`) as `who`.
    pub async fn refund(&self, who: &Actor, order: &str, body: Value) -> reqwest::Response {
        let path = format!("/api/v1/support/orders/{order}/refunds");
        call(&self.m.app, Method::POST, &path, who, Some(body)).await
    }

    /// The clinic pays `order` under `key`.
    pub async fn pay(&self, order: &str, key: &str) -> reqwest::Response {
        pay_as(&self.m.app, &self.m.clinic, order, key).await
    }

    /// The order's payment as `who` sees it.
    pub async fn payment(&self, who: &Actor, order: &str) -> Value {
        let r = call(
            &self.m.app,
            Method::GET,
            &format!("/api/v1/orders/{order}/payment"),
            who,
            None,
        )
        .await;
        assert_eq!(r.status(), 200, "payment view");
        json_of(r).await
    }

    /// Waits until the payment's status is `status`; answers the view.
    pub async fn until_status(&self, order: &str, status: &str) -> Value {
        self.until(|| async { self.payment(&self.m.clinic, order).await["status"] == status })
            .await;
        self.payment(&self.m.clinic, order).await
    }

    /// The order's status, as the clinic reads it.
    pub async fn order_status(&self, order: &str) -> String {
        let r = call(
            &self.m.app,
            Method::GET,
            &format!("/api/v1/orders/{order}"),
            &self.m.clinic,
            None,
        )
        .await;
        json_of(r).await["status"].as_str().unwrap_or_default().to_owned()
    }

    /// The PaymentIntent Stripe holds for a client secret.
    pub fn intent_of(&self, client_secret: &str) -> String {
        client_secret.split("_secret_").next().expect("intent id").to_owned()
    }

    /// B onboarded, quotes revised, B's accepted: the order (awaiting payment).
    pub async fn awarded(&self) -> String {
        self.onboard(&self.m.b).await;
        let (_, order) = self.m.awarded().await;
        order
    }

    /// The clinic starts paying `order` (key `pay-1`); answers the PaymentIntent.
    pub async fn started(&self, order: &str) -> String {
        let r = self.pay(order, "pay-1").await;
        assert_eq!(r.status(), 200, "setup: pay");
        let secret = json_of(r).await["client_secret"].as_str().expect("secret").to_owned();
        self.intent_of(&secret)
    }

    /// The clinic pays `order` and Stripe takes the money (the order then in production).
    pub async fn pay_through(&self, order: &str) {
        let intent = self.started(order).await;
        self.stripe.succeed(&intent).await.expect("succeeds");
        self.until_status(order, "paid").await;
    }

    /// Awarded and paid (the order in production); answers the order.
    pub async fn paid(&self) -> String {
        let order = self.awarded().await;
        self.pay_through(&order).await;
        order
    }

    /// B ships, the clinic takes delivery (and completes when `complete`).
    pub async fn deliver(&self, order: &str, complete: bool) {
        let mut steps = vec![
            (
                &self.m.b,
                json!({"to": "shipped", "carrier": "DHL", "tracking_number": "JD0146000033"}),
            ),
            (&self.m.clinic, json!({"to": "delivered"})),
        ];
        if complete {
            steps.push((&self.m.clinic, json!({"to": "completed"})));
        }
        for (who, body) in steps {
            let r = move_order(&self.m.app, who, order, body.clone()).await;
            assert_eq!(r.status(), 200, "setup: move to {}", body["to"]);
        }
    }
}

/// `/api/v1/organizations/{org}/payouts{tail}` for the caller's first organisation.
pub fn payouts(who: &Actor, tail: &str) -> String {
    format!("/api/v1/organizations/{}/payouts{tail}", who.org_id)
}

/// `POST /api/v1/orders/{order}/payment` as `who`, with `Idempotency-Key: key`.
pub async fn pay_as(app: &TestApp, who: &Actor, order: &str, key: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/orders/{order}/payment")))
        .bearer_auth(&who.token)
        .header("idempotency-key", key)
        .send()
        .await
        .expect("request")
}
