//! Cases, prescriptions and files over real HTTP (issue #5; SECURITY.md
//! items 1–3, 9–11, 13, 14, 18 and 20), one rule a test: a clinic drafts,
//! uploads and submits; a named lab and a lab the open case reaches read it;
//! everyone else gets 404; uploads are typed from their bytes and bounded
//! while streaming. The worlds the rules start from are built by
//! `dentex_tests::setup::cases`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::setup::call;
use dentex_tests::setup::cases::{
    CaseWorld, PLANTED_FILE, PLANTED_REF, Ready, analysed, draft, draft_body, fetch_redirected, fixture, list_objects,
    objects_in, universal_rx_body, upload,
};
use dentex_tests::{Actor, TestApp, captured_logs, cube_stl, in_days, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// A draft keeps the patient reference and the consent, and is not submitted while fields are missing.
#[tokio::test]
async fn an_incomplete_draft_is_refused_at_submission_naming_each_missing_field() {
    let w = CaseWorld::new().await;
    // The crown has no shade yet, there is no scan.
    let case = draft(&w.app, &w.clinic).await;
    let v: Value = w
        .app
        .get_authed(&format!("/api/v1/cases/{case}"), &w.clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "draft");
    assert_eq!(v["patient_ref"], PLANTED_REF);
    assert_eq!(v["consent"]["statement_version"], "2026-11");
    let r = w.submit_to_named(&case).await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["rx.items[0].shade", "files"], "{p}");
    w.app.stop().await;
}

/// An Rx in Universal tooth numbers is stored and answered in FDI, its shade normalised.
#[tokio::test]
async fn universal_tooth_numbers_come_back_as_fdi() {
    let w = CaseWorld::new().await;
    let case = draft(&w.app, &w.clinic).await;
    let path = format!("/api/v1/cases/{case}");
    let r = call(&w.app, Method::PATCH, &path, &w.clinic, Some(universal_rx_body())).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rx"]["items"][0]["teeth"], json!(["11"]));
    assert_eq!(v["rx"]["items"][0]["shade"], "A2");
    assert_eq!(v["rx"]["items"][1]["teeth"], json!(["14", "15", "16"]));
    w.app.stop().await;
}

/// A scan is typed from its bytes, analysed by the job and given a thumbnail.
#[tokio::test]
async fn a_scan_is_analysed_by_the_job_and_gets_a_thumbnail() {
    let w = CaseWorld::new().await;
    let (app, clinic) = (&w.app, &w.clinic);
    let case = draft(app, clinic).await;
    w.fix_rx(&case).await;
    let r = upload(app, clinic, &case, cube_stl(), PLANTED_FILE).await;
    assert_eq!(r.status(), 201);
    let scan: Value = r.json().await.unwrap();
    assert_eq!(
        (scan["kind"].as_str(), scan["format"].as_str()),
        (Some("scan"), Some("stl_binary"))
    );
    assert_eq!(scan["name"], PLANTED_FILE);
    assert_eq!(scan["size_bytes"], 84 + 12 * 50);
    let scan_id = scan["id"].as_str().unwrap().to_owned();
    let done = analysed(app, clinic, &case, &scan_id).await;
    assert_eq!(done["analysis_status"], "done", "{done}");
    assert_eq!(done["analysis"]["triangles"], 12);
    assert_eq!(done["analysis"]["watertight"], true);
    assert!((done["analysis"]["volume"].as_f64().unwrap() - 1000.0).abs() < 1e-6);
    let thumbnail = format!("/api/v1/cases/{case}/files/{scan_id}/thumbnail.png");
    let png = fetch_redirected(app, clinic, &thumbnail).await;
    assert!(png.starts_with(b"\x89PNG"));
    // The list carries each scan's summary and its addresses, so a client
    // need not fetch every file.
    let r = app
        .get_authed(&format!("/api/v1/cases/{case}/files"), &clinic.token)
        .await;
    let list: Value = r.json().await.unwrap();
    let listed = &list["items"][0];
    assert_eq!(listed["summary"]["triangles"], 12, "{list}");
    assert_eq!(listed["summary"]["watertight"], true);
    assert_eq!(listed["summary"]["units"], "millimeters");
    assert_eq!(
        listed["summary"]["bbox_max"][0].as_f64().unwrap() - listed["summary"]["bbox_min"][0].as_f64().unwrap(),
        10.0
    );
    assert_eq!(
        listed["content_url"],
        format!("/api/v1/cases/{case}/files/{scan_id}/content")
    );
    assert_eq!(listed["thumbnail_url"], thumbnail);
    assert!(
        listed["analysis"].is_null(),
        "the whole report is for the single-file view"
    );
    w.app.stop().await;
}

