//! Lists cost the same number of database statements whatever the size of
//! the page: visibility and views are decided for the page at once, not row
//! by row.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, cube_stl, in_days};
use serde_json::{Value, json};

fn len(v: &Value) -> usize {
    v["items"].as_array().map_or(0, Vec::len)
}

async fn quote(app: &TestApp, lab: &Actor, case: &str) -> String {
    let r = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/quotes"),
            Some(&lab.token),
            Some(&json!({
                "price": {"amount_minor": 30_000, "currency": "EUR"},
                "turnaround_days": 5,
                "valid_until": in_days(10),
            })),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_page_of_fifty_costs_what_a_page_of_ten_does() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let lab_a = app
        .verified_org(&staff, "a@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let lab_b = app
        .verified_org(&staff, "b@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    // 60 cases the labs may see: half named, half open to every fitting lab.
    let mut cases = Vec::new();
    for i in 0..60 {
        let labs: Vec<&Actor> = if i % 2 == 0 { vec![&lab_a, &lab_b] } else { vec![] };
        cases.push(app.submitted_case(&clinic, &format!("REF-{i}"), &labs).await);
    }

    for who in [&clinic, &lab_a] {
        // A request first, so that the session's last-seen touch (every
        // 5 s) falls outside the pair compared.
        app.get_authed("/api/v1/me", &who.token).await;
        let (ten, q10) = app.get_counted("/api/v1/cases?limit=10", &who.token).await;
        let (fifty, q50) = app.get_counted("/api/v1/cases?limit=50", &who.token).await;
        assert_eq!((len(&ten), len(&fifty)), (10, 50), "{}", who.email);
        assert_eq!(
            q10, q50,
            "{}: a page of 10 ran {q10} statements, of 50 {q50}",
            who.email
        );
    }

    // Quotes: one on a case, two on another.
    quote(&app, &lab_a, &cases[0]).await;
    quote(&app, &lab_a, &cases[2]).await;
    quote(&app, &lab_b, &cases[2]).await;
    app.get_authed("/api/v1/me", &clinic.token).await;
    let (one, q1) = app
        .get_counted(&format!("/api/v1/cases/{}/quotes", cases[0]), &clinic.token)
        .await;
    let (two, q2) = app
        .get_counted(&format!("/api/v1/cases/{}/quotes", cases[2]), &clinic.token)
        .await;
    assert_eq!((len(&one), len(&two)), (1, 2));
    assert_eq!(q1, q2, "quotes: {q1} then {q2}");

    // Orders: five awards; a page of one and a page of five.
    for (i, case) in cases.iter().enumerate().skip(10).take(5) {
        let q = quote(&app, &lab_a, case).await;
        let r = app
            .client
            .post(app.url(&format!("/api/v1/quotes/{q}/accept")))
            .bearer_auth(&clinic.token)
            .header("idempotency-key", format!("page-{i}"))
            .json(&json!({"version": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    app.get_authed("/api/v1/me", &clinic.token).await;
    let (one, q1) = app.get_counted("/api/v1/orders?limit=1", &clinic.token).await;
    let (five, q5) = app.get_counted("/api/v1/orders?limit=5", &clinic.token).await;
    assert_eq!((len(&one), len(&five)), (1, 5));
    assert_eq!(q1, q5, "orders: {q1} then {q5}");

    // Files: a draft with one scan and one with five.
    let mut drafts = Vec::new();
    for n in [1, 5] {
        let r = app
            .send(
                reqwest::Method::POST,
                "/api/v1/cases",
                Some(&clinic.token),
                Some(&json!({"patient_ref": format!("FILES-{n}")})),
            )
            .await;
        let case = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        for _ in 0..n {
            let r = app
                .client
                .post(app.url(&format!("/api/v1/cases/{case}/files")))
                .bearer_auth(&clinic.token)
                .body(cube_stl())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }
        drafts.push(case);
    }
    app.get_authed("/api/v1/me", &clinic.token).await;
    let (one, q1) = app
        .get_counted(&format!("/api/v1/cases/{}/files", drafts[0]), &clinic.token)
        .await;
    let (five, q5) = app
        .get_counted(&format!("/api/v1/cases/{}/files", drafts[1]), &clinic.token)
        .await;
    assert_eq!((len(&one), len(&five)), (1, 5));
    assert_eq!(q1, q5, "files: {q1} then {q5}");
}

#[tokio::test]
async fn who_am_i_costs_two_statements() {
    let app = TestApp::new().await;
    let owner = app.register("owner@clinic.test", "clinic").await;
    // The session is fresh: no last-seen touch is due.
    let (me, queries) = app.get_counted("/api/v1/me", &owner.token).await;
    assert_eq!(me["organizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(me["unread_messages"], 0);
    // One for the session with its user, memberships and organisations;
    // one for the unread messages over every thread the caller sees
    // (derived, never a stored counter).
    assert_eq!(queries, 2, "the sign-in, and the unread total");
}
