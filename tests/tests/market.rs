//! Quotes, awards and orders over real HTTP (issue #6; SECURITY.md items 1,
//! 2, 17, 18 and 20), one rule a test: three labs quote, one revises, one
//! withdraws, the clinic accepts one; racing accepts make one order; the
//! order runs to completion and a remake is opened and completed; every
//! forbidden move and every foreign tenant is refused. The worlds the rules
//! start from are built by `dentex_tests::setup::market`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::setup::market::{
    Market, PLANTED_REF, accept, accept_v, all_404, expire_quote, make_overdue, move_order, quote, quote_body,
    quote_statuses, working_days_from_today,
};
use dentex_tests::setup::{call, json_of};
use dentex_tests::{Actor, TestApp, captured_logs, in_days, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// A lab's quote terms with every field wrong are refused field by field, and nothing is stored.
#[tokio::test]
async fn bad_quote_terms_are_refused_field_by_field_and_nothing_is_stored() {
    let m = Market::new().await;
    let (app, case) = (&m.app, &m.case);
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &m.a,
        Some(json!({
            "price": {"amount_minor": 0, "currency": "EURO"},
            "turnaround_days": 0,
            "valid_until": in_days(-1),
            "line_items": [{"item": 7, "amount_minor": 5}]
        })),
    )
    .await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "price.amount_minor",
        "price.currency",
        "turnaround_days",
        "valid_until",
        "line_items[0].item",
        "line_items",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    // Nothing was stored: the clinic sees no quote, and A may still quote.
    assert!(quote_statuses(app, &m.clinic, case).await.is_empty());
    quote(app, &m.a, case, 12_500, 5).await;
    m.app.stop().await;
}

/// Only a lab's owner or admin commits it to a quote: not the clinic, not a technician.
#[tokio::test]
async fn neither_the_clinic_nor_a_technician_may_quote() {
    let m = Market::new().await;
    let technician = m.technician().await;
    let path = format!("/api/v1/cases/{}/quotes", m.case);
    let r = call(&m.app, Method::POST, &path, &m.clinic, Some(quote_body(100, 3))).await;
    assert_eq!(r.status(), 403);
    let r = call(&m.app, Method::POST, &path, &technician, Some(quote_body(100, 3))).await;
    assert_eq!(r.status(), 403);
    m.app.stop().await;
}

/// Each named lab quotes once (B per Rx item), and the clinic is told without patient data.
#[tokio::test]
async fn each_lab_quotes_once_and_the_clinic_is_told_without_patient_data() {
    let m = Market::new().await;
    let (app, case) = (&m.app, &m.case);
    quote(app, &m.a, case, 12_500, 5).await;
    let r = m.post_quote_with_items().await;
    assert_eq!(r.status(), 201);
    quote(app, &m.c, case, 9_000, 12).await;
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &m.a,
        Some(quote_body(1, 1)),
    )
    .await;
    assert_eq!(problem(r).await["code"], "quote_exists");
    let mail = app.mail_to(&m.clinic.email, "A lab quoted").await;
    assert!(mail.text().contains(case.as_str()) && !mail.text().contains("Planted"));
    m.app.stop().await;
}

