//! Payments through Stripe Connect, over HTTP, on both databases. Stripe
//! cannot be reached from here: these tests run against
//! `dentex-stripe-standin`, a stand-in in this process that speaks Stripe's
//! wire format (form-encoded requests, Bearer keys, Idempotency-Key, Stripe's
//! object shapes and error envelope) and delivers webhooks signed with
//! Stripe's scheme. It is not Stripe.

use dentex_stripe_standin::sign;
use dentex_tests::problem;
use dentex_tests::setup::market::{Market, move_order};
use dentex_tests::setup::payments::{Paid, WEBHOOK_SECRET, pay_as, payouts};
use dentex_tests::setup::{call, json_of};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_lab_onboards_until_payouts_are_enabled() {
    let p = Paid::new().await;
    let (app, b) = (&p.m.app, &p.m.b);
    let before = json_of(call(app, Method::GET, &payouts(b, ""), b, None).await).await;
    assert_eq!(before["onboarded"], false);
    let r = call(app, Method::POST, &payouts(b, "/onboarding"), b, None).await;
    assert_eq!(r.status(), 200);
    let url = json_of(r).await["url"].as_str().expect("url").to_owned();
    let acct = url.rsplit('/').next().expect("account").to_owned();
    let shown = json_of(call(app, Method::GET, &payouts(b, ""), b, None).await).await;
    assert_eq!(shown["onboarded"], true);
    assert_eq!(shown["payouts_enabled"], false);
    assert!(!shown["currently_due"].as_array().expect("due").is_empty(), "{shown}");
    // Asking again makes no second account.
    let r = call(app, Method::POST, &payouts(b, "/onboarding"), b, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(p.stripe.objects_of("account").len(), 1);
    // Stripe finishes onboarding; `account.updated` brings it here.
    p.stripe.complete_onboarding(&acct).await.expect("complete");
    p.until(|| async {
        json_of(call(app, Method::GET, &payouts(b, ""), b, None).await).await["payouts_enabled"] == true
    })
    .await;
    // Another organisation's payouts are 404; a clinic has none; a member is refused.
    let r = call(app, Method::GET, &payouts(b, ""), &p.m.a, None).await;
    assert_eq!(r.status(), 404);
    let r = call(
        app,
        Method::POST,
        &payouts(&p.m.clinic, "/onboarding"),
        &p.m.clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 403);
    let tech = p.m.technician().await;
    let r = call(app, Method::POST, &payouts(b, "/onboarding"), &tech, None).await;
    assert_eq!(r.status(), 403);
    // The clinic sees on each quote whether its lab can be paid here.
    let (q, _) = p.m.awarded().await;
    for (quote, payable) in [(&q.qb, true), (&q.qa, false)] {
        let r = call(app, Method::GET, &format!("/api/v1/quotes/{quote}"), &p.m.clinic, None).await;
        assert_eq!(json_of(r).await["payable"], payable, "{quote}");
    }
}

#[tokio::test]
async fn money_is_held_until_completion_then_one_transfer_of_price_minus_fee() {
    let p = Paid::new().await;
    let order = p.awarded().await;
    assert_eq!(p.order_status(&order).await, "awaiting_payment");
    // No key: told to send one. The lab does not pay.
    let r = call(
        &p.m.app,
        Method::POST,
        &format!("/api/v1/orders/{order}/payment"),
        &p.m.clinic,
        None,
    )
    .await;
    assert_eq!(problem(r).await["code"], "idempotency_key_required");
    let r = pay_as(&p.m.app, &p.m.b, &order, "lab-tries").await;
    assert_eq!(r.status(), 403, "the lab does not pay");
    // Anyone else: 404, for the payment and the receipt alike.
    let other = p.m.other_clinic().await;
    for tail in ["payment", "receipt"] {
        let r = call(
            &p.m.app,
            Method::GET,
            &format!("/api/v1/orders/{order}/{tail}"),
            &other,
            None,
        )
        .await;
        assert_eq!(r.status(), 404, "{tail}");
    }
    let first = json_of(p.pay(&order, "pay-1").await).await;
    assert_eq!(first["status"], "unpaid");
    let secret = first["client_secret"].as_str().expect("client secret").to_owned();
    // A retry answers the same PaymentIntent.
    let again = json_of(p.pay(&order, "pay-1").await).await;
    assert_eq!(again["client_secret"], first["client_secret"]);
    let intents = p.stripe.objects_of("payment_intent");
    assert_eq!(intents.len(), 1);
    let pi = &intents[0];
    assert_eq!(pi["amount"], 10_500);
    assert_eq!(pi["currency"], "eur");
    assert_eq!(pi["transfer_group"], order.as_str());
    assert_eq!(pi["metadata"], json!({"order_id": order}));
    assert_eq!(pi["capture_method"], "automatic");
    p.stripe.succeed(&p.intent_of(&secret)).await.expect("succeeds");
    let paid = p.until_status(&order, "paid").await;
    assert_eq!(paid["held_minor"], 10_500);
    assert_eq!(paid["fee_minor"], 525);
    p.until(|| async { p.order_status(&order).await == "in_production" })
        .await;
    // The lab is told by mail, and the thread says so in a system message.
    p.m.app
        .mail_to(&p.m.b.email, &format!("Order {order} is now in production"))
        .await;
    let shown = json_of(call(&p.m.app, Method::GET, &format!("/api/v1/orders/{order}"), &p.m.b, None).await).await;
    let case = shown["case_id"].as_str().expect("case id").to_owned();
    let threads = json_of(
        call(
            &p.m.app,
            Method::GET,
            &format!("/api/v1/cases/{case}/threads"),
            &p.m.b,
            None,
        )
        .await,
    )
    .await;
    let thread = threads["items"][0]["id"].as_str().expect("the lab's thread").to_owned();
    let messages = json_of(
        call(
            &p.m.app,
            Method::GET,
            &format!("/api/v1/threads/{thread}/messages"),
            &p.m.b,
            None,
        )
        .await,
    )
    .await;
    assert!(
        messages["items"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["system_code"] == "payment.updated"),
        "{messages}"
    );
    // Both sides see the payment and the receipt.
    let lab_view = p.payment(&p.m.b, &order).await;
    assert_eq!(lab_view["status"], "paid");
    let receipt = json_of(
        call(
            &p.m.app,
            Method::GET,
            &format!("/api/v1/orders/{order}/receipt"),
            &p.m.b,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(receipt["amount_minor"], 10_500);
    assert!(
        receipt["number"].as_str().expect("number").ends_with("-000001"),
        "{receipt}"
    );
    assert!(
        p.stripe.objects_of("transfer").is_empty(),
        "nothing is released before delivery"
    );
    p.deliver(&order, false).await;
    let delivered = p.payment(&p.m.clinic, &order).await;
    assert!(
        delivered["release_at"].is_string(),
        "the clinic sees when it is released: {delivered}"
    );
    assert!(
        p.stripe.objects_of("transfer").is_empty(),
        "held after delivery, within the window"
    );
    let r = move_order(&p.m.app, &p.m.clinic, &order, json!({"to": "completed"})).await;
    assert_eq!(r.status(), 200);
    let released = p.until_status(&order, "paid").await;
    p.until(|| async { p.payment(&p.m.clinic, &order).await["released_at"].is_string() })
        .await;
    let transfers = p.stripe.objects_of("transfer");
    assert_eq!(transfers.len(), 1, "one transfer");
    let t = &transfers[0];
    assert_eq!(t["amount"], 10_500 - 525);
    assert_eq!(t["transfer_group"], order.as_str());
    let charge = p.stripe.objects_of("charge")[0]["id"].clone();
    assert_eq!(t["source_transaction"], charge);
    let after = p.payment(&p.m.clinic, &order).await;
    assert_eq!(after["held_minor"], 0, "the ledger adds up: {after}");
    assert_eq!(after["transferred_minor"], 9975);
    let _ = released;
    // Every create call carried an idempotency key (but onboarding links:
    // each is fresh, lives minutes and is never stored; a second is harmless).
    for r in p.stripe.requests() {
        if r.method == "POST" && r.path != "/v1/account_links" {
            assert!(r.idempotency_key.is_some(), "{} {} without a key", r.method, r.path);
        }
    }
}

/// The events of a paid intent, delivered by hand: late, out of order, twice.
#[tokio::test]
async fn webhooks_are_verified_applied_once_and_never_move_a_payment_back() {
    let p = Paid::configured(|c| {
        c.payments.webhook_secret_previous = Some("whsec_old_secret".to_owned().into());
        c.payments.connect_webhook_secret = Some("whsec_connect_endpoint".to_owned().into());
    })
    .await;
    let order = p.awarded().await;
    p.stripe.auto_deliver(false);
    let secret = json_of(p.pay(&order, "k1").await).await["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let pi = p.intent_of(&secret);
    let processing = p.stripe.process(&pi).await.expect("processing");
    let succeeded = p.stripe.succeed(&pi).await.expect("succeeded");
    // The success first, then the late `processing`, then the success again.
    for e in succeeded.iter().chain(processing.iter()).chain(succeeded.iter()) {
        assert_eq!(p.stripe.deliver(e).await.expect("delivered"), 200);
    }
    p.until_status(&order, "paid").await;
    p.settled().await;
    let view = p.payment(&p.m.clinic, &order).await;
    assert_eq!(view["status"], "paid", "a late event does not move it back");
    let charges: Vec<&Value> = view["ledger"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter(|l| l["kind"] == "charge")
        .collect();
    assert_eq!(charges.len(), 1, "applied once: {view}");
    // Signatures: wrong secret, tampered body, old timestamp, none at all.
    let body = serde_json::to_string(&succeeded[1]).expect("json");
    let now = chrono::Utc::now().timestamp();
    let url = p.m.app.url("/api/v1/webhooks/stripe");
    let post = |sig: Option<String>, body: String| {
        let mut r =
            p.m.app
                .client
                .post(url.clone())
                .header("content-type", "application/json")
                .body(body);
        if let Some(s) = sig {
            r = r.header("stripe-signature", s);
        }
        r.send()
    };
    for (sig, b) in [
        (Some(sign(&body, "whsec_wrong", now)), body.clone()),
        (
            Some(sign(&body, WEBHOOK_SECRET, now)),
            body.replace("succeeded", "canceled"),
        ),
        (Some(sign(&body, WEBHOOK_SECRET, now - 301)), body.clone()),
        (Some("t=1,v0=abc".to_owned()), body.clone()),
        (None, body.clone()),
    ] {
        let r = post(sig, b).await.expect("sent");
        assert_eq!(r.status(), 400);
        assert_eq!(problem(r).await["code"], "webhook_signature_invalid");
    }
    // A rotation: the previous secret still verifies, and so does a header
    // with several v1 of which one matches.
    let r = post(Some(sign(&body, "whsec_old_secret", now)), body.clone())
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    // The Connect endpoint's secret, for connected accounts' events.
    let r = post(Some(sign(&body, "whsec_connect_endpoint", now)), body.clone())
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let good = dentex_stripe_standin::webhook::v1(&body, WEBHOOK_SECRET, now);
    let r = post(Some(format!("t={now},v1=00ff,v1={good}")), body.clone())
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    // Signed but about no object: taken (so Stripe does not retry it for
    // days) and ignored.
    let mut odd = succeeded[1].clone();
    odd["id"] = json!("evt_odd");
    odd["type"] = json!("dentex.unknown_kind");
    odd["data"] = json!({"object": {"object": "thing"}});
    let odd = serde_json::to_string(&odd).expect("json");
    let r = post(Some(sign(&odd, WEBHOOK_SECRET, now)), odd.clone())
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["received"], false);
    assert_eq!(p.payment(&p.m.clinic, &order).await["status"], "paid");
}

#[tokio::test]
async fn two_payments_at_once_make_one_payment_intent() {
    let p = Paid::new().await;
    let order = p.awarded().await;
    let (a, b) = tokio::join!(p.pay(&order, "race-a"), p.pay(&order, "race-b"));
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    let (a, b) = (json_of(a).await, json_of(b).await);
    assert_eq!(a["client_secret"], b["client_secret"]);
    assert_eq!(p.stripe.objects_of("payment_intent").len(), 1);
}

#[tokio::test]
async fn a_failed_payment_is_paid_again_with_a_new_attempt() {
    let p = Paid::new().await;
    let order = p.awarded().await;
    let first = json_of(p.pay(&order, "try-1").await).await["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    p.stripe.fail(&p.intent_of(&first)).await.expect("declined");
    p.until_status(&order, "failed").await;
    assert_eq!(p.order_status(&order).await, "awaiting_payment");
    // The same key is the same attempt; a new key is a new one.
    let same = json_of(p.pay(&order, "try-1").await).await;
    assert_eq!(same["client_secret"].as_str(), Some(first.as_str()));
    let second = json_of(p.pay(&order, "try-2").await).await["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_ne!(second, first);
    assert_eq!(p.stripe.objects_of("payment_intent").len(), 2);
    let old = p.stripe.object(&p.intent_of(&first)).expect("first intent");
    assert_eq!(old["status"], "canceled", "the failed attempt can no longer be paid");
    p.stripe.succeed(&p.intent_of(&second)).await.expect("succeeds");
    p.until_status(&order, "paid").await;
    p.until(|| async { p.order_status(&order).await == "in_production" })
        .await;
}

#[tokio::test]
async fn a_dispute_stops_the_release() {
    let p = Paid::new().await;
    let order = p.paid().await;
    let pi = p.stripe.objects_of("payment_intent")[0]["id"]
        .as_str()
        .expect("pi")
        .to_owned();
    p.stripe.dispute(&pi).await.expect("disputed");
    let v = p.until_status(&order, "disputed").await;
    assert_eq!(v["dispute_status"], "open");
    assert!(v["evidence_due_by"].is_string(), "both sides see the deadline: {v}");
    // Support's queue of open disputes shows it with its deadline.
    let queue = |who| call(&p.m.app, Method::GET, "/api/v1/support/disputes", who, None);
    assert_eq!(queue(&p.m.clinic).await.status(), 403);
    let list = json_of(queue(&p.m.staff).await).await;
    assert_eq!(list["items"][0]["order_id"], order.as_str(), "{list}");
    assert_eq!(list["items"][0]["evidence_due_by"], v["evidence_due_by"]);
    p.deliver(&order, true).await;
    p.settled().await;
    assert!(p.stripe.objects_of("transfer").is_empty(), "no release while disputed");
    // Won: the money is the lab's again, and goes to it.
    let dispute = p.stripe.objects_of("dispute").remove(0);
    p.stripe
        .close_dispute(dispute["id"].as_str().expect("id"), true)
        .await
        .expect("won");
    p.until(|| async { p.payment(&p.m.clinic, &order).await["released_at"].is_string() })
        .await;
    let v = p.payment(&p.m.b, &order).await;
    assert_eq!(v["status"], "paid");
    assert_eq!(v["dispute_status"], "won");
    let list = json_of(queue(&p.m.staff).await).await;
    assert_eq!(list["items"], json!([]), "no longer in the queue");
    assert_eq!(v["held_minor"], 0, "{v}");
    assert_eq!(p.stripe.objects_of("transfer").len(), 1);
}

#[tokio::test]
async fn the_money_is_released_after_the_window_without_completion() {
    let p = Paid::configured(|c| c.payments.auto_release_days = 0).await;
    let order = p.paid().await;
    p.deliver(&order, false).await;
    p.until(|| async { p.payment(&p.m.clinic, &order).await["released_at"].is_string() })
        .await;
    assert_eq!(p.stripe.objects_of("transfer").len(), 1);
    assert_eq!(p.order_status(&order).await, "delivered");
}

#[tokio::test]
async fn manual_mode_runs_without_stripe() {
    let m = Market::new().await;
    let (_, order) = m.awarded().await;
    let r = call(&m.app, Method::GET, &format!("/api/v1/orders/{order}"), &m.clinic, None).await;
    assert_eq!(json_of(r).await["status"], "in_production", "as without payments");
    let r = pay_as(&m.app, &m.clinic, &order, "k").await;
    assert_eq!(problem(r).await["code"], "payments_manual");
    let path = format!("/api/v1/support/orders/{order}/payment-status");
    let r = call(
        &m.app,
        Method::POST,
        &path,
        &m.clinic,
        Some(json!({"status": "paid", "reason": "bank transfer"})),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = call(&m.app, Method::POST, &path, &m.staff, Some(json!({"status": "paid"}))).await;
    assert_eq!(problem(r).await["errors"][0]["field"], "reason");
    let r = call(
        &m.app,
        Method::POST,
        &path,
        &m.staff,
        Some(json!({"status": "paid", "reason": "bank transfer 2026-12-03"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    assert_eq!(v["status"], "paid");
    assert_eq!(v["mode"], "manual");
    let shown = json_of(
        call(
            &m.app,
            Method::GET,
            &format!("/api/v1/orders/{order}/payment"),
            &m.clinic,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(shown["status"], "paid");
    // Webhooks are refused: no secret is configured.
    let r = m
        .app
        .client
        .post(m.app.url("/api/v1/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn the_hourly_sweep_applies_missed_events_and_reports_long_holds() {
    let p = Paid::configured(|c| {
        c.payments.hold_alert_days = 1;
        c.payments.support_email = Some("payments-desk@dentex.test".into());
    })
    .await;
    let order = p.awarded().await;
    // The success's webhook never arrives: the sweep lists Stripe's events.
    p.stripe.auto_deliver(false);
    let intent = p.started(&order).await;
    p.stripe.succeed(&intent).await.expect("succeeds");
    p.settled().await;
    assert_eq!(p.payment(&p.m.clinic, &order).await["status"], "unpaid");
    p.sweep().await;
    p.until_status(&order, "paid").await;
    p.until(|| async { p.order_status(&order).await == "in_production" })
        .await;
    // Held past `payments.hold_alert_days`: support is told, once.
    {
        use dentex_db::entities::payment::{Column, Entity};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let id = uuid::Uuid::parse_str(&order).expect("order id");
        Entity::update_many()
            .col_expr(
                Column::PaidAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::days(2)),
            )
            .filter(Column::OrderId.eq(id))
            .exec(&p.m.app.state.db)
            .await
            .expect("paid two days ago");
    }
    let to_desk = || {
        p.m.app
            .smtp
            .received()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == "payments-desk@dentex.test"))
            .collect::<Vec<_>>()
    };
    p.sweep().await;
    p.until(|| async { !to_desk().is_empty() }).await;
    p.sweep().await;
    let mails = to_desk();
    assert_eq!(mails.len(), 1, "told once");
    let subject = mails[0].header("Subject").unwrap_or_default();
    assert!(subject.contains(&order), "{subject}");
    assert!(p.stripe.objects_of("transfer").is_empty(), "still held, not released");
}
