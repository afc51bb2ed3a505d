//! Throttle counters on a real database (SQLite, or PostgreSQL when
//! `DENTEX_TEST_POSTGRES_URL` is set), hit side by side.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_accounts::throttle;
use dentex_db::entities::login_throttle;
use dentex_db::testing::TestDatabase;
use sea_orm::EntityTrait;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_failures_at_once_are_fifty_failures() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let keys = throttle::keys(Some(&throttle::account("ada@clinic.example")), Some("192.0.2.7"));
    let all = (0..50).map(|_| {
        let (db, keys) = (db.clone(), keys.clone());
        tokio::spawn(async move { throttle::record_failure(&db, &keys).await })
    });
    for r in futures_util::future::join_all(all).await {
        r.unwrap().unwrap();
    }
    for (key, _) in &keys {
        let row = login_throttle::Entity::find_by_id(key.clone())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.failures, 50, "{key}");
    }
    // Past every threshold: blocked.
    assert!(throttle::blocked(&db, &keys).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_slots_an_hour_whatever_races() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let all = (0..20).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { throttle::claim_slot(&db, "notice:x", 3, chrono::Duration::hours(1)).await })
    });
    let claimed = futures_util::future::join_all(all)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap().as_ref().unwrap())
        .count();
    assert_eq!(claimed, 3);
    // A slot frees only when its last use is an hour old, not at a window's edge.
    assert!(
        !throttle::claim_slot(&db, "notice:x", 3, chrono::Duration::hours(1))
            .await
            .unwrap()
    );
    assert!(
        throttle::claim_slot(&db, "notice:x", 3, chrono::Duration::zero())
            .await
            .unwrap()
    );
}