/// A revision makes a new version of the quote; a withdrawn quote can no longer be revised.
#[tokio::test]
async fn a_revision_makes_a_new_version_and_a_withdrawn_quote_stays_withdrawn() {
    let m = Market::new().await;
    let app = &m.app;
    let q = m.three_quotes().await;
    let r = call(
        app,
        Method::PUT,
        &format!("/api/v1/quotes/{}", q.qb),
        &m.b,
        Some(quote_body(10_500, 6)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    assert_eq!(v["version"], 2);
    assert_eq!(v["price"]["amount_minor"], 10_500);
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/quotes/{}/withdraw", q.qc),
        &m.c,
        None,
    )
    .await;
    assert_eq!(json_of(r).await["status"], "withdrawn");
    let r = call(
        app,
        Method::PUT,
        &format!("/api/v1/quotes/{}", q.qc),
        &m.c,
        Some(quote_body(8_000, 12)),
    )
    .await;
    assert_eq!(problem(r).await["code"], "quote_not_active");
    m.app.stop().await;
}

/// The clinic sees every quote side by side with every version kept; each lab sees only its own.
#[tokio::test]
async fn the_clinic_sees_all_quotes_with_every_version_and_a_lab_only_its_own() {
    let m = Market::new().await;
    let (app, case) = (&m.app, &m.case);
    let q = m.quotes_revised().await;
    let list = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &m.clinic.token)
            .await,
    )
    .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let b_view = items.iter().find(|v| v["id"] == q.qb.as_str()).unwrap();
    assert_eq!(b_view["versions"].as_array().unwrap().len(), 2);
    assert_eq!(b_view["versions"][0]["price"]["amount_minor"], 11_000);
    assert_eq!(b_view["versions"][0]["line_items"][1]["notes"], "three units");
    assert_eq!(b_view["lab"]["verified"], true);
    assert_eq!(b_view["delivery_date"], working_days_from_today(6));
    let mine = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &m.a.token)
            .await,
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], q.qa.as_str());
    m.app.stop().await;
}

/// The lab directory shows each lab's typical turnaround from its standing quotes only.
#[tokio::test]
async fn the_lab_directory_shows_typical_turnaround_from_standing_quotes() {
    let m = Market::new().await;
    let outsider = m.outsider().await;
    m.quotes_revised().await;
    let labs = json_of(m.app.get_authed("/api/v1/labs", &m.clinic.token).await).await;
    let turnaround = |lab: &Actor| {
        labs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == lab.org_id.as_str())
            .unwrap()["typical_turnaround_days"]
            .clone()
    };
    assert_eq!(turnaround(&m.a), 5);
    assert_eq!(turnaround(&m.b), 6);
    assert_eq!(turnaround(&m.c), Value::Null, "withdrawn quotes do not count");
    assert_eq!(turnaround(&outsider), Value::Null);
    m.app.stop().await;
}

/// An expired or a withdrawn quote cannot be accepted.
#[tokio::test]
async fn an_expired_or_withdrawn_quote_cannot_be_accepted() {
    let m = Market::new().await;
    let q = m.quotes_revised().await;
    expire_quote(&m.app, &q.qa).await;
    let r = accept(&m.app, &m.clinic, &q.qa, "k-expired").await;
    assert_eq!(problem(r).await["code"], "quote_expired");
    let r = accept(&m.app, &m.clinic, &q.qc, "k-withdrawn").await;
    assert_eq!(problem(r).await["code"], "quote_not_active");
    m.app.stop().await;
}