/// A photo is stored stripped of its EXIF, and its digest is that of the bytes kept.
#[tokio::test]
async fn a_photo_is_stripped_of_its_exif() {
    let w = CaseWorld::new().await;
    let (app, clinic) = (&w.app, &w.clinic);
    let case = draft(app, clinic).await;
    w.fix_rx(&case).await;
    w.upload_scan(&case).await;
    let jpeg = fixture("photo_with_gps.jpg");
    let r = upload(app, clinic, &case, jpeg.clone(), "IMG_0001.jpg").await;
    assert_eq!(r.status(), 201);
    let photo: Value = r.json().await.unwrap();
    assert_eq!(photo["kind"], "photo");
    assert_eq!(photo["analysis_status"], "not_applicable");
    let photo_id = photo["id"].as_str().unwrap().to_owned();
    let back = fetch_redirected(app, clinic, &format!("/api/v1/cases/{case}/files/{photo_id}/content")).await;
    let has = |h: &[u8], n: &[u8]| h.windows(n.len()).any(|w| w == n);
    assert!(has(&jpeg, b"Exif") && has(&jpeg, b"PlantedCamera"));
    assert!(!has(&back, b"Exif") && !has(&back, b"Planted"), "EXIF survived");
    assert!(back.starts_with(&[0xFF, 0xD8]) && back.len() < jpeg.len());
    assert_eq!(photo["sha256"], dentex_storage::sha256_hex(&back));
    w.app.stop().await;
}

/// Before submission no lab sees the case, not even the one it will be named to.
#[tokio::test]
async fn no_lab_sees_a_draft() {
    let w = CaseWorld::new().await;
    let ready = w.ready_draft().await;
    for lab in [&w.named, &w.open] {
        let r = w
            .app
            .get_authed(&format!("/api/v1/cases/{}", ready.case), &lab.token)
            .await;
        assert_eq!(r.status(), 404);
    }
    w.app.stop().await;
}

/// A complete draft submits, and a submitted case can no longer be edited.
#[tokio::test]
async fn a_submitted_case_can_no_longer_be_edited() {
    let w = CaseWorld::new().await;
    let case = w.ready_draft().await.case;
    let r = w.submit_to_named(&case).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "submitted");
    let r = call(
        &w.app,
        Method::PATCH,
        &format!("/api/v1/cases/{case}"),
        &w.clinic,
        Some(json!({"due_date": in_days(20)})),
    )
    .await;
    assert_eq!(problem(r).await["code"], "case_not_draft");
    w.app.stop().await;
}

/// The named lab lists and reads the case and its files, without the patient reference or file names.
#[tokio::test]
async fn the_named_lab_reads_the_case_and_its_files_without_the_patient_reference() {
    let w = CaseWorld::new().await;
    let (app, named) = (&w.app, &w.named);
    let ready = w.submitted().await;
    let case = &ready.case;
    let list: Value = app
        .get_authed("/api/v1/cases", &named.token)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![case.as_str()]);
    let v: Value = app
        .get_authed(&format!("/api/v1/cases/{case}"), &named.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(v["patient_ref"].is_null() && v["target"].is_null(), "{v}");
    assert_eq!(v["rx"]["items"][1]["restoration"], "bridge");
    let files: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/files"), &named.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(files["items"].as_array().unwrap().len(), 2);
    assert!(files["items"][0]["name"].is_null());
    let content = format!("/api/v1/cases/{case}/files/{}/content", ready.scan);
    let bytes = fetch_redirected(app, named, &content).await;
    assert_eq!(bytes, cube_stl());
    w.app.stop().await;
}

/// Labs read a case; they do not change it: the named lab may not cancel.
#[tokio::test]
async fn the_named_lab_may_not_cancel_the_case() {
    let w = CaseWorld::new().await;
    let case = w.submitted().await.case;
    let r = call(
        &w.app,
        Method::POST,
        &format!("/api/v1/cases/{case}/cancel"),
        &w.named,
        Some(json!({"reason": "no"})),
    )
    .await;
    assert_eq!(r.status(), 403);
    w.app.stop().await;
}

/// A case named to one lab reaches no other, and the unverified lab sees nothing.
#[tokio::test]
async fn a_case_named_to_one_lab_reaches_no_other() {
    let w = CaseWorld::new().await;
    let case = w.submitted().await.case;
    for lab in [&w.open, &w.unverified] {
        assert_eq!(
            w.app
                .get_authed(&format!("/api/v1/cases/{case}"), &lab.token)
                .await
                .status(),
            404
        );
        let list: Value = w
            .app
            .get_authed("/api/v1/cases", &lab.token)
            .await
            .json()
            .await
            .unwrap();
        assert!(list["items"].as_array().unwrap().is_empty());
    }
    w.app.stop().await;
}

