//! The outbox of the live events (issue #15), on both databases: stream
//! positions commit in order even when two writers' transactions
//! interleave (a reader of "after n" never skips an event that commits
//! late), and a subscriber that cannot keep up is dropped, never buffered
//! without bound.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_db::testing::TestDatabase;
use dentex_events::{Gate, Hub, HubConfig, Outbox, Recipient};
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DbErr};
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

/// Every organisation sees every case and every session is live (the
/// gate itself is tested through the API, with the cases and accounts
/// crates' decisions).
struct Open;

impl Gate for Open {
    fn visible<'a>(
        &'a self,
        _: &'a DatabaseConnection,
        _: Uuid,
        cases: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, DbErr>> {
        Box::pin(async move { Ok(cases.into_iter().collect()) })
    }

    fn live_sessions<'a>(
        &'a self,
        _: &'a DatabaseConnection,
        _: Uuid,
        sessions: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, DbErr>> {
        Box::pin(async move { Ok(sessions.into_iter().collect()) })
    }
}

fn hub(db: &DatabaseConnection, buffer: usize) -> (Hub, tokio_util::sync::CancellationToken) {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let hub = Hub::start(
        db.clone(),
        std::sync::Arc::new(Open),
        HubConfig {
            buffer,
            poll: Duration::from_secs(3600),
        },
        shutdown.clone(),
    );
    (hub, shutdown)
}

/// Everything a subscription receives until it ends (or 10 s pass: a
/// subscription that should have ended fails the test instead of hanging).
async fn drain(sub: &mut dentex_events::Subscription) -> Vec<(Uuid, i64)> {
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), sub.rx.recv()).await {
            Ok(Some(d)) => got.push((d.org, d.position)),
            Ok(None) => return got,
            Err(_) => panic!("the subscription did not end: {got:?}"),
        }
    }
}

async fn write(db: &DatabaseConnection, org: Uuid, kind: &'static str) {
    let txn = dentex_db::begin_write(db).await.unwrap();
    let mut out = Outbox::new();
    out.push([Recipient::org(org)], kind, None, &serde_json::json!({"k": kind}));
    out.write_in(&txn).await.unwrap();
    txn.commit().await.unwrap();
}

async fn positions(db: &DatabaseConnection, org: Uuid) -> Vec<(i64, String)> {
    dentex_events::store::after(db, org, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.position, e.kind))
        .collect()
}

/// The first writer takes position 1 and holds it; the second waits for
/// it and takes 2; until the first commits a reader sees neither, and it
/// never sees 2 without 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_commit_in_order_when_writers_interleave() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let org = Uuid::now_v7();
    let first = dentex_db::begin_write(&db).await.unwrap();
    let mut out = Outbox::new();
    out.push([Recipient::org(org)], "first", None, &serde_json::json!({}));
    out.write_in(&first).await.unwrap();

    let db2 = db.clone();
    let second = tokio::spawn(async move { write(&db2, org, "second").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second writer waits for the first's stream lock"
    );
    assert!(
        positions(&db, org).await.is_empty(),
        "nothing is visible before a commit"
    );

    first.commit().await.unwrap();
    second.await.unwrap();
    assert_eq!(
        positions(&db, org).await,
        vec![(1, "first".to_owned()), (2, "second".to_owned())],
        "positions in commit order, no gap"
    );
}

/// Many writers at once: the positions a reader sees while they run are
/// always 1..=n with no hole, and end as one per event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_sees_a_hole_while_writers_race() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let org = Uuid::now_v7();
    let mut writers = Vec::new();
    for _ in 0..8 {
        let db = db.clone();
        writers.push(tokio::spawn(async move {
            for _ in 0..10 {
                write(&db, org, "raced").await;
            }
        }));
    }
    let mut checks = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        let seen: Vec<i64> = positions(&db, org).await.into_iter().map(|(p, _)| p).collect();
        let expected: Vec<i64> = (1..=i64::try_from(seen.len()).unwrap()).collect();
        assert_eq!(seen, expected, "a hole in the stream");
        checks += 1;
    }
    for w in writers {
        w.await.unwrap();
    }
    let all = dentex_events::store::after(&db, org, 0, 1000).await.unwrap();
    assert_eq!(all.len(), 80);
    assert!(checks > 0);
}

/// A subscriber whose buffer is full is dropped (its stream ends; the
/// client resumes from its cursor); one that keeps up gets every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_dropped() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let (hub, shutdown) = hub(&db, 3);
    let org = Uuid::now_v7();
    let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
    let mut slow = hub.subscribe(user, session, vec![org]).await.unwrap();
    let mut quick = hub.subscribe(user, session, vec![org]).await.unwrap();
    // The quick reader acknowledges each event before the next is written,
    // so it keeps up however slow the machine; the slow one reads nothing.
    let (ack, mut acked) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 10 {
            match tokio::time::timeout(Duration::from_secs(10), quick.rx.recv()).await {
                Ok(Some(d)) => {
                    got.push(d.position);
                    let _ = ack.send(());
                }
                _ => break,
            }
        }
        got
    });
    for _ in 0..10 {
        write(&db, org, "burst").await;
        dentex_events::committed();
        tokio::time::timeout(Duration::from_secs(10), acked.recv())
            .await
            .expect("the quick reader got the event")
            .expect("ack");
    }
    assert_eq!(reader.await.unwrap(), (1..=10).collect::<Vec<i64>>());
    let slow_got: Vec<i64> = drain(&mut slow).await.into_iter().map(|(_, p)| p).collect();
    assert_eq!(slow_got, vec![1, 2, 3], "what fit in its buffer, then the end");
    shutdown.cancel();
}

/// A person in two organisations has one stream: when it falls behind on
/// one organisation's events it is dropped from both (its stream ends and
/// it resumes), never left open without that organisation's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_of_two_organisations_is_dropped_from_both() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let (hub, shutdown) = hub(&db, 2);
    let (clinic, lab) = (Uuid::now_v7(), Uuid::now_v7());
    let mut both = hub
        .subscribe(Uuid::now_v7(), Uuid::now_v7(), vec![clinic, lab])
        .await
        .unwrap();
    for _ in 0..4 {
        write(&db, lab, "busy").await;
    }
    dentex_events::committed();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hub.subscribers() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow subscriber was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    write(&db, clinic, "after").await;
    dentex_events::committed();
    let got = drain(&mut both).await;
    assert_eq!(
        got,
        vec![(lab, 1), (lab, 2)],
        "what fit, then the end: nothing of either organisation after"
    );
    shutdown.cancel();
}
