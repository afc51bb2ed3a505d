//! The cases' world: a clinic, a lab it names, a lab an open case reaches,
//! and a lab without an approved credential; the clinic's drafts, their
//! files, and their submission.

use super::call;
use crate::{Actor, TestApp, cube_stl, in_days};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// The patient reference of the cases' drafts; it must never reach a lab, a
/// mail, a URL or a log line.
pub const PLANTED_REF: &str = "Planted Patientname 1961";
/// The name the clinic gives its scan.
pub const PLANTED_FILE: &str = "Planted Patientname upper jaw.stl";

/// A file of `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .expect("the fixture")
}

/// Uploads `bytes` as a file of `case` named `name`.
pub async fn upload(app: &TestApp, who: &Actor, case: &str, bytes: Vec<u8>, name: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
        .bearer_auth(&who.token)
        .header("content-type", "application/octet-stream")
        .header("x-file-name", name)
        .body(bytes)
        .send()
        .await
        .expect("request")
}

/// A draft's body: a crown without a shade and a bridge, in FDI numbers.
pub fn draft_body() -> Value {
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

/// The draft's body with the crown's shade given ("a2") and the teeth in
/// Universal numbers (the same teeth as [`draft_body`]).
pub fn universal_rx_body() -> Value {
    let mut body = draft_body();
    body["rx"]["items"][0]["shade"] = json!("a2");
    body["rx"]["tooth_notation"] = json!("universal");
    body["rx"]["items"][0]["teeth"] = json!(["8"]);
    body["rx"]["items"][1]["teeth"] = json!(["5", "4", "3"]);
    body["rx"]["items"][1]["pontics"] = json!(["4"]);
    body
}

/// `clinic` drafts a case of [`draft_body`]; answers its id.
pub async fn draft(app: &TestApp, clinic: &Actor) -> String {
    let r = call(app, Method::POST, "/api/v1/cases", clinic, Some(draft_body())).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.expect("case")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Waits for the analysis job to finish with the file.
pub async fn analysed(app: &TestApp, who: &Actor, case: &str, file: &str) -> Value {
    for _ in 0..200 {
        let v: Value = app
            .get_authed(&format!("/api/v1/cases/{case}/files/{file}"), &who.token)
            .await
            .json()
            .await
            .expect("file");
        if v["analysis_status"] != "pending" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the analysis of {file} never finished");
}

/// Follows a 302 to the presigned URL and returns the bytes.
pub async fn fetch_redirected(app: &TestApp, who: &Actor, path: &str) -> Vec<u8> {
    let r = app.get_authed(path, &who.token).await;
    assert_eq!(r.status(), 302, "{path}");
    let url = r.headers()["location"].to_str().expect("location").to_owned();
    assert!(!url.contains(PLANTED_REF) && !url.contains("Planted"), "{url}");
    let got = reqwest::get(&url).await.expect("presigned GET");
    assert_eq!(got.status(), 200);
    got.bytes().await.expect("bytes").to_vec()
}

/// A clinic; a verified lab it names (no services declared); a verified lab
/// offering crowns and bridges that an open case reaches; and a lab that
/// offers them too but has no approved credential.
pub struct CaseWorld {
    pub app: TestApp,
    pub staff: Actor,
    pub clinic: Actor,
    pub named: Actor,
    pub open: Actor,
    pub unverified: Actor,
}

/// A draft made whole: its Rx fixed, a scan (analysed) and a photo.
pub struct Ready {
    pub case: String,
    pub scan: String,
    pub photo: String,
}

impl CaseWorld {
    pub async fn new() -> Self {
        let app = TestApp::new().await;
        let staff = app.support_agent("support@dentex.test").await;
        let clinic = app.verified_org(&staff, "clinic@smile.test", "clinic", &[]).await;
        let named = app.verified_org(&staff, "named@lab.test", "dental_lab", &[]).await;
        let open = app
            .verified_org(&staff, "open@lab.test", "dental_lab", &["crown", "bridge"])
            .await;
        let unverified = app.register("unverified@lab.test", "dental_lab").await;
        let r = call(
            &app,
            Method::PATCH,
            &format!("/api/v1/organizations/{}", unverified.org_id),
            &unverified,
            Some(json!({"services": ["crown", "bridge"], "accepts_new_work": true})),
        )
        .await;
        assert_eq!(r.status(), 200, "setup: the unverified lab's services");
        Self {
            app,
            staff,
            clinic,
            named,
            open,
            unverified,
        }
    }

    /// Fixes a draft's Rx with [`universal_rx_body`].
    pub async fn fix_rx(&self, case: &str) {
        let r = call(
            &self.app,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            &self.clinic,
            Some(universal_rx_body()),
        )
        .await;
        assert_eq!(r.status(), 200, "setup: fix the Rx");
    }

    /// Uploads the cube as [`PLANTED_FILE`] and waits for its analysis;
    /// answers the file's id.
    pub async fn upload_scan(&self, case: &str) -> String {
        let r = upload(&self.app, &self.clinic, case, cube_stl(), PLANTED_FILE).await;
        assert_eq!(r.status(), 201, "setup: the scan");
        let id = r.json::<Value>().await.expect("file")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        analysed(&self.app, &self.clinic, case, &id).await;
        id
    }

    /// Uploads the photo that carries GPS EXIF; answers the file's id.
    pub async fn upload_photo(&self, case: &str) -> String {
        let r = upload(
            &self.app,
            &self.clinic,
            case,
            fixture("photo_with_gps.jpg"),
            "IMG_0001.jpg",
        )
        .await;
        assert_eq!(r.status(), 201, "setup: the photo");
        r.json::<Value>().await.expect("file")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// A draft, its Rx fixed, with a scan and a photo.
    pub async fn ready_draft(&self) -> Ready {
        let case = draft(&self.app, &self.clinic).await;
        self.fix_rx(&case).await;
        let scan = self.upload_scan(&case).await;
        let photo = self.upload_photo(&case).await;
        Ready { case, scan, photo }
    }

    /// Submits a case to the named lab.
    pub async fn submit_to_named(&self, case: &str) -> reqwest::Response {
        call(
            &self.app,
            Method::POST,
            &format!("/api/v1/cases/{case}/submit"),
            &self.clinic,
            Some(json!({"target": {"labs": [self.named.org_id]}})),
        )
        .await
    }

    /// A ready draft, submitted to the named lab.
    pub async fn submitted(&self) -> Ready {
        let ready = self.ready_draft().await;
        let r = self.submit_to_named(&ready.case).await;
        assert_eq!(r.status(), 200, "setup: submit to the named lab");
        ready
    }

    /// The named lab reads the case, lists its files and downloads the scan.
    pub async fn named_lab_reads(&self, ready: &Ready) {
        let case = &ready.case;
        let r = self
            .app
            .get_authed(&format!("/api/v1/cases/{case}"), &self.named.token)
            .await;
        assert_eq!(r.status(), 200, "setup: the named lab reads");
        let r = self
            .app
            .get_authed(&format!("/api/v1/cases/{case}/files"), &self.named.token)
            .await;
        assert_eq!(r.status(), 200, "setup: the named lab lists the files");
        let path = format!("/api/v1/cases/{case}/files/{}/content", ready.scan);
        fetch_redirected(&self.app, &self.named, &path).await;
    }

    /// A second case (shade B1, a scan), open to all; answers its id.
    pub async fn open_case(&self) -> String {
        let second = draft(&self.app, &self.clinic).await;
        let mut fix = draft_body();
        fix["rx"]["items"][0]["shade"] = json!("B1");
        let path = format!("/api/v1/cases/{second}");
        let r = call(&self.app, Method::PATCH, &path, &self.clinic, Some(fix)).await;
        assert_eq!(r.status(), 200, "setup: fix the second case");
        let r = upload(&self.app, &self.clinic, &second, cube_stl(), "lower.stl").await;
        assert_eq!(r.status(), 201, "setup: the second case's scan");
        let r = call(
            &self.app,
            Method::POST,
            &format!("/api/v1/cases/{second}/submit"),
            &self.clinic,
            Some(json!({"target": {"open": true}})),
        )
        .await;
        assert_eq!(r.status(), 200, "setup: submit the second case to all");
        second
    }

    /// The clinic cancels a case, giving a reason that names the patient.
    pub async fn cancel(&self, case: &str) -> reqwest::Response {
        call(
            &self.app,
            Method::POST,
            &format!("/api/v1/cases/{case}/cancel"),
            &self.clinic,
            Some(json!({"reason": "Planted Patientname moved abroad"})),
        )
        .await
    }
}

/// How many objects the in-process store holds.
pub fn objects_in(app: &TestApp) -> usize {
    list_objects(app).len()
}

/// The objects the in-process store holds, by path. The bucket's directory
/// holds them; s3s-fs keeps its own metadata files beside it (and does not
/// remove them on delete).
pub fn list_objects(app: &TestApp) -> Vec<String> {
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
