//! The accounting of disclosures (issue #17, HIPAA §164.528), over HTTP on
//! both databases: the clinic sees which organisations received a case's
//! data, when and for what; a lab that never had it is not named; nobody
//! else may ask.

#![allow(clippy::expect_used, reason = "a test fails loudly at the first surprise")]

use dentex_tests::TestApp;
use serde_json::Value;

#[tokio::test]
async fn the_clinic_sees_who_received_a_case_and_what_they_did() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let a = app
        .verified_org(&staff, "a@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let b = app
        .verified_org(&staff, "b@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let case = app.submitted_case(&clinic, "PT-4471", &[&a]).await;
    // Lab A reads the case twice; lab B was never sent it (404 for it).
    for _ in 0..2 {
        assert_eq!(
            app.get_authed(&format!("/api/v1/cases/{case}"), &a.token)
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        app.get_authed(&format!("/api/v1/cases/{case}"), &b.token)
            .await
            .status(),
        404
    );
    let path = format!("/api/v1/cases/{case}/disclosures");
    let r = app.get_authed(&path, &clinic.token).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "only the lab that received it: {v}");
    let d = &items[0];
    assert_eq!(d["organization"]["id"], a.org_id.as_str());
    assert!(d["organization"]["name"].is_string());
    assert!(d["sent_at"].is_string(), "{d}");
    assert_eq!(d["awarded"], false);
    assert_eq!(d["accesses"], 2);
    assert_eq!(d["actions"], serde_json::json!(["case.read"]));
    assert!(d["first_access_at"].as_str() <= d["last_access_at"].as_str());
    // The labs may not ask, another clinic gets 404.
    assert_eq!(app.get_authed(&path, &a.token).await.status(), 403);
    let other = app.verified_org(&staff, "other@clinic.test", "clinic", &[]).await;
    assert_eq!(app.get_authed(&path, &other.token).await.status(), 404);
}
