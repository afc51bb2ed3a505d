//! The hash-chained audit log on a real database (SQLite, or PostgreSQL when
//! `DENTEX_TEST_POSTGRES_URL` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_audit::*;
use dentex_db::testing::TestDatabase;
use dentex_domain::{OrgId, UserId};
use sea_orm::{ConnectionTrait, DatabaseConnection};

fn event(org: Option<OrgId>, i: usize) -> AuditEvent {
    AuditEvent {
        org_id: org,
        actor_id: Some(UserId::new()),
        actor_kind: ActorKind::User,
        action: "case.read".into(),
        resource_type: "case".into(),
        resource_id: Some(format!("case-{i}")),
        outcome: Outcome::Success,
        request_id: Some(format!("req-{i}")),
        client_addr: Some("127.0.0.1".into()),
        reason: None,
        acting_org_id: None,
    }
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

/// What an attacker with database rights would do first.
async fn disable_append_only(db: &DatabaseConnection, pg: bool) {
    if pg {
        exec(db, "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update").await;
    } else {
        exec(db, "DROP TRIGGER audit_events_no_update").await;
        exec(db, "DROP TRIGGER audit_events_no_delete").await;
    }
}

async fn seeded(n: usize) -> (TestDatabase, DatabaseConnection, AuditLog, OrgId) {
    let (t, db) = TestDatabase::migrated().await.unwrap();
    let log = AuditLog::new(db.clone());
    let org = OrgId::new();
    for i in 0..n {
        log.record(event(Some(org), i)).await.unwrap();
    }
    (t, db, log, org)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_writers_leave_chains_that_verify() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let log = AuditLog::new(db);
    let a = OrgId::new();
    let b = OrgId::new();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let log = log.clone();
        let org = match i % 3 {
            0 => Some(a),
            1 => Some(b),
            _ => None,
        };
        tasks.push(tokio::spawn(async move { log.record(event(org, i)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let report = log.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.broken);
    assert_eq!(report.rows, 50);
    assert_eq!(report.chains, 3);
    // Each chain numbers its rows 1..n with no gap or fork.
    let rows_a = log.list_for_org(Some(a), 100).await.unwrap();
    let mut seqs: Vec<i64> = rows_a.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=17).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_database_refuses_updates_and_deletes() {
    let (_t, db, log, _org) = seeded(3).await;
    assert!(
        db.execute_unprepared("UPDATE audit_events SET action = 'x'")
            .await
            .is_err()
    );
    assert!(db.execute_unprepared("DELETE FROM audit_events").await.is_err());
    assert!(log.verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn a_changed_row_is_found() {
    let (t, db, log, _org) = seeded(6).await;
    disable_append_only(&db, t.is_postgres()).await;
    exec(&db, "UPDATE audit_events SET outcome = 'denied' WHERE seq = 4").await;
    let report = log.verify().await.unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].seq, 4);
    assert!(report.broken[0].reason.contains("changed"), "{:?}", report.broken);
}

#[tokio::test]
async fn a_deleted_row_is_found() {
    let (t, db, log, _org) = seeded(6).await;
    disable_append_only(&db, t.is_postgres()).await;
    exec(&db, "DELETE FROM audit_events WHERE seq = 3").await;
    let report = log.verify().await.unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].seq, 3);
    assert!(report.broken[0].reason.contains("missing"), "{:?}", report.broken);
}

#[tokio::test]
async fn reordered_rows_are_found() {
    let (t, db, log, _org) = seeded(6).await;
    disable_append_only(&db, t.is_postgres()).await;
    exec(&db, "UPDATE audit_events SET seq = -2 WHERE seq = 2").await;
    exec(&db, "UPDATE audit_events SET seq = 2 WHERE seq = 5").await;
    exec(&db, "UPDATE audit_events SET seq = 5 WHERE seq = -2").await;
    let report = log.verify().await.unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].seq, 2, "{:?}", report.broken);
}

#[tokio::test]
async fn rows_cut_off_the_end_are_found() {
    let (t, db, log, _org) = seeded(6).await;
    disable_append_only(&db, t.is_postgres()).await;
    exec(&db, "DELETE FROM audit_events WHERE seq >= 5").await;
    let report = log.verify().await.unwrap();
    assert_eq!(report.broken.len(), 1);
    assert!(report.broken[0].reason.contains("cut off"), "{:?}", report.broken);
    assert_eq!(report.broken[0].seq, 5);
}