/// An accept needs an idempotency key and the version read, and only the clinic may send it.
#[tokio::test]
async fn an_accept_needs_a_key_and_a_version_and_comes_from_the_clinic() {
    let m = Market::new().await;
    let app = &m.app;
    let q = m.quotes_revised().await;
    let accept_path = format!("/api/v1/quotes/{}/accept", q.qb);
    let r = call(app, Method::POST, &accept_path, &m.clinic, Some(json!({"version": 2}))).await;
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "idempotency_key_required");
    // Without a body, the clinic is told what to send.
    let r = app
        .client
        .post(app.url(&accept_path))
        .bearer_auth(&m.clinic.token)
        .header("idempotency-key", "k-no-body")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    assert_eq!(p["errors"][0]["field"], "version");
    assert!(
        p["errors"][0]["message"].as_str().unwrap().contains("\"version\": 2"),
        "{p}"
    );
    // A lab does not accept.
    let r = app
        .client
        .post(app.url(&accept_path))
        .bearer_auth(&m.b.token)
        .header("idempotency-key", "k-lab")
        .json(&json!({"version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    m.app.stop().await;
}

/// An accept of a version the lab has revised since is refused and changes nothing.
#[tokio::test]
async fn accepting_a_version_revised_since_is_refused_and_changes_nothing() {
    let m = Market::new().await;
    let q = m.quotes_revised().await;
    let r = accept(&m.app, &m.clinic, &q.qb, "stale-b").await;
    assert_eq!(problem(r).await["code"], "quote_revised");
    // Nothing changed: the key is free again and the case still open.
    let r = accept_v(&m.app, &m.clinic, &q.qb, 2, "stale-b").await;
    assert_eq!(r.status(), 201);
    m.app.stop().await;
}

/// Accepting makes an order of the quote as it reads; a retry with the key replays it.
#[tokio::test]
async fn an_accept_makes_the_order_as_the_quote_reads_and_a_retry_replays_it() {
    let m = Market::new().await;
    let q = m.quotes_revised().await;
    let r = accept_v(&m.app, &m.clinic, &q.qb, 2, "accept-b-1").await;
    assert_eq!(r.status(), 201);
    let order = json_of(r).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "in_production");
    assert_eq!(order["quote_version"], 2);
    assert_eq!(order["price"]["amount_minor"], 10_500);
    assert_eq!(order["due_date"], working_days_from_today(6));
    assert_eq!(order["overdue"], false);
    let r = accept_v(&m.app, &m.clinic, &q.qb, 2, "accept-b-1").await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(r).await["id"], order_id.as_str());
    // The key is spent: on another quote it is refused.
    let r = accept(&m.app, &m.clinic, &q.qa, "accept-b-1").await;
    assert_eq!(problem(r).await["code"], "idempotency_key_reused");
    m.app.stop().await;
}

/// At the award the other quotes are declined and their labs lose the case at once.
#[tokio::test]
async fn a_declined_lab_loses_the_case_at_the_award() {
    let m = Market::new().await;
    let (app, case) = (&m.app, &m.case);
    let (q, _order) = m.awarded().await;
    let r = accept(app, &m.clinic, &q.qa, "accept-a").await;
    assert_eq!(problem(r).await["code"], "case_not_open");
    let status_of = quote_statuses(app, &m.clinic, case).await;
    assert_eq!(status_of[&q.qa], "declined");
    assert_eq!(status_of[&q.qb], "accepted");
    assert_eq!(status_of[&q.qc], "withdrawn");
    for loser in [&m.a, &m.c] {
        for path in [
            format!("/api/v1/cases/{case}"),
            format!("/api/v1/cases/{case}/files"),
            format!("/api/v1/cases/{case}/quotes"),
        ] {
            let r = app.get_authed(&path, &loser.token).await;
            assert_eq!(r.status(), 404, "{path} for {}", loser.email);
        }
    }
    let mail = app.mail_to(&m.a.email, "Another lab was chosen").await;
    assert!(mail.text().contains(case.as_str()) && !mail.text().contains("Planted"));
    m.app.stop().await;
}

/// The winning lab is told, now reads the patient reference, and the awarded case can no longer be cancelled.
#[tokio::test]
async fn the_winner_is_told_and_reads_the_patient_reference_of_a_case_no_longer_cancellable() {
    let m = Market::new().await;
    let (app, case) = (&m.app, &m.case);
    let (_q, order_id) = m.awarded().await;
    let mail = app.mail_to(&m.b.email, "Your quote was accepted").await;
    assert!(mail.text().contains(&order_id));
    let seen = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &m.b.token).await).await;
    assert_eq!(seen["status"], "awarded");
    assert_eq!(seen["patient_ref"], PLANTED_REF);
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/cancel"),
        &m.clinic,
        Some(json!({"reason": "changed my mind"})),
    )
    .await;
    assert_eq!(r.status(), 409);
    m.app.stop().await;
}

