//! Cases, prescriptions and files over real HTTP (issue #5; SECURITY.md
//! items 1–3, 9–11, 13, 14, 18 and 20): a clinic drafts, uploads and submits;
//! a named lab and a lab the open case reaches read it; everyone else gets
//! 404; uploads are typed from their bytes and bounded while streaming.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, captured_logs, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const PLANTED_REF: &str = "Planted Patientname 1961";
const PLANTED_FILE: &str = "Planted Patientname upper jaw.stl";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

/// A closed cube of 10 mm as a binary STL (12 triangles).
fn cube_stl() -> Vec<u8> {
    let v = |i: u32| {
        [
            if i & 1 == 0 { 0.0f32 } else { 10.0 },
            if i & 2 == 0 { 0.0 } else { 10.0 },
            if i & 4 == 0 { 0.0 } else { 10.0 },
        ]
    };
    let faces: [[u32; 3]; 12] = [
        [0, 2, 1],
        [1, 2, 3],
        [4, 5, 6],
        [5, 7, 6],
        [0, 1, 4],
        [1, 5, 4],
        [2, 6, 3],
        [3, 6, 7],
        [0, 4, 2],
        [2, 4, 6],
        [1, 3, 5],
        [3, 7, 5],
    ];
    let mut out = vec![0u8; 80];
    out.extend_from_slice(&12u32.to_le_bytes());
    for f in faces {
        out.extend_from_slice(&[0u8; 12]);
        for i in f {
            for c in v(i) {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0u8; 2]);
    }
    out
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn call(app: &TestApp, method: Method, path: &str, who: &Actor, body: Option<Value>) -> reqwest::Response {
    app.send(method, path, Some(&who.token), body.as_ref()).await
}

async fn upload(app: &TestApp, who: &Actor, case: &str, bytes: Vec<u8>, name: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
        .bearer_auth(&who.token)
        .header("content-type", "application/octet-stream")
        .header("x-file-name", name)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn draft_body() -> Value {
    json!({
        "patient_ref": PLANTED_REF,
        "rx": {"items": [
            {"teeth": ["11"], "restoration": "crown", "material": "zirconia"},
            {"teeth": ["14", "15", "16"], "pontics": ["15"], "restoration": "bridge", "material": "zirconia", "shade": "A3"}
        ], "notes": "Planted Patientname prefers a bright shade"},
        "due_date": in_days(14),
        "consent": {"patient_consent": true}
    })
}

async fn draft(app: &TestApp, clinic: &Actor) -> String {
    let r = call(app, Method::POST, "/api/v1/cases", clinic, Some(draft_body())).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// Waits for the analysis job to finish with the file.
async fn analysed(app: &TestApp, who: &Actor, case: &str, file: &str) -> Value {
    for _ in 0..200 {
        let v: Value = app
            .get_authed(&format!("/api/v1/cases/{case}/files/{file}"), &who.token)
            .await
            .json()
            .await
            .unwrap();
        if v["analysis_status"] != "pending" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the analysis of {file} never finished");
}

/// Follows a 302 to the presigned URL and returns the bytes.
async fn fetch_redirected(app: &TestApp, who: &Actor, path: &str) -> Vec<u8> {
    let r = app.get_authed(path, &who.token).await;
    assert_eq!(r.status(), 302, "{path}");
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(!url.contains(PLANTED_REF) && !url.contains("Planted"), "{url}");
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), 200);
    got.bytes().await.unwrap().to_vec()
}

fn objects_in(app: &TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p).map_or(0, |rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { 1 }
                })
                .sum()
        })
    }
    // The bucket's directory holds the objects; s3s-fs keeps its own
    // metadata files beside it (and does not remove them on delete).
    walk(&app.app_dir.path().join("objects").join("dentex"))
}

fn list_objects(app: &TestApp) -> Vec<String> {
    fn walk(p: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.app_dir.path().join("objects").join("dentex"), &mut out);
    out
}