#[tokio::test]
async fn one_broken_chain_does_not_hide_another_organisations_intact_one() {
    let (t, db, log, org) = seeded(4).await;
    let other = OrgId::new();
    for i in 0..4 {
        log.record(event(Some(other), i)).await.unwrap();
    }
    disable_append_only(&db, t.is_postgres()).await;
    exec(
        &db,
        &format!("UPDATE audit_events SET resource_id = 'forged' WHERE seq = 2 AND chain = '{org}'"),
    )
    .await;
    let report = log.verify().await.unwrap();
    assert_eq!(report.chains, 2);
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].chain, org.to_string());
}

#[tokio::test]
async fn batches_keep_order_and_chains_while_single_writers_interleave() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let log = AuditLog::new(db);
    let a = OrgId::new();
    let b = OrgId::new();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                // A page of a list: 30 events over two chains at once.
                let batch = (0..30)
                    .map(|j| event(Some(if j % 3 == 0 { b } else { a }), i * 100 + j))
                    .collect();
                log.record_many(batch).await.map(|ids| ids.len())
            } else {
                log.record(event(Some(a), i * 100)).await.map(|_| 1)
            }
        }));
    }
    let mut written = 0;
    for t in tasks {
        written += t.await.unwrap().unwrap();
    }
    assert_eq!(written, 5 * 30 + 5);
    let report = log.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.broken);
    assert_eq!(report.rows, 155);
    // Within a chain, a batch's rows are consecutive and in the given order.
    let mut rows = log.list_for_org(Some(a), 1000).await.unwrap();
    rows.sort_by_key(|r| r.seq);
    assert_eq!(rows.len(), 5 * 20 + 5);
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=105).collect::<Vec<_>>()
    );
    let first_batch = rows
        .iter()
        .position(|r| r.resource_id.as_deref().is_some_and(|s| s.ends_with("01")))
        .unwrap();
    let ids: Vec<&str> = rows[first_batch..first_batch + 3]
        .iter()
        .map(|r| r.resource_id.as_deref().unwrap())
        .collect();
    let base = ids[0].trim_start_matches("case-").parse::<usize>().unwrap();
    assert_eq!(
        ids,
        [base, base + 1, base + 3]
            .iter()
            .map(|n| format!("case-{n}"))
            .collect::<Vec<_>>()
    );
    // An empty batch writes nothing.
    assert!(log.record_many(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_in_a_callers_transaction_commit_or_roll_back_with_it() {
    let (_t, db, log, org) = seeded(3).await;
    // Rolled back: nothing of it stays, and the chain goes on where it was.
    let txn = dentex_db::begin_write(&db).await.unwrap();
    append_in(&txn, &[event(Some(org), 100), event(Some(org), 101)])
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(log.list_for_org(Some(org), 100).await.unwrap().len(), 3);
    // Committed, side by side with the batched appender.
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                let txn = dentex_db::begin_write(&db).await.unwrap();
                append_in(&txn, &[event(Some(org), 200 + i)]).await.unwrap();
                txn.commit().await.unwrap();
            }
        })
    };
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                log.record(event(Some(org), 300 + i)).await.unwrap();
            }
        })
    };
    writer.await.unwrap();
    reader.await.unwrap();
    let report = log.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.broken);
    assert_eq!(report.rows, 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_appenders_on_one_chain_take_turns() {
    // Two processes' appenders, as two gateways over one database have:
    // on PostgreSQL the chain's advisory lock orders them, on SQLite the
    // one writer; a lost race on the head is retried.
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let (a, b) = (AuditLog::new(db.clone()), AuditLog::new(db.clone()));
    let org = OrgId::new();
    let mut tasks = Vec::new();
    for (k, log) in [a.clone(), b.clone(), a.clone(), b].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                let batch = (0..3).map(|j| event(Some(org), k * 1000 + i * 10 + j)).collect();
                log.record_many(batch).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = a.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.broken);
    assert_eq!(report.rows, 4 * 15 * 3);
}
