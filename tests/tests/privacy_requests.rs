//! Data-subject requests (issue #17) over HTTP, on both databases: filing
//! (re-authenticated, or by the clinic for a patient, or by support for a
//! request that came by letter), the support queue, each step's fresh
//! sign-in, deadlines with the clock moved (flagged, extended once, a
//! second extension and a late one refused), rejection, and every privacy
//! route in the route × role × tenant matrix.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, problem};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const DESK: &str = "privacy-desk@dentex.test";

async fn app() -> TestApp {
    TestApp::builder()
        .config(|c| c.privacy.support_email = Some(DESK.into()))
        .start()
        .await
}

async fn call(app: &TestApp, m: Method, path: &str, who: &Actor, body: Option<Value>) -> reqwest::Response {
    app.send(m, path, Some(&who.token), body.as_ref()).await
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("JSON")
}

/// Runs a statement on the app's database (`$1`… on PostgreSQL, `?` on SQLite).
async fn exec(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let sql = if backend == DatabaseBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("statement");
}

/// Moves request `id` `days` into the past (its receipt and due date): the
/// test's clock.
async fn age(app: &TestApp, id: &str, days: i64) {
    let r = chrono::Utc::now() - chrono::Duration::days(days);
    let due = r.checked_add_months(chrono::Months::new(1)).unwrap();
    let id = uuid::Uuid::parse_str(id).unwrap();
    exec(
        app,
        "UPDATE privacy_requests SET received_at = ?, due_at = ? WHERE id = ?",
        vec![r.into(), due.into(), id.into()],
    )
    .await;
}

async fn file_own(app: &TestApp, who: &Actor, body: Value) -> reqwest::Response {
    call(app, Method::POST, "/api/v1/privacy/requests", who, Some(body)).await
}

