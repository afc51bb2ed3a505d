//! Two gateway processes over one PostgreSQL (issue #15): a message posted
//! on one arrives live on a client of the other, carried by `NOTIFY` alone
//! (the second process's safety-net poll is set to a minute); when the
//! second process's listener connection is killed (`pg_terminate_backend`)
//! the events sent meanwhile still arrive, read from the outbox after it
//! reconnects. The first process is this test's in-process app; the
//! second is the real `dentex` binary. On SQLite (one process by design)
//! there is no second process to run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::setup::market::Market;
use dentex_tests::setup::{call, json_of};
use dentex_tests::sse;
use reqwest::Method;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The `dentex` binary beside this test's executable (built by
/// `cargo test --workspace`, for the gateway's own process tests).
fn binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("dentex");
    assert!(bin.exists(), "{} is missing: run cargo test --workspace", bin.display());
    bin
}

struct Second {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Second {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn second_process(database_url: &str, mfa_key: &str) -> Second {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DENTEX_TEST_POSTGRES_URL")
        .env("DENTEX_DATABASE__URL", database_url)
        .env("DENTEX_AUTH__MFA_KEY", mfa_key)
        .env("DENTEX_METRICS__ADDR", "127.0.0.1:0")
        .env("DENTEX_JOBS__WORKERS", "0")
        .env("DENTEX_EVENTS__POLL_MS", "60000")
        .env("DENTEX_LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("serve printed nothing").unwrap();
    let url = first.strip_prefix("listening on ").expect("listening on").to_owned();
    std::thread::spawn(move || for _ in lines {});
    Second { child, url, _dir: dir }
}

async fn kill_listeners(database_url: &str) -> u64 {
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity \
             WHERE query ILIKE 'LISTEN%' AND datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap();
    rows.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_on_one_process_arrives_live_on_the_other() {
    let m = Market::new().await;
    if !m.app.is_postgres() {
        eprintln!("one process on SQLite: the two-process test runs on PostgreSQL");
        return;
    }
    let other = second_process(m.app.database_url(), &m.app.mfa_key());
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/threads", m.case),
        &m.a,
        None,
    )
    .await;
    let thread = json_of(r).await["items"][0]["id"].as_str().unwrap().to_owned();
    let mut remote = sse::Client::connect(&other.url, "", Some(&m.clinic.token), None).await;
    assert_eq!(remote.status, 200);
    // Let the second process's listener start.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let post = |body: &str| {
        let body = json!({"body": body});
        let thread = thread.clone();
        let app = &m.app;
        let lab = &m.a;
        async move {
            call(
                app,
                Method::POST,
                &format!("/api/v1/threads/{thread}/messages"),
                lab,
                Some(body),
            )
            .await
        }
    };
    let sent = json_of(post("posted on the first").await).await;
    let got = remote
        .next_of("message.created", Duration::from_secs(10))
        .await
        .expect("the other process delivers it (NOTIFY)");
    assert_eq!(got.data["message_id"], sent["id"]);

    // The listener's connection dies; what is sent meanwhile still arrives.
    assert!(
        kill_listeners(m.app.database_url()).await >= 2,
        "both processes were listening"
    );
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(json_of(post(&format!("while away {i}")).await).await["id"].clone());
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let e = remote
            .next_of("message.created", Duration::from_secs(15))
            .await
            .expect("caught up after the listener came back");
        seen.push(e.data["message_id"].clone());
    }
    assert_eq!(seen, ids, "every event, in order, once");
}
