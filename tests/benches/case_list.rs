//! How long a clinic waits for a page of 200 cases (`GET /api/v1/cases?limit=200`).
//! Every case shown is a read of its Rx, so every page writes 200 audit rows;
//! this measures the page with those writes, on the embedded SQLite and, with
//! `DENTEX_TEST_POSTGRES_URL`, on PostgreSQL.
//!
//! `cargo bench -p dentex-tests --bench case_list` (rounds: `DENTEX_BENCH_ROUNDS`, default 20).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise"
)]

use dentex_tests::TestApp;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn main() {
    let rounds: usize = std::env::var("DENTEX_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = TestApp::new().await;
        let staff = app.support_agent("support@dentex.test").await;
        let clinic = app.verified_org(&staff, "bench@clinic.test", "clinic", &[]).await;
        for i in 0..200 {
            let r = app
                .send(
                    reqwest::Method::POST,
                    "/api/v1/cases",
                    Some(&clinic.token),
                    Some(&json!({"patient_ref": format!("bench-{i}")})),
                )
                .await;
            assert_eq!(r.status(), 201);
        }
        let mut times: Vec<Duration> = Vec::with_capacity(rounds);
        for _ in 0..rounds + 2 {
            let t = Instant::now();
            let r = app.get_authed("/api/v1/cases?limit=200", &clinic.token).await;
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            times.push(t.elapsed());
            assert_eq!(v["items"].as_array().unwrap().len(), 200);
        }
        // The first two warm up.
        let mut times = times.split_off(2);
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{} page(s) of 200 cases on {}: median {:.1} ms, fastest {:.1} ms, slowest {:.1} ms",
            times.len(),
            if app.is_postgres() { "PostgreSQL" } else { "SQLite" },
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
        app.stop().await;
    });
}