/// An open case reaches the verified labs offering its services, not a lab without them or unverified.
#[tokio::test]
async fn an_open_case_reaches_only_verified_labs_offering_its_services() {
    let w = CaseWorld::new().await;
    let app = &w.app;
    w.submitted().await;
    let second = w.open_case().await;
    assert_eq!(
        app.get_authed(&format!("/api/v1/cases/{second}"), &w.open.token)
            .await
            .status(),
        200
    );
    for lab in [&w.named, &w.unverified] {
        assert_eq!(
            app.get_authed(&format!("/api/v1/cases/{second}"), &lab.token)
                .await
                .status(),
            404
        );
    }
    let list: Value = app
        .get_authed("/api/v1/cases?status=submitted", &w.open.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    w.app.stop().await;
}

/// The clinic's access log shows who read what for which lab; labs may not read the log.
#[tokio::test]
async fn the_clinic_sees_who_read_what_and_labs_may_not_read_the_access_log() {
    let w = CaseWorld::new().await;
    let ready = w.submitted().await;
    w.named_lab_reads(&ready).await;
    let access_log = format!("/api/v1/cases/{}/access-log", ready.case);
    let log: Value = w
        .app
        .get_authed(&access_log, &w.clinic.token)
        .await
        .json()
        .await
        .unwrap();
    let lab_reads: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["on_behalf_of"]["id"] == w.named.org_id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["case.read", "case_file.list", "case_file.download"] {
        assert!(lab_reads.contains(&action), "{action} missing from {lab_reads:?}");
    }
    // The clinic sees names, not only ids: the lab's and the reader's.
    let by_lab = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["on_behalf_of"]["id"] == w.named.org_id.as_str())
        .unwrap();
    assert!(
        by_lab["on_behalf_of"]["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{by_lab}"
    );
    assert!(
        by_lab["actor"]["display_name"].as_str().is_some_and(|n| !n.is_empty()),
        "{by_lab}"
    );
    assert_eq!(w.app.get_authed(&access_log, &w.named.token).await.status(), 403);
    w.app.stop().await;
}

/// A cancelled case is lost to the named lab, which is told without patient data.
#[tokio::test]
async fn a_cancelled_case_is_lost_to_the_named_lab_which_is_told_without_patient_data() {
    let w = CaseWorld::new().await;
    let ready = w.submitted().await;
    w.named_lab_reads(&ready).await;
    let case = &ready.case;
    let r = w.cancel(case).await;
    assert_eq!(r.status(), 200);
    let mail = w
        .app
        .mail_to(&w.named.email, "A case sent to your lab was cancelled")
        .await;
    assert!(mail.text().contains(case.as_str()));
    assert!(!mail.text().contains("Planted"));
    assert_eq!(
        w.app
            .get_authed(&format!("/api/v1/cases/{case}"), &w.named.token)
            .await
            .status(),
        404
    );
    w.app.stop().await;
}

/// Clinics page through their own cases, cancelled ones too, newest first.
#[tokio::test]
async fn the_clinic_pages_through_its_cases_newest_first() {
    let w = CaseWorld::new().await;
    let (app, clinic) = (&w.app, &w.clinic);
    let case = w.submitted().await.case;
    let second = w.open_case().await;
    assert_eq!(w.cancel(&case).await.status(), 200);
    let page: Value = app
        .get_authed("/api/v1/cases?limit=1", &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], second);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page: Value = app
        .get_authed(&format!("/api/v1/cases?limit=1&cursor={cursor}"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], case);
    assert!(page["next_cursor"].is_null());
    w.app.stop().await;
}

/// Nothing patient-identifying reaches the logs, over the whole life of two cases.
#[tokio::test]
async fn nothing_patient_identifying_reaches_the_logs() {
    let w = CaseWorld::new().await;
    let (app, clinic, named) = (&w.app, &w.clinic, &w.named);
    // Every step the cases' rules take, refusals included, in one world.
    let case = draft(app, clinic).await;
    w.submit_to_named(&case).await;
    w.fix_rx(&case).await;
    let scan = w.upload_scan(&case).await;
    let photo = w.upload_photo(&case).await;
    fetch_redirected(app, clinic, &format!("/api/v1/cases/{case}/files/{scan}/thumbnail.png")).await;
    fetch_redirected(app, clinic, &format!("/api/v1/cases/{case}/files/{photo}/content")).await;
    for lab in [named, &w.open, &w.unverified] {
        app.get_authed(&format!("/api/v1/cases/{case}"), &lab.token).await;
    }
    assert_eq!(w.submit_to_named(&case).await.status(), 200, "setup: submit");
    let patch = json!({"due_date": in_days(20)});
    call(
        app,
        Method::PATCH,
        &format!("/api/v1/cases/{case}"),
        clinic,
        Some(patch),
    )
    .await;
    app.get_authed("/api/v1/cases", &named.token).await;
    let ready = Ready { case, scan, photo };
    w.named_lab_reads(&ready).await;
    let case = ready.case;
    let cancel = json!({"reason": "no"});
    call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/cancel"),
        named,
        Some(cancel),
    )
    .await;
    let second = w.open_case().await;
    for lab in [named, &w.open, &w.unverified] {
        app.get_authed(&format!("/api/v1/cases/{second}"), &lab.token).await;
    }
    for who in [clinic, named] {
        app.get_authed(&format!("/api/v1/cases/{case}/access-log"), &who.token)
            .await;
    }
    assert_eq!(w.cancel(&case).await.status(), 200, "setup: cancel");
    app.mail_to(&named.email, "A case sent to your lab was cancelled").await;
    app.get_authed("/api/v1/cases?limit=1", &clinic.token).await;

    let logs = captured_logs();
    assert!(!logs.contains("Planted"), "patient data in the logs");
    w.app.stop().await;
}

