//! Professional credentials, support's review and what "verified" unlocks
//! (SECURITY.md items 1, 3, 4, 10, 11, 18).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

fn pdf() -> Vec<u8> {
    let mut v = b"%PDF-1.7\n% scanned licence\n".to_vec();
    v.extend((0..5000u32).map(|i| (i % 251) as u8));
    v.extend_from_slice(b"\n%%EOF\n");
    v
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn submit(app: &TestApp, who: &Actor, kind: &str, days: i64) -> reqwest::Response {
    app.send(
        Method::POST,
        &format!("/api/v1/organizations/{}/credentials", who.org_id),
        Some(&who.token),
        Some(&json!({
            "kind": kind, "number": "DE-12345", "issuing_authority": "Landeszahnärztekammer",
            "country": "DE", "expires_on": in_days(days)
        })),
    )
    .await
}

async fn upload(app: &TestApp, who: &Actor, cred: &str, bytes: Vec<u8>, content_type: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!(
            "/api/v1/organizations/{}/credentials/{cred}/document",
            who.org_id
        )))
        .bearer_auth(&who.token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn verified(app: &TestApp, who: &Actor) -> bool {
    let v: Value = app
        .get_authed(&format!("/api/v1/organizations/{}", who.org_id), &who.token)
        .await
        .json()
        .await
        .unwrap();
    v["verified"].as_bool().unwrap()
}

async fn decide(app: &TestApp, staff: &Actor, cred: &str, decision: &str, reason: &str) -> reqwest::Response {
    app.send(
        Method::POST,
        &format!("/api/v1/support/credentials/{cred}/decision"),
        Some(&staff.token),
        Some(&json!({"decision": decision, "reason": reason})),
    )
    .await
}

/// A clinic with an approved licence.
async fn approved_clinic(app: &TestApp, staff: &Actor, email: &str, days: i64) -> (Actor, String) {
    let owner = app.register(email, "clinic").await;
    let c: Value = submit(app, &owner, "dental_license", days).await.json().await.unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(upload(app, &owner, &id, pdf(), "application/pdf").await.status(), 200);
    assert_eq!(
        decide(app, staff, &id, "approve", "Checked against the chamber's register")
            .await
            .status(),
        200
    );
    (owner, id)
}

#[tokio::test]
async fn a_clinic_is_verified_once_support_approves_its_licence() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.example").await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    assert!(!verified(&app, &owner).await);

    let r = submit(&app, &owner, "dental_license", 700).await;
    assert_eq!(r.status(), 201);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["status"], "pending");
    assert!(c["document"].is_null());
    let id = c["id"].as_str().unwrap().to_owned();

    // The declared type does not matter; the bytes do.
    let doc = pdf();
    let r = upload(&app, &owner, &id, doc.clone(), "application/octet-stream").await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["document"]["content_type"], "application/pdf");
    assert_eq!(c["document"]["size_bytes"], doc.len());
    assert_eq!(c["document"]["sha256"], dentex_storage_sha(&doc));

    // Support sees it in the queue, oldest first, with whether the kind fits.
    let q: Value = app
        .get_authed("/api/v1/support/credentials", &staff.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    assert_eq!(q["items"][0]["id"], id.as_str());
    assert_eq!(q["items"][0]["kind_fits_organization"], true);
    assert_eq!(q["items"][0]["organization_kind"], "clinic");

    // Support reads the document: the same bytes, as an attachment.
    let r = app
        .get_authed(
            &format!("/api/v1/organizations/{}/credentials/{id}/document", owner.org_id),
            &staff.token,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), doc.as_slice());

    let r = decide(&app, &staff, &id, "approve", "Checked against the chamber's register").await;
    assert_eq!(r.status(), 200);
    assert!(verified(&app, &owner).await);
    let mail = app.mail_to(&owner.email, "Credential approved").await;
    assert!(mail.text().contains("Checked against the chamber's register"));

    // Decided once.
    let r = decide(&app, &staff, &id, "reject", "second thoughts").await;
    assert_eq!(problem(r).await["code"], "credential_decided");
    let r = upload(&app, &owner, &id, pdf(), "application/pdf").await;
    assert_eq!(problem(r).await["code"], "credential_decided");

    let rows = app
        .state
        .audit
        .list_for_org(Some(owner.org_id.parse().unwrap()), 100)
        .await
        .unwrap();
    for action in [
        "credential.submit",
        "credential.document_upload",
        "credential.document_read",
        "credential.approve",
    ] {
        assert!(rows.iter().any(|r| r.action == action), "no {action} row");
    }
    let read = rows.iter().find(|r| r.action == "credential.document_read").unwrap();
    assert_eq!(read.actor_kind, "staff");
}

