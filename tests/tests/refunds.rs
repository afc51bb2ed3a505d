//! Support's refunds, over HTTP, on both databases, against
//! `dentex-stripe-standin` (a stand-in in this process that speaks Stripe's
//! wire format and signs its webhooks as Stripe does; it is not Stripe).
//! Before the money is released a refund is a refund; after it, the lab's
//! transfer is reversed by its share and the refund made, as one operation.

#![allow(clippy::expect_used, reason = "a test fails loudly at the first surprise")]

use dentex_tests::problem;
use dentex_tests::setup::market::move_order;
use dentex_tests::setup::payments::Paid;
use dentex_tests::setup::{call, json_of};
use reqwest::Method;
use serde_json::{Value, json};

/// Audit rows of `action` by `who` (SECURITY item 18: every support
/// action and every refusal).
async fn audited(p: &Paid, action: &str, who: &dentex_tests::Actor, order: Option<&str>) -> u64 {
    use dentex_db::entities::audit_event::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let mut q = Entity::find()
        .filter(Column::Action.eq(action))
        .filter(Column::ActorId.eq(uuid::Uuid::parse_str(&who.user_id).expect("user id")));
    if let Some(o) = order {
        q = q.filter(Column::ResourceId.eq(o));
    }
    q.count(&p.m.app.state.db).await.expect("count")
}