fn case_routes(case: &str, file: &str) -> Vec<(Method, String, Option<Value>, bool)> {
    // (method, path, body, a change)
    vec![
        (Method::GET, format!("/api/v1/cases/{case}"), None, false),
        (
            Method::PATCH,
            format!("/api/v1/cases/{case}"),
            Some(json!({"patient_ref": "x"})),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case}/submit"),
            Some(json!({"target": {"open": true}})),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case}/cancel"),
            Some(json!({"reason": "x"})),
            true,
        ),
        (Method::GET, format!("/api/v1/cases/{case}/files"), None, false),
        (Method::GET, format!("/api/v1/cases/{case}/files/{file}"), None, false),
        (Method::DELETE, format!("/api/v1/cases/{case}/files/{file}"), None, true),
        (
            Method::GET,
            format!("/api/v1/cases/{case}/files/{file}/content"),
            None,
            false,
        ),
        (
            Method::GET,
            format!("/api/v1/cases/{case}/files/{file}/thumbnail.png"),
            None,
            false,
        ),
        (Method::GET, format!("/api/v1/cases/{case}/access-log"), None, true),
        (
            Method::POST,
            format!("/api/v1/cases/{case}/files"),
            Some(json!({"not": "a file"})),
            true,
        ),
        // Presigned uploads are the clinic's alone (a lab that sees the case gets 403).
        (
            Method::POST,
            format!("/api/v1/cases/{case}/uploads"),
            Some(json!({"size_bytes": 10, "sha256": "0".repeat(64)})),
            true,
        ),
        (Method::GET, format!("/api/v1/cases/{case}/uploads/{file}"), None, true),
        (
            Method::DELETE,
            format!("/api/v1/cases/{case}/uploads/{file}"),
            None,
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case}/uploads/{file}/complete"),
            None,
            true,
        ),
    ]
}

async fn all_404(app: &TestApp, who: &Actor, case: &str, file: &str) {
    for (m, path, body, _) in case_routes(case, file) {
        let r = call(app, m.clone(), &path, who, body).await;
        assert_eq!(r.status(), 404, "{m} {path} as {}", who.email);
        assert_eq!(problem(r).await["code"], "not_found");
    }
    let r = app
        .get_authed(&format!("/api/v1/cases/{}", uuid::Uuid::now_v7()), &who.token)
        .await;
    assert_eq!(r.status(), 404);
    let list: Value = app.get_authed("/api/v1/cases", &who.token).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty(), "{}", who.email);
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_case_route() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let other_clinic = app.verified_org(&staff, "other@clinic.test", "clinic", &[]).await;
    let named = app
        .verified_org(&staff, "named@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let stranger = app
        .verified_org(&staff, "stranger@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let case = draft(&app, &clinic).await;
    let r = upload(&app, &clinic, &case, cube_stl(), "scan.stl").await;
    let file = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    analysed(&app, &clinic, &case, &file).await;

    // A draft: nobody but the clinic.
    for who in [&other_clinic, &named, &stranger, &staff] {
        all_404(&app, who, &case, &file).await;
    }
    assert_eq!(app.get(&format!("/api/v1/cases/{case}")).await.status(), 401);

    // Submitted to one lab: still nobody else, whatever the route.
    let mut fix = draft_body();
    fix["rx"]["items"][0]["shade"] = json!("A1");
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            &clinic,
            Some(fix)
        )
        .await
        .status(),
        200
    );
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/submit"),
        &clinic,
        Some(json!({"target": {"labs": [named.org_id]}})),
    )
    .await;
    assert_eq!(r.status(), 200);
    for who in [&other_clinic, &stranger, &staff] {
        all_404(&app, who, &case, &file).await;
    }
    // The named lab reads, and is refused every change (403: it can see the case).
    for (m, path, body, change) in case_routes(&case, &file) {
        let r = call(&app, m.clone(), &path, &named, body).await;
        if change {
            assert_eq!(r.status(), 403, "{m} {path}");
        } else {
            assert!(r.status() == 200 || r.status() == 302, "{m} {path}: {}", r.status());
        }
    }
    // The clinic may no longer add or remove files.
    let r = upload(&app, &clinic, &case, cube_stl(), "late.stl").await;
    assert_eq!(problem(r).await["code"], "case_not_draft");
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/cases/{case}/files/{file}"),
        &clinic,
        None,
    )
    .await;
    assert_eq!(problem(r).await["code"], "case_not_draft");
    let files: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/files"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(files["items"].as_array().unwrap().len(), 1);

    // Refusals are audited: the named lab's in the clinic's chain (it can see
    // the case), strangers' in their own; the clinic's log lists the former.
    let log: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/access-log"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    let refused = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .count();
    assert!(refused >= 5, "{log}");
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] == "denied")
            .all(|e| e["actor_id"] == named.user_id.as_str()),
        "a stranger's probe was written into the clinic's trail"
    );
    let rows = app
        .state
        .audit
        .list_for_org(Some(dentex_domain::OrgId(stranger.org_id.parse().unwrap())), 500)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.action == "access.refused" && r.resource_type == "case")
    );
    // No audit row carries the patient reference.
    let all = app
        .state
        .audit
        .list_for_org(Some(dentex_domain::OrgId(clinic.org_id.parse().unwrap())), 1000)
        .await
        .unwrap();
    assert!(all.iter().all(|r| !format!("{r:?}").contains("Planted")));
    app.stop().await;
}

