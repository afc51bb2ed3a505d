//! The HTTP edge, black-box over real HTTP: health, readiness, metrics, OpenAPI,
//! the docs page, request ids, security headers, CORS, and problem+json for
//! every kind of error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{TestApp, problem};
use serde_json::{Value, json};

#[tokio::test]
async fn health_and_readiness_answer_when_everything_is_up() {
    let app = TestApp::new().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ok");

    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"status": "ready", "checks": {"database": "ok", "object_store": "ok"}})
    );
    app.stop().await;
}

#[tokio::test]
async fn readiness_names_the_object_store_when_it_is_down() {
    let app = TestApp::new().await;
    app.stop_object_store();
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let p = problem(r).await;
    assert_eq!(p["code"], "not_ready");
    assert_eq!(p["checks"]["database"], "ok");
    assert_ne!(p["checks"]["object_store"], "ok");
    assert!(p["detail"].as_str().unwrap().contains("object store"), "{p}");
    // Liveness is unaffected: the process itself is fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readiness_names_the_database_when_it_is_down() {
    let app = TestApp::new().await;
    app.state.db.clone().close().await.unwrap();
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let p = problem(r).await;
    assert_ne!(p["checks"]["database"], "ok");
    assert_eq!(p["checks"]["object_store"], "ok");
    assert!(p["detail"].as_str().unwrap().contains("database"), "{p}");
}

#[tokio::test]
async fn every_response_has_a_request_id_and_security_headers() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/no/such/route", "/api/v1/openapi.json"] {
        let r = app.get(path).await;
        let h = r.headers();
        let rid = h["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(rid).is_ok(), "{path}: {rid}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
    }
    // Two requests never share an id.
    let a = app.get("/healthz").await.headers()["x-request-id"].clone();
    let b = app.get("/healthz").await.headers()["x-request-id"].clone();
    assert_ne!(a, b);
    // A well-formed inbound id is kept (for tracing across services); a hostile one is replaced.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-proxy-1234abcd")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "edge-proxy-1234abcd");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(r.headers()["x-request-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.status(), 404);
    let p = problem(r).await;
    assert_eq!(p["code"], "not_found");
    assert_eq!(p["status"], 404);
}

#[tokio::test]
async fn wrong_methods_are_405_problems_with_allow() {
    let app = TestApp::new().await;
    let r = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET");
    let p = problem(r).await;
    assert_eq!(p["code"], "method_not_allowed");
    let r = app.client.get(app.url("/api/v1/auth/login")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_with_its_position() {
    let app = TestApp::new().await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": \"a@b.co\",\n \"password\": }")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p = problem(r).await;
    assert_eq!(p["code"], "malformed_json");
    assert!(p["detail"].as_str().unwrap().contains("line 2"), "{p}");
}

#[tokio::test]
async fn wrong_shapes_name_the_field() {
    let app = TestApp::new().await;
    let r = app.post_json("/api/v1/auth/login", &json!({"email": "a@b.co"})).await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    assert_eq!(p["code"], "validation_failed");
    assert_eq!(p["errors"][0]["field"], "password");
    assert_eq!(p["errors"][0]["code"], "required");

    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "not-an-address", "password": "x"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    assert_eq!(p["errors"][0]["field"], "email");
    assert_eq!(p["errors"][0]["code"], "invalid_email");

    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "a@b.co", "password": "x", "admin": true}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    assert_eq!(p["errors"][0]["field"], "admin");
    assert_eq!(p["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn a_non_json_body_is_a_415_problem() {
    let app = TestApp::new().await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(problem(r).await["code"], "unsupported_media_type");
}

#[tokio::test]
async fn a_too_large_body_is_a_413_problem() {
    let app = TestApp::builder()
        .config(|c| c.http.json_limit_bytes = 4096)
        .start()
        .await;
    let big = json!({"email": "a@b.co", "password": "x".repeat(10_000)});
    let r = app.post_json("/api/v1/auth/login", &big).await;
    assert_eq!(r.status(), 413);
    let p = problem(r).await;
    assert_eq!(p["code"], "payload_too_large");
    assert!(p["detail"].as_str().unwrap().contains("4096"), "{p}");
    // The server is fine afterwards.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::new().await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/api/v1/nothing/123").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("dentex_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 3"),
        "{text}"
    );
    assert!(text.contains("route=\"unmatched\",status=\"404\"} 1"), "{text}");
    assert!(text.contains(
        "dentex_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"+Inf\"} 3"
    ));
    assert!(text.contains("dentex_jobs{status=\"queued\"}"), "{text}");
    // Concrete ids never become label values.
    assert!(!text.contains("/api/v1/nothing/123"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_served_routes() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/auth/login",
        "/api/v1/me",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    // Every documented GET without parameters answers (the document matches the code).
    for (path, item) in paths {
        if item.get("get").is_some() && !path.contains('{') {
            let s = app.get(path).await.status();
            assert!(s == 200 || s == 401, "{path} answered {s}");
        }
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_docs_page_is_readable_and_self_contained() {
    let app = TestApp::new().await;
    let r = app.get("/docs").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("Dentex API"));
    assert!(html.contains("/api/v1/auth/login"));
    assert!(html.contains("schema-Problem"));
    // Works offline: no script and nothing loaded from another host.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=\"http"));
    assert!(!html.contains("<link"));
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_only_configured_origins() {
    let app = TestApp::new().await;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));

    let app = TestApp::builder()
        .config(|c| c.http.cors_allowed_origins = vec!["https://app.dentex.example".into()])
        .start()
        .await;
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://app.dentex.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.dentex.example");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}
