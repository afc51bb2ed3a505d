//! The service under load, as a client fleet meets it: the release build of
//! the server (this process, `cargo bench` builds it optimised) on SQLite or,
//! with `DENTEX_TEST_POSTGRES_URL`, on PostgreSQL, seeded with a clinic of
//! 10,000 cases (files, quotes and orders on some), two labs and a second
//! clinic; then `wrk` (a second process, from Debian's `wrk` package) drives
//! each route with 64 connections on 2 threads for a fixed time.
//!
//! It prints requests/s, p50, p99 and errors per route, and each route's
//! requests/s as a ratio to `/healthz` in the same run (the machines are
//! shared and noisy; ratios are what the goals are written in). It ends with
//! the audit check: every chain verifies, and the audit rows written during the
//! runs equal the audited requests the server answered (counted from its own
//! metrics) times the rows each such request writes (measured once before).
//!
//! `cargo bench -p dentex-tests --bench load` (seconds per route:
//! `DENTEX_LOAD_SECS`, default 8; connections: `DENTEX_LOAD_CONNECTIONS`,
//! default 64; only some routes: `DENTEX_LOAD_ROUTES=healthz,me`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise"
)]

use dentex_tests::{Actor, TestApp, cube_stl, in_days};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const DRAFTS: usize = 9_900;
const SUBMITTED: usize = 100;
const QUOTED: usize = 60;
const AWARDED: usize = 30;

struct Route {
    name: &'static str,
    /// The route pattern, as the metrics name it.
    pattern: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<String>,
    /// Audit rows one answered request writes (measured).
    rows_per_request: u64,
}

#[derive(Debug, Default, Clone)]
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the load benchmark needs wrk: apt-get install wrk");
        std::process::exit(2);
    }
    // Quiet logs: the harness would otherwise keep every line in memory.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let secs: u64 = env_or("DENTEX_LOAD_SECS", 8);
    let connections: u64 = env_or("DENTEX_LOAD_CONNECTIONS", 64);
    let only: Option<Vec<String>> = std::env::var("DENTEX_LOAD_ROUTES")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    // The server as `dentex serve` runs it by default: one HTTP worker per
    // CPU, ten database connections, two job workers.
    let app = TestApp::builder()
        .config(|c| {
            c.http.workers = 0;
            c.database.max_connections = 10;
            c.jobs.workers = 2;
        })
        .start()
        .await;
    let backend = if app.is_postgres() { "PostgreSQL" } else { "SQLite" };
    let t = Instant::now();
    let seeded = seed(&app).await;
    wait_for_jobs(&app).await;
    eprintln!("seeded in {:.0} s", t.elapsed().as_secs_f64());

    let mut routes = routes(&seeded);
    if let Some(only) = &only {
        routes.retain(|r| r.name == "healthz" || only.iter().any(|o| o == r.name));
    }
    for r in &mut routes {
        r.rows_per_request = rows_per_request(&app, r).await;
    }

    let rows_before = audit_rows(&app).await;
    let mut results: Vec<(usize, Figures)> = Vec::new();
    // Audit rows the answered requests must have written, and how many
    // more the requests still in flight when wrk stopped may have (a read
    // is audited before it is answered; one whose client left is not
    // counted as answered).
    let mut expected = 0u64;
    let mut in_flight = 0u64;
    for (i, r) in routes.iter().enumerate() {
        let key = (r.pattern.to_owned(), r.method.to_owned());
        let before = answered(&app).await.get(&key).copied().unwrap_or(0);
        let f = drive(&app, r, secs, connections);
        eprintln!(
            "{:<14} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
            r.name, f.rps, f.p50_ms, f.p99_ms, f.errors
        );
        results.push((i, f));
        // Let the server finish what wrk left in flight before counting.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = answered(&app).await.get(&key).copied().unwrap_or(0);
        expected += (after - before) * r.rows_per_request;
        in_flight += connections * r.rows_per_request;
    }
    let rows_after = audit_rows(&app).await;

    let healthz = results
        .iter()
        .find(|(i, _)| routes[*i].name == "healthz")
        .map_or(1.0, |(_, f)| f.rps.max(1.0));
    println!();
    println!(
        "load on {backend}, {} CPUs ({}), {connections} connections, {secs} s per route",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!("| route | req/s | p50 ms | p99 ms | errors | ratio to /healthz |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, f) in &results {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.1} % |",
            routes[*i].name,
            f.rps,
            f.p50_ms,
            f.p99_ms,
            f.errors,
            100.0 * f.rps / healthz
        );
    }

    // The audit trail kept up: one row per audited answer, chains intact.
    let written = rows_after - rows_before;
    let report = app.state.audit.verify().await.unwrap();
    println!();
    println!(
        "audit: {written} rows written during the runs, {expected} for the requests answered \
         (+ at most {in_flight} for requests cut off when a run ended); \
         audit verify: {} chains, {} rows, {}",
        report.chains,
        report.rows,
        if report.is_intact() { "intact" } else { "BROKEN" }
    );
    let errors: u64 = results.iter().map(|(_, f)| f.errors).sum();
    if written < expected || written > expected + in_flight || !report.is_intact() || errors > 0 {
        println!(
            "FAILED: audit rows {written} vs {expected}, intact {}, errors {errors}",
            report.is_intact()
        );
        std::process::exit(1);
    }
}