#[tokio::test]
async fn uploads_are_typed_from_their_bytes_and_bounded_while_streaming() {
    let app = TestApp::builder()
        .config(|c| {
            c.cases.upload_max_bytes = 256 * 1024;
            c.cases.org_quota_bytes = 600 * 1024;
        })
        .start()
        .await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let case = draft(&app, &clinic).await;
    let before = objects_in(&app);
    let files = |app: &TestApp| {
        let (case, token) = (case.clone(), clinic.token.clone());
        let app_url = app.url(&format!("/api/v1/cases/{case}/files"));
        let client = app.client.clone();
        async move {
            let v: Value = client
                .get(app_url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["items"].as_array().unwrap().len()
        }
    };

    // Not a scan, photo or PDF, whatever the name and declared type say.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
        .bearer_auth(&clinic.token)
        .header("content-type", "model/stl")
        .header("x-file-name", "scan.stl")
        .body("<html><script>alert(1)</script></html>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(problem(r).await["code"], "unsupported_media_type");
    // Binary that is not 84 + 50·n bytes is not an STL either.
    let mut blob = b"MZ\x90\x00".to_vec();
    blob.resize(5000, 7);
    let r = upload(&app, &clinic, &case, blob, "setup.exe").await;
    assert_eq!(r.status(), 415);

    // Too large: refused while streaming (no Content-Length to go by).
    // Straight to the server: the recording proxy would buffer the body and
    // send it with a length.
    let direct = format!("{}/api/v1/cases/{case}/files", app.direct_base);
    let mut big = cube_stl();
    big.resize(300 * 1024, 0);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let r = app
        .client
        .post(&direct)
        .bearer_auth(&clinic.token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(problem(r).await["code"], "payload_too_large");

    // Cut off half way, after the type was decided and storing began: no
    // row, no object.
    let mut partial = cube_stl();
    partial.resize(240 * 1024, 0);
    let mut half: Vec<Result<Vec<u8>, std::io::Error>> = partial.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    half.truncate(8);
    half.push(Err(std::io::Error::other("connection lost")));
    let r = app
        .client
        .post(&direct)
        .bearer_auth(&clinic.token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(half)))
        .send()
        .await;
    assert!(r.is_err() || r.is_ok_and(|r| r.status().is_client_error()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(files(&app).await, 0);
    assert_eq!(
        objects_in(&app),
        before,
        "an object was left behind: {:?}",
        list_objects(&app)
    );

    // The quota holds across files: two of 250 KiB fit in 600 KiB, a third does not.
    let mut scan = Vec::new();
    scan.extend_from_slice(&[b'x'; 80]);
    let n: u32 = (250 * 1024 - 84) / 50;
    scan.extend_from_slice(&n.to_le_bytes());
    scan.resize(84 + 50 * n as usize, 0);
    for _ in 0..2 {
        assert_eq!(
            upload(&app, &clinic, &case, scan.clone(), "arch.stl").await.status(),
            201
        );
    }
    let r = upload(&app, &clinic, &case, scan.clone(), "arch.stl").await;
    assert_eq!(r.status(), 413);
    assert_eq!(problem(r).await["code"], "quota_exceeded");
    assert_eq!(files(&app).await, 2);

    // A PNG loses its text and EXIF chunks.
    let png = fixture("photo_with_text.png");
    let r = upload(&app, &clinic, &case, png, "photo.png").await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let back = fetch_redirected(&app, &clinic, &format!("/api/v1/cases/{case}/files/{id}/content")).await;
    assert!(!back.windows(7).any(|w| w == b"Planted"));

    // A file that sniffs as a mesh but is not one is kept, marked failed.
    let r = upload(
        &app,
        &clinic,
        &case,
        b"solid broken\nfacet normal 0 0 0\n".to_vec(),
        "broken.stl",
    )
    .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let v = analysed(&app, &clinic, &case, &id).await;
    assert_eq!(v["analysis_status"], "failed");
    assert!(v["analysis_error"].as_str().unwrap().contains("line"), "{v}");
    let r = app
        .get_authed(&format!("/api/v1/cases/{case}/files/{id}/thumbnail.png"), &clinic.token)
        .await;
    assert_eq!(problem(r).await["code"], "thumbnail_unavailable");

    // Deleting a draft file removes its object too.
    let count = objects_in(&app);
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/cases/{case}/files/{id}"),
        &clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(objects_in(&app), count - 1);
    app.stop().await;
}

/// A binary STL of `cubes` closed 10 mm cubes side by side (12 triangles each).
fn cubes_stl(cubes: usize) -> Vec<u8> {
    let one = cube_stl();
    let mut out = vec![0u8; 80];
    out.extend_from_slice(&u32::try_from(12 * cubes).unwrap().to_le_bytes());
    for i in 0..cubes {
        for t in one[84..].chunks(50) {
            let mut t = t.to_vec();
            for v in 0..3 {
                let at = 12 + v * 12;
                let x = f32::from_le_bytes(t[at..at + 4].try_into().unwrap()) + 20.0 * i as f32;
                t[at..at + 4].copy_from_slice(&x.to_le_bytes());
            }
            out.extend_from_slice(&t);
        }
    }
    out
}

fn sha256(data: &[u8]) -> String {
    dentex_storage::sha256_hex(data)
}

async fn start_upload(app: &TestApp, who: &Actor, case: &str, data: &[u8], sha: &str) -> reqwest::Response {
    call(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/uploads"),
        who,
        Some(json!({"size_bytes": data.len(), "sha256": sha, "file_name": PLANTED_FILE})),
    )
    .await
}

/// PUTs the listed parts of `data` to their presigned URLs, straight to the store.
async fn put_parts(app: &TestApp, upload: &Value, data: &[u8], only: Option<&[i64]>) {
    let part_size = upload["part_size_bytes"].as_u64().unwrap() as usize;
    for part in upload["parts"].as_array().unwrap() {
        let n = part["number"].as_i64().unwrap();
        if only.is_some_and(|o| !o.contains(&n)) {
            continue;
        }
        let url = part["url"].as_str().unwrap();
        assert!(!url.contains("Planted"), "{url}");
        let from = (n as usize - 1) * part_size;
        let to = (from + part_size).min(data.len());
        assert_eq!(part["size_bytes"].as_u64().unwrap() as usize, to - from);
        let r = app.client.put(url).body(data[from..to].to_vec()).send().await.unwrap();
        assert_eq!(r.status(), 200, "part {n}: {}", r.text().await.unwrap_or_default());
    }
}

/// What the orphan sweep finds right now, without removing anything.
async fn orphan_report(app: &TestApp) -> dentex_cases::sweep::OrphanReport {
    dentex_cases::sweep::orphans(
        &app.state.db,
        &app.state.store,
        false,
        chrono::Duration::zero(),
        chrono::Utc::now() + chrono::Duration::seconds(1),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn large_files_go_straight_to_the_store_and_are_checked_at_complete() {
    let app = TestApp::builder()
        .config(|c| {
            c.storage.part_size_bytes = 5 * 1024 * 1024;
            c.cases.org_quota_bytes = 40 * 1024 * 1024;
        })
        .start()
        .await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let case = draft(&app, &clinic).await;
    // 12 MiB and a bit: three parts of 5, 5 and the rest.
    let data = cubes_stl(21_000);
    assert!(data.len() > 10 * 1024 * 1024 && data.len() < 15 * 1024 * 1024);
    let sha = sha256(&data);

    // Bad declarations are refused field by field.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/uploads"),
        &clinic,
        Some(json!({"size_bytes": 0, "sha256": "abc"})),
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
    assert_eq!(fields, ["size_bytes", "sha256"]);
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/uploads"),
        &clinic,
        Some(json!({"size_bytes": 600u64 * 1024 * 1024, "sha256": sha})),
    )
    .await;
    assert_eq!(r.status(), 413);
    assert_eq!(problem(r).await["errors"][0]["field"], "size_bytes");

    let r = start_upload(&app, &clinic, &case, &data, &sha).await;
    assert_eq!(r.status(), 201);
    let upload: Value = r.json().await.unwrap();
    let id = upload["id"].as_str().unwrap().to_owned();
    assert_eq!(upload["parts"].as_array().unwrap().len(), 3);
    assert_eq!(upload["part_size_bytes"], 5 * 1024 * 1024);

    // The declared size holds its room: a second upload that would not fit
    // beside it is refused before a byte is sent.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/uploads"),
        &clinic,
        Some(json!({"size_bytes": 30 * 1024 * 1024, "sha256": sha})),
    )
    .await;
    assert_eq!(r.status(), 413);
    assert_eq!(problem(r).await["code"], "quota_exceeded");

    // A part URL takes exactly its part's size: the length is signed.
    let url = upload["parts"][0]["url"].as_str().unwrap();
    let r = app.client.put(url).body(data[..1000].to_vec()).send().await.unwrap();
    assert!(r.status().is_client_error(), "a short part was taken: {}", r.status());
    // Parts 1 and 3 only: complete names the missing one, keeps what came.
    put_parts(&app, &upload, &data, Some(&[1, 3])).await;
    let complete = format!("/api/v1/cases/{case}/uploads/{id}/complete");
    let r = call(&app, Method::POST, &complete, &clinic, None).await;
    assert_eq!(r.status(), 409);
    let p = problem(r).await;
    assert_eq!(p["code"], "upload_incomplete");
    assert_eq!(p["errors"][0]["field"], "parts[1]");
    assert_eq!(p["errors"][0]["code"], "missing");
    // Resuming: the upload says what arrived and offers the rest.
    let again: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/uploads/{id}"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["parts_received"], json!([1, 3]));
    assert_eq!(again["parts"].as_array().unwrap().len(), 1);
    put_parts(&app, &again, &data, None).await;
    let r = call(&app, Method::POST, &complete, &clinic, None).await;
    assert_eq!(r.status(), 201);
    let f: Value = r.json().await.unwrap();
    assert_eq!(f["id"], id.as_str());
    assert_eq!(f["kind"], "scan");
    assert_eq!(f["format"], "stl_binary");
    assert_eq!(f["sha256"], sha.as_str());
    assert_eq!(f["size_bytes"], data.len());
    assert_eq!(f["name"], PLANTED_FILE);
    // Once is enough: the upload is now a file.
    let r = call(&app, Method::POST, &complete, &clinic, None).await;
    assert_eq!(r.status(), 404);

    // It is analysed like any other scan, and comes back byte for byte, as
    // an attachment named by its id with its real type.
    let v = analysed(&app, &clinic, &case, &id).await;
    assert_eq!(v["analysis_status"], "done", "{v}");
    assert_eq!(v["analysis"]["triangles"], 12 * 21_000);
    let r = app
        .get_authed(&format!("/api/v1/cases/{case}/files/{id}/content"), &clinic.token)
        .await;
    assert_eq!(r.status(), 302);
    let got = reqwest::get(r.headers()["location"].to_str().unwrap()).await.unwrap();
    assert_eq!(
        got.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.stl\"").as_str()
    );
    assert_eq!(got.headers()["content-type"], "model/stl");
    assert_eq!(sha256(&got.bytes().await.unwrap()), sha);

    // A checksum that does not match: refused, and nothing is kept.
    let objects_before = objects_in(&app);
    let other = cubes_stl(100);
    let r = start_upload(&app, &clinic, &case, &other, &sha).await;
    let bad: Value = r.json().await.unwrap();
    put_parts(&app, &bad, &other, None).await;
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/uploads/{}/complete", bad["id"].as_str().unwrap()),
        &clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["code"], "checksum_mismatch");
    // Nothing is left behind, and the log does not say otherwise.
    let bad_id = bad["id"].as_str().unwrap();
    let warned: Vec<String> = dentex_tests::captured_logs()
        .lines()
        .filter(|l| l.contains(bad_id) && l.contains("\"WARN\""))
        .map(str::to_owned)
        .collect();
    assert!(warned.is_empty(), "{warned:#?}");
    // A photo cannot skip the metadata removal.
    let jpeg = fixture("photo_with_gps.jpg");
    let r = start_upload(&app, &clinic, &case, &jpeg, &sha256(&jpeg)).await;
    let photo: Value = r.json().await.unwrap();
    put_parts(&app, &photo, &jpeg, None).await;
    let r = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/cases/{case}/uploads/{}/complete",
            photo["id"].as_str().unwrap()
        ),
        &clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 415);
    assert_eq!(problem(r).await["code"], "photo_needs_direct_upload");
    // Abandoned by the client: its room is freed.
    let r = start_upload(&app, &clinic, &case, &other, &sha256(&other)).await;
    let dropped: Value = r.json().await.unwrap();
    put_parts(&app, &dropped, &other, None).await;
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/cases/{case}/uploads/{}", dropped["id"].as_str().unwrap()),
        &clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(objects_in(&app), objects_before);
    let files: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/files"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(files["items"].as_array().unwrap().len(), 1);
    assert!(orphan_report(&app).await.is_clean());
    assert!(!captured_logs().contains("Planted"), "patient data in the logs");
    app.stop().await;
}

