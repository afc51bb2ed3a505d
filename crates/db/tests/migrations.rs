//! Every migration applies, rolls back and applies again, on SQLite and (with
//! `DENTEX_TEST_POSTGRES_URL`) on PostgreSQL; the connection settings hold.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_db::testing::TestDatabase;
use dentex_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

const TABLES: [&str; 20] = [
    "quotes",
    "quote_versions",
    "orders",
    "order_transitions",
    "idempotency_keys",
    "credentials",
    "cases",
    "case_labs",
    "case_files",
    "case_uploads",
    "users",
    "jobs",
    "audit_events",
    "audit_heads",
    "sessions",
    "organizations",
    "memberships",
    "one_time_tokens",
    "login_throttles",
    "recovery_codes",
];

async fn table_exists(db: &DatabaseConnection, name: &str) -> bool {
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DatabaseBackend::Postgres {
        "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
    } else {
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1"
    };
    db.query_one_raw(dentex_db::stmt(backend, sql, vec![name.into()]))
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let t = TestDatabase::empty().await.unwrap();
    let db = t.connect().await.unwrap();
    for table in TABLES {
        assert!(!table_exists(&db, table).await, "{table} before migrating");
    }
    Migrator::up(&db, None).await.unwrap();
    for table in TABLES {
        assert!(table_exists(&db, table).await, "{table} after up");
    }
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
    Migrator::down(&db, None).await.unwrap();
    for table in TABLES {
        assert!(!table_exists(&db, table).await, "{table} after down");
    }
    Migrator::up(&db, None).await.unwrap();
    for table in TABLES {
        assert!(table_exists(&db, table).await, "{table} after up again");
    }
    // Running it again is a no-op.
    dentex_db::migrate(&db).await.unwrap();
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let t = TestDatabase::empty().await.unwrap();
    if t.is_postgres() {
        return;
    }
    let db = t.connect().await.unwrap();
    let b = db.get_database_backend();
    let mode = db
        .query_one_raw(Statement::from_string(b, "PRAGMA journal_mode"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mode.try_get_by_index::<String>(0).unwrap().to_lowercase(), "wal");
    let fk = db
        .query_one_raw(Statement::from_string(b, "PRAGMA foreign_keys"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fk.try_get_by_index::<i32>(0).unwrap(), 1);
}

/// CI runs the suite twice; this makes the PostgreSQL pass impossible to fake:
/// with `DENTEX_TEST_POSTGRES_URL` set, every test database must be PostgreSQL.
#[tokio::test]
async fn the_suite_runs_on_the_backend_it_was_asked_for() {
    let t = TestDatabase::empty().await.unwrap();
    let db = t.connect().await.unwrap();
    let want_pg = std::env::var(dentex_db::testing::POSTGRES_ENV).is_ok_and(|v| !v.is_empty());
    let backend = db.get_database_backend();
    if want_pg {
        assert_eq!(backend, sea_orm::DatabaseBackend::Postgres);
        let v = db
            .query_one_raw(Statement::from_string(backend, "SELECT version()"))
            .await
            .unwrap()
            .unwrap();
        let version: String = v.try_get_by_index(0).unwrap();
        assert!(version.starts_with("PostgreSQL"), "{version}");
        eprintln!("backend: {version}");
    } else {
        assert_eq!(backend, sea_orm::DatabaseBackend::Sqlite);
    }
}

#[tokio::test]
async fn the_bundled_sqlite_has_the_query_planner_stability_guarantee() {
    // Set in .cargo/config.toml: without it every `LIMIT ?` statement is
    // compiled again at each run (docs/benchmarks.md).
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());
    let db = dentex_db::connect(&dentex_db::DbOptions::new(url)).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "PRAGMA compile_options",
        ))
        .await
        .unwrap();
    let options: Vec<String> = rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect();
    assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "{options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
}

/// Migration 16 rewrites the stored words in US spelling, inside JSON text
/// too (a stored answer replayed for a retried acceptance), and back.
#[tokio::test]
async fn the_us_spelling_migration_rewrites_stored_words_and_back() {
    let t = TestDatabase::empty().await.unwrap();
    let db = t.connect().await.unwrap();
    Migrator::up(&db, Some(15)).await.unwrap();
    let backend = db.get_database_backend();
    let body = r#"{"status":"cancelled","cancelled_by":"lab","note":"cancelled early"}"#;
    db.execute_raw(dentex_db::stmt(
        backend,
        "INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status_code, response_body, created_at) \
         VALUES ($1, 'k', 'quote.accept', 'h', 201, $2, $3)",
        vec![uuid::Uuid::now_v7().into(), body.into(), chrono::Utc::now().into()],
    ))
    .await
    .unwrap();
    let stored = |db: DatabaseConnection| async move {
        let row = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT response_body FROM idempotency_keys",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "response_body").unwrap()
    };
    // Exactly migration 16, up and then down.
    Migrator::up(&db, Some(1)).await.unwrap();
    let applied = Migrator::get_applied_migrations(&db).await.unwrap();
    assert_eq!(
        applied.last().map(|m| m.name().to_owned()).as_deref(),
        Some("m20261203_000016_use_us_spelling")
    );
    assert_eq!(
        stored(db.clone()).await,
        r#"{"status":"canceled","canceled_by":"lab","note":"cancelled early"}"#,
        "quoted words change, free text does not"
    );
    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(stored(db.clone()).await, body);
}
