//! The market's world: a clinic, three verified labs its case is named to,
//! their quotes, and the order the clinic's award makes, at each step of its
//! life.

use super::{call, json_of};
use crate::{Actor, TestApp, in_days, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The patient reference of the market's case; it must never reach a lab
/// before the award, a mail, an audit row or a log line.
pub const PLANTED_REF: &str = "Planted Patientname 1975";

/// Quote terms of `amount` cents over `days` working days, valid for ten days.
pub fn quote_body(amount: i64, days: i32) -> Value {
    json!({
        "price": {"amount_minor": amount, "currency": "EUR"},
        "turnaround_days": days,
        "valid_until": in_days(10),
        "notes": "Zirconia from our own mill"
    })
}

/// `lab` quotes on `case`; answers the quote's id.
pub async fn quote(app: &TestApp, lab: &Actor, case: &str, amount: i64, days: i32) -> String {
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        lab,
        Some(quote_body(amount, days)),
    )
    .await;
    assert_eq!(r.status(), 201, "quote by {}", lab.email);
    json_of(r).await["id"].as_str().expect("id").to_owned()
}

/// Accepts version 1 of a quote (what the clinic saw of a quote never revised).
pub async fn accept(app: &TestApp, clinic: &Actor, quote: &str, key: impl Into<String>) -> reqwest::Response {
    accept_v(app, clinic, quote, 1, key).await
}

/// Accepts `version` of a quote under the idempotency key `key`.
pub async fn accept_v(
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
        .expect("request")
}