#[tokio::test]
async fn sweeps_abort_abandoned_uploads_and_find_orphans_both_ways() {
    let app = TestApp::builder()
        .config(|c| c.storage.part_size_bytes = 5 * 1024 * 1024)
        .start()
        .await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let case = draft(&app, &clinic).await;
    let r = upload(&app, &clinic, &case, cube_stl(), "a.stl").await;
    let kept = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = upload(&app, &clinic, &case, cube_stl(), "b.stl").await;
    let lost = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    analysed(&app, &clinic, &case, &kept).await;
    analysed(&app, &clinic, &case, &lost).await;
    assert!(orphan_report(&app).await.is_clean());

    // An upload left half way: its parts sit in the store until the sweep.
    let data = cubes_stl(100);
    let r = start_upload(&app, &clinic, &case, &data, &sha256(&data)).await;
    let open: Value = r.json().await.unwrap();
    put_parts(&app, &open, &data, None).await;
    let part_files = || {
        std::fs::read_dir(app.app_dir.path().join("objects"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload_id-"))
            .count()
    };
    assert!(part_files() > 0);
    let db = &app.state.db;
    let store = &app.state.store;
    // Not yet expired: left alone.
    assert_eq!(
        dentex_cases::sweep::abandoned_uploads(db, store, chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    assert_eq!(
        dentex_cases::sweep::abandoned_uploads(db, store, later).await.unwrap(),
        1
    );
    assert_eq!(part_files(), 0, "the parts of an abandoned upload are still stored");
    let r = app
        .get_authed(
            &format!("/api/v1/cases/{case}/uploads/{}", open["id"].as_str().unwrap()),
            &clinic.token,
        )
        .await;
    assert_eq!(r.status(), 404);

    // An object no row names, and a row whose object vanished.
    let stray = format!("eu/{}/{case}/{}", clinic.org_id, uuid::Uuid::now_v7());
    store
        .put_stream(
            &stray,
            "application/octet-stream",
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"stray"))]),
            1024,
        )
        .await
        .unwrap();
    let lost_key = format!("eu/{}/{case}/{lost}", clinic.org_id);
    store.delete(&lost_key).await.unwrap();
    let report = orphan_report(&app).await;
    assert_eq!(report.objects_without_row, vec![stray.clone()]);
    assert_eq!(report.rows_without_object.len(), 1, "{report:?}");
    assert_eq!(report.rows_without_object[0].what, "case_file");
    assert_eq!(report.rows_without_object[0].id.to_string(), lost);
    assert!(report.open_uploads_without_row.is_none(), "s3s-fs cannot list uploads");
    // Report only: nothing changed.
    assert!(store.head(&stray).await.unwrap().is_some());
    // Young objects and rows are left out.
    let young = dentex_cases::sweep::orphans(db, store, false, chrono::Duration::hours(1), chrono::Utc::now())
        .await
        .unwrap();
    assert!(young.is_clean(), "{young:?}");
    // Removal: the stray object and the broken row go; the rest stays.
    let removed = dentex_cases::sweep::orphans(
        db,
        store,
        true,
        chrono::Duration::zero(),
        chrono::Utc::now() + chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    assert!(removed.removed);
    assert!(store.head(&stray).await.unwrap().is_none());
    let files: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/files"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = files["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()]);
    let after = orphan_report(&app).await;
    assert!(after.is_clean(), "{after:?}");
    app.stop().await;
}

