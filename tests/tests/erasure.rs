//! Erasure, proven by search (issue #17), on both databases: recognisable
//! values are planted through the API (a patient reference, a file name
//! and the patient's name in the scan's header, message text, a client
//! address; a person's name and e-mail address), the erasure runs, and
//! then every table and column (as text), every object in the store and
//! the captured logs are searched: nothing planted is left. The audit
//! trail still verifies; the labs that had the case are told; an erasure
//! that would leave an organisation without its owner waits, with the
//! reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, captured_logs, cube_stl, in_days};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};
use std::time::Duration;

async fn app() -> TestApp {
    TestApp::builder()
        .config(|c| {
            c.http.client_ip_header = Some("x-forwarded-for".into());
            c.privacy.support_email = Some("privacy-desk@dentex.test".into());
        })
        .start()
        .await
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("JSON")
}

/// A request from `ip` (through the trusted proxy header).
async fn from(app: &TestApp, ip: &str, m: Method, path: &str, who: &Actor, body: Option<Value>) -> reqwest::Response {
    let mut rb = app
        .client
        .request(m, app.url(path))
        .bearer_auth(&who.token)
        .header("x-forwarded-for", ip);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    rb.send().await.expect("request")
}

/// Every row of every table, as text (`table: row`).
async fn every_row(app: &TestApp) -> Vec<String> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let q = |sql: String| Statement::from_string(backend, sql);
    let tables: Vec<String> = if backend == DatabaseBackend::Postgres {
        db.query_all_raw(q(
            "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema()"
                .into(),
        ))
        .await
        .unwrap()
    } else {
        db.query_all_raw(q(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'".into(),
        ))
        .await
        .unwrap()
    }
    .iter()
    .map(|r| r.try_get::<String>("", "name").unwrap())
    .collect();
    assert!(tables.len() > 30, "the whole schema: {tables:?}");
    let mut out = Vec::new();
    for t in tables {
        let sql = if backend == DatabaseBackend::Postgres {
            format!("SELECT CAST(t AS text) AS row FROM \"{t}\" t")
        } else {
            let cols: Vec<String> = db
                .query_all_raw(q(format!("PRAGMA table_info(\"{t}\")")))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String>("", "name").unwrap())
                .collect();
            let joined = cols
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            format!("SELECT {joined} AS row FROM \"{t}\"")
        };
        for r in db.query_all_raw(q(sql)).await.unwrap() {
            out.push(format!("{t}: {}", r.try_get::<String>("", "row").unwrap()));
        }
    }
    out
}