/// The ledger's rows of `kind` in a payment view, summed.
fn ledger_sum(view: &Value, kind: Option<&str>) -> i64 {
    view["ledger"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter(|l| kind.is_none_or(|k| l["kind"] == k))
        .map(|l| l["amount_minor"].as_i64().expect("amount"))
        .sum()
}

#[tokio::test]
async fn a_refund_in_part_before_release_and_the_rest_after_it() {
    let p = Paid::new().await;
    let order = p.paid().await;
    let staff = &p.m.staff;
    // Only support refunds; the fields at fault are named; nothing moves.
    let r = p.refund(&p.m.clinic, &order, json!({"reason": "asked"})).await;
    assert_eq!(r.status(), 403);
    assert_eq!(audited(&p, "access.refused", &p.m.clinic, None).await, 1);
    let r = p.refund(staff, &order, json!({"amount_minor": 3000})).await;
    assert_eq!(problem(r).await["errors"][0]["field"], "reason");
    let r = p
        .refund(staff, &order, json!({"amount_minor": 10_501, "reason": "too much"}))
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "amount_minor");
    let nobody = uuid::Uuid::now_v7().to_string();
    let r = p.refund(staff, &nobody, json!({"reason": "none"})).await;
    assert_eq!(r.status(), 404);
    assert!(p.stripe.objects_of("refund").is_empty(), "nothing refunded yet");

    // Before release: a refund of the charge, nothing taken from the lab.
    let r = p
        .refund(
            staff,
            &order,
            json!({"amount_minor": 3000, "reason": "one unit not needed"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let op = json_of(r).await;
    assert_eq!(op["status"], "succeeded");
    assert_eq!(op["amount_minor"], 3000);
    assert_eq!(op["reversal_minor"], 0);
    assert_eq!(op["by_support"], true);
    assert_eq!(audited(&p, "order.refund", staff, Some(&order)).await, 1);
    let refunds = p.stripe.objects_of("refund");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["amount"], 3000);
    let v = p.payment(&p.m.b, &order).await;
    assert_eq!(v["status"], "partially_refunded");
    assert_eq!(v["refunded_minor"], 3000);
    assert_eq!(v["held_minor"], 7500);
    assert!(p.stripe.objects_of("transfer").is_empty());

    // Completion releases what is left less the fee on it: 7500 − 375.
    p.deliver(&order, true).await;
    p.until(|| async { !p.stripe.objects_of("transfer").is_empty() }).await;
    let transfers = p.stripe.objects_of("transfer");
    assert_eq!(transfers[0]["amount"], 7125);
    let v = p.until_status(&order, "partially_refunded").await;
    assert_eq!(v["held_minor"], 0, "{v}");

    // After release: the lab's share reversed and the refund made, one
    // operation; the platform gives its fee back. The webhooks of it
    // (delivered twice here) record nothing a second time.
    p.stripe.auto_deliver(false);
    let r = p.refund(staff, &order, json!({"reason": "the work came back"})).await;
    assert_eq!(r.status(), 200);
    let op = json_of(r).await;
    assert_eq!(op["amount_minor"], 7500, "all that was left: {op}");
    assert_eq!(op["reversal_minor"], 7125);
    assert_eq!(op["fee_returned_minor"], 375);
    let transfer = p.stripe.objects_of("transfer").remove(0);
    assert_eq!(transfer["amount_reversed"], 7125);
    let refunded: i64 = p
        .stripe
        .objects_of("refund")
        .iter()
        .map(|r| r["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(refunded, 10_500);
    for e in p.stripe.events() {
        if e["type"] == "charge.refunded" || e["type"] == "transfer.reversed" {
            for _ in 0..2 {
                assert_eq!(p.stripe.deliver(&e).await.expect("delivered"), 200);
            }
        }
    }
    p.settled().await;
    let v = p.payment(&p.m.clinic, &order).await;
    assert_eq!(v["status"], "refunded");
    assert_eq!(v["refunded_minor"], 10_500);
    assert_eq!(v["reversed_minor"], 7125);
    assert_eq!(v["fee_minor"], 0);
    assert_eq!(v["held_minor"], 0, "the ledger sums to nothing: {v}");
    assert_eq!(ledger_sum(&v, Some("refund")), -10_500, "each refund once: {v}");
    assert_eq!(ledger_sum(&v, Some("reversal")), 7125);
    assert_eq!(v["refunds"].as_array().expect("refunds").len(), 2);
    // Nothing is left to refund.
    let r = p.refund(staff, &order, json!({"reason": "again"})).await;
    assert_eq!(problem(r).await["code"], "refund_not_possible");
}

#[tokio::test]
async fn a_partial_refund_after_release_takes_the_labs_share_back() {
    let p = Paid::new().await;
    let order = p.paid().await;
    p.deliver(&order, true).await;
    p.until(|| async { !p.stripe.objects_of("transfer").is_empty() }).await;
    assert_eq!(p.stripe.objects_of("transfer")[0]["amount"], 9975);
    // Half of 105.00: the platform keeps the fee's share of the 52.50 kept
    // (2.62), the lab the rest (49.88); it gives back 49.87, the platform 2.63.
    let r = p
        .refund(
            &p.m.staff,
            &order,
            json!({"amount_minor": 5250, "reason": "half the units"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let op = json_of(r).await;
    assert_eq!(op["reversal_minor"], 4987, "{op}");
    assert_eq!(op["fee_returned_minor"], 263);
    assert_eq!(p.stripe.objects_of("transfer")[0]["amount_reversed"], 4987);
    p.settled().await;
    let v = p.payment(&p.m.b, &order).await;
    assert_eq!(v["status"], "partially_refunded");
    assert_eq!(v["reversed_minor"], 4987);
    assert_eq!(v["fee_minor"], 262);
    assert_eq!(v["held_minor"], 0, "{v}");
    assert_eq!(ledger_sum(&v, None), 0);
    assert_eq!(ledger_sum(&v, Some("refund")), -5250);
}

#[tokio::test]
async fn a_reversal_stripe_refuses_refunds_nothing() {
    let p = Paid::new().await;
    let account = p.onboard(&p.m.b).await;
    let (_, order) = p.m.awarded().await;
    p.pay_through(&order).await;
    p.deliver(&order, true).await;
    p.until(|| async { !p.stripe.objects_of("transfer").is_empty() }).await;
    // The lab was paid out to its bank: nothing left to take back.
    p.stripe.pay_out(&account).await.expect("paid out");
    let r = p
        .refund(&p.m.staff, &order, json!({"amount_minor": 5000, "reason": "late"}))
        .await;
    assert_eq!(r.status(), 502);
    assert_eq!(problem(r).await["code"], "payment_provider_error");
    assert!(
        p.stripe.objects_of("refund").is_empty(),
        "no refund without the reversal"
    );
    let v = p.payment(&p.m.clinic, &order).await;
    assert_eq!(v["status"], "paid");
    assert_eq!(v["refunded_minor"], 0);
    assert_eq!(v["held_minor"], 0);
    assert_eq!(v["refunds"][0]["status"], "failed", "{v}");
    assert!(
        v["refunds"][0]["last_error"].is_null(),
        "Stripe's words about the lab's balance are support's, not the clinic's"
    );
    // It is over: support may ask again (once the lab has funds).
    let r = p
        .refund(&p.m.staff, &order, json!({"amount_minor": 5000, "reason": "late"}))
        .await;
    assert_eq!(r.status(), 502, "refused again, not blocked by the first");
}

#[tokio::test]
async fn a_paid_order_cancelled_before_release_is_refunded_in_full() {
    let p = Paid::new().await;
    let order = p.paid().await;
    let r = move_order(
        &p.m.app,
        &p.m.b,
        &order,
        json!({"to": "canceled", "reason": "cannot make it"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = p.until_status(&order, "refunded").await;
    assert_eq!(v["refunded_minor"], 10_500);
    assert_eq!(v["held_minor"], 0, "{v}");
    assert_eq!(v["refunds"][0]["by_support"], false);
    assert_eq!(p.stripe.objects_of("refund").len(), 1);
    p.settled().await;
    assert!(p.stripe.objects_of("transfer").is_empty(), "nothing goes to the lab");
}

#[tokio::test]
async fn a_disputed_payment_is_not_refunded_and_manual_mode_has_no_refunds() {
    let p = Paid::new().await;
    let order = p.paid().await;
    let pi = p.stripe.objects_of("payment_intent").remove(0);
    p.stripe
        .dispute(pi["id"].as_str().expect("id"))
        .await
        .expect("disputed");
    p.until_status(&order, "disputed").await;
    let r = p.refund(&p.m.staff, &order, json!({"reason": "asked"})).await;
    assert_eq!(problem(r).await["code"], "refund_not_possible");
    assert!(p.stripe.objects_of("refund").is_empty());

    let m = dentex_tests::setup::market::Market::new().await;
    let (_, order) = m.awarded().await;
    let r = call(
        &m.app,
        Method::POST,
        &format!("/api/v1/support/orders/{order}/refunds"),
        &m.staff,
        Some(json!({"reason": "asked"})),
    )
    .await;
    assert_eq!(problem(r).await["code"], "payments_manual");
}

#[tokio::test]
async fn an_order_cancelled_while_awaiting_payment_cannot_be_paid_after() {
    let p = Paid::new().await;
    let order = p.awarded().await;
    let intent = p.started(&order).await;
    let r = move_order(
        &p.m.app,
        &p.m.clinic,
        &order,
        json!({"to": "canceled", "reason": "ordered elsewhere"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    p.until(|| async { p.stripe.object(&intent).is_some_and(|pi| pi["status"] == "canceled") })
        .await;
    p.settled().await;
    assert!(p.stripe.objects_of("refund").is_empty(), "nothing was paid");
    assert_eq!(p.payment(&p.m.clinic, &order).await["status"], "failed");
    let r = p.pay(&order, "pay-2").await;
    assert_eq!(problem(r).await["code"], "payment_not_due");
    assert_eq!(p.stripe.objects_of("payment_intent").len(), 1, "no new intent");
}

#[tokio::test]
async fn a_payment_that_arrives_for_a_cancelled_order_goes_back() {
    let p = Paid::new().await;
    let order = p.awarded().await;
    let intent = p.started(&order).await;
    // The clinic's card goes through at Stripe just as the order is
    // cancelled here (the webhook not yet arrived).
    p.stripe.auto_deliver(false);
    p.stripe.succeed(&intent).await.expect("succeeds");
    let r = move_order(
        &p.m.app,
        &p.m.clinic,
        &order,
        json!({"to": "canceled", "reason": "ordered elsewhere"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    p.stripe.auto_deliver(true);
    let v = p.until_status(&order, "refunded").await;
    assert_eq!(v["refunded_minor"], 10_500);
    assert_eq!(v["held_minor"], 0, "{v}");
    assert_eq!(p.order_status(&order).await, "canceled", "it stays cancelled");
    let refunds = p.stripe.objects_of("refund");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["amount"], 10_500);
}

#[tokio::test]
async fn a_remake_keeps_the_money_held_until_it_arrives_and_its_window_passes() {
    let p = Paid::new().await;
    let order = p.paid().await;
    p.deliver(&order, false).await;
    let remake = p.m.remake(&order).await;
    // The clinic completes the first order; the remake is still to come.
    let r = move_order(&p.m.app, &p.m.clinic, &order, json!({"to": "completed"})).await;
    assert_eq!(r.status(), 200);
    p.settled().await;
    assert!(
        p.stripe.objects_of("transfer").is_empty(),
        "held while the remake is open"
    );
    // The remake arrives; within its window the money still waits.
    p.deliver(&remake, false).await;
    p.settled().await;
    assert!(
        p.stripe.objects_of("transfer").is_empty(),
        "held within the remake's window"
    );
    // Its window passes without the clinic completing it: the sweep lets it go.
    {
        use dentex_db::entities::order_transition::{Column, Entity};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        Entity::update_many()
            .col_expr(Column::At, Expr::value(chrono::Utc::now() - chrono::Duration::days(15)))
            .filter(Column::OrderId.eq(uuid::Uuid::parse_str(&remake).expect("remake id")))
            .filter(Column::ToStatus.eq("delivered"))
            .exec(&p.m.app.state.db)
            .await
            .expect("delivered 15 days ago");
    }
    p.sweep().await;
    let transfers = p.stripe.objects_of("transfer");
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["amount"], 9975);
    assert_eq!(p.payment(&p.m.clinic, &order).await["held_minor"], 0);
}