#[tokio::test]
async fn racing_uploads_neither_overrun_the_quota_nor_outlive_a_submission() {
    let app = TestApp::builder()
        .config(|c| {
            c.cases.upload_max_bytes = 256 * 1024;
            c.cases.org_quota_bytes = 600 * 1024;
        })
        .start()
        .await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let lab = app.verified_org(&staff, "lab@lab.test", "dental_lab", &[]).await;

    // Six uploads of 250 KiB at once into 600 KiB: exactly two fit.
    let full = draft(&app, &clinic).await;
    let mut scan = vec![b'x'; 80];
    let n: u32 = (250 * 1024 - 84) / 50;
    scan.extend_from_slice(&n.to_le_bytes());
    scan.resize(84 + 50 * n as usize, 0);
    let tries = (0..6).map(|_| upload(&app, &clinic, &full, scan.clone(), "arch.stl"));
    let mut kept = Vec::new();
    let mut refused = 0;
    for r in futures_util::future::join_all(tries).await {
        match r.status().as_u16() {
            201 => kept.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()),
            413 => {
                assert_eq!(problem(r).await["code"], "quota_exceeded");
                refused += 1;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((kept.len(), refused), (2, 4));
    for f in &kept {
        analysed(&app, &clinic, &full, f).await;
    }
    assert!(orphan_report(&app).await.is_clean());
    // Room for the next race.
    for f in &kept {
        let r = call(
            &app,
            Method::DELETE,
            &format!("/api/v1/cases/{full}/files/{f}"),
            &clinic,
            None,
        )
        .await;
        assert_eq!(r.status(), 204);
    }

    // Uploads racing the submission: each is either in the case before it
    // was sent, or refused with nothing kept.
    let case = draft(&app, &clinic).await;
    let mut fix = draft_body();
    fix["rx"]["items"][0]["shade"] = json!("A1");
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/cases/{case}"),
        &clinic,
        Some(fix),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = upload(&app, &clinic, &case, cube_stl(), "first.stl").await;
    assert_eq!(r.status(), 201);
    let small = cube_stl();
    let uploads = (0..5).map(|_| upload(&app, &clinic, &case, small.clone(), "late.stl"));
    let submit_path = format!("/api/v1/cases/{case}/submit");
    let submit = call(
        &app,
        Method::POST,
        &submit_path,
        &clinic,
        Some(json!({"target": {"labs": [lab.org_id]}})),
    );
    let (ups, sub) = tokio::join!(futures_util::future::join_all(uploads), submit);
    assert_eq!(sub.status(), 200);
    let mut accepted = 0;
    for r in ups {
        match r.status().as_u16() {
            201 => accepted += 1,
            409 => assert_eq!(problem(r).await["code"], "case_not_draft"),
            s => panic!("unexpected status {s}"),
        }
    }
    let files: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/files"), &lab.token)
        .await
        .json()
        .await
        .unwrap();
    let listed = files["items"].as_array().unwrap();
    assert_eq!(listed.len(), 1 + accepted);
    for f in listed {
        analysed(&app, &clinic, &case, f["id"].as_str().unwrap()).await;
    }
    let report = orphan_report(&app).await;
    assert!(report.is_clean(), "{report:?}");
    app.stop().await;
}

#[tokio::test]
async fn meshes_without_triangles_are_refused_at_upload() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "owner@clinic.test", "clinic", &[]).await;
    let case = draft(&app, &clinic).await;
    let before = objects_in(&app);
    // 84 bytes starting with `solid`: a binary STL header that counts 0 triangles.
    let mut binary_empty = b"solid exported by a scanner".to_vec();
    binary_empty.resize(84, 0);
    // 84 bytes of text: an ASCII STL with no facet.
    let mut ascii_empty = b"solid x\n".to_vec();
    ascii_empty.resize(83, b' ');
    ascii_empty.push(b'\n');
    let ply_empty = b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\n\
element face 0\nproperty list uchar int vertex_indices\nend_header\n"
        .to_vec();
    let cases: [(Vec<u8>, &str); 6] = [
        (binary_empty.clone(), "mesh_empty"),
        (ascii_empty, "mesh_empty"),
        (b"solid x\nendsolid x\n".to_vec(), "mesh_empty"),
        (ply_empty, "mesh_empty"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n".to_vec(), "mesh_empty"),
        (b"solid x\n  vertex 0 0 0\n".to_vec(), "mesh_unreadable"),
    ];
    for (bytes, code) in cases {
        let r = upload(&app, &clinic, &case, bytes.clone(), "scan.stl").await;
        assert_eq!(r.status(), 422, "{:?}", String::from_utf8_lossy(&bytes));
        assert_eq!(problem(r).await["code"], code, "{:?}", String::from_utf8_lossy(&bytes));
    }
    // The same through a presigned upload: refused at complete.
    let r = start_upload(&app, &clinic, &case, &binary_empty, &sha256(&binary_empty)).await;
    assert_eq!(r.status(), 201);
    let upload_view: Value = r.json().await.unwrap();
    put_parts(&app, &upload_view, &binary_empty, None).await;
    let r = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/cases/{case}/uploads/{}/complete",
            upload_view["id"].as_str().unwrap()
        ),
        &clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["code"], "mesh_empty");
    // Nothing was kept, and a real scan still goes in.
    let list: Value = call(&app, Method::GET, &format!("/api/v1/cases/{case}/files"), &clinic, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(objects_in(&app), before);
    let r = upload(&app, &clinic, &case, cube_stl(), "scan.stl").await;
    assert_eq!(r.status(), 201);
}
