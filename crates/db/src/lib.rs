//! `dentex-db` owns the connection to the database of record and the sea-orm
//! entities. It opens SQLite (the embedded default: WAL journal, foreign keys on,
//! a busy timeout) or a PostgreSQL pool from one URL, applies migrations, offers
//! the small SQL helpers that must differ between the two backends, and provides
//! [`testing::TestDatabase`], the per-test database that lets the same suite run
//! on SQLite and on PostgreSQL.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod entities;
pub mod queries;
pub mod testing;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr, Statement, Value,
};
use sea_orm_migration_reexport::MigratorTrait;
use std::time::Duration;

pub use sea_orm;

mod sea_orm_migration_reexport {
    pub use dentex_migrations::MigratorTrait;
}

/// The current time as the database stores it (microsecond precision, UTC), so
/// that a value read back compares equal to the one written on both backends.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl DbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the database. SQLite files are created when missing and opened in WAL
/// mode with foreign keys enforced; PostgreSQL gets a pool of `max_connections`.
pub async fn connect(opts: &DbOptions) -> Result<DatabaseConnection, DbErr> {
    let mut co = ConnectOptions::new(opts.url.clone());
    let sqlite = opts.url.starts_with("sqlite:");
    co.max_connections(opts.max_connections)
        .acquire_timeout(opts.acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(15))
                // 8 MiB of pages per connection instead of 2. (Not mmap: the
                // file grows with every audit batch, and each growth unmapped
                // and mapped it again: 5 % of a case read's CPU.)
                .pragma("cache_size", "-8192")
                .pragma("temp_store", "memory")
        });
    // Not a ping before every statement (a round trip each, half the cost
    // of a small query): a PostgreSQL connection idle for 30 s is checked
    // before use; a SQLite file cannot go away under an open connection.
    if sqlite {
        co.test_before_acquire(false);
    } else {
        co.test_before_acquire_if_idle_for(Duration::from_secs(30));
    }
    let mut db = Database::connect(co).await?;
    db.set_metric_callback(|_| queries::note());
    Ok(db)
}

/// Starts a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`:
/// it takes the write lock at once (waiting up to the busy timeout), so a
/// transaction that reads before it writes cannot fail with
/// `SQLITE_BUSY_SNAPSHOT` when another connection commits in between (a
/// deferred transaction is refused at once then, without waiting). On
/// PostgreSQL it is a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    dentex_migrations::Migrator::up(db, None).await
}

/// Builds a statement from PostgreSQL-style SQL (`$1`, `$2`…), rewriting the
/// placeholders to SQLite's numbered `?1` form when needed, so raw SQL is written once.
pub fn stmt(backend: DatabaseBackend, pg_sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => pg_sql.to_owned(),
        _ => pg_sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// A cheap round trip used by readiness checks.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Whether an error is a unique-constraint violation (mapped to 409 at the edge).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// Replaces the password in a database URL for display (`postgres://u:***@h/db`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `col` holds `needle` anywhere, ignoring case, on both databases: the
/// needle is matched as text (`%`, `_` and `\` in it are escaped), not as a
/// LIKE pattern, and both sides are lower-cased by the database (SQLite's
/// LIKE ignores ASCII case, PostgreSQL's does not).
pub fn contains_text<C: sea_orm::ColumnTrait>(col: C, needle: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{BinOper, Expr, Func};
    let mut pattern = String::from("%");
    for ch in needle.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    // Both sides lowered by the database, the same way (a needle lowered
    // here would miss non-ASCII capitals the database does not fold):
    // `LOWER(col) LIKE LOWER(pattern) ESCAPE '\'`.
    let column: Expr = Func::lower(Expr::col(col)).into();
    let pattern: Expr = Func::lower(Expr::val(pattern)).into();
    let escaped = Expr::Binary(
        Box::new(pattern),
        BinOper::Escape,
        Box::new(Expr::Constant('\\'.into())),
    );
    Expr::Binary(Box::new(column), BinOper::Like, Box::new(escaped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_for_sqlite_only() {
        let s = stmt(DatabaseBackend::Sqlite, "SELECT $1, $2", vec![1.into(), 2.into()]);
        assert_eq!(s.sql, "SELECT ?1, ?2");
        let p = stmt(DatabaseBackend::Postgres, "SELECT $1", vec![1.into()]);
        assert_eq!(p.sql, "SELECT $1");
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://dentex:s3cret@db:5432/x"),
            "postgres://dentex:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db?mode=rwc"), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(redact_url("postgres://dentex@db/x"), "postgres://dentex@db/x");
    }
}
