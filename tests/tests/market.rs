//! Quotes, awards and orders over real HTTP (issue #6; SECURITY.md items 1,
//! 2, 17, 18 and 20): three labs quote, one revises, one withdraws, the
//! clinic accepts one; racing accepts make one order; the order runs to
//! completion and a remake is opened and completed; every forbidden move and
//! every foreign tenant is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, captured_logs, in_days, problem};
use reqwest::Method;
use serde_json::{Value, json};

const PLANTED_REF: &str = "Planted Patientname 1975";

async fn call(app: &TestApp, method: Method, path: &str, who: &Actor, body: Option<Value>) -> reqwest::Response {
    app.send(method, path, Some(&who.token), body.as_ref()).await
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

fn quote_body(amount: i64, days: i32) -> Value {
    json!({
        "price": {"amount_minor": amount, "currency": "EUR"},
        "turnaround_days": days,
        "valid_until": in_days(10),
        "notes": "Zirconia from our own mill"
    })
}

async fn quote(app: &TestApp, lab: &Actor, case: &str, amount: i64, days: i32) -> String {
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        lab,
        Some(quote_body(amount, days)),
    )
    .await;
    assert_eq!(r.status(), 201, "quote by {}", lab.email);
    json_of(r).await["id"].as_str().unwrap().to_owned()
}

/// Accepts version 1 of a quote (what the clinic saw of a quote never revised).
async fn accept(app: &TestApp, clinic: &Actor, quote: &str, key: impl Into<String>) -> reqwest::Response {
    accept_v(app, clinic, quote, 1, key).await
}

async fn accept_v(
    app: &TestApp,
    clinic: &Actor,
    quote: &str,
    version: i32,
    key: impl Into<String>,
) -> reqwest::Response {
    let key: String = key.into();
    app.client
        .post(app.url(&format!("/api/v1/quotes/{quote}/accept")))
        .bearer_auth(&clinic.token)
        .header("idempotency-key", key)
        .json(&json!({"version": version}))
        .send()
        .await
        .unwrap()
}

async fn move_order(app: &TestApp, who: &Actor, order: &str, body: Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        &format!("/api/v1/orders/{order}/transitions"),
        who,
        Some(body),
    )
    .await
}

/// Each quote's status on a case, as the clinic sees them, by quote id.
async fn quote_statuses(app: &TestApp, clinic: &Actor, case: &str) -> std::collections::HashMap<String, String> {
    let list = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &clinic.token)
            .await,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["id"].as_str().unwrap().to_owned(),
                q["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `working_days` after today, skipping weekends (as the server counts).
fn working_days_from_today(days: u32) -> String {
    use chrono::Datelike;
    let mut d = chrono::Utc::now().date_naive();
    let mut left = days;
    while left > 0 {
        d = d.succ_opt().unwrap();
        if !matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) {
            left -= 1;
        }
    }
    d.format("%Y-%m-%d").to_string()
}

fn market_routes(case: &str, quote: &str, order: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/api/v1/cases/{case}/quotes"), None),
        (
            Method::POST,
            format!("/api/v1/cases/{case}/quotes"),
            Some(quote_body(100, 3)),
        ),
        (Method::PUT, format!("/api/v1/quotes/{quote}"), Some(quote_body(100, 3))),
        (Method::POST, format!("/api/v1/quotes/{quote}/withdraw"), None),
        (
            Method::POST,
            format!("/api/v1/quotes/{quote}/accept"),
            Some(json!({"version": 1})),
        ),
        (Method::GET, format!("/api/v1/orders/{order}"), None),
        (
            Method::POST,
            format!("/api/v1/orders/{order}/transitions"),
            Some(json!({"to": "cancelled", "reason": "x"})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{order}/remakes"),
            Some(json!({"reason": "fit", "cost_bearer": "lab"})),
        ),
    ]
}

async fn all_404(app: &TestApp, who: &Actor, case: &str, quote: &str, order: &str) {
    for (m, path, body) in market_routes(case, quote, order) {
        let mut rb = app.client.request(m.clone(), app.url(&path)).bearer_auth(&who.token);
        if path.ends_with("/accept") {
            rb = rb.header("idempotency-key", uuid::Uuid::new_v4().to_string());
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 404, "{m} {path} as {}", who.email);
        assert_eq!(problem(r).await["code"], "not_found");
    }
    let list = json_of(app.get_authed("/api/v1/orders", &who.token).await).await;
    assert!(
        list["items"].as_array().unwrap().iter().all(|o| o["id"] != order),
        "{} lists the order",
        who.email
    );
}