fn dentex_storage_sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn documents_are_checked_by_content_and_size_and_nothing_is_kept_on_refusal() {
    let app = TestApp::builder()
        .config(|c| c.credentials.document_max_bytes = 4096)
        .start()
        .await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    let c: Value = submit(&app, &owner, "dental_license", 365).await.json().await.unwrap();
    let id = c["id"].as_str().unwrap();

    let r = upload(&app, &owner, id, Vec::new(), "application/pdf").await;
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "empty_body");
    let r = upload(
        &app,
        &owner,
        id,
        b"MZ\x90\x00 not a document at all".to_vec(),
        "application/pdf",
    )
    .await;
    assert_eq!(r.status(), 415);
    assert_eq!(problem(r).await["code"], "unsupported_media_type");
    let r = upload(&app, &owner, id, pdf(), "application/pdf").await; // 5 KB > 4 KB
    assert_eq!(r.status(), 413);
    assert_eq!(problem(r).await["code"], "payload_too_large");
    let list: Value = app
        .get_authed(
            &format!("/api/v1/organizations/{}/credentials", owner.org_id),
            &owner.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"][0]["document"].is_null(), "no document recorded");
    use sea_orm::EntityTrait;
    let row = dentex_db::entities::credential::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.document_key, None, "no object recorded");

    // A small PNG is fine.
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend_from_slice(&[0u8; 100]);
    let r = upload(&app, &owner, id, png.clone(), "image/png").await;
    assert_eq!(r.status(), 200);
    let key = |app: &TestApp| {
        let id = id.to_owned();
        let db = app.state.db.clone();
        async move {
            dentex_db::entities::credential::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap())
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .document_key
                .unwrap()
        }
    };
    let first = key(&app).await;
    // Keys are built from ids only.
    assert!(
        first.starts_with(&format!("eu/{}/credentials/{id}/", owner.org_id)),
        "{first}"
    );
    assert!(app.state.store.head(&first).await.unwrap().is_some());
    // Replacing the document of a pending credential removes the old object.
    assert_eq!(upload(&app, &owner, id, png, "image/png").await.status(), 200);
    let second = key(&app).await;
    assert_ne!(first, second);
    assert!(app.state.store.head(&second).await.unwrap().is_some());
    assert_eq!(app.state.store.head(&first).await.unwrap(), None);
}