struct Seeded {
    clinic: Actor,
    /// A submitted case with two quotes and a scan.
    quoted_case: String,
    /// A draft with ten scans.
    files_case: String,
}

async fn seed(app: &TestApp) -> Seeded {
    let staff = app.support_agent("support@dentex.test").await;
    let clinic = app.verified_org(&staff, "load@clinic.test", "clinic", &[]).await;
    let other = app.verified_org(&staff, "other@clinic.test", "clinic", &[]).await;
    let lab_a = app
        .verified_org(&staff, "a@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    let lab_b = app
        .verified_org(&staff, "b@lab.test", "dental_lab", &["crown", "bridge"])
        .await;
    // Drafts, sixteen at a time.
    let drafts = futures_util::stream::iter(0..DRAFTS + 100)
        .map(|i| {
            let who = if i < DRAFTS { &clinic } else { &other };
            async move {
                let r = app
                    .send(
                        reqwest::Method::POST,
                        "/api/v1/cases",
                        Some(&who.token),
                        Some(&json!({"patient_ref": format!("LOAD-{i:05}")})),
                    )
                    .await;
                assert_eq!(r.status(), 201);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>();
    drafts.await;
    // Complete cases sent to both labs; quotes on some, orders on fewer.
    let mut quoted = Vec::new();
    for i in 0..SUBMITTED {
        let case = app
            .submitted_case(&clinic, &format!("LOAD-S{i:03}"), &[&lab_a, &lab_b])
            .await;
        if i < QUOTED {
            let mut ids = Vec::new();
            for (lab, amount) in [(&lab_a, 42_000), (&lab_b, 39_500)] {
                let r = app
                    .send(
                        reqwest::Method::POST,
                        &format!("/api/v1/cases/{case}/quotes"),
                        Some(&lab.token),
                        Some(&json!({
                            "price": {"amount_minor": amount, "currency": "EUR"},
                            "turnaround_days": 5,
                            "valid_until": in_days(10),
                        })),
                    )
                    .await;
                assert_eq!(r.status(), 201, "quote");
                ids.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
            }
            if i < AWARDED {
                let r = app
                    .client
                    .post(app.url(&format!("/api/v1/quotes/{}/accept", ids[1])))
                    .bearer_auth(&clinic.token)
                    .header("idempotency-key", format!("load-{i}"))
                    .json(&json!({"version": 1}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "accept");
            } else {
                quoted.push(case);
            }
        }
    }
    // A draft with ten scans.
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/cases",
            Some(&clinic.token),
            Some(&json!({"patient_ref": "LOAD-FILES"})),
        )
        .await;
    let files_case = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    for _ in 0..10 {
        let r = app
            .client
            .post(app.url(&format!("/api/v1/cases/{files_case}/files")))
            .bearer_auth(&clinic.token)
            .body(cube_stl())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    Seeded {
        clinic,
        quoted_case: quoted.pop().expect("a quoted case"),
        files_case,
    }
}

fn routes(s: &Seeded) -> Vec<Route> {
    let token = Some(s.clinic.token.clone());
    let get = |name, pattern, path: String, token: &Option<String>| Route {
        name,
        pattern,
        method: "GET",
        path,
        token: token.clone(),
        body: None,
        rows_per_request: 0,
    };
    vec![
        get("healthz", "/healthz", "/healthz".into(), &None),
        get("me", "/api/v1/me", "/api/v1/me".into(), &token),
        get(
            "case",
            "/api/v1/cases/{case}",
            format!("/api/v1/cases/{}", s.quoted_case),
            &token,
        ),
        get(
            "cases?limit=10",
            "/api/v1/cases",
            "/api/v1/cases?limit=10".into(),
            &token,
        ),
        get(
            "cases?limit=50",
            "/api/v1/cases",
            "/api/v1/cases?limit=50".into(),
            &token,
        ),
        get(
            "files",
            "/api/v1/cases/{case}/files",
            format!("/api/v1/cases/{}/files", s.files_case),
            &token,
        ),
        get(
            "quotes",
            "/api/v1/cases/{case}/quotes",
            format!("/api/v1/cases/{}/quotes", s.quoted_case),
            &token,
        ),
        get("orders", "/api/v1/orders", "/api/v1/orders".into(), &token),
        Route {
            name: "draft (write)",
            pattern: "/api/v1/cases",
            method: "POST",
            path: "/api/v1/cases".into(),
            token,
            body: Some(json!({"patient_ref": "LOAD-W"}).to_string()),
            rows_per_request: 0,
        },
    ]
}

async fn audit_rows(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    dentex_db::entities::audit_event::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

/// Audit rows one request of `r` writes.
async fn rows_per_request(app: &TestApp, r: &Route) -> u64 {
    let before = audit_rows(app).await;
    let mut req = app.client.request(r.method.parse().unwrap(), app.url(&r.path));
    if let Some(t) = &r.token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = &r.body {
        req = req.header("content-type", "application/json").body(b.clone());
    }
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{}: {}", r.name, res.status());
    audit_rows(app).await - before
}

/// Successful answers per (route pattern, method), from the server's metrics.
async fn answered(app: &TestApp) -> HashMap<(String, String), u64> {
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("dentex_http_requests_total{") else {
            continue;
        };
        let Some((labels, count)) = rest.split_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        if label("status").starts_with('2') {
            *out.entry((label("route"), label("method"))).or_default() += count.parse::<u64>().unwrap_or(0);
        }
    }
    out
}

async fn wait_for_jobs(app: &TestApp) {
    for _ in 0..600 {
        let queued = app
            .state
            .queue
            .list(Some(dentex_jobs::STATUS_QUEUED), 10)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.run_at <= chrono::Utc::now())
            .count();
        let running = app
            .state
            .queue
            .list(Some(dentex_jobs::STATUS_RUNNING), 10)
            .await
            .unwrap()
            .len();
        if queued == 0 && running == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs wrk against one route; wrk is a process of its own.
fn drive(app: &TestApp, r: &Route, secs: u64, connections: u64) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", &format!("-c{connections}"), &format!("-d{secs}s"), "--latency"]);
    if let Some(t) = &r.token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(body) = &r.body {
        let script = dir.path().join("post.lua");
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"{}\"\nwrk.body = [[{body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
                r.method
            ),
        )
        .unwrap();
        cmd.args(["-s", script.to_str().unwrap()]);
    }
    cmd.arg(app.url(&r.path));
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let f = parse_wrk(&text).unwrap_or_else(|| panic!("unreadable wrk output for {}:\n{text}", r.name));
    if f.errors > 0 {
        eprintln!("{text}");
    }
    f
}

fn parse_ms(v: &str) -> Option<f64> {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

fn parse_wrk(text: &str) -> Option<Figures> {
    let mut f = Figures::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => f.p50_ms = parse_ms(v)?,
            ["99%", v] => f.p99_ms = parse_ms(v)?,
            ["Requests/sec:", v] => f.rps = v.parse().ok()?,
            [n, "requests", "in", ..] => f.requests = n.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => f.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                for pair in rest.chunks(2) {
                    if let [_, n] = pair {
                        f.errors += n.trim_end_matches(',').parse::<u64>().ok()?;
                    }
                }
            }
            _ => {}
        }
    }
    (f.rps > 0.0).then_some(f)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
