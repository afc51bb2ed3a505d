//! Every route of cases and market × every kind of caller (SECURITY.md item
//! 1): the clinic's owner and a plain member, another clinic, the lab that
//! won the case, a lab whose quote was declined, a lab the case was never
//! sent to, no session, and platform support. A resource the caller may not
//! see is 404 (never a hint), a case they see but may not change is 403, no
//! session is 401. The rows are checked against the OpenAPI document: a route
//! of either tag without a row fails the test, so a new route needs one.
//!
//! Requests are chosen so that none changes what the next one sees: a
//! change the caller may make is sent with a value the service refuses
//! after the authorisation (422), or to a case in a state that refuses it
//! (409).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, in_days};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const WHO: [&str; 8] = [
    "own clinic (owner)",
    "own clinic (member)",
    "foreign clinic",
    "awarded lab",
    "declined lab",
    "unrelated lab",
    "anonymous",
    "support",
];

enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

struct Row {
    method: Method,
    /// The route as the OpenAPI document names it.
    template: &'static str,
    path: String,
    body: Body,
    /// One status per caller, in the order of `WHO`.
    want: [u16; 8],
}

fn row(method: Method, template: &'static str, path: String, body: Body, want: [u16; 8]) -> Row {
    Row {
        method,
        template,
        path,
        body,
        want,
    }
}

struct World {
    app: TestApp,
    callers: Vec<Option<Actor>>,
    /// Awarded to lab A; lab B's quote was declined.
    awarded: String,
    /// The clinic's draft, with a document and a presigned upload.
    draft: String,
    scan: String,
    document: String,
    upload: String,
    quote_a: String,
    quote_b: String,
    order: String,
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

async fn world() -> World {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let member = app.invite_and_join(&clinic, "member@clinic.test", "member").await;
    let foreign = app.verified_org(&staff, "owner@other-clinic.test", "clinic", &[]).await;
    let services = ["crown", "bridge"];
    let a = app.verified_org(&staff, "a@lab.test", "dental_lab", &services).await;
    let b = app.verified_org(&staff, "b@lab.test", "dental_lab", &services).await;
    let c = app.verified_org(&staff, "c@lab.test", "dental_lab", &services).await;

    let awarded = app.submitted_case(&clinic, "REF-AUTHZ-1", &[&a, &b]).await;
    let mut quotes = Vec::new();
    for lab in [&a, &b] {
        let r = app
            .send(
                Method::POST,
                &format!("/api/v1/cases/{awarded}/quotes"),
                Some(&lab.token),
                Some(&json!({
                    "price": {"amount_minor": 50_000, "currency": "EUR"},
                    "turnaround_days": 5,
                    "valid_until": in_days(10)
                })),
            )
            .await;
        assert_eq!(r.status(), 201, "quote by {}", lab.email);
        quotes.push(json_of(r).await["id"].as_str().unwrap().to_owned());
    }
    let r = app
        .client
        .post(app.url(&format!("/api/v1/quotes/{}/accept", quotes[0])))
        .bearer_auth(&clinic.token)
        .header("idempotency-key", "authz-accept-1")
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "accept");
    let order = json_of(r).await["id"].as_str().unwrap().to_owned();
    let files = json_of(
        app.get_authed(&format!("/api/v1/cases/{awarded}/files"), &clinic.token)
            .await,
    )
    .await;
    let scan = files["items"][0]["id"].as_str().unwrap().to_owned();

    let r = app
        .send(
            Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": "REF-AUTHZ-2"})),
        )
        .await;
    assert_eq!(r.status(), 201, "draft");
    let draft = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{draft}/files")))
        .bearer_auth(&clinic.token)
        .body(b"%PDF-1.7\n% referral letter\n%%EOF\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "document");
    let document = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/cases/{draft}/uploads"),
            Some(&clinic.token),
            Some(&json!({"size_bytes": 6_000_000, "sha256": "ab".repeat(32)})),
        )
        .await;
    assert_eq!(r.status(), 201, "upload");
    let upload = json_of(r).await["id"].as_str().unwrap().to_owned();
    let callers = vec![
        Some(clinic),
        Some(member),
        Some(foreign),
        Some(a),
        Some(b),
        Some(c),
        None,
        Some(staff),
    ];
    World {
        app,
        callers,
        awarded,
        draft,
        scan,
        document,
        upload,
        quote_a: quotes[0].clone(),
        quote_b: quotes[1].clone(),
        order,
    }
}