/// Asks for a move of an order (`{"to": …}` and what that move needs).
pub async fn move_order(app: &TestApp, who: &Actor, order: &str, body: Value) -> reqwest::Response {
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
pub async fn quote_statuses(app: &TestApp, clinic: &Actor, case: &str) -> HashMap<String, String> {
    let list = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/quotes"), &clinic.token)
            .await,
    )
    .await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|q| {
            (
                q["id"].as_str().expect("id").to_owned(),
                q["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

/// `working_days` after today, skipping weekends (as the server counts).
pub fn working_days_from_today(days: u32) -> String {
    use chrono::Datelike;
    let mut d = chrono::Utc::now().date_naive();
    let mut left = days;
    while left > 0 {
        d = d.succ_opt().expect("a next day");
        if !matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) {
            left -= 1;
        }
    }
    d.format("%Y-%m-%d").to_string()
}

fn yesterday() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Duration::days(1)
}

fn uuid_of(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id).expect("a UUID")
}

/// Makes a quote's validity end yesterday, straight in the database.
pub async fn expire_quote(app: &TestApp, quote: &str) {
    use dentex_db::entities::quote::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    Entity::update_many()
        .col_expr(Column::ValidUntil, Expr::value(yesterday()))
        .filter(Column::Id.eq(uuid_of(quote)))
        .exec(&app.state.db)
        .await
        .expect("expire the quote");
}

/// Makes an order due yesterday, straight in the database.
pub async fn make_overdue(app: &TestApp, order: &str) {
    use dentex_db::entities::order::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    Entity::update_many()
        .col_expr(Column::DueDate, Expr::value(yesterday()))
        .filter(Column::Id.eq(uuid_of(order)))
        .exec(&app.state.db)
        .await
        .expect("backdate the order");
}

/// A clinic and three verified labs offering crowns and bridges, with the
/// clinic's case (a crown and a bridge, patient reference [`PLANTED_REF`])
/// submitted to the three by name.
pub struct Market {
    pub app: TestApp,
    pub staff: Actor,
    pub clinic: Actor,
    pub a: Actor,
    pub b: Actor,
    pub c: Actor,
    pub case: String,
}

/// The three quotes on the case: A's (125.00, 5 days), B's priced per Rx
/// item (40.00 + 70.00, 8 days) and C's (90.00, 12 days).
pub struct Quotes {
    pub qa: String,
    pub qb: String,
    pub qc: String,
}

impl Market {
    pub async fn new() -> Self {
        Self::on(TestApp::new().await).await
    }

    /// The same world on an app with `f` applied to its configuration.
    pub async fn configured(f: impl FnOnce(&mut dentex_gateway::config::Config) + 'static) -> Self {
        Self::on(TestApp::builder().config(f).start().await).await
    }

    async fn on(app: TestApp) -> Self {
        let staff = app.support_agent("support@dentex.test").await;
        let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
        let mut labs = Vec::new();
        for email in ["a@lab.test", "b@lab.test", "c@lab.test"] {
            labs.push(
                app.verified_org(&staff, email, "dental_lab", &["crown", "bridge"])
                    .await,
            );
        }
        let case = app
            .submitted_case(&clinic, PLANTED_REF, &labs.iter().collect::<Vec<_>>())
            .await;
        let [a, b, c] = <[Actor; 3]>::try_from(labs).expect("three labs");
        Self {
            app,
            staff,
            clinic,
            a,
            b,
            c,
            case,
        }
    }

    /// Another verified clinic, with nothing to do with the case.
    pub async fn other_clinic(&self) -> Actor {
        self.app
            .verified_org(&self.staff, "other@clinic.test", "clinic", &[])
            .await
    }

    /// A verified lab offering the same services, not named on the case.
    pub async fn outsider(&self) -> Actor {
        self.app
            .verified_org(&self.staff, "outsider@lab.test", "dental_lab", &["crown", "bridge"])
            .await
    }

    /// A member (not an admin) of lab B.
    pub async fn technician(&self) -> Actor {
        self.app.invite_and_join(&self.b, "tech@b-lab.test", "member").await
    }

    /// Posts B's quote, priced per Rx item; answers the response.
    pub async fn post_quote_with_items(&self) -> reqwest::Response {
        let mut with_items = quote_body(11_000, 8);
        with_items["line_items"] = json!([
            {"item": 0, "amount_minor": 4_000},
            {"item": 1, "amount_minor": 7_000, "notes": "three units"}
        ]);
        call(
            &self.app,
            Method::POST,
            &format!("/api/v1/cases/{}/quotes", self.case),
            &self.b,
            Some(with_items),
        )
        .await
    }

    /// The three labs quote.
    pub async fn three_quotes(&self) -> Quotes {
        let qa = quote(&self.app, &self.a, &self.case, 12_500, 5).await;
        let r = self.post_quote_with_items().await;
        assert_eq!(r.status(), 201, "setup: B's quote");
        let qb = json_of(r).await["id"].as_str().expect("id").to_owned();
        let qc = quote(&self.app, &self.c, &self.case, 9_000, 12).await;
        Quotes { qa, qb, qc }
    }

    /// B revises its quote to 105.00 in 6 days (version 2); C withdraws.
    pub async fn revise_b_and_withdraw_c(&self, q: &Quotes) {
        let r = call(
            &self.app,
            Method::PUT,
            &format!("/api/v1/quotes/{}", q.qb),
            &self.b,
            Some(quote_body(10_500, 6)),
        )
        .await;
        assert_eq!(r.status(), 200, "setup: B revises");
        let r = call(
            &self.app,
            Method::POST,
            &format!("/api/v1/quotes/{}/withdraw", q.qc),
            &self.c,
            None,
        )
        .await;
        assert_eq!(r.status(), 200, "setup: C withdraws");
    }

    /// The three quotes, B's revised and C's withdrawn.
    pub async fn quotes_revised(&self) -> Quotes {
        let q = self.three_quotes().await;
        self.revise_b_and_withdraw_c(&q).await;
        q
    }

    /// The clinic accepts version 2 of B's quote; answers the order's id.
    pub async fn award_b(&self, q: &Quotes) -> String {
        let r = accept_v(&self.app, &self.clinic, &q.qb, 2, "accept-b-1").await;
        assert_eq!(r.status(), 201, "setup: the award");
        json_of(r).await["id"].as_str().expect("id").to_owned()
    }

    /// Quotes revised, B's accepted: the quotes and the order (in production).
    pub async fn awarded(&self) -> (Quotes, String) {
        let q = self.quotes_revised().await;
        let order = self.award_b(&q).await;
        (q, order)
    }

    /// `shipper` (of lab B) ships the order; the clinic takes delivery and
    /// completes it.
    pub async fn complete(&self, shipper: &Actor, order: &str) {
        for (who, body) in [
            (
                shipper,
                json!({"to": "shipped", "carrier": "DHL", "tracking_number": "JD0146000033"}),
            ),
            (&self.clinic, json!({"to": "delivered"})),
            (&self.clinic, json!({"to": "completed"})),
        ] {
            let r = move_order(&self.app, who, order, body.clone()).await;
            assert_eq!(r.status(), 200, "setup: move to {}", body["to"]);
        }
    }

    /// The clinic asks for a remake of a completed order (fit, at the lab's
    /// cost, due in nine days); answers the remake's id.
    pub async fn remake(&self, order: &str) -> String {
        let r = call(
            &self.app,
            Method::POST,
            &format!("/api/v1/orders/{order}/remakes"),
            &self.clinic,
            Some(
                json!({"reason": "fit", "cost_bearer": "lab", "notes": "margin open at 11 mesial", "due_date": in_days(9)}),
            ),
        )
        .await;
        assert_eq!(r.status(), 201, "setup: the remake");
        json_of(r).await["id"].as_str().expect("id").to_owned()
    }
}

/// Every market route, with a body it would take.
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
            Some(json!({"to": "canceled", "reason": "x"})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{order}/remakes"),
            Some(json!({"reason": "fit", "cost_bearer": "lab"})),
        ),
    ]
}

/// Every market route on `case`, `quote` and `order` answers `who` 404, and
/// `who`'s order list lacks the order.
pub async fn all_404(app: &TestApp, who: &Actor, case: &str, quote: &str, order: &str) {
    for (m, path, body) in market_routes(case, quote, order) {
        let mut rb = app.client.request(m.clone(), app.url(&path)).bearer_auth(&who.token);
        if path.ends_with("/accept") {
            rb = rb.header("idempotency-key", uuid::Uuid::new_v4().to_string());
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request");
        assert_eq!(r.status(), 404, "{m} {path} as {}", who.email);
        assert_eq!(problem(r).await["code"], "not_found");
    }
    let list = json_of(app.get_authed("/api/v1/orders", &who.token).await).await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|o| o["id"] != order),
        "{} lists the order",
        who.email
    );
}
