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
}

#[tokio::test]
async fn request_ids_are_made_here_and_a_clients_own_is_logged_beside() {
    let app = TestApp::new().await;
    // A client's id never becomes ours (it could repeat another request's);
    // a well-formed one is kept in the log line as client_request_id.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-proxy-1234abcd")
        .send()
        .await
        .unwrap();
    let ours = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(ours, "edge-proxy-1234abcd");
    assert!(uuid::Uuid::parse_str(&ours).is_ok(), "{ours}");
    let logs = dentex_tests::captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains(&ours) && l.contains("request finished"))
        .unwrap_or_else(|| panic!("a log line for {ours}"));
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["span"]["request_id"], ours.as_str(), "{line}");
    assert_eq!(v["span"]["client_request_id"], "edge-proxy-1234abcd", "{line}");
    // Two clients sending the same id get two ids.
    let again = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-proxy-1234abcd")
        .send()
        .await
        .unwrap();
    assert_ne!(again.headers()["x-request-id"].to_str().unwrap(), ours);
    // A hostile value is neither echoed nor logged.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(r.headers()["x-request-id"].to_str().unwrap()).is_ok());
    assert!(!dentex_tests::captured_logs().contains("<script>alert(1)"));
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
async fn only_json_in_utf8_is_read_as_json() {
    let app = TestApp::new().await;
    let body = r#"{"email": "a@b.co", "password": "wrong-password-1"}"#;
    let send = |content_type: &'static str, bytes: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", content_type)
            .body(bytes)
            .send()
    };
    for ct in [
        "text/json",
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
    ] {
        let r = send(ct, body.as_bytes().to_vec()).await.unwrap();
        assert_eq!(r.status(), 415, "{ct}");
        assert_eq!(problem(r).await["code"], "unsupported_media_type", "{ct}");
    }
    // A UTF-16 body is refused, whatever it claims to be.
    let utf16: Vec<u8> = body.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let r = send("application/json; charset=utf-16", utf16.clone()).await.unwrap();
    assert_eq!(r.status(), 415);
    let r = send("application/json", utf16).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "malformed_json");
    // JSON in UTF-8, named either way, is read (and the password is wrong).
    for ct in [
        "application/json",
        "application/json; charset=UTF-8",
        "application/vnd.dentex+json",
    ] {
        let r = send(ct, body.as_bytes().to_vec()).await.unwrap();
        assert_eq!(r.status(), 401, "{ct}");
    }
}

#[tokio::test]
async fn a_key_repeated_at_any_depth_is_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let clinic = app.register("ada@smile-clinic.example", "clinic").await;
    let body = r#"{"patient_ref": "PT-1", "rx": {"notes": "first", "items": [], "notes": "second"}}"#;
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&clinic.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    assert_eq!(p["errors"][0]["field"], "rx.notes", "{p}");
    assert_eq!(p["errors"][0]["code"], "duplicate_key", "{p}");
    // Deeper still.
    let body = r#"{"patient_ref": "PT-1", "rx": {"items": [{"shade": "A1", "shade": "B2"}]}}"#;
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&clinic.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "rx.items[0].shade");
    let list: Value = app
        .get_authed("/api/v1/cases", &clinic.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
}

/// Sends raw bytes on a new connection and reads the answer until the server closes.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.direct_base.trim_start_matches("http://"))
        .await
        .unwrap();
    // The server may answer and close before reading everything.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn assert_dressed(answer: &str, status: &str, code: &str) {
    assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_default();
    let head = head.to_ascii_lowercase();
    let rid = head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no request id: {answer}"));
    assert!(uuid::Uuid::parse_str(rid).is_ok(), "{rid}");
    for h in [
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "content-security-policy:",
        "cache-control: no-store",
    ] {
        assert!(head.contains(h), "{h} missing: {answer}");
    }
    assert!(head.contains("content-type: application/problem+json"), "{answer}");
    let p: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(p["code"], code, "{answer}");
    assert!(
        dentex_tests::captured_logs()
            .lines()
            .any(|l| l.contains(rid) && l.contains("could not read")),
        "the refusal is logged under {rid}"
    );
}

