//! A fresh database per test, on SQLite by default and on PostgreSQL when
//! `DENTEX_TEST_POSTGRES_URL` is set (each test gets its own schema, dropped
//! afterwards), so one suite proves both backends.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use std::path::PathBuf;

/// The environment variable that switches the suite to PostgreSQL.
pub const POSTGRES_ENV: &str = "DENTEX_TEST_POSTGRES_URL";

pub struct TestDatabase {
    /// The URL a server under test should use.
    pub url: String,
    backend: Backend,
}

enum Backend {
    Sqlite { _dir: tempfile::TempDir, path: PathBuf },
    Postgres { admin_url: String, schema: String },
}

impl TestDatabase {
    /// An empty database (no migrations applied).
    pub async fn empty() -> Result<Self, DbErr> {
        match std::env::var(POSTGRES_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let admin = crate::connect(&crate::DbOptions {
                    max_connections: 1,
                    ..crate::DbOptions::new(admin_url.clone())
                })
                .await?;
                admin.execute_unprepared(&format!("CREATE SCHEMA {schema}")).await?;
                admin.close().await?;
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                Ok(Self {
                    url,
                    backend: Backend::Postgres { admin_url, schema },
                })
            }
            _ => {
                let dir = tempfile::tempdir().map_err(|e| DbErr::Custom(e.to_string()))?;
                let path = dir.path().join("dentex.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                Ok(Self {
                    url,
                    backend: Backend::Sqlite { _dir: dir, path },
                })
            }
        }
    }

    /// A database with every migration applied, and a connection to it.
    pub async fn migrated() -> Result<(Self, DatabaseConnection), DbErr> {
        let t = Self::empty().await?;
        let db = t.connect().await?;
        crate::migrate(&db).await?;
        Ok((t, db))
    }

    pub async fn connect(&self) -> Result<DatabaseConnection, DbErr> {
        crate::connect(&crate::DbOptions::new(self.url.clone())).await
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// The SQLite file, when on SQLite.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Some(path),
            Backend::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Backend::Postgres { admin_url, schema } = &self.backend {
            let admin_url = admin_url.clone();
            let schema = schema.clone();
            // Drop runs outside async context: use a private runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(db) = crate::connect(&crate::DbOptions {
                        max_connections: 1,
                        ..crate::DbOptions::new(admin_url)
                    })
                    .await
                    {
                        // The test is over: a connection of its app still
                        // holding locks in the schema (a transaction whose
                        // task was cancelled at shutdown, its rollback queued
                        // on a pool nobody uses any more) would make the
                        // drop wait for ever. End them first; never wait
                        // more than a few seconds.
                        let _ = db
                            .execute_unprepared(&format!(
                                "SELECT pg_terminate_backend(l.pid, 5000) FROM pg_locks l \
                                 JOIN pg_class c ON c.oid = l.relation \
                                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                                 WHERE n.nspname = '{schema}' AND l.pid <> pg_backend_pid() \
                                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                            ))
                            .await;
                        let _ = db.execute_unprepared("SET lock_timeout = '10s'").await;
                        let _ = db
                            .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}