/// Foreign tenants, declined labs and staff get 404 on every market route of an awarded case.
#[tokio::test]
async fn foreign_tenants_declined_labs_and_staff_get_404_on_every_market_route() {
    let m = Market::new().await;
    let (other_clinic, outsider) = (m.other_clinic().await, m.outsider().await);
    let (q, order_id) = m.awarded().await;
    for who in [&other_clinic, &outsider, &m.a, &m.staff] {
        all_404(&m.app, who, &m.case, &q.qb, &order_id).await;
    }
    m.app.stop().await;
}

/// The order's moves follow the state machine, and each side may only make its own.
#[tokio::test]
async fn the_orders_moves_follow_the_state_machine_and_each_side_makes_only_its_own() {
    let m = Market::new().await;
    let (app, clinic, b) = (&m.app, &m.clinic, &m.b);
    let technician = m.technician().await;
    let (_q, order_id) = m.awarded().await;
    // The refusal rule: a move this side never makes is 403 and says who
    // makes it; a move of this side that the state does not allow now is
    // 409 and lists what is possible.
    let r = move_order(app, clinic, &order_id, json!({"to": "shipped"})).await;
    assert_eq!(r.status(), 403);
    let p = problem(r).await;
    assert_eq!(p["code"], "forbidden");
    assert!(p["detail"].as_str().unwrap().contains("the lab does"), "{p}");
    let r = move_order(app, clinic, &order_id, json!({"to": "completed"})).await;
    assert_eq!(r.status(), 409);
    let p = problem(r).await;
    assert_eq!(p["code"], "transition_not_allowed");
    assert_eq!(p["errors"][0]["message"], "canceled");
    let r = move_order(app, b, &order_id, json!({"to": "shipped"})).await;
    assert_eq!(r.status(), 422);
    let r = move_order(
        app,
        &technician,
        &order_id,
        json!({"to": "canceled", "reason": "cannot make it"}),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = move_order(
        app,
        &technician,
        &order_id,
        json!({"to": "shipped", "carrier": "DHL", "tracking_number": "JD0146000033"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    assert_eq!(v["status"], "shipped");
    assert_eq!(v["tracking_number"], "JD0146000033");
    let mail = app.mail_to(&clinic.email, "is now shipped").await;
    assert!(mail.text().contains(&order_id) && !mail.text().contains("Planted"));
    let r = move_order(app, b, &order_id, json!({"to": "delivered"})).await;
    assert_eq!(r.status(), 403);
    let r = move_order(app, clinic, &order_id, json!({"to": "canceled", "reason": "late"})).await;
    assert_eq!(problem(r).await["code"], "transition_not_allowed");
    let r = move_order(app, clinic, &order_id, json!({"to": "delivered"})).await;
    assert_eq!(r.status(), 200);
    let r = move_order(app, clinic, &order_id, json!({"to": "completed"})).await;
    assert_eq!(r.status(), 200);
    let r = move_order(app, clinic, &order_id, json!({"to": "in_production"})).await;
    assert_eq!(problem(r).await["code"], "forbidden");
    let r = move_order(app, clinic, &order_id, json!({"to": "canceled", "reason": "late"})).await;
    let p = problem(r).await;
    assert_eq!(p["code"], "transition_not_allowed");
    assert!(p["detail"].as_str().unwrap().contains("nothing"), "{p}");
    let r = move_order(app, clinic, &order_id, json!({"to": "lost"})).await;
    assert_eq!(problem(r).await["errors"][0]["field"], "to");
    let v = json_of(app.get_authed(&format!("/api/v1/orders/{order_id}"), &b.token).await).await;
    let moves: Vec<(Value, Value, Value)> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].clone(), t["to"].clone(), t["side"].clone()))
        .collect();
    assert_eq!(
        moves,
        vec![
            (Value::Null, json!("in_production"), json!("clinic")),
            (json!("in_production"), json!("shipped"), json!("lab")),
            (json!("shipped"), json!("delivered"), json!("clinic")),
            (json!("delivered"), json!("completed"), json!("clinic")),
        ]
    );
    assert_eq!(v["transitions"][1]["by"], technician.user_id.as_str());
    m.app.stop().await;
}

/// A remake is the clinic's to ask for, needs a structured reason, and is linked to its order.
#[tokio::test]
async fn a_remake_is_the_clinics_call_needs_a_reason_and_is_linked_to_its_order() {
    let m = Market::new().await;
    let (app, clinic, b) = (&m.app, &m.clinic, &m.b);
    let (_q, order_id) = m.awarded().await;
    m.complete(b, &order_id).await;
    let remakes = format!("/api/v1/orders/{order_id}/remakes");
    let r = call(
        app,
        Method::POST,
        &remakes,
        b,
        Some(json!({"reason": "fit", "cost_bearer": "lab"})),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = call(
        app,
        Method::POST,
        &remakes,
        clinic,
        Some(json!({"reason": "wobbly", "cost_bearer": "lab"})),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = call(
        app,
        Method::POST,
        &remakes,
        clinic,
        Some(
            json!({"reason": "fit", "cost_bearer": "lab", "notes": "margin open at 11 mesial", "due_date": in_days(9)}),
        ),
    )
    .await;
    assert_eq!(r.status(), 201);
    let remake = json_of(r).await;
    let remake_id = remake["id"].as_str().unwrap().to_owned();
    assert_eq!(remake["remake_of"], order_id.as_str());
    assert_eq!(remake["remake_reason"], "fit");
    assert_eq!(remake["cost_bearer"], "lab");
    assert_eq!(remake["price"]["amount_minor"], 0);
    assert_eq!(remake["due_date"], in_days(9));
    assert_eq!(remake["status"], "in_production");
    app.mail_to(&b.email, "Remake requested").await;
    let v = json_of(
        app.get_authed(&format!("/api/v1/orders/{order_id}"), &clinic.token)
            .await,
    )
    .await;
    assert_eq!(v["remakes"], json!([remake_id]));
    m.app.stop().await;
}

/// An order past its due date is flagged overdue in the lists until it is delivered.
#[tokio::test]
async fn an_order_past_its_due_date_is_overdue_until_delivered() {
    let m = Market::new().await;
    let (app, b) = (&m.app, &m.b);
    let (_q, order_id) = m.awarded().await;
    m.complete(b, &order_id).await;
    let remake_id = m.remake(&order_id).await;
    make_overdue(app, &remake_id).await;
    let open = json_of(app.get_authed("/api/v1/orders?status=in_production", &b.token).await).await;
    assert_eq!(open["items"][0]["id"], remake_id.as_str());
    assert_eq!(open["items"][0]["overdue"], true);
    for (who, body) in [
        (
            b,
            json!({"to": "shipped", "carrier": "UPS", "tracking_number": "1Z999"}),
        ),
        (&m.clinic, json!({"to": "delivered"})),
        (&m.clinic, json!({"to": "completed"})),
    ] {
        let r = move_order(app, who, &remake_id, body).await;
        assert_eq!(r.status(), 200);
    }
    // Delivered late is no longer overdue: nothing is left to wait for.
    let lab_list = json_of(app.get_authed("/api/v1/orders?status=completed", &b.token).await).await;
    let items = lab_list["items"].as_array().unwrap();
    assert!(items.iter().any(|o| o["id"] == remake_id.as_str()), "{lab_list}");
    assert!(items.iter().all(|o| o["overdue"] == false));
    m.app.stop().await;
}

/// Both sides list their orders newest first, paged and filtered by status; others list none.
#[tokio::test]
async fn order_lists_page_newest_first_for_both_sides_and_others_see_none() {
    let m = Market::new().await;
    let (app, clinic, b) = (&m.app, &m.clinic, &m.b);
    let other_clinic = m.other_clinic().await;
    let (_q, order_id) = m.awarded().await;
    m.complete(b, &order_id).await;
    let remake_id = m.remake(&order_id).await;
    m.complete(b, &remake_id).await;
    let page = json_of(app.get_authed("/api/v1/orders?limit=1", &clinic.token).await).await;
    assert_eq!(page["items"][0]["id"], remake_id.as_str());
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let page = json_of(
        app.get_authed(&format!("/api/v1/orders?limit=1&cursor={next}"), &clinic.token)
            .await,
    )
    .await;
    assert_eq!(page["items"][0]["id"], order_id.as_str());
    assert!(page["next_cursor"].is_null());
    let lab_list = json_of(app.get_authed("/api/v1/orders?status=completed", &b.token).await).await;
    assert_eq!(lab_list["items"].as_array().unwrap().len(), 2);
    // An unknown filter value is 422 naming it (docs/errors.md).
    let r = app.get_authed("/api/v1/orders?status=lost", &b.token).await;
    assert_eq!(r.status(), 422);
    for who in [&m.a, &other_clinic] {
        let l = json_of(app.get_authed("/api/v1/orders", &who.token).await).await;
        assert!(l["items"].as_array().unwrap().is_empty());
    }
    m.app.stop().await;
}

/// The award, every move and the refusals of those who see the case are audited in the clinic's chain, without patient data.
#[tokio::test]
async fn the_award_every_move_and_every_refusal_are_audited_without_patient_data() {
    let m = Market::new().await;
    let (app, clinic, b) = (&m.app, &m.clinic, &m.b);
    let technician = m.technician().await;
    // The story, with a refusal of each kind on the way.
    let quotes_path = format!("/api/v1/cases/{}/quotes", m.case);
    call(app, Method::POST, &quotes_path, &technician, Some(quote_body(100, 3))).await;
    let (q, order_id) = m.awarded().await;
    app.client
        .post(app.url(&format!("/api/v1/quotes/{}/accept", q.qb)))
        .bearer_auth(&b.token)
        .header("idempotency-key", "k-lab")
        .json(&json!({"version": 2}))
        .send()
        .await
        .unwrap();
    m.complete(&technician, &order_id).await;
    let remakes = format!("/api/v1/orders/{order_id}/remakes");
    call(
        app,
        Method::POST,
        &remakes,
        b,
        Some(json!({"reason": "fit", "cost_bearer": "lab"})),
    )
    .await;
    let remake_id = m.remake(&order_id).await;
    m.complete(b, &remake_id).await;

    let rows = app
        .state
        .audit
        .list_for_org(Some(dentex_domain::OrgId(clinic.org_id.parse().unwrap())), 2000)
        .await
        .unwrap();
    for action in [
        "quote.create",
        "quote.revise",
        "quote.withdraw",
        "quote.accept",
        "order.transition",
        "order.remake",
    ] {
        assert!(rows.iter().any(|r| r.action == action), "no {action} row");
    }
    // Refusals of those who can see the case are in the clinic's trail too.
    for (why, who) in [("quote.create", &technician), ("quote.accept", b), ("order.remake", b)] {
        assert!(
            rows.iter().any(|r| r.action == "access.refused"
                && r.outcome == "denied"
                && r.actor_id.map(|a| a.to_string()) == Some(who.user_id.clone())
                && r.reason.as_deref().is_some_and(|s| s.ends_with(why))),
            "no audited refusal of {why}"
        );
    }
    assert!(rows.iter().all(|r| !format!("{r:?}").contains("Planted")));
    assert!(!captured_logs().contains("Planted"), "patient data in the logs");
    m.app.stop().await;
}

#[tokio::test]
async fn racing_accepts_and_withdrawals_make_exactly_one_order() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let mut labs = Vec::new();
    for i in 0..20 {
        labs.push(
            app.verified_org(&staff, &format!("lab{i}@lab.test"), "dental_lab", &[])
                .await,
        );
    }
    let named: Vec<&Actor> = labs.iter().collect();
    let case = app.submitted_case(&clinic, "race-1", &named).await;
    let mut quotes = Vec::new();
    for (i, lab) in labs.iter().enumerate() {
        quotes.push(quote(&app, lab, &case, 10_000 + i as i64, 5).await);
    }

    // Twenty accepts of twenty different quotes at once: one order.
    let tries = quotes
        .iter()
        .enumerate()
        .map(|(i, q)| accept(&app, &clinic, q, format!("race-{i}")));
    let answers = futures_util::future::join_all(tries).await;
    let mut won = Vec::new();
    for r in answers {
        match r.status().as_u16() {
            201 => won.push(json_of(r).await),
            409 => assert_eq!(problem(r).await["code"], "case_not_open"),
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let list = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &clinic.token)
            .await,
    )
    .await;
    let statuses: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "accepted").count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == "declined").count(), 19);
    let orders = json_of(app.get_authed("/api/v1/orders", &clinic.token).await).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1);

    // The same key twice at once: still one order, and both answers agree.
    let case2 = app.submitted_case(&clinic, "race-2", &[&labs[0], &labs[1]]).await;
    let q0 = quote(&app, &labs[0], &case2, 5_000, 3).await;
    let q1 = quote(&app, &labs[1], &case2, 6_000, 3).await;
    let (r1, r2) = tokio::join!(
        accept(&app, &clinic, &q0, "same-key"),
        accept(&app, &clinic, &q0, "same-key")
    );
    let mut ids = Vec::new();
    for r in [r1, r2] {
        match r.status().as_u16() {
            201 => ids.push(json_of(r).await["id"].as_str().unwrap().to_owned()),
            409 => assert_eq!(problem(r).await["code"], "idempotency_in_progress"),
            s => panic!("unexpected {s}"),
        }
    }
    assert!(!ids.is_empty());
    ids.dedup();
    assert_eq!(ids.len(), 1, "two orders for one key");
    let r = accept(&app, &clinic, &q1, "other-key").await;
    assert_eq!(problem(r).await["code"], "case_not_open");

    // An accept racing the lab's withdrawal: exactly one of them happens.
    for round in 0..3 {
        let case3 = app
            .submitted_case(&clinic, &format!("race-3-{round}"), &[&labs[2], &labs[3]])
            .await;
        let q2 = quote(&app, &labs[2], &case3, 7_000, 3).await;
        let q3 = quote(&app, &labs[3], &case3, 7_500, 3).await;
        let withdraw_path = format!("/api/v1/quotes/{q2}/withdraw");
        let (acc, wd) = tokio::join!(
            accept(&app, &clinic, &q2, format!("wd-{round}")),
            call(&app, Method::POST, &withdraw_path, &labs[2], None)
        );
        let (acc, wd) = (acc.status().as_u16(), wd.status().as_u16());
        let case_now = json_of(app.get_authed(&format!("/api/v1/cases/{case3}"), &clinic.token).await).await;
        match (acc, wd) {
            (201, 409) => assert_eq!(case_now["status"], "awarded"),
            (409, 200) => {
                // The accept lost and left nothing behind: the case is
                // still open and the other quote can be accepted.
                assert_eq!(case_now["status"], "submitted");
                let r = accept(&app, &clinic, &q3, format!("wd-next-{round}")).await;
                assert_eq!(r.status(), 201);
            }
            other => panic!("accept and withdraw both or neither happened: {other:?}"),
        }
    }
    let all = json_of(app.get_authed("/api/v1/orders?limit=200", &clinic.token).await).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5, "one order per case");
    app.stop().await;
}

