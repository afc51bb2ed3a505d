//! Mail leaves through the job queue and arrives at a real SMTP listener.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_domain::Email;
use dentex_gateway::app::JOB_MAIL_SEND;
use dentex_jobs::EnqueueOptions;
use dentex_tests::TestApp;
use std::time::Duration;

#[tokio::test]
async fn queued_mail_is_delivered_over_smtp_by_the_workers() {
    let app = TestApp::new().await;
    let id = app
        .state
        .queue
        .enqueue(
            JOB_MAIL_SEND,
            &dentex_mail::templates::test_message(Email::parse("lab.owner@lab.example").unwrap()),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let got = app.smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, vec!["lab.owner@lab.example"]);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Dentex test message"));
    for _ in 0..100 {
        if app.state.queue.get(id).await.unwrap().unwrap().status == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.state.queue.get(id).await.unwrap().unwrap().status, "done");
}

#[tokio::test]
async fn an_unreachable_smtp_server_means_retries_not_loss() {
    // Point mail at a port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = TestApp::builder()
        .config(move |c| c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into()))
        .start()
        .await;
    let id = app
        .state
        .queue
        .enqueue(
            JOB_MAIL_SEND,
            &dentex_mail::templates::test_message(Email::parse("lab.owner@lab.example").unwrap()),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let mut job = None;
    for _ in 0..200 {
        let j = app.state.queue.get(id).await.unwrap().unwrap();
        if j.attempts >= 1 && j.status == "queued" {
            job = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = job.expect("the failed attempt is recorded and the job waits for a retry");
    assert!(job.last_error.is_some());
    assert!(job.run_at > job.updated_at, "the retry is scheduled for later");
    // Nothing was lost: the job is still there to be retried.
    let queued = app.state.queue.list(Some("queued"), 10).await.unwrap();
    assert_eq!(queued.iter().filter(|j| j.kind == JOB_MAIL_SEND).count(), 1);
}
