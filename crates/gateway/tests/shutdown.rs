//! SIGTERM while a request and a job are in flight: the request finishes, the
//! job is handed back for another worker, nothing committed is lost and no
//! half-written row remains; the next process delivers the job exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

mod common;

use common::{Env, sigterm, wait_exit};
use dentex_db::entities::{audit_event, job};
use dentex_mail::sink::SmtpSink;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

async fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_and_hands_running_jobs_back() {
    let smtp = SmtpSink::start().await.unwrap();
    smtp.set_delay(Duration::from_secs(60));
    let mut env = Env::new().await;
    env.set("DENTEX_MAIL__SMTP_URL", &smtp.url());
    env.set("DENTEX_JOBS__POLL_INTERVAL_MS", "50");
    env.set("DENTEX_JOBS__SHUTDOWN_GRACE_SECS", "1");
    env.set("DENTEX_HTTP__SHUTDOWN_TIMEOUT_SECS", "20");

    let (code, _, err) = env.run(&["admin", "send-test-mail", "--to", "ops@lab.example"], None);
    assert_eq!(code, 0, "{err}");
    let (mut child, url) = env.serve();

    // The mail job is running: its SMTP delivery is held open by the sink.
    wait_for("the job to start delivering", 20, || smtp.data_started() == 1).await;

    // A request in flight: headers and half of the body sent.
    let addr = url.trim_start_matches("http://").to_owned();
    let body = br#"{"email":"nobody@clinic.example","password":"not-a-real-password"}"#;
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..20]).unwrap();
    conn.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // New connections are no longer accepted…
    assert!(TcpStream::connect(&addr).is_err(), "the listener should be closed");
    // …but the request in flight completes.
    conn.write_all(&body[20..]).unwrap();
    let mut resp = String::new();
    conn.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(resp.contains("invalid_credentials"), "{resp}");

    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");

    // The job was handed back: queued, due, not counted as a failed attempt.
    let db = env.db.connect().await.unwrap();
    let jobs: Vec<_> = job::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == dentex_mail::JOB_KIND)
        .collect();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "queued");
    assert_eq!(jobs[0].attempts, 0);
    assert_eq!(jobs[0].locked_by, None);
    assert_eq!(
        smtp.received().len(),
        0,
        "the interrupted delivery was not acknowledged"
    );
    // The finished request's audit row was committed, and the chain is whole.
    let rows = audit_event::Entity::find().all(&db).await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.action == "auth.login").count(), 1);
    db.close().await.unwrap();
    let (code, out, _) = env.run(&["audit", "verify"], None);
    assert_eq!(code, 0, "{out}");

    // Another process picks the job up and delivers it once.
    smtp.set_delay(Duration::ZERO);
    let (mut child, _url) = env.serve();
    let got = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, vec!["ops@lab.example"]);
    let db = env.db.connect().await.unwrap();
    let mut done = false;
    for _ in 0..200 {
        let j = job::Entity::find()
            .filter(job::Column::Kind.eq(dentex_mail::JOB_KIND))
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        if j.status == "done" {
            assert_eq!(j.attempts, 1);
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(done, "the job finished");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 1, "delivered exactly once");
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
}