#[tokio::test]
async fn answers_the_http_layer_makes_are_problems_with_our_headers() {
    let app = TestApp::new().await;
    // More headers than actix-http takes (whole, so the server reads it all
    // before it answers and closes).
    let mut huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..120 {
        huge.extend_from_slice(format!("X-Filler-{i}: a\r\n").as_bytes());
    }
    huge.extend_from_slice(b"\r\n");
    assert_dressed(&raw_exchange(&app, &huge).await, "431", "headers_too_large");
    // A request line with raw bytes that are not a URI.
    let bad_path = b"GET /\xff\xfe/cases HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_dressed(&raw_exchange(&app, bad_path).await, "400", "bad_request");
    // A header that is not a header.
    let bad_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n";
    assert_dressed(&raw_exchange(&app, bad_header).await, "400", "bad_request");
    // The server is fine afterwards, and counted them under closed labels.
    assert_eq!(app.get("/healthz").await.status(), 200);
    let text = scrape(&app).await;
    assert!(
        text.contains("dentex_http_requests_total{method=\"other\",route=\"unmatched\",status=\"431\"} 1"),
        "{text}"
    );
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

async fn scrape(app: &TestApp) -> String {
    let r = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::new().await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/api/v1/nothing/123").await;
    let text = scrape(&app).await;
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
async fn metrics_are_not_served_on_the_api_listener() {
    let app = TestApp::new().await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 404);
    assert_eq!(problem(r).await["code"], "not_found");
}

#[tokio::test]
async fn the_metrics_listener_can_require_a_bearer_token() {
    let app = TestApp::builder()
        .config(|c| c.metrics.bearer_token = Some("scrape-secret-0123456789".to_owned().into()))
        .start()
        .await;
    let url = format!("{}/metrics", app.metrics_base);
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(&url)
        .bearer_auth("scrape-secret-wrong-0000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(&url)
        .bearer_auth("scrape-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("dentex_uptime_seconds"));
}

/// Made-up methods and paths, as anyone who can reach the server can send.
async fn random_requests(app: &TestApp, n: usize, seed: u64) {
    use futures_util::StreamExt;
    let mut state = seed;
    let mut next = move || {
        // xorshift: reproducible without another dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let requests: Vec<(reqwest::Method, String)> = (0..n)
        .map(|_| {
            let r = next();
            let method = match r % 4 {
                0 => reqwest::Method::GET,
                1 => reqwest::Method::from_bytes(format!("XYZ{:x}", r >> 8).as_bytes()).unwrap(),
                2 => reqwest::Method::from_bytes(format!("M{}", r >> 40).as_bytes()).unwrap(),
                _ => reqwest::Method::DELETE,
            };
            let path = match (r >> 2) % 3 {
                0 => format!("/healthz/{:x}", next()),
                1 => format!("/api/v1/cases/{:x}", next()),
                _ => format!("/{:x}/{:x}", next(), next()),
            };
            (method, path)
        })
        .collect();
    futures_util::stream::iter(requests)
        .for_each_concurrent(32, |(method, path)| async move {
            let r = app.client.request(method, app.url(&path)).send().await.unwrap();
            assert!(r.status().is_client_error(), "{path}: {}", r.status());
        })
        .await;
}

fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("dentex_http_requests_total{"))
        .count()
}

#[tokio::test]
async fn random_methods_and_paths_do_not_grow_the_metrics() {
    let app = TestApp::new().await;
    random_requests(&app, 1_000, 0x9e37_79b9_7f4a_7c15).await;
    let after_1k = scrape(&app).await;
    random_requests(&app, 9_000, 0x2545_f491_4f6c_dd1d).await;
    let after_10k = scrape(&app).await;
    // Labels come from closed sets: standard methods or `other`, route
    // patterns or `unmatched`, statuses the server chose.
    assert!(series(&after_10k) <= 12, "{after_10k}");
    assert_eq!(series(&after_10k), series(&after_1k), "{after_10k}");
    assert!(after_10k.len() < 32 * 1024, "{} bytes", after_10k.len());
    // Ten times the requests, a few more digits in the counts.
    assert!(
        after_10k.len() <= after_1k.len() + 512,
        "{} then {}",
        after_1k.len(),
        after_10k.len()
    );
    assert!(
        !after_10k.contains("XYZ") && !after_10k.contains("route=\"/healthz/"),
        "{after_10k}"
    );
    assert!(after_10k.contains("method=\"other\""), "{after_10k}");
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