#[tokio::test]
async fn who_may_touch_credentials() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.example").await;
    let owner = app.register("owner@clinic.example", "clinic").await;
    let member = app.invite_and_join(&owner, "assistant@clinic.example", "member").await;
    let foreign = app.register("owner@lab.example", "dental_lab").await;
    let c: Value = submit(&app, &owner, "dental_license", 365).await.json().await.unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(upload(&app, &owner, &id, pdf(), "application/pdf").await.status(), 200);
    let list = format!("/api/v1/organizations/{}/credentials", owner.org_id);
    let doc = format!("{list}/{id}/document");

    assert_eq!(app.get_authed(&list, &member.token).await.status(), 200);
    assert_eq!(submit(&app, &member, "dental_license", 365).await.status(), 403);
    assert_eq!(app.get_authed(&doc, &member.token).await.status(), 403);
    assert_eq!(app.get_authed(&list, &foreign.token).await.status(), 404);
    assert_eq!(app.get_authed(&doc, &foreign.token).await.status(), 404);
    let mut as_foreign = foreign.clone();
    as_foreign.org_id = owner.org_id.clone();
    assert_eq!(submit(&app, &as_foreign, "lab_registration", 365).await.status(), 404);
    assert_eq!(
        upload(&app, &as_foreign, &id, pdf(), "application/pdf").await.status(),
        404
    );
    // Organisation members are not support.
    assert_eq!(
        app.get_authed("/api/v1/support/credentials", &owner.token)
            .await
            .status(),
        403
    );
    assert_eq!(
        decide(&app, &owner, &id, "approve", "looks fine to me").await.status(),
        403
    );
    // Support does not submit on anyone's behalf.
    let mut as_staff = staff.clone();
    as_staff.org_id = owner.org_id.clone();
    assert_eq!(submit(&app, &as_staff, "dental_license", 365).await.status(), 403);
    // Refused document reads are audited too.
    let rows = app
        .state
        .audit
        .list_for_org(Some(owner.org_id.parse().unwrap()), 100)
        .await
        .unwrap();
    assert!(rows.iter().any(|r| r.action == "access.refused"
        && r.outcome == "denied"
        && r.actor_id == Some(member.user_id.parse().unwrap())));
    // Support's reads are on the record of the organisation they looked at.
    assert_eq!(app.get_authed(&list, &staff.token).await.status(), 200);
    let rows = app
        .state
        .audit
        .list_for_org(Some(owner.org_id.parse().unwrap()), 100)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.action == "support.access" && r.actor_kind == "staff")
    );
    // A foreign owner's probe is recorded in the prober's own trail, not the clinic's.
    let foreign_rows = app
        .state
        .audit
        .list_for_org(Some(foreign.org_id.parse().unwrap()), 100)
        .await
        .unwrap();
    assert!(
        foreign_rows
            .iter()
            .any(|r| r.action == "access.refused" && r.resource_id.as_deref() == Some(owner.org_id.as_str()))
    );
}