fn rows(w: &World) -> Vec<Row> {
    use Method as M;
    let (k, d, s, doc, u) = (&w.awarded, &w.draft, &w.scan, &w.document, &w.upload);
    let (qa, qb, o) = (&w.quote_a, &w.quote_b, &w.order);
    let none = uuid::Uuid::now_v7();
    let quote =
        json!({"price": {"amount_minor": 1, "currency": "EUR"}, "turnaround_days": 5, "valid_until": in_days(10)});
    vec![
        // Cases. A draft is a job of any clinic; labs and support have none.
        row(
            M::POST,
            "/api/v1/cases",
            "/api/v1/cases".into(),
            Body::Json(json!({"patient_ref": ""})),
            [422, 422, 422, 403, 403, 403, 401, 403],
        ),
        row(
            M::GET,
            "/api/v1/cases",
            "/api/v1/cases".into(),
            Body::None,
            [200, 200, 200, 200, 200, 200, 401, 200],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}",
            format!("/api/v1/cases/{k}"),
            Body::None,
            [200, 200, 404, 200, 404, 404, 401, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/cases/{case}",
            format!("/api/v1/cases/{k}"),
            Body::Json(json!({"patient_ref": "X"})),
            [409, 409, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::POST,
            "/api/v1/cases/{case}/submit",
            format!("/api/v1/cases/{k}/submit"),
            Body::Json(json!({"target": {"open": true}})),
            [409, 409, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::POST,
            "/api/v1/cases/{case}/cancel",
            format!("/api/v1/cases/{k}/cancel"),
            Body::Json(json!({"reason": ""})),
            [422, 422, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/access-log",
            format!("/api/v1/cases/{k}/access-log"),
            Body::None,
            [200, 200, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/disclosures",
            format!("/api/v1/cases/{k}/disclosures"),
            Body::None,
            [200, 200, 404, 403, 404, 404, 401, 404],
        ),
        // Files: of the awarded case (no longer a draft), and of the draft.
        row(
            M::POST,
            "/api/v1/cases/{case}/files",
            format!("/api/v1/cases/{k}/files"),
            Body::Raw(b"%PDF-1.7\n%%EOF\n".to_vec()),
            [409, 409, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/files",
            format!("/api/v1/cases/{k}/files"),
            Body::None,
            [200, 200, 404, 200, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/files/{file}",
            format!("/api/v1/cases/{k}/files/{s}"),
            Body::None,
            [200, 200, 404, 200, 404, 404, 401, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/cases/{case}/files/{file}",
            format!("/api/v1/cases/{k}/files/{s}"),
            Body::None,
            [409, 409, 404, 403, 404, 404, 401, 404],
        ),
        // An id the case does not have is 404, whatever the case's state.
        row(
            M::DELETE,
            "/api/v1/cases/{case}/files/{file}",
            format!("/api/v1/cases/{k}/files/{none}"),
            Body::None,
            [404, 404, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/files/{file}/content",
            format!("/api/v1/cases/{k}/files/{s}/content"),
            Body::None,
            [302, 302, 404, 302, 404, 404, 401, 404],
        ),
        // A document has no preview: 404 with its own code for who sees it.
        row(
            M::GET,
            "/api/v1/cases/{case}/files/{file}/thumbnail.png",
            format!("/api/v1/cases/{d}/files/{doc}/thumbnail.png"),
            Body::None,
            [404, 404, 404, 404, 404, 404, 401, 404],
        ),
        // Presigned uploads: the clinic's, of a draft.
        row(
            M::POST,
            "/api/v1/cases/{case}/uploads",
            format!("/api/v1/cases/{k}/uploads"),
            Body::Json(json!({"size_bytes": 6_000_000, "sha256": "cd".repeat(32)})),
            [409, 409, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/uploads/{upload}",
            format!("/api/v1/cases/{d}/uploads/{u}"),
            Body::None,
            [200, 200, 404, 404, 404, 404, 401, 404],
        ),
        // No part arrived: the clinic is told what is missing, nothing changes.
        row(
            M::POST,
            "/api/v1/cases/{case}/uploads/{upload}/complete",
            format!("/api/v1/cases/{d}/uploads/{u}/complete"),
            Body::None,
            [409, 409, 404, 404, 404, 404, 401, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/cases/{case}/uploads/{upload}",
            format!("/api/v1/cases/{k}/uploads/{none}"),
            Body::None,
            [404, 404, 404, 403, 404, 404, 401, 404],
        ),
        // Quotes: labs quote, the clinic reads and accepts.
        row(
            M::POST,
            "/api/v1/cases/{case}/quotes",
            format!("/api/v1/cases/{k}/quotes"),
            Body::Json(quote.clone()),
            [403, 403, 404, 409, 404, 404, 401, 404],
        ),
        row(
            M::GET,
            "/api/v1/cases/{case}/quotes",
            format!("/api/v1/cases/{k}/quotes"),
            Body::None,
            [200, 200, 404, 200, 404, 404, 401, 404],
        ),
        // The clinic sees the quotes on its case but only the lab changes
        // one; a declined lab lost the case, and its quote, at the award.
        row(
            M::GET,
            "/api/v1/quotes/{quote}",
            format!("/api/v1/quotes/{qb}"),
            Body::None,
            [200, 200, 404, 404, 404, 404, 401, 404],
        ),
        row(
            M::PUT,
            "/api/v1/quotes/{quote}",
            format!("/api/v1/quotes/{qb}"),
            Body::Json(quote),
            [403, 403, 404, 404, 404, 404, 401, 404],
        ),
        row(
            M::POST,
            "/api/v1/quotes/{quote}/withdraw",
            format!("/api/v1/quotes/{qa}/withdraw"),
            Body::None,
            [403, 403, 404, 409, 404, 404, 401, 404],
        ),
        row(
            M::POST,
            "/api/v1/quotes/{quote}/accept",
            format!("/api/v1/quotes/{qb}/accept"),
            Body::Json(json!({"version": 1})),
            [409, 403, 404, 404, 404, 404, 401, 404],
        ),
        // Orders: the two sides of the award.
        row(
            M::GET,
            "/api/v1/orders",
            "/api/v1/orders".into(),
            Body::None,
            [200, 200, 200, 200, 200, 200, 401, 200],
        ),
        row(
            M::GET,
            "/api/v1/orders/{order}",
            format!("/api/v1/orders/{o}"),
            Body::None,
            [200, 200, 404, 200, 404, 404, 401, 404],
        ),
        row(
            M::POST,
            "/api/v1/orders/{order}/transitions",
            format!("/api/v1/orders/{o}/transitions"),
            Body::Json(json!({"to": "completed"})),
            [409, 409, 404, 403, 404, 404, 401, 404],
        ),
        row(
            M::POST,
            "/api/v1/orders/{order}/remakes",
            format!("/api/v1/orders/{o}/remakes"),
            Body::Json(json!({"reason": "fit", "cost_bearer": "lab", "notes": "too tight"})),
            [409, 403, 404, 403, 404, 404, 401, 404],
        ),
    ]
}

/// The cases and market routes of the OpenAPI document, as `METHOD template`.
async fn documented(app: &TestApp) -> BTreeSet<String> {
    let doc = json_of(app.get("/api/v1/openapi.json").await).await;
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("");
            if tag == "cases" || tag == "market" {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

async fn send(w: &World, r: &Row, who: Option<&Actor>, n: usize) -> reqwest::Response {
    let mut rb = w.app.client.request(r.method.clone(), w.app.url(&r.path));
    if let Some(a) = who {
        rb = rb.bearer_auth(&a.token);
    }
    if r.template.ends_with("/accept") {
        rb = rb.header("idempotency-key", format!("authz-matrix-{n}"));
    }
    rb = match &r.body {
        Body::None => rb,
        Body::Json(v) => rb.json(v),
        Body::Raw(b) => rb.body(b.clone()),
    };
    rb.send().await.unwrap()
}

#[tokio::test]
async fn every_cases_and_market_route_for_every_kind_of_caller() {
    let w = world().await;
    let rows = rows(&w);
    let covered: BTreeSet<String> = rows.iter().map(|r| format!("{} {}", r.method, r.template)).collect();
    let documented = documented(&w.app).await;
    let missing: Vec<&String> = documented.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a row in the matrix: {missing:?}");
    let stale: Vec<&String> = covered.difference(&documented).collect();
    assert!(stale.is_empty(), "rows for routes the document lacks: {stale:?}");

    let mut failures = Vec::new();
    let mut n = 0;
    for r in &rows {
        for (i, who) in w.callers.iter().enumerate() {
            n += 1;
            let res = send(&w, r, who.as_ref(), n).await;
            let got = res.status().as_u16();
            if got != r.want[i] {
                failures.push(format!(
                    "{} {} as {}: got {got}, want {}",
                    r.method, r.template, WHO[i], r.want[i]
                ));
            } else if got == 404
                && !(i < 2 && r.template.ends_with("thumbnail.png"))
                && !(i < 2 && r.template.ends_with("{upload}"))
            {
                // Not seeing is plain 404: the same answer as for an id that
                // does not exist.
                let v = json_of(res).await;
                if v["code"] != "not_found" {
                    failures.push(format!(
                        "{} {} as {}: 404 with code {}",
                        r.method, r.template, WHO[i], v["code"]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the matrix differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
