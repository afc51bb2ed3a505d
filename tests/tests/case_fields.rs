//! The field rules of case bodies (declared with `validator` where they are
//! lengths and ranges): each refusal names its field, code and message, and
//! leaves what was stored as it was.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

fn field(p: &Value) -> (String, String, String) {
    let e = &p["errors"][0];
    (
        e["field"].as_str().unwrap().to_owned(),
        e["code"].as_str().unwrap().to_owned(),
        e["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_patient_reference_is_given_and_at_most_64_characters() {
    let app = TestApp::new().await;
    let clinic = app.register("owner@clinic.test", "clinic").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": "   "})),
        )
        .await;
    assert_eq!(r.status(), 422);
    let (f, code, msg) = field(&problem(r).await);
    assert_eq!((f.as_str(), code.as_str()), ("patient_ref", "required"));
    assert!(msg.contains("not the patient's name"), "{msg}");

    let r = app
        .send(
            Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": "R".repeat(65)})),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        field(&problem(r).await),
        ("patient_ref".into(), "too_long".into(), "At most 64 characters.".into())
    );
    // 64 characters (not bytes: "é" is two) are fine.
    let r = app
        .send(
            Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": "é".repeat(64)})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let case: Value = r.json().await.unwrap();
    let id = case["id"].as_str().unwrap();

    // A change refused leaves the draft as it was.
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/cases/{id}"),
            Some(&clinic.token),
            Some(&json!({"patient_ref": "x".repeat(65)})),
        )
        .await;
    assert_eq!(r.status(), 422);
    let now: Value = app
        .get_authed(&format!("/api/v1/cases/{id}"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["patient_ref"], "é".repeat(64));

    // A cancellation needs a reason of 1–1000 characters, after trimming.
    for reason in ["  ".to_owned(), "r".repeat(1001)] {
        let r = app
            .send(
                Method::POST,
                &format!("/api/v1/cases/{id}/cancel"),
                Some(&clinic.token),
                Some(&json!({"reason": reason})),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert_eq!(
            field(&problem(r).await),
            (
                "reason".into(),
                "required".into(),
                "Say why, in 1–1000 characters.".into()
            )
        );
    }
    let now: Value = app
        .get_authed(&format!("/api/v1/cases/{id}"), &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "draft");

    // A presigned upload declares at least one byte and a SHA-256, both
    // reported at once, in the order of the body.
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/cases/{id}/uploads"),
            Some(&clinic.token),
            Some(&json!({"size_bytes": 0, "sha256": "xyz"})),
        )
        .await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    let fields: Vec<(&str, &str)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [("size_bytes", "empty"), ("sha256", "invalid")]);
}
