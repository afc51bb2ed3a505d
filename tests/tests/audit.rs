//! The audit trail under concurrent reads (SECURITY.md items 18, 19): every
//! audited answer has its row exactly once, chains verify, and when the batch
//! holding a row fails, no request in it is answered as if it had been read.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

async fn draft(app: &TestApp, clinic: &Actor, reference: &str) -> String {
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": reference})),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// (status, request id) of each of `reads` GETs, all at once.
async fn read_all(app: &TestApp, reads: &[(String, String)]) -> Vec<(u16, String)> {
    let calls = reads.iter().map(|(path, token)| async move {
        let r = app.get_authed(path, token).await;
        let status = r.status().as_u16();
        let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        if status != 200 {
            let p: Value = r.json().await.unwrap();
            assert_eq!(p["code"], "audit_unavailable", "{p}");
        }
        (status, rid)
    });
    futures_util::future::join_all(calls).await
}

/// The audit rows carrying a request id.
async fn rows_of(app: &TestApp, rid: &str) -> Vec<dentex_db::entities::audit_event::Model> {
    dentex_db::entities::audit_event::Entity::find()
        .filter(dentex_db::entities::audit_event::Column::RequestId.eq(rid))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn rows_for(app: &TestApp, rid: &str) -> usize {
    rows_of(app, rid).await.len()
}

async fn assert_chains_intact(app: &TestApp) {
    let report = app.state.audit.verify().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
}

#[tokio::test]
async fn concurrent_reads_each_leave_their_row_once() {
    let app = TestApp::new().await;
    let mut clinics = Vec::new();
    for i in 0..4 {
        let c = app.register(&format!("owner{i}@clinic{i}.example"), "clinic").await;
        let case = draft(&app, &c, &format!("REF-{i}")).await;
        clinics.push((c, case));
    }
    // 64 reads of one case: one chain.
    let (first, case) = &clinics[0];
    let one: Vec<(String, String)> = (0..64)
        .map(|_| (format!("/api/v1/cases/{case}"), first.token.clone()))
        .collect();
    // 64 reads spread over the four clinics: four chains.
    let spread: Vec<(String, String)> = (0..64)
        .map(|i| {
            let (c, case) = &clinics[i % 4];
            (format!("/api/v1/cases/{case}"), c.token.clone())
        })
        .collect();
    for reads in [one, spread] {
        let answers = read_all(&app, &reads).await;
        let mut committed = std::collections::HashSet::new();
        for (status, rid) in &answers {
            assert_eq!(*status, 200);
            let rows = rows_of(&app, rid).await;
            assert_eq!(rows.len(), 1, "request {rid}");
            committed.insert(rows[0].occurred_at);
        }
        // Rows of one batch share their commit's time: 64 reads at once
        // went into fewer than 64 transactions.
        assert!(committed.len() < 64, "{} batches for 64 reads", committed.len());
    }
    assert_chains_intact(&app).await;
}

/// Makes every insert of an audit row whose action is `LIKE pattern` fail,
/// through a trigger named `name`.
async fn inject_failure(app: &TestApp, name: &str, pattern: &str) {
    let sql = if app.is_postgres() {
        vec![
            format!(
                "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN \
                 IF NEW.action LIKE '{pattern}' THEN RAISE EXCEPTION 'injected audit failure'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            format!("CREATE TRIGGER {name} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION {name}()"),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER {name} BEFORE INSERT ON audit_events WHEN NEW.action LIKE '{pattern}' \
             BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END"
        )]
    };
    for s in sql {
        app.state.db.execute_unprepared(&s).await.unwrap();
    }
}

async fn remove_failure(app: &TestApp, name: &str) {
    let sql = if app.is_postgres() {
        format!("DROP TRIGGER {name} ON audit_events")
    } else {
        format!("DROP TRIGGER {name}")
    };
    app.state.db.execute_unprepared(&sql).await.unwrap();
}

#[tokio::test]
async fn a_failed_batch_answers_503_to_every_request_in_it() {
    let app = TestApp::new().await;
    let clinic = app.register("owner@clinic.example", "clinic").await;
    let case = draft(&app, &clinic, "REF-1").await;
    let reads: Vec<(String, String)> = (0..64)
        .map(|i| {
            let path = if i % 2 == 0 {
                format!("/api/v1/cases/{case}")
            } else {
                format!("/api/v1/cases/{case}/files")
            };
            (path, clinic.token.clone())
        })
        .collect();
    // Every batch fails: every request in one gets 503, and none leaves a row.
    inject_failure(&app, "audit_fail_all", "case%").await;
    for (status, rid) in read_all(&app, &reads).await {
        assert_eq!(status, 503, "answered without its row: {rid}");
        assert_eq!(rows_for(&app, &rid).await, 0, "a failed batch leaves nothing: {rid}");
    }
    remove_failure(&app, "audit_fail_all").await;
    // Only case reads fail: a batch that fails is tried again in halves, so
    // the file-list reads that shared it still get their rows and a 200,
    // and the case reads a 503 without a row.
    inject_failure(&app, "audit_fail_reads", "case.read").await;
    let answers = read_all(&app, &reads).await;
    for (i, (status, rid)) in answers.iter().enumerate() {
        let rows = rows_for(&app, rid).await;
        if i % 2 == 0 {
            assert_eq!(*status, 503, "a case read cannot be audited now");
            assert_eq!(rows, 0, "{rid}");
        } else {
            assert_eq!(*status, 200, "a file list read can");
            assert_eq!(rows, 1, "{rid}");
        }
    }
    assert_chains_intact(&app).await;
    // The trail works again at once.
    remove_failure(&app, "audit_fail_reads").await;
    let answers = read_all(&app, &reads).await;
    for (status, rid) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(rows_for(&app, rid).await, 1);
    }
    assert_chains_intact(&app).await;
}

#[tokio::test]
async fn a_change_whose_audit_row_fails_is_not_saved() {
    let app = TestApp::new().await;
    let clinic = app.register("owner@clinic.example", "clinic").await;
    let case = draft(&app, &clinic, "REF-1").await;
    let path = format!("/api/v1/cases/{case}");
    inject_failure(&app, "audit_fail_updates", "case.update").await;
    let r = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&clinic.token),
            Some(&json!({"patient_ref": "REF-2"})),
        )
        .await;
    assert_eq!(r.status(), 503);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "audit_unavailable", "{p}");
    // The change and its row went together: neither is there.
    let now: Value = app.get_authed(&path, &clinic.token).await.json().await.unwrap();
    assert_eq!(now["patient_ref"], "REF-1", "{now}");
    // Nor did a new draft survive without its row.
    inject_failure(&app, "audit_fail_creates", "case.create").await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": "REF-3"})),
        )
        .await;
    assert_eq!(r.status(), 503);
    let list: Value = app
        .get_authed("/api/v1/cases", &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    remove_failure(&app, "audit_fail_updates").await;
    remove_failure(&app, "audit_fail_creates").await;
    let r = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&clinic.token),
            Some(&json!({"patient_ref": "REF-2"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let rows = app
        .state
        .audit
        .list_for_org(Some(dentex_domain::OrgId(clinic.org_id.parse().unwrap())), 100)
        .await
        .unwrap();
    assert_eq!(rows.iter().filter(|r| r.action == "case.update").count(), 1);
    assert_chains_intact(&app).await;
}

#[tokio::test]
async fn changes_of_accounts_and_market_roll_back_with_their_row() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let lab = app
        .verified_org(&staff, "owner@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let case = app.submitted_case(&clinic, "REF-9", &[&lab]).await;
    // Accounts: the lab's profile keeps its name.
    let org = format!("/api/v1/organizations/{}", lab.org_id);
    let before: Value = app.get_authed(&org, &lab.token).await.json().await.unwrap();
    inject_failure(&app, "audit_fail_org", "organization.update").await;
    let r = app
        .send(
            reqwest::Method::PATCH,
            &org,
            Some(&lab.token),
            Some(&json!({"name": "Renamed Lab"})),
        )
        .await;
    assert_eq!(r.status(), 503);
    let after: Value = app.get_authed(&org, &lab.token).await.json().await.unwrap();
    assert_eq!(after["name"], before["name"], "{after}");
    // Market: no quote without its row.
    inject_failure(&app, "audit_fail_quote", "quote.create").await;
    let quote = json!({
        "price": {"amount_minor": 30_000, "currency": "EUR"},
        "turnaround_days": 5,
        "valid_until": dentex_tests::in_days(10),
    });
    let r = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/quotes"),
            Some(&lab.token),
            Some(&quote),
        )
        .await;
    assert_eq!(r.status(), 503);
    let quotes: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/quotes"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(quotes["items"].as_array().map(Vec::len), Some(0), "{quotes}");
    remove_failure(&app, "audit_fail_quote").await;
    remove_failure(&app, "audit_fail_org").await;
    // Then both work, each with its row, naming the lab the person acted for.
    let r = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/quotes"),
            Some(&lab.token),
            Some(&quote),
        )
        .await;
    assert_eq!(r.status(), 201);
    let rows = app
        .state
        .audit
        .list_for_org(Some(dentex_domain::OrgId(clinic.org_id.parse().unwrap())), 500)
        .await
        .unwrap();
    let created: Vec<_> = rows.iter().filter(|r| r.action == "quote.create").collect();
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].acting_org_id.map(|o| o.to_string()),
        Some(lab.org_id.clone())
    );
    assert!(
        rows.iter()
            .all(|r| r.reason.as_deref().is_none_or(|s| !s.starts_with("lab ")))
    );
    assert_chains_intact(&app).await;
}