#[tokio::test]
async fn cancelling_undoes_what_it_should_and_tells_who_it_should() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let a = app
        .verified_org(&staff, "a@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let c = app
        .verified_org(&staff, "c@lab.test", "dental_lab", &["crown", "bridge"])
        .await;

    // The lab cancels the award's order: the case is open to quotes again,
    // the lab loses the patient reference, and another quote can win.
    let case = app.submitted_case(&clinic, PLANTED_REF, &[&a, &c]).await;
    let qa = quote(&app, &a, &case, 9_000, 4).await;
    let qc = quote(&app, &c, &case, 9_500, 4).await;
    let r = accept(&app, &clinic, &qa, "first").await;
    let order = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = move_order(&app, &a, &order, json!({"to": "canceled", "reason": "mill is down"})).await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    assert_eq!(v["canceled_by"], "lab");
    assert_eq!(v["cancel_reason"], "mill is down");
    app.mail_to(&clinic.email, "is now canceled").await;
    let seen = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &clinic.token).await).await;
    assert_eq!(seen["status"], "submitted");
    let seen = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &a.token).await).await;
    assert!(seen["patient_ref"].is_null(), "{seen}");
    // The lab's quote ended with its order; the declined one stands again
    // and its lab is told, so the clinic can take it at once.
    let mail = app.mail_to(&c.email, "open again").await;
    assert!(mail.text().contains(&case) && !mail.text().contains("Planted"));
    let status_of = quote_statuses(&app, &clinic, &case).await;
    assert_eq!(status_of[&qa], "canceled");
    assert_eq!(status_of[&qc], "active");
    let r = accept(&app, &clinic, &qc, "second").await;
    assert_eq!(r.status(), 201);
    let r = app.get_authed(&format!("/api/v1/cases/{case}"), &a.token).await;
    assert_eq!(r.status(), 404);

    // A case open to all: the lab that quoted on it is told of the
    // cancellation, and its quote ends.
    let open = app.submitted_case(&clinic, "open-1", &[]).await;
    let qo = quote(&app, &a, &open, 8_000, 4).await;
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{open}/cancel"),
        &clinic,
        Some(json!({"reason": "patient moved away"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let mail = app.mail_to(&a.email, "was cancelled").await;
    assert!(mail.text().contains(&open) && !mail.text().contains("moved"));
    let r = accept(&app, &clinic, &qo, "too-late").await;
    assert_eq!(problem(r).await["code"], "case_not_open");
    app.stop().await;
}

#[tokio::test]
async fn a_person_in_two_labs_quotes_for_each_and_manages_both_quotes() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let a = app
        .verified_org(&staff, "a@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let c = app
        .verified_org(&staff, "c@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    // C's owner becomes an admin of lab A too.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/organizations/{}/invitations", a.org_id),
        &a,
        Some(json!({"email": c.email, "role": "admin"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let token = dentex_tests::token_in(&app.mail_to(&c.email, "You are invited").await);
    let r = app
        .post_json("/api/v1/invitations/accept", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 200);
    let both = app.sign_in(&c.email, &c.password).await;

    let case = app.submitted_case(&clinic, "two-labs", &[&a, &c]).await;
    let mut ids = Vec::new();
    for lab in [&a.org_id, &c.org_id] {
        let mut body = quote_body(10_000, 5);
        body["organization"] = json!(lab);
        let r = call(
            &app,
            Method::POST,
            &format!("/api/v1/cases/{case}/quotes"),
            &both,
            Some(body),
        )
        .await;
        assert_eq!(r.status(), 201, "quote for {lab}");
        let v = json_of(r).await;
        assert_eq!(v["lab"]["id"], lab.as_str());
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    // Both quotes are theirs to see, revise and withdraw, whichever lab the
    // case would otherwise be seen through.
    let list = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &both.token)
            .await,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    for id in &ids {
        let r = call(
            &app,
            Method::PUT,
            &format!("/api/v1/quotes/{id}"),
            &both,
            Some(quote_body(9_000, 5)),
        )
        .await;
        assert_eq!(r.status(), 200, "revise {id}");
    }
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/quotes/{}/withdraw", ids[0]),
        &both,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    // A lab they are not in stays out of reach.
    let other = app
        .verified_org(&staff, "other@lab.test", "dental_lab", &["crown"])
        .await;
    let mut body = quote_body(10_000, 5);
    body["organization"] = json!(other.org_id);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &both,
        Some(body),
    )
    .await;
    assert_eq!(problem(r).await["errors"][0]["field"], "organization");
    app.stop().await;
}