#[tokio::test]
async fn a_person_files_and_support_works_the_deadline() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let person = app.register("rita@clinic.test", "clinic").await;
    let other = app.register("otto@clinic.test", "clinic").await;

    // About oneself the password is asked again; wrong or missing: 403 naming it.
    for body in [
        json!({"kind": "access"}),
        json!({"kind": "access", "password": "not it at all"}),
    ] {
        let r = file_own(&app, &person, body).await;
        assert_eq!(r.status(), 403);
        let p = problem(r).await;
        assert_eq!(p["code"], "reauthentication_failed");
        assert_eq!(p["errors"][0]["field"], "password");
    }
    let r = file_own(&app, &person, json!({"kind": "teleport", "password": person.password})).await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "kind");
    let r = file_own(
        &app,
        &person,
        json!({"kind": "rectification", "password": person.password, "details": "x".repeat(2001)}),
    )
    .await;
    assert_eq!(r.status(), 422, "what to correct fits 2000 characters");
    assert_eq!(problem(r).await["errors"][0]["field"], "details");

    let r = file_own(&app, &person, json!({"kind": "access", "password": person.password})).await;
    assert_eq!(r.status(), 201);
    let v = json_of(r).await;
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["status"], "received");
    assert_eq!(v["subject"], "person");
    assert_eq!(v["subject_user_id"], person.user_id.as_str());
    let received = chrono::DateTime::parse_from_rfc3339(v["received_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(v["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        due,
        received.checked_add_months(chrono::Months::new(1)).unwrap(),
        "due in one month"
    );
    let m = app.mail_to(&person.email, "privacy request was received").await;
    assert!(m.text().contains(&id));
    let m = app.mail_to(DESK, "New privacy request").await;
    assert!(
        m.text().contains(&id) && !m.text().contains(&person.email),
        "ids only: {}",
        m.text()
    );

    // Who may read it: the person and support; anyone else gets 404.
    let path = format!("/api/v1/privacy/requests/{id}");
    assert_eq!(app.get_authed(&path, &person.token).await.status(), 200);
    assert_eq!(app.get_authed(&path, &staff.token).await.status(), 200);
    assert_eq!(app.get_authed(&path, &other.token).await.status(), 404);

    // The queue, soonest due first; not for customers.
    let q = json_of(app.get_authed("/api/v1/support/privacy/requests", &staff.token).await).await;
    assert!(
        q["items"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str()),
        "{q}"
    );
    assert_eq!(
        app.get_authed("/api/v1/support/privacy/requests", &person.token)
            .await
            .status(),
        403
    );
    let r = app
        .get_authed("/api/v1/support/privacy/requests?status=lost", &staff.token)
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["code"], "unknown_value");
    // The paging rule of every list.
    let r = app
        .get_authed("/api/v1/support/privacy/requests?limit=0", &staff.token)
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "invalid_query");

    // A stale support sign-in may not take a step.
    let stale = app.support_agent("stale@dentex.test").await;
    exec(
        &app,
        "UPDATE sessions SET created_at = ? WHERE user_id = ?",
        vec![
            (chrono::Utc::now() - chrono::Duration::hours(1)).into(),
            uuid::Uuid::parse_str(&stale.user_id).unwrap().into(),
        ],
    )
    .await;
    let r = call(
        &app,
        Method::POST,
        &format!("{path_s}/verify", path_s = support(&id)),
        &stale,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "fresh_sign_in_required");

    let r = call(
        &app,
        Method::POST,
        &format!("{}/verify", support(&id)),
        &staff,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["status"], "verified");
    let r = call(
        &app,
        Method::POST,
        &format!("{}/verify", support(&id)),
        &staff,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "privacy_request_state");

    // Extended once, by at most two months, with a reason the person is told.
    let ext = format!("{}/extend", support(&id));
    let r = call(
        &app,
        Method::POST,
        &ext,
        &staff,
        Some(json!({"months": 3, "reason": "complex"})),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = call(
        &app,
        Method::POST,
        &ext,
        &staff,
        Some(json!({"months": 2, "reason": "   "})),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = call(
        &app,
        Method::POST,
        &ext,
        &staff,
        Some(json!({"months": 2, "reason": "Many archived cases"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    let due2 = chrono::DateTime::parse_from_rfc3339(v["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due2, due.checked_add_months(chrono::Months::new(2)).unwrap());
    assert!(v["extended_at"].is_string());
    let m = app.mail_to(&person.email, "needs more time").await;
    assert!(m.text().contains("Many archived cases"));
    let r = call(
        &app,
        Method::POST,
        &ext,
        &staff,
        Some(json!({"months": 1, "reason": "again"})),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "extension_refused");

    // Access is not carried out by the platform yet: said so, not faked.
    let r = call(&app, Method::POST, &format!("{}/execute", support(&id)), &staff, None).await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "privacy_kind_not_executable");

    // A second request, 32 days old by the test's clock: too late to extend,
    // and overdue: flagged to support once a day, shown overdue.
    let r = file_own(&app, &person, json!({"kind": "erasure", "password": person.password})).await;
    let late = json_of(r).await["id"].as_str().unwrap().to_owned();
    age(&app, &late, 32).await;
    let r = call(
        &app,
        Method::POST,
        &format!("{}/extend", support(&late)),
        &staff,
        Some(json!({"months": 1, "reason": "too late"})),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(problem(r).await["detail"].as_str().unwrap().contains("first month"));
    let v = json_of(
        app.get_authed(&format!("/api/v1/privacy/requests/{late}"), &staff.token)
            .await,
    )
    .await;
    assert_eq!(v["overdue"], true);
    let q = json_of(
        app.get_authed(
            &format!(
                "/api/v1/support/privacy/requests?due_before={}",
                urlencode(&chrono::Utc::now().to_rfc3339())
            ),
            &staff.token,
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![late.as_str()], "only the overdue one is due before now");
    // Two daily looks, each waited for until its job is done: one mail.
    for _ in 0..2 {
        let job = app
            .state
            .queue
            .enqueue(dentex_privacy::service::deadlines::JOB, &json!({}), Default::default())
            .await
            .unwrap();
        app.state.queue.wake();
        let mut done = false;
        for _ in 0..400 {
            let j = app.state.queue.get(job).await.unwrap().unwrap();
            if j.status == "done" {
                done = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(done, "the daily look ran");
    }
    let m = app.mail_to(DESK, "overdue").await;
    assert!(m.text().contains(&late) && !m.text().contains(&id), "{}", m.text());
    // Queued mail is delivered by its own job: give it the time it takes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let flagged = app
        .smtp
        .received()
        .iter()
        .filter(|m| m.header("Subject").is_some_and(|s| s.contains("overdue")))
        .count();
    assert_eq!(flagged, 1, "flagged once a day, not on every look");

    // Rejected with a reason the person is told; then nothing more applies.
    let r = call(
        &app,
        Method::POST,
        &format!("{}/reject", support(&late)),
        &staff,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = call(
        &app,
        Method::POST,
        &format!("{}/reject", support(&late)),
        &staff,
        Some(json!({"reason": "Asked twice; answered under the first request"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["status"], "rejected");
    let m = app.mail_to(&person.email, "was not carried out").await;
    assert!(m.text().contains("Asked twice"));
    let r = call(&app, Method::POST, &format!("{}/execute", support(&late)), &staff, None).await;
    assert_eq!(r.status(), 409);

    // Every step is in the audit trail.
    let report = app.state.audit.verify().await.unwrap();
    assert!(report.broken.is_empty(), "{report:?}");
    let rows = app.state.audit.list_for_org(None, 1000).await.unwrap();
    let actions: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.resource_type == "privacy_request")
        .map(|r| r.action.as_str())
        .collect();
    for a in [
        "privacy.request.file",
        "privacy.request.verify",
        "privacy.request.extend",
        "privacy.request.reject",
        "access.refused",
    ] {
        assert!(actions.contains(a), "{a} not audited: {actions:?}");
    }
}

fn support(id: &str) -> String {
    format!("/api/v1/support/privacy/requests/{id}")
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn a_clinic_files_for_its_patient_and_support_for_a_letter() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let clinic = app.register("owner@clinic.test", "clinic").await;
    let member = app.invite_and_join(&clinic, "member@clinic.test", "member").await;
    let other = app.register("owner@other.test", "clinic").await;
    let body =
        json!({"kind": "erasure", "patient_ref": "PT-88", "clinic_org_id": clinic.org_id, "password": clinic.password});
    let r = file_own(&app, &member, body.clone()).await;
    assert_eq!(r.status(), 403, "owners and admins only");
    let r = file_own(&app, &other, body.clone()).await;
    assert_eq!(r.status(), 404, "another clinic's id is not found");
    let r = file_own(&app, &clinic, json!({"kind": "erasure", "patient_ref": "PT-88"})).await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "clinic_org_id");
    let r = file_own(&app, &clinic, body).await;
    assert_eq!(r.status(), 201);
    let v = json_of(r).await;
    assert_eq!(v["subject"], "patient");
    assert_eq!(v["patient_ref"], "PT-88");
    let id = v["id"].as_str().unwrap();
    // The clinic's managers are the requester: told, and may read it.
    let m = app.mail_to(&clinic.email, "privacy request was received").await;
    assert!(
        !m.text().contains("PT-88"),
        "no patient reference in mail: {}",
        m.text()
    );
    let path = format!("/api/v1/privacy/requests/{id}");
    assert_eq!(app.get_authed(&path, &clinic.token).await.status(), 200);
    assert_eq!(app.get_authed(&path, &member.token).await.status(), 404);

    // A letter: support files it with how the identity was checked; the
    // person is told at the address on file; it starts verified.
    let r = call(
        &app,
        Method::POST,
        "/api/v1/support/privacy/requests",
        &staff,
        Some(json!({"kind": "access", "user_id": member.user_id, "channel": "letter"})),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "identity_check");
    let r = call(
        &app,
        Method::POST,
        "/api/v1/support/privacy/requests",
        &staff,
        Some(json!({"kind": "access", "user_id": member.user_id, "channel": "api", "identity_check": "x"})),
    )
    .await;
    assert_eq!(r.status(), 422, "support files what came outside the platform");
    let r = call(
        &app,
        Method::POST,
        "/api/v1/support/privacy/requests",
        &staff,
        Some(json!({"kind": "access", "user_id": member.user_id, "channel": "letter",
            "identity_check": "Signed letter; called back on the number on file"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("location").is_some());
    let v = json_of(r).await;
    assert_eq!(v["status"], "verified");
    assert_eq!(v["channel"], "letter");
    app.mail_to(&member.email, "privacy request was received").await;
    // Customers may not file for others.
    let r = call(
        &app,
        Method::POST,
        "/api/v1/support/privacy/requests",
        &clinic,
        Some(json!({"kind": "access", "user_id": member.user_id, "channel": "letter", "identity_check": "x"})),
    )
    .await;
    assert_eq!(r.status(), 403);
}

/// Every privacy route × owner, admin, member, another tenant's owner, no
/// session and support: the expected status of each.
#[tokio::test]
async fn every_privacy_route_for_every_kind_of_caller() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let owner = app.register("owner@clinic.test", "clinic").await;
    let admin = app.invite_and_join(&owner, "admin@clinic.test", "admin").await;
    let member = app.invite_and_join(&owner, "member@clinic.test", "member").await;
    let foreign = app.register("owner@foreign.test", "clinic").await;
    let r = file_own(
        &app,
        &owner,
        json!({"kind": "erasure", "patient_ref": "PT-1", "clinic_org_id": owner.org_id, "password": owner.password}),
    )
    .await;
    let req = json_of(r).await["id"].as_str().unwrap().to_owned();
    let org = owner.org_id.clone();
    type Rows = Vec<(Method, &'static str, String, Option<Value>, [u16; 6])>;
    // Expected for: owner, admin, member, foreign owner, anonymous, support.
    let rows: Rows = vec![
        (
            Method::GET,
            "/api/v1/privacy/register",
            "/api/v1/privacy/register".into(),
            None,
            [200, 200, 200, 200, 401, 200],
        ),
        (
            Method::POST,
            "/api/v1/privacy/requests",
            "/api/v1/privacy/requests".into(),
            // `{password}`: each caller's own.
            Some(json!({"kind": "access", "patient_ref": "PT-2", "clinic_org_id": org, "password": "{password}"})),
            [201, 201, 403, 404, 401, 403],
        ),
        (
            Method::GET,
            "/api/v1/privacy/requests/{req}",
            format!("/api/v1/privacy/requests/{req}"),
            None,
            [200, 200, 404, 404, 401, 200],
        ),
        (
            Method::GET,
            "/api/v1/privacy/requests/{req}/report",
            format!("/api/v1/privacy/requests/{req}/report"),
            None,
            [404, 404, 404, 404, 401, 404],
        ),
        (
            Method::GET,
            "/api/v1/support/privacy/requests",
            "/api/v1/support/privacy/requests".into(),
            None,
            [403, 403, 403, 403, 401, 200],
        ),
        (
            Method::POST,
            "/api/v1/support/privacy/requests",
            "/api/v1/support/privacy/requests".into(),
            Some(
                json!({"kind": "access", "user_id": member.user_id, "channel": "email", "identity_check": "Replied from the address on file"}),
            ),
            [403, 403, 403, 403, 401, 201],
        ),
        (
            Method::POST,
            "/api/v1/support/privacy/requests/{req}/extend",
            format!("{}/extend", support(&req)),
            Some(json!({"months": 1, "reason": "Archive retrieval"})),
            [403, 403, 403, 403, 401, 200],
        ),
        (
            Method::POST,
            "/api/v1/support/privacy/requests/{req}/verify",
            format!("{}/verify", support(&req)),
            Some(json!({})),
            [403, 403, 403, 403, 401, 200],
        ),
        (
            Method::POST,
            "/api/v1/support/privacy/requests/{req}/reject",
            format!("{}/reject", support(&req)),
            Some(json!({"reason": "Withdrawn by the clinic"})),
            [403, 403, 403, 403, 401, 200],
        ),
        (
            Method::GET,
            "/api/v1/organizations/{org}/audit",
            format!("/api/v1/organizations/{org}/audit"),
            None,
            [200, 200, 403, 404, 401, 200],
        ),
        (
            Method::POST,
            "/api/v1/support/break-glass",
            "/api/v1/support/break-glass".into(),
            Some(json!({"case": uuid::Uuid::now_v7(), "reason": "Matrix probe", "minutes": 5})),
            [403, 403, 403, 403, 401, 404],
        ),
        (
            Method::POST,
            "/api/v1/support/privacy/requests/{req}/lift",
            format!("{}/lift", support(&req)),
            None,
            [403, 403, 403, 403, 401, 409],
        ),
        (
            Method::POST,
            "/api/v1/support/privacy/requests/{req}/execute",
            format!("{}/execute", support(&req)),
            None,
            [403, 403, 403, 403, 401, 409],
        ),
    ];
    let doc = json_of(app.get("/api/v1/openapi.json").await).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["tags"][0] == "privacy" {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let covered: BTreeSet<String> = rows.iter().map(|r| format!("{} {}", r.0, r.1)).collect();
    assert_eq!(documented, covered, "every privacy route has a row");
    let actors = [
        Some(&owner),
        Some(&admin),
        Some(&member),
        Some(&foreign),
        None,
        Some(&staff),
    ];
    let mut failures = Vec::new();
    for (method, template, path, body, want) in &rows {
        for (i, who) in actors.iter().enumerate() {
            let mut body = body.clone();
            if let (Some(b), Some(a)) = (body.as_mut(), who)
                && b["password"] == "{password}"
            {
                b["password"] = json!(a.password);
            }
            let r = app
                .send(method.clone(), path, who.map(|a| a.token.as_str()), body.as_ref())
                .await;
            let got = r.status().as_u16();
            if got != want[i] {
                failures.push(format!("{method} {template} as #{i}: got {got}, want {}", want[i]));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A restriction blocks each listed use of the patient's cases (submit,
/// quote, download, message: 409 `restricted`) while the data stays
/// readable; lifted, every use works again.
#[tokio::test]
async fn a_restriction_blocks_each_use_until_support_lifts_it() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let lab = app
        .verified_org(&staff, "owner@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let patient = "PT-RESTRICT-5";
    let lab2 = app
        .verified_org(&staff, "owner@lab2.test", "dental_lab", &["crown", "bridge"])
        .await;
    let open = app.submitted_case(&clinic, patient, &[&lab, &lab2]).await;
    // A quote made before the restriction: its revision and its award wait too.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{open}/quotes"),
        &lab2,
        Some(json!({"price": {"amount_minor": 40_000, "currency": "EUR"}, "turnaround_days": 5, "valid_until": dentex_tests::in_days(10)})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let earlier = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = call(
        &app,
        Method::POST,
        "/api/v1/cases",
        &clinic,
        Some(json!({"patient_ref": patient, "rx": {"items": [{"teeth": ["11"], "restoration": "crown", "material": "zirconia", "shade": "A1"}]},
            "due_date": dentex_tests::in_days(20), "consent": {"patient_consent": true}})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let draft = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{draft}/files")))
        .bearer_auth(&clinic.token)
        .body(dentex_tests::cube_stl())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the draft's scan");
    let files = json_of(
        app.get_authed(&format!("/api/v1/cases/{open}/files"), &clinic.token)
            .await,
    )
    .await;
    let file = files["items"][0]["id"].as_str().unwrap().to_owned();
    let threads = json_of(
        app.get_authed(&format!("/api/v1/cases/{open}/threads"), &clinic.token)
            .await,
    )
    .await;
    let thread = threads["items"][0]["id"].as_str().unwrap().to_owned();
    let r = file_own(
        &app,
        &clinic,
        json!({"kind": "restriction", "patient_ref": patient, "clinic_org_id": clinic.org_id, "password": clinic.password}),
    )
    .await;
    let id = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = call(
        &app,
        Method::POST,
        &format!("{}/verify", support(&id)),
        &staff,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = call(&app, Method::POST, &format!("{}/execute", support(&id)), &staff, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["status"], "done");
    app.mail_to(&clinic.email, "Processing restricted").await;

    let quote = json!({"price": {"amount_minor": 40_000, "currency": "EUR"}, "turnaround_days": 5, "valid_until": dentex_tests::in_days(10)});
    let uses = |on: bool| {
        let want = if on { "restricted" } else { "" };
        let (clinic, lab, app) = (&clinic, &lab, &app);
        let (draft, open, file, thread, quote) =
            (draft.clone(), open.clone(), file.clone(), thread.clone(), quote.clone());
        async move {
            let mut got = Vec::new();
            let r = call(
                app,
                Method::POST,
                &format!("/api/v1/cases/{draft}/submit"),
                clinic,
                Some(json!({"target": {"labs": [lab.org_id]}})),
            )
            .await;
            got.push(("submit", r.status().as_u16(), code(r).await));
            let r = call(
                app,
                Method::POST,
                &format!("/api/v1/cases/{open}/quotes"),
                lab,
                Some(quote),
            )
            .await;
            got.push(("quote", r.status().as_u16(), code(r).await));
            for (who, a) in [("clinic download", clinic), ("lab download", lab)] {
                let r = call(
                    app,
                    Method::GET,
                    &format!("/api/v1/cases/{open}/files/{file}/content"),
                    a,
                    None,
                )
                .await;
                got.push((who, r.status().as_u16(), code(r).await));
            }
            let r = call(
                app,
                Method::POST,
                &format!("/api/v1/threads/{thread}/messages"),
                clinic,
                Some(json!({"body": "Shade?"})),
            )
            .await;
            got.push(("message", r.status().as_u16(), code(r).await));
            for (what, status, c) in &got {
                if on {
                    assert_eq!((*status, c.as_str()), (409, want), "{what} while restricted");
                } else {
                    assert!(*status < 400, "{what} after the lift: {status} {c}");
                }
            }
        }
    };
    uses(true).await;
    let r = call(
        &app,
        Method::PUT,
        &format!("/api/v1/quotes/{earlier}"),
        &lab2,
        Some(json!({"price": {"amount_minor": 39_000, "currency": "EUR"}, "turnaround_days": 5, "valid_until": dentex_tests::in_days(10)})),
    )
    .await;
    assert_eq!(
        (r.status().as_u16(), code(r).await.as_str()),
        (409, "restricted"),
        "revise"
    );
    let r = app
        .client
        .post(app.url(&format!("/api/v1/quotes/{earlier}/accept")))
        .bearer_auth(&clinic.token)
        .header("idempotency-key", "restricted-accept")
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), code(r).await.as_str()),
        (409, "restricted"),
        "award"
    );
    // The data stays: the case reads as before.
    let c = json_of(app.get_authed(&format!("/api/v1/cases/{open}"), &clinic.token).await).await;
    assert_eq!(c["patient_ref"], patient);

    let lift = format!("{}/lift", support(&id));
    let r = call(&app, Method::POST, &lift, &clinic, None).await;
    assert_eq!(r.status(), 403);
    let r = call(&app, Method::POST, &lift, &staff, None).await;
    assert_eq!(r.status(), 200);
    assert!(json_of(r).await["lifted_at"].is_string());
    let r = call(&app, Method::POST, &lift, &staff, None).await;
    assert_eq!(r.status(), 409, "lifted once");
    app.mail_to(&clinic.email, "Restriction lifted").await;
    uses(false).await;
}

async fn code(r: reqwest::Response) -> String {
    if r.status().as_u16() < 400 {
        return String::new();
    }
    let v: Value = r.json().await.unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}

/// The organisation's audit trail for its owners and admins: filtered by
/// actor, action and time, keyset-paged newest first; 403 to a member, 404
/// to another tenant; the read itself is audited.
#[tokio::test]
async fn owners_read_their_organisations_audit_trail_by_the_page() {
    let app = app().await;
    let owner = app.register("owner@clinic.test", "clinic").await;
    let admin = app.invite_and_join(&owner, "admin@clinic.test", "admin").await;
    let member = app.invite_and_join(&owner, "member@clinic.test", "member").await;
    let foreign = app.register("owner@foreign.test", "clinic").await;
    let path = format!("/api/v1/organizations/{}/audit", owner.org_id);
    let all = json_of(app.get_authed(&format!("{path}?limit=200"), &owner.token).await).await;
    let items = all["items"].as_array().unwrap();
    assert!(items.len() >= 3, "{all}");
    let seqs: Vec<i64> = items.iter().map(|i| i["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    assert!(
        items
            .iter()
            .all(|i| i["client_addr"].as_str().is_none_or(|a| a.starts_with("ip:")))
    );
    // Filters.
    let by_admin = json_of(
        app.get_authed(&format!("{path}?actor={}", admin.user_id), &owner.token)
            .await,
    )
    .await;
    let by_admin = by_admin["items"].as_array().unwrap();
    assert!(!by_admin.is_empty() && by_admin.iter().all(|i| i["actor_id"] == admin.user_id.as_str()));
    let invites = json_of(app.get_authed(&format!("{path}?action=member."), &admin.token).await).await;
    let invites = invites["items"].as_array().unwrap();
    assert!(
        !invites.is_empty()
            && invites
                .iter()
                .all(|i| i["action"].as_str().unwrap().starts_with("member.")),
        "{invites:?}"
    );
    let later = urlencode(&(chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    let none = json_of(app.get_authed(&format!("{path}?from={later}"), &owner.token).await).await;
    assert_eq!(none["items"], json!([]));
    // Pages: two of one, then the rest, no row twice.
    let p1 = json_of(app.get_authed(&format!("{path}?limit=1"), &owner.token).await).await;
    let cursor = p1["next_cursor"].as_str().unwrap().to_owned();
    let p2 = json_of(
        app.get_authed(&format!("{path}?limit=1&cursor={cursor}"), &owner.token)
            .await,
    )
    .await;
    let (s1, s2) = (
        p1["items"][0]["seq"].as_i64().expect("a row on page one"),
        p2["items"][0]["seq"].as_i64().expect("a row on page two"),
    );
    assert!(s2 < s1, "the next page is older: {s1} then {s2}");
    // Another organisation's rows never show (its owner registered too).
    let all_ids: Vec<&str> = items.iter().filter_map(|i| i["actor_id"].as_str()).collect();
    assert!(
        !all_ids.contains(&foreign.user_id.as_str()),
        "another tenant's rows: {all_ids:?}"
    );
    assert_eq!(
        app.get_authed(&format!("{path}?cursor=nope"), &owner.token)
            .await
            .status(),
        400
    );
    let r = app
        .get_authed(
            &format!("{path}?from={later}&to={}", urlencode(&chrono::Utc::now().to_rfc3339())),
            &owner.token,
        )
        .await;
    assert_eq!(r.status(), 400);
    // Who may read it.
    assert_eq!(app.get_authed(&path, &member.token).await.status(), 403);
    assert_eq!(app.get_authed(&path, &foreign.token).await.status(), 404);
    let unknown = format!("/api/v1/organizations/{}/audit", uuid::Uuid::now_v7());
    assert_eq!(app.get_authed(&unknown, &owner.token).await.status(), 404);
    // The reads are in the trail.
    let again = json_of(app.get_authed(&format!("{path}?action=audit.read"), &owner.token).await).await;
    assert!(again["items"].as_array().unwrap().len() >= 5, "{again}");
}

/// Break-glass: support sees no case until granted; the grant (after a
/// fresh sign-in, with a reason, at most an hour) lets it read the case and
/// its files and nothing more, every read is in the clinic's trail, the
/// clinic's owner is mailed at once, and the grant ends by itself.
#[tokio::test]
async fn break_glass_grants_reads_audits_mails_and_expires() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let case = app.submitted_case(&clinic, "PT-GLASS-2", &[]).await;
    let path = format!("/api/v1/cases/{case}");
    assert_eq!(
        app.get_authed(&path, &staff.token).await.status(),
        404,
        "no grant, no case"
    );
    let bg = "/api/v1/support/break-glass";
    let ask = |minutes: i64, reason: &str| json!({"case": case, "reason": reason, "minutes": minutes});
    for (body, want) in [
        (ask(61, "Clinic reports a corrupt scan"), 422),
        (ask(30, "  "), 422),
        (json!({"case": uuid::Uuid::now_v7(), "reason": "x", "minutes": 5}), 404),
    ] {
        let r = call(&app, Method::POST, bg, &staff, Some(body)).await;
        assert_eq!(r.status(), want);
    }
    let r = call(&app, Method::POST, bg, &clinic, Some(ask(5, "self-service"))).await;
    assert_eq!(r.status(), 403, "support only");
    let stale = app.support_agent("stale@dentex.test").await;
    exec(
        &app,
        "UPDATE sessions SET created_at = ? WHERE user_id = ?",
        vec![
            (chrono::Utc::now() - chrono::Duration::hours(1)).into(),
            uuid::Uuid::parse_str(&stale.user_id).unwrap().into(),
        ],
    )
    .await;
    let r = call(
        &app,
        Method::POST,
        bg,
        &stale,
        Some(ask(5, "Clinic reports a corrupt scan")),
    )
    .await;
    assert_eq!(problem(r).await["code"], "fresh_sign_in_required");

    let r = call(
        &app,
        Method::POST,
        bg,
        &staff,
        Some(ask(30, "Clinic reports a corrupt scan, ticket 8812")),
    )
    .await;
    assert_eq!(r.status(), 200);
    let g = json_of(r).await;
    let (from, to) = (
        chrono::DateTime::parse_from_rfc3339(g["granted_at"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339(g["expires_at"].as_str().unwrap()).unwrap(),
    );
    assert_eq!(to - from, chrono::Duration::minutes(30));
    let m = app.mail_to(&clinic.email, "Support was given access").await;
    assert!(
        m.text().contains(&case) && m.text().contains("ticket 8812"),
        "{}",
        m.text()
    );
    // Reads work; nothing else does.
    let c = json_of(app.get_authed(&path, &staff.token).await).await;
    assert_eq!(c["patient_ref"], "PT-GLASS-2");
    let files = json_of(app.get_authed(&format!("{path}/files"), &staff.token).await).await;
    let file = files["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .get_authed(&format!("{path}/files/{file}/content"), &staff.token)
        .await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let r = call(
        &app,
        Method::PATCH,
        &path,
        &staff,
        Some(json!({"due_date": dentex_tests::in_days(30)})),
    )
    .await;
    assert_eq!(r.status(), 403, "break-glass reads only");
    assert_eq!(
        app.get_authed(&format!("{path}/threads"), &staff.token).await.status(),
        404
    );
    // Every read is in the clinic's trail, by the agent.
    let clinic_org = dentex_domain::OrgId(uuid::Uuid::parse_str(&clinic.org_id).unwrap());
    let rows = app.state.audit.list_for_org(Some(clinic_org), 1000).await.unwrap();
    let by_agent: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.actor_id.map(|a| a.to_string()) == Some(staff.user_id.clone()))
        .map(|r| r.action.as_str())
        .collect();
    for a in ["break_glass.grant", "case.read", "case_file.list"] {
        assert!(by_agent.contains(a), "{a}: {by_agent:?}");
    }
    // The grant ends by itself (the clock moved past it).
    exec(
        &app,
        "UPDATE case_access_grants SET expires_at = ? WHERE case_id = ?",
        vec![
            (chrono::Utc::now() - chrono::Duration::seconds(1)).into(),
            uuid::Uuid::parse_str(&case).unwrap().into(),
        ],
    )
    .await;
    assert_eq!(app.get_authed(&path, &staff.token).await.status(), 404, "expired");
}