#[tokio::test]
async fn decisions_need_a_reason_and_approval_needs_the_document() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.example").await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    let c: Value = submit(&app, &owner, "dental_license", 365).await.json().await.unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    let r = decide(&app, &staff, &id, "approve", "").await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "reason");
    let r = decide(&app, &staff, &id, "maybe", "hmm, let me think").await;
    assert_eq!(problem(r).await["errors"][0]["field"], "decision");
    let r = decide(&app, &staff, &id, "approve", "looks complete").await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "document_missing");
    let r = decide(&app, &staff, &id, "reject", "Please upload the scanned licence").await;
    assert_eq!(r.status(), 200);
    assert!(!verified(&app, &owner).await);
    app.mail_to(&owner.email, "Credential not approved").await;
    let r = decide(
        &app,
        &staff,
        &uuid::Uuid::now_v7().to_string(),
        "reject",
        "no such thing",
    )
    .await;
    assert_eq!(r.status(), 404);
    // Bad input names the field and keeps nothing.
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/organizations/{}/credentials", owner.org_id),
            Some(&owner.token),
            Some(&json!({"kind": "diploma", "number": "", "issuing_authority": "x", "country": "QQ", "expires_on": "2020-01-01"})),
        )
        .await;
    let p = problem(r).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["kind", "number", "country", "expires_on"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[tokio::test]
async fn only_fitting_credentials_verify_and_only_verified_labs_are_listed() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.example").await;
    let clinic = app.register("ada@clinic.example", "clinic").await;
    let good = app.register("good@lab.example", "dental_lab").await;
    let odd = app.register("odd@lab.example", "dental_lab").await;
    let unverified = app.register("new@lab.example", "manufacturing_lab").await;
    for (lab, kind) in [(&good, "lab_registration"), (&odd, "dental_license")] {
        let c: Value = submit(&app, lab, kind, 365).await.json().await.unwrap();
        let id = c["id"].as_str().unwrap();
        upload(&app, lab, id, pdf(), "application/pdf").await;
        assert_eq!(
            decide(&app, &staff, id, "approve", "register checked").await.status(),
            200
        );
    }
    assert!(verified(&app, &good).await);
    assert!(!verified(&app, &odd).await, "a dentist's licence does not verify a lab");

    let profile = json!({"services": ["crown", "bridge"], "service_countries": ["DE", "at"]});
    for lab in [&good, &odd, &unverified] {
        let r = app
            .send(
                Method::PATCH,
                &format!("/api/v1/organizations/{}", lab.org_id),
                Some(&lab.token),
                Some(&profile),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/organizations/{}", good.org_id),
            Some(&good.token),
            Some(&json!({"services": ["crown", "teleportation"]})),
        )
        .await;
    assert_eq!(problem(r).await["errors"][0]["field"], "services[1]");
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/organizations/{}", clinic.org_id),
            Some(&clinic.token),
            Some(&json!({"services": ["crown"]})),
        )
        .await;
    assert_eq!(problem(r).await["errors"][0]["code"], "labs_only");

    let names = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = names(
        app.get_authed("/api/v1/labs", &clinic.token)
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(all, vec![good.org_id.clone()]);
    let crowns = names(
        app.get_authed("/api/v1/labs?service=crown&country=AT", &clinic.token)
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(crowns, vec![good.org_id.clone()]);
    assert!(
        names(
            app.get_authed("/api/v1/labs?service=aligner", &clinic.token)
                .await
                .json()
                .await
                .unwrap()
        )
        .is_empty()
    );
    assert!(
        names(
            app.get_authed("/api/v1/labs?country=FR", &clinic.token)
                .await
                .json()
                .await
                .unwrap()
        )
        .is_empty()
    );
    // An unknown filter value is 422 naming it.
    let r = app.get_authed("/api/v1/labs?country=Atlantis", &clinic.token).await;
    assert_eq!(r.status(), 422);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["field"], "country");
    assert_eq!(app.get("/api/v1/labs").await.status(), 401);
    // A lab that stops taking work leaves the list.
    app.send(
        Method::PATCH,
        &format!("/api/v1/organizations/{}", good.org_id),
        Some(&good.token),
        Some(&json!({"accepts_new_work": false})),
    )
    .await;
    assert!(
        names(
            app.get_authed("/api/v1/labs", &clinic.token)
                .await
                .json()
                .await
                .unwrap()
        )
        .is_empty()
    );
}

#[tokio::test]
async fn the_daily_sweep_warns_once_then_unverifies_at_expiry() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.example").await;
    let (owner, _id) = approved_clinic(&app, &staff, "ada@clinic.example", 10).await;
    assert!(verified(&app, &owner).await);
    let today = chrono::Utc::now().date_naive();

    let r = dentex_accounts::sweep::run(&app.state.db, today, 30).await.unwrap();
    assert_eq!(r.notices_sent, 1);
    let mail = app.mail_to(&owner.email, "expires on").await;
    assert!(mail.text().contains(&in_days(10)));
    let r = dentex_accounts::sweep::run(&app.state.db, today, 30).await.unwrap();
    assert_eq!(r.notices_sent, 0, "warned once");

    // Eleven days later the credential has expired.
    let later = today + chrono::Duration::days(11);
    let r = dentex_accounts::sweep::run(&app.state.db, later, 30).await.unwrap();
    assert_eq!(r.expired, 1);
    assert!(!verified(&app, &owner).await);
    let mail = app.mail_to(&owner.email, "has expired").await;
    assert!(mail.text().contains("no longer verified"));
    let rows = app
        .state
        .audit
        .list_for_org(Some(owner.org_id.parse().unwrap()), 100)
        .await
        .unwrap();
    assert!(rows.iter().any(|r| r.action == "credential.expire"));
    // Running it again changes nothing.
    let r = dentex_accounts::sweep::run(&app.state.db, later, 30).await.unwrap();
    assert_eq!(r, dentex_accounts::sweep::SweepReport::default());
}

#[tokio::test]
async fn the_sweep_is_scheduled_as_a_job() {
    let app = TestApp::new().await;
    let mut found = false;
    for _ in 0..100 {
        let jobs = app.state.queue.list(Some("queued"), 100).await.unwrap();
        if let Some(j) = jobs.iter().find(|j| j.kind == dentex_accounts::sweep::JOB_KIND) {
            assert!(j.run_at > chrono::Utc::now(), "scheduled for a future hour");
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(found, "the daily sweep is queued at start");
}