/// Every object in the store, with its bytes.
async fn every_object(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for o in app.state.store.list_all().await.unwrap() {
        let body = app.state.store.get_stream(&o.key).await.unwrap();
        out.push((o.key, body.collect().await.unwrap().into_bytes().to_vec()));
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Where each of `planted` is still found: rows, objects, log lines.
async fn traces(app: &TestApp, planted: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for row in every_row(app).await {
        for p in planted {
            if contains(row.as_bytes(), p) {
                found.push(format!("{p:?} in {row}"));
            }
        }
    }
    for (key, bytes) in every_object(app).await {
        for p in planted {
            if contains(&bytes, p) {
                found.push(format!("{p:?} in object {key}"));
            }
        }
    }
    for line in captured_logs().lines() {
        for p in planted {
            if contains(line.as_bytes(), p) {
                found.push(format!("{p:?} in log line {line}"));
            }
        }
    }
    found
}

fn support(id: &str, step: &str) -> String {
    format!("/api/v1/support/privacy/requests/{id}/{step}")
}

/// Support verifies and executes request `id`, then waits for it to end
/// (done or held); answers the request as it then is.
async fn carry_out(app: &TestApp, staff: &Actor, id: &str, verify: bool) -> Value {
    if verify {
        let r = app
            .send(
                Method::POST,
                &support(id, "verify"),
                Some(&staff.token),
                Some(&json!({})),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let r = app
        .send(Method::POST, &support(id, "execute"), Some(&staff.token), None)
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(json_of(r).await["status"], "running");
    for _ in 0..400 {
        let v = json_of(
            app.get_authed(&format!("/api/v1/privacy/requests/{id}"), &staff.token)
                .await,
        )
        .await;
        if v["status"] == "done" || v["status"] == "held" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("request {id} did not end");
}

const PATIENT: &str = "Plant-Pat-93017";
const FILE: &str = "plantjaw93017.stl";
const MESSAGE: &str = "planted bite note 93017";
const IP: &str = "203.0.113.77";
const QUOTE_NOTE: &str = "planted quote note 93017";

#[tokio::test]
async fn a_patients_erasure_leaves_nothing_planted_anywhere() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let lab = app
        .verified_org(&staff, "owner@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    // Planted through the API, from a known address.
    let body = json!({
        "patient_ref": PATIENT,
        "rx": {"items": [{"teeth": ["11"], "restoration": "crown", "material": "zirconia", "shade": "A1"}]},
        "due_date": in_days(20),
        "consent": {"patient_consent": true}
    });
    let r = from(&app, IP, Method::POST, "/api/v1/cases", &clinic, Some(body)).await;
    assert_eq!(r.status(), 201);
    let case = json_of(r).await["id"].as_str().unwrap().to_owned();
    // Scanners write the patient's name in an STL's header.
    let mut stl = cube_stl();
    stl[..PATIENT.len()].copy_from_slice(PATIENT.as_bytes());
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
        .bearer_auth(&clinic.token)
        .header("x-forwarded-for", IP)
        .header("x-file-name", FILE)
        .body(stl)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = from(
        &app,
        IP,
        Method::POST,
        &format!("/api/v1/cases/{case}/submit"),
        &clinic,
        Some(json!({"target": {"labs": [lab.org_id]}})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        from(&app, IP, Method::GET, &format!("/api/v1/cases/{case}"), &lab, None)
            .await
            .status(),
        200
    );
    // The lab's quote, with notes about the patient in it and its line item.
    let r = from(
        &app,
        IP,
        Method::POST,
        &format!("/api/v1/cases/{case}/quotes"),
        &lab,
        Some(
            json!({"price": {"amount_minor": 30_000, "currency": "EUR"}, "turnaround_days": 5,
            "valid_until": in_days(10), "notes": QUOTE_NOTE,
            "line_items": [{"item": 0, "amount_minor": 30_000, "notes": QUOTE_NOTE}]}),
        ),
    )
    .await;
    assert_eq!(r.status(), 201);
    let threads = json_of(
        app.get_authed(&format!("/api/v1/cases/{case}/threads"), &clinic.token)
            .await,
    )
    .await;
    let thread = threads["items"][0]["id"].as_str().unwrap().to_owned();
    let r = from(
        &app,
        IP,
        Method::POST,
        &format!("/api/v1/threads/{thread}/messages"),
        &clinic,
        Some(json!({"body": MESSAGE})),
    )
    .await;
    assert_eq!(r.status(), 201);
    // Before: each planted value is where it was put; the address never
    // is (it is stored as a keyed pseudonym from the start).
    let before = traces(&app, &[PATIENT, FILE, MESSAGE, IP, QUOTE_NOTE]).await;
    for (p, place) in [
        (PATIENT, "cases: "),
        (FILE, "case_files: "),
        (MESSAGE, "chat_messages: "),
        (PATIENT, "in object "),
        (QUOTE_NOTE, "quotes: "),
        (QUOTE_NOTE, "quote_versions: "),
    ] {
        assert!(
            before
                .iter()
                .any(|t| t.starts_with(&format!("{p:?}")) && t.contains(place)),
            "{p} should be in {place} before the erasure: {before:#?}"
        );
    }
    assert!(!before.iter().any(|t| t.starts_with(&format!("{IP:?}"))), "{before:#?}");
    let audit = app.state.audit.list_for_org(None, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.client_addr.as_deref().is_some_and(|a| a.starts_with("ip:")))
    );

    // The clinic asks; support carries it out.
    let r = app
        .send(
            Method::POST,
            "/api/v1/privacy/requests",
            Some(&clinic.token),
            Some(&json!({"kind": "erasure", "patient_ref": PATIENT, "clinic_org_id": clinic.org_id, "password": clinic.password})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = json_of(r).await["id"].as_str().unwrap().to_owned();
    let done = carry_out(&app, &staff, &id, true).await;
    assert_eq!(done["status"], "done", "{done}");
    let report = &done["report"];
    let count = |target: &str, action: &str| {
        report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == target && t["action"] == action)
            .map(|t| t["count"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("no {target} {action} in {report}"))
    };
    assert_eq!(count("cases", "pseudonymised"), 1);
    assert_eq!(count("case_files", "removed"), 1);
    // The clinic's message and the thread's note of the quote.
    assert_eq!(count("chat_messages", "redacted"), 2);
    assert_eq!(count("quotes.line_items", "cleared"), 2, "the quote and its version");
    assert!(count("{region}/{clinic}/{case}/{file}", "removed") >= 1);
    assert_eq!(report["notified"], json!([lab.org_id]));
    assert!(
        report["kept"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["target"] == "audit_events")
    );
    assert!(report["backups_expire_at"].is_string());
    let pseudonym = done["patient_ref"].as_str().unwrap();
    assert!(pseudonym.starts_with("erased-"), "{pseudonym}");
    // The readable report; the lab is told, with the case id only.
    let r = app
        .get_authed(&format!("/api/v1/privacy/requests/{id}/report"), &clinic.token)
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Erasure report"));
    let m = app.mail_to(&lab.email, "Patient data erased").await;
    assert!(m.text().contains(&case) && !m.text().contains(PATIENT), "{}", m.text());
    app.mail_to(&clinic.email, "Erasure done").await;

    // After: nothing planted anywhere, and the trail still verifies.
    let after = traces(&app, &[PATIENT, FILE, MESSAGE, IP, QUOTE_NOTE]).await;
    assert!(after.is_empty(), "left after the erasure: {after:#?}");
    let v = app.state.audit.verify().await.unwrap();
    assert!(v.broken.is_empty() && v.rows > 0, "{v:?}");
    // The case stays for the clinic's records, with the pseudonym, no files.
    let c = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &clinic.token).await).await;
    assert_eq!(c["patient_ref"], pseudonym);
    // A retry of a finished erasure changes nothing.
    let r = app
        .send(Method::POST, &support(&id, "execute"), Some(&staff.token), None)
        .await;
    assert_eq!(r.status(), 409);
}

const NAME: &str = "Zelda Plantname";
/// Mixed case and an underscore: mail is queued to the address as typed,
/// and `_` is a LIKE wildcard; the erasure must find it exactly, on both
/// databases.
const EMAIL: &str = "Zelda.Plant_5521@Clinic.test";
/// As mail is addressed (the domain lower-cased, the local part as typed).
const EMAIL_SENT: &str = "Zelda.Plant_5521@clinic.test";
const PERSON_IP: &str = "198.51.100.23";

#[tokio::test]
async fn a_persons_erasure_leaves_nothing_planted_and_the_last_owner_waits() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let owner = app.register("owner@clinic.test", "clinic").await;
    // The person joins by invitation under a planted name.
    let r = from(
        &app,
        PERSON_IP,
        Method::POST,
        &format!("/api/v1/organizations/{}/invitations", owner.org_id),
        &owner,
        Some(json!({"email": EMAIL, "role": "member"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let mail = app.mail_to(EMAIL_SENT, "You are invited").await;
    // Someone else, whose address differs only where the person's has `_`
    // (a LIKE wildcard): their mail must stay.
    let near = "Zelda.PlantX5521@clinic.test";
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/organizations/{}/invitations", owner.org_id),
            Some(&owner.token),
            Some(&json!({"email": near, "role": "member"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.mail_to(near, "You are invited").await;
    let password = "zelda's long passphrase 2026";
    let r = app
        .client
        .post(app.url("/api/v1/invitations/accept"))
        .header("x-forwarded-for", PERSON_IP)
        .json(&json!({"token": dentex_tests::token_in(&mail), "password": password, "display_name": NAME}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", PERSON_IP)
        .json(&json!({"email": EMAIL, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = json_of(r).await["token"].as_str().unwrap().to_owned();
    let zelda = Actor {
        email: EMAIL.into(),
        password: password.into(),
        token: token.clone(),
        user_id: String::new(),
        org_id: owner.org_id.clone(),
    };
    let before = traces(&app, &[NAME, EMAIL, PERSON_IP]).await;
    assert!(before.iter().any(|t| t.contains("users: ")), "{before:#?}");
    assert!(
        !before.iter().any(|t| t.starts_with(&format!("{PERSON_IP:?}"))),
        "{before:#?}"
    );

    // The clinic's only owner asks to be erased: it waits, with the reason.
    let r = app
        .send(
            Method::POST,
            "/api/v1/privacy/requests",
            Some(&owner.token),
            Some(&json!({"kind": "erasure", "password": owner.password})),
        )
        .await;
    let held_id = json_of(r).await["id"].as_str().unwrap().to_owned();
    let held = carry_out(&app, &staff, &held_id, true).await;
    assert_eq!(held["status"], "held");
    assert!(held["hold_reason"].as_str().unwrap().contains(&owner.org_id), "{held}");
    app.mail_to(&owner.email, "waits").await;
    assert_eq!(
        app.get_authed("/api/v1/me", &owner.token).await.status(),
        200,
        "nothing was erased"
    );

    // The person asks for themself, from their address.
    let r = from(
        &app,
        PERSON_IP,
        Method::POST,
        "/api/v1/privacy/requests",
        &zelda,
        Some(json!({"kind": "erasure", "password": password})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let id = json_of(r).await["id"].as_str().unwrap().to_owned();
    let done = carry_out(&app, &staff, &id, true).await;
    assert_eq!(done["status"], "done", "{done}");
    let targets = done["report"]["targets"].as_array().unwrap();
    assert!(
        targets.iter().any(|t| t["target"] == "users" && t["count"] == 1),
        "{targets:?}"
    );
    assert!(
        targets
            .iter()
            .any(|t| t["target"] == "sessions" && t["count"].as_u64() >= Some(1))
    );
    // Signed out everywhere, and no one can sign in as them.
    assert_eq!(app.get_authed("/api/v1/me", &token).await.status(), 401);
    let r = app
        .post_json("/api/v1/auth/login", &json!({"email": EMAIL, "password": password}))
        .await;
    assert_eq!(r.status(), 401);
    // Told at the old address, by a mail that waits in no queue.
    app.mail_to(&EMAIL.to_lowercase(), "Your account was erased").await;

    let after = traces(&app, &[NAME, EMAIL, PERSON_IP]).await;
    assert!(after.is_empty(), "left after the erasure: {after:#?}");
    assert!(
        every_row(&app)
            .await
            .iter()
            .any(|r| r.starts_with("jobs: ") && r.contains(near)),
        "the near-miss address's mail was kept"
    );
    let v = app.state.audit.verify().await.unwrap();
    assert!(v.broken.is_empty(), "{v:?}");
}

/// An erasure that would break an open order waits, with the order named,
/// and runs on the daily look once the order is over.
#[tokio::test]
async fn an_erasure_waits_for_an_open_order_then_runs() {
    let app = app().await;
    let staff = app.support_agent("agent@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let lab = app
        .verified_org(&staff, "owner@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let case = app.submitted_case(&clinic, "PT-HOLD-4410", &[&lab]).await;
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/cases/{case}/quotes"),
            Some(&lab.token),
            Some(&json!({"price": {"amount_minor": 50_000, "currency": "EUR"}, "turnaround_days": 5, "valid_until": in_days(10)})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let quote = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/quotes/{quote}/accept")))
        .bearer_auth(&clinic.token)
        .header("idempotency-key", "erasure-hold-accept")
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let order = json_of(r).await["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            Method::POST,
            "/api/v1/privacy/requests",
            Some(&clinic.token),
            Some(&json!({"kind": "erasure", "patient_ref": "PT-HOLD-4410", "clinic_org_id": clinic.org_id, "password": clinic.password})),
        )
        .await;
    let id = json_of(r).await["id"].as_str().unwrap().to_owned();
    let held = carry_out(&app, &staff, &id, true).await;
    assert_eq!(held["status"], "held");
    assert!(held["hold_reason"].as_str().unwrap().contains(&order), "{held}");
    let c = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &clinic.token).await).await;
    assert_eq!(c["patient_ref"], "PT-HOLD-4410", "nothing erased while held");
    // The order ends; the daily look runs the erasure.
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/orders/{order}/transitions"),
            Some(&clinic.token),
            Some(&json!({"to": "canceled", "reason": "patient moved away"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.state
        .queue
        .enqueue(dentex_privacy::service::deadlines::JOB, &json!({}), Default::default())
        .await
        .unwrap();
    for _ in 0..400 {
        let v = json_of(
            app.get_authed(&format!("/api/v1/privacy/requests/{id}"), &staff.token)
                .await,
        )
        .await;
        if v["status"] == "done" {
            let c = json_of(app.get_authed(&format!("/api/v1/cases/{case}"), &clinic.token).await).await;
            assert_eq!(c["patient_ref"], v["patient_ref"]);
            assert!(traces(&app, &["PT-HOLD-4410", "patient moved away"]).await.is_empty());
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the held erasure did not run");
}
