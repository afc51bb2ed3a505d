//! Idempotency keys on a real database (SQLite, or PostgreSQL when
//! `DENTEX_TEST_POSTGRES_URL` is set): replay, reuse, a claim at work, and
//! the takeover of a claim whose request died, which the old claim can then
//! neither finish nor free.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use actix_web::http::StatusCode;
use dentex_db::entities::idempotency_key;
use dentex_db::testing::TestDatabase;
use dentex_market::idempotency::{self, Claim};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

fn fresh(c: Claim) -> idempotency::Key {
    match c {
        Claim::Fresh(k) => k,
        Claim::Replay { .. } => panic!("expected a fresh claim"),
    }
}

#[tokio::test]
async fn keys_replay_refuse_reuse_and_survive_a_dead_request() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let user = Uuid::now_v7();
    let scope = "quote.accept";

    let first = fresh(
        idempotency::claim(&db, user, "k1".into(), scope, "q1 v1")
            .await
            .unwrap(),
    );
    // While it works, a retry waits.
    let e = idempotency::claim(&db, user, "k1".into(), scope, "q1 v1")
        .await
        .err()
        .unwrap();
    assert_eq!(e.code, "idempotency_in_progress");
    // The same key on another request is refused.
    let e = idempotency::claim(&db, user, "k1".into(), scope, "q2 v1")
        .await
        .err()
        .unwrap();
    assert_eq!(e.code, "idempotency_key_reused");

    // The first request dies without committing; after five minutes a retry
    // takes the claim over.
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::CreatedAt,
            Expr::value(dentex_db::now() - chrono::Duration::minutes(6)),
        )
        .filter(idempotency_key::Column::Key.eq("k1"))
        .exec(&db)
        .await
        .unwrap();
    let second = fresh(
        idempotency::claim(&db, user, "k1".into(), scope, "q1 v1")
            .await
            .unwrap(),
    );
    // The old claim, if it still ran, can neither store nor free anything.
    let e = idempotency::finish(&db, &first, StatusCode::CREATED, "{\"id\":\"old\"}")
        .await
        .err()
        .unwrap();
    assert_eq!(e.code, "idempotency_in_progress");
    idempotency::release(&db, first).await;
    idempotency::finish(&db, &second, StatusCode::CREATED, "{\"id\":\"new\"}")
        .await
        .unwrap();
    match idempotency::claim(&db, user, "k1".into(), scope, "q1 v1")
        .await
        .unwrap()
    {
        Claim::Replay { status, body } => {
            assert_eq!(status, StatusCode::CREATED);
            assert_eq!(body, "{\"id\":\"new\"}");
        }
        Claim::Fresh(_) => panic!("the stored answer was lost"),
    }
    // Keys are per user; a failed request frees its key for a new try.
    let other = fresh(
        idempotency::claim(&db, Uuid::now_v7(), "k1".into(), scope, "q1 v1")
            .await
            .unwrap(),
    );
    idempotency::release(&db, other).await;
    let k = fresh(
        idempotency::claim(&db, user, "k2".into(), scope, "q1 v1")
            .await
            .unwrap(),
    );
    idempotency::release(&db, k).await;
    fresh(
        idempotency::claim(&db, user, "k2".into(), scope, "q1 v1")
            .await
            .unwrap(),
    );
}