#[tokio::test]
async fn three_labs_quote_the_clinic_picks_and_the_order_runs_to_a_completed_remake() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let other_clinic = app.verified_org(&staff, "other@clinic.test", "clinic", &[]).await;
    let a = app
        .verified_org(&staff, "a@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let b = app
        .verified_org(&staff, "b@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let c = app
        .verified_org(&staff, "c@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let outsider = app
        .verified_org(&staff, "outsider@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let technician = app.invite_and_join(&b, "tech@b-lab.test", "member").await;
    let case = app.submitted_case(&clinic, PLANTED_REF, &[&a, &b, &c]).await;

    // Bad terms are refused field by field; nothing is stored.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &a,
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
    // The clinic does not quote; a technician does not commit the lab.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &clinic,
        Some(quote_body(100, 3)),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &technician,
        Some(quote_body(100, 3)),
    )
    .await;
    assert_eq!(r.status(), 403);

    // Three quotes, one with line items per Rx item.
    let qa = quote(&app, &a, &case, 12_500, 5).await;
    let mut with_items = quote_body(11_000, 8);
    with_items["line_items"] = json!([
        {"item": 0, "amount_minor": 4_000},
        {"item": 1, "amount_minor": 7_000, "notes": "three units"}
    ]);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &b,
        Some(with_items),
    )
    .await;
    assert_eq!(r.status(), 201);
    let qb = json_of(r).await["id"].as_str().unwrap().to_owned();
    let qc = quote(&app, &c, &case, 9_000, 12).await;
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &a,
        Some(quote_body(1, 1)),
    )
    .await;
    assert_eq!(problem(r).await["code"], "quote_exists");
    let mail = app.mail_to(&clinic.email, "A lab quoted").await;
    assert!(mail.text().contains(&case) && !mail.text().contains("Planted"));

    // B revises; C withdraws and can no longer revise.
    let r = call(
        &app,
        Method::PUT,
        &format!("/api/v1/quotes/{qb}"),
        &b,
        Some(quote_body(10_500, 6)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    assert_eq!(v["version"], 2);
    assert_eq!(v["price"]["amount_minor"], 10_500);
    let r = call(&app, Method::POST, &format!("/api/v1/quotes/{qc}/withdraw"), &c, None).await;
    assert_eq!(json_of(r).await["status"], "withdrawn");
    let r = call(
        &app,
        Method::PUT,
        &format!("/api/v1/quotes/{qc}"),
        &c,
        Some(quote_body(8_000, 12)),
    )
    .await;
    assert_eq!(problem(r).await["code"], "quote_not_active");

    // Side by side for the clinic, every version kept; each lab sees its own.
    let list = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &clinic.token)
            .await,
    )
    .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let b_view = items.iter().find(|q| q["id"] == qb.as_str()).unwrap();
    assert_eq!(b_view["versions"].as_array().unwrap().len(), 2);
    assert_eq!(b_view["versions"][0]["price"]["amount_minor"], 11_000);
    assert_eq!(b_view["versions"][0]["line_items"][1]["notes"], "three units");
    assert_eq!(b_view["lab"]["verified"], true);
    assert_eq!(b_view["delivery_date"], working_days_from_today(6));
    // The lab directory shows each lab's typical turnaround from its quotes.
    let labs = json_of(app.get_authed("/api/v1/labs", &clinic.token).await).await;
    let turnaround = |lab: &Actor| {
        labs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == lab.org_id.as_str())
            .unwrap()["typical_turnaround_days"]
            .clone()
    };
    assert_eq!(turnaround(&a), 5);
    assert_eq!(turnaround(&b), 6);
    assert_eq!(turnaround(&c), Value::Null, "withdrawn quotes do not count");
    assert_eq!(turnaround(&outsider), Value::Null);
    let mine = json_of(app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &a.token).await).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], qa.as_str());

    // An expired quote cannot be accepted.
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        dentex_db::entities::quote::Entity::update_many()
            .col_expr(dentex_db::entities::quote::Column::ValidUntil, Expr::value(yesterday))
            .filter(dentex_db::entities::quote::Column::Id.eq(uuid::Uuid::parse_str(&qa).unwrap()))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let r = accept(&app, &clinic, &qa, "k-expired").await;
    assert_eq!(problem(r).await["code"], "quote_expired");
    // Withdrawn: not acceptable either. No key: refused before anything.
    let r = accept(&app, &clinic, &qc, "k-withdrawn").await;
    assert_eq!(problem(r).await["code"], "quote_not_active");
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/quotes/{qb}/accept"),
        &clinic,
        Some(json!({"version": 2})),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "idempotency_key_required");
    // Without a body, the clinic is told what to send.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/quotes/{qb}/accept")))
        .bearer_auth(&clinic.token)
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
        .post(app.url(&format!("/api/v1/quotes/{qb}/accept")))
        .bearer_auth(&b.token)
        .header("idempotency-key", "k-lab")
        .json(&json!({"version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The clinic read version 1 of B's quote; B revised since: refused, and
    // nothing changed (the key is free again, the case still open).
    let r = accept(&app, &clinic, &qb, "stale-b").await;
    assert_eq!(problem(r).await["code"], "quote_revised");

    // The clinic accepts B's quote as it now reads; the retry gets the same order.
    let r = accept_v(&app, &clinic, &qb, 2, "accept-b-1").await;
    assert_eq!(r.status(), 201);
    let order = json_of(r).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "in_production");
    assert_eq!(order["quote_version"], 2);
    assert_eq!(order["price"]["amount_minor"], 10_500);
    assert_eq!(order["due_date"], working_days_from_today(6));
    assert_eq!(order["overdue"], false);
    let r = accept_v(&app, &clinic, &qb, 2, "accept-b-1").await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(r).await["id"], order_id.as_str());
    let r = accept(&app, &clinic, &qa, "accept-a").await;
    assert_eq!(problem(r).await["code"], "case_not_open");
    let r = accept(&app, &clinic, &qa, "accept-b-1").await;
    assert_eq!(problem(r).await["code"], "idempotency_key_reused");

    // The others are declined and lose the case at once; the winner sees
    // the patient reference now.
    let status_of = quote_statuses(&app, &clinic, &case).await;
    assert_eq!(status_of[&qa], "declined");
    assert_eq!(status_of[&qb], "accepted");
    assert_eq!(status_of[&qc], "withdrawn");
    for loser in [&a, &c] {
        for path in [
            format!("/api/v1/cases/{case}"),
            format!("/api/v1/cases/{case}/files"),
            format!("/api/v1/cases/{case}/quotes"),
        ] {
            let r = app.get_authed(&path, &loser.token).await;
            assert_eq!(r.status(), 404, "{path} for {}", loser.email);
        }
    }
    let mail = app.mail_to(&a.email, "Another lab was chosen").await;
    assert!(mail.text().contains(&case) && !mail.text().contains("Planted"));
    let mail = app.mail_to(&b.email, "Your quote was accepted").await;
    assert!(mail.text().contains(&order_id));
    let seen = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &b.token).await).await;
    assert_eq!(seen["status"], "awarded");
    assert_eq!(seen["patient_ref"], PLANTED_REF);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/cancel"),
        &clinic,
        Some(json!({"reason": "changed my mind"})),
    )
    .await;
    assert_eq!(r.status(), 409);

    // Foreign tenants, declined labs and staff: 404 on every market route.
    for who in [&other_clinic, &outsider, &a, &staff] {
        all_404(&app, who, &case, &qb, &order_id).await;
    }

    // The order moves, each side making only its own moves.
    let r = move_order(&app, &clinic, &order_id, json!({"to": "shipped"})).await;
    assert_eq!(r.status(), 409);
    let p = problem(r).await;
    assert_eq!(p["code"], "transition_not_allowed");
    assert_eq!(p["errors"][0]["message"], "cancelled");
    let r = move_order(&app, &b, &order_id, json!({"to": "shipped"})).await;
    assert_eq!(r.status(), 422);
    let r = move_order(
        &app,
        &technician,
        &order_id,
        json!({"to": "cancelled", "reason": "cannot make it"}),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = move_order(
        &app,
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
    let r = move_order(&app, &b, &order_id, json!({"to": "delivered"})).await;
    assert_eq!(r.status(), 409);
    let r = move_order(&app, &clinic, &order_id, json!({"to": "cancelled", "reason": "late"})).await;
    assert_eq!(problem(r).await["code"], "transition_not_allowed");
    let r = move_order(&app, &clinic, &order_id, json!({"to": "delivered"})).await;
    assert_eq!(r.status(), 200);
    let r = move_order(&app, &clinic, &order_id, json!({"to": "completed"})).await;
    assert_eq!(r.status(), 200);
    let r = move_order(&app, &clinic, &order_id, json!({"to": "in_production"})).await;
    let p = problem(r).await;
    assert_eq!(p["code"], "transition_not_allowed");
    assert!(p["detail"].as_str().unwrap().contains("nothing"), "{p}");
    let r = move_order(&app, &clinic, &order_id, json!({"to": "lost"})).await;
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

    // A remake: structured reason, the lab bears the cost, its own due date.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{order_id}/remakes"),
        &b,
        Some(json!({"reason": "fit", "cost_bearer": "lab"})),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{order_id}/remakes"),
        &clinic,
        Some(json!({"reason": "wobbly", "cost_bearer": "lab"})),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{order_id}/remakes"),
        &clinic,
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
    // Past its due date and not yet delivered: flagged in the lists.
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        dentex_db::entities::order::Entity::update_many()
            .col_expr(dentex_db::entities::order::Column::DueDate, Expr::value(yesterday))
            .filter(dentex_db::entities::order::Column::Id.eq(uuid::Uuid::parse_str(&remake_id).unwrap()))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let open = json_of(app.get_authed("/api/v1/orders?status=in_production", &b.token).await).await;
    assert_eq!(open["items"][0]["id"], remake_id.as_str());
    assert_eq!(open["items"][0]["overdue"], true);
    let v = json_of(
        app.get_authed(&format!("/api/v1/orders/{order_id}"), &clinic.token)
            .await,
    )
    .await;
    assert_eq!(v["remakes"], json!([remake_id]));
    for (who, body) in [
        (
            &b,
            json!({"to": "shipped", "carrier": "UPS", "tracking_number": "1Z999"}),
        ),
        (&clinic, json!({"to": "delivered"})),
        (&clinic, json!({"to": "completed"})),
    ] {
        let r = move_order(&app, who, &remake_id, body).await;
        assert_eq!(r.status(), 200);
    }

    // Lists: both sides see both orders, newest first, paged; others none.
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
    // Delivered late is no longer overdue: nothing is left to wait for.
    assert!(
        lab_list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["overdue"] == false)
    );
    let r = app.get_authed("/api/v1/orders?status=lost", &b.token).await;
    assert_eq!(r.status(), 400);
    for who in [&a, &other_clinic] {
        let l = json_of(app.get_authed("/api/v1/orders", &who.token).await).await;
        assert!(l["items"].as_array().unwrap().is_empty());
    }

    // The trail: the award and every move are audited in the clinic's chain.
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
    for (why, who) in [
        ("quote.create", &technician),
        ("quote.accept", &b),
        ("order.remake", &b),
    ] {
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
    app.stop().await;
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
    let r = move_order(&app, &a, &order, json!({"to": "cancelled", "reason": "mill is down"})).await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    assert_eq!(v["cancelled_by"], "lab");
    assert_eq!(v["cancel_reason"], "mill is down");
    app.mail_to(&clinic.email, "is now cancelled").await;
    let seen = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &clinic.token).await).await;
    assert_eq!(seen["status"], "submitted");
    let seen = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &a.token).await).await;
    assert!(seen["patient_ref"].is_null(), "{seen}");
    // The lab's quote ended with its order; the declined one stands again
    // and its lab is told, so the clinic can take it at once.
    let mail = app.mail_to(&c.email, "open again").await;
    assert!(mail.text().contains(&case) && !mail.text().contains("Planted"));
    let status_of = quote_statuses(&app, &clinic, &case).await;
    assert_eq!(status_of[&qa], "cancelled");
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