#[tokio::test]
async fn a_clinic_and_two_labs_go_from_draft_to_reading_the_case() {
    let app = TestApp::new().await;
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "clinic@smile.test", "clinic", &[]).await;
    let named = app.verified_org(&staff, "named@lab.test", "dental_lab", &[]).await;
    let open = app
        .verified_org(&staff, "open@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    // Offers the services but has no approved credential.
    let unverified = app.register("unverified@lab.test", "dental_lab").await;
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/organizations/{}", unverified.org_id),
        &unverified,
        Some(json!({"services": ["crown", "bridge"], "accepts_new_work": true})),
    )
    .await;
    assert_eq!(r.status(), 200);

    // Draft: the crown has no shade yet, there is no scan.
    let case = draft(&app, &clinic).await;
    let v: Value = app
        .get_authed(&format!("/api/v1/cases/{case}"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "draft");
    assert_eq!(v["patient_ref"], PLANTED_REF);
    assert_eq!(v["consent"]["statement_version"], "2026-11");
    let submit_named = json!({"target": {"labs": [named.org_id]}});
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/submit"),
        &clinic,
        Some(submit_named.clone()),
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
    assert_eq!(fields, vec!["rx.items[0].shade", "files"], "{p}");

    // Fix the Rx; Universal numbers come back as FDI.
    let mut body = draft_body();
    body["rx"]["items"][0]["shade"] = json!("a2");
    body["rx"]["tooth_notation"] = json!("universal");
    body["rx"]["items"][0]["teeth"] = json!(["8"]);
    body["rx"]["items"][1]["teeth"] = json!(["5", "4", "3"]);
    body["rx"]["items"][1]["pontics"] = json!(["4"]);
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/cases/{case}"),
        &clinic,
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rx"]["items"][0]["teeth"], json!(["11"]));
    assert_eq!(v["rx"]["items"][0]["shade"], "A2");
    assert_eq!(v["rx"]["items"][1]["teeth"], json!(["14", "15", "16"]));

    // A scan (analysed by the job) and a photo (stripped of its EXIF).
    let r = upload(&app, &clinic, &case, cube_stl(), PLANTED_FILE).await;
    assert_eq!(r.status(), 201);
    let scan: Value = r.json().await.unwrap();
    assert_eq!(
        (scan["kind"].as_str(), scan["format"].as_str()),
        (Some("scan"), Some("stl_binary"))
    );
    assert_eq!(scan["name"], PLANTED_FILE);
    assert_eq!(scan["size_bytes"], 84 + 12 * 50);
    let scan_id = scan["id"].as_str().unwrap().to_owned();
    let done = analysed(&app, &clinic, &case, &scan_id).await;
    assert_eq!(done["analysis_status"], "done", "{done}");
    assert_eq!(done["analysis"]["triangles"], 12);
    assert_eq!(done["analysis"]["watertight"], true);
    assert!((done["analysis"]["volume"].as_f64().unwrap() - 1000.0).abs() < 1e-6);
    let png = fetch_redirected(
        &app,
        &clinic,
        &format!("/api/v1/cases/{case}/files/{scan_id}/thumbnail.png"),
    )
    .await;
    assert!(png.starts_with(b"\x89PNG"));

    let jpeg = fixture("photo_with_gps.jpg");
    let r = upload(&app, &clinic, &case, jpeg.clone(), "IMG_0001.jpg").await;
    assert_eq!(r.status(), 201);
    let photo: Value = r.json().await.unwrap();
    assert_eq!(photo["kind"], "photo");
    assert_eq!(photo["analysis_status"], "not_applicable");
    let photo_id = photo["id"].as_str().unwrap().to_owned();
    let back = fetch_redirected(&app, &clinic, &format!("/api/v1/cases/{case}/files/{photo_id}/content")).await;
    let has = |h: &[u8], n: &[u8]| h.windows(n.len()).any(|w| w == n);
    assert!(has(&jpeg, b"Exif") && has(&jpeg, b"PlantedCamera"));
    assert!(!has(&back, b"Exif") && !has(&back, b"Planted"), "EXIF survived");
    assert!(back.starts_with(&[0xFF, 0xD8]) && back.len() < jpeg.len());
    assert_eq!(photo["sha256"], dentex_storage::sha256_hex(&back));

    // Before submission no lab sees it.
    for lab in [&named, &open] {
        let r = app.get_authed(&format!("/api/v1/cases/{case}"), &lab.token).await;
        assert_eq!(r.status(), 404);
    }

    // Submitted to the named lab.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/submit"),
        &clinic,
        Some(submit_named),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "submitted");
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/cases/{case}"),
        &clinic,
        Some(json!({"due_date": in_days(20)})),
    )
    .await;
    assert_eq!(problem(r).await["code"], "case_not_draft");

    // The named lab lists and reads it, without the patient reference.
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
    let bytes = fetch_redirected(&app, &named, &format!("/api/v1/cases/{case}/files/{scan_id}/content")).await;
    assert_eq!(bytes, cube_stl());
    // Labs read; they do not change.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/cancel"),
        &named,
        Some(json!({"reason": "no"})),
    )
    .await;
    assert_eq!(r.status(), 403);

    // A case named to one lab reaches no other; the unverified lab sees nothing.
    for lab in [&open, &unverified] {
        assert_eq!(
            app.get_authed(&format!("/api/v1/cases/{case}"), &lab.token)
                .await
                .status(),
            404
        );
        let list: Value = app.get_authed("/api/v1/cases", &lab.token).await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().is_empty());
    }

    // A second case, open to all: the verified lab offering crowns and
    // bridges sees it; the named lab (no services declared) and the
    // unverified one do not.
    let second = draft(&app, &clinic).await;
    let mut fix = draft_body();
    fix["rx"]["items"][0]["shade"] = json!("B1");
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/cases/{second}"),
            &clinic,
            Some(fix)
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        upload(&app, &clinic, &second, cube_stl(), "lower.stl").await.status(),
        201
    );
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{second}/submit"),
        &clinic,
        Some(json!({"target": {"open": true}})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_authed(&format!("/api/v1/cases/{second}"), &open.token)
            .await
            .status(),
        200
    );
    for lab in [&named, &unverified] {
        assert_eq!(
            app.get_authed(&format!("/api/v1/cases/{second}"), &lab.token)
                .await
                .status(),
            404
        );
    }
    let list: Value = app
        .get_authed("/api/v1/cases?status=submitted", &open.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // The clinic sees who read what, and for which lab.
    let log: Value = app
        .get_authed(&format!("/api/v1/cases/{case}/access-log"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    let lab_reads: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["on_behalf_of"] == format!("lab {}", named.org_id))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["case.read", "case_file.list", "case_file.download"] {
        assert!(lab_reads.contains(&action), "{action} missing from {lab_reads:?}");
    }
    // Labs may not read the access log.
    assert_eq!(
        app.get_authed(&format!("/api/v1/cases/{case}/access-log"), &named.token)
            .await
            .status(),
        403
    );

    // Cancelled: the named lab is told (no patient data) and loses access.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{case}/cancel"),
        &clinic,
        Some(json!({"reason": "Planted Patientname moved abroad"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let mail = app.mail_to(&named.email, "A case sent to your lab was cancelled").await;
    assert!(mail.text().contains(&case));
    assert!(!mail.text().contains("Planted"));
    assert_eq!(
        app.get_authed(&format!("/api/v1/cases/{case}"), &named.token)
            .await
            .status(),
        404
    );

    // Clinics page through their own cases, newest first.
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

    // Nothing patient-identifying reached the logs.
    let logs = captured_logs();
    assert!(!logs.contains("Planted"), "patient data in the logs");
    app.stop().await;
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
    let mut big = cube_stl();
    big.resize(300 * 1024, 0);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
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
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
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
