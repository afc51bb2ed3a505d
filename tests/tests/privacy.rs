//! The data inventory (issue #17), on both databases: every column of every
//! table the migrations make is described by the crate that owns the table
//! (as personal data, with its category and erasure action, or as not
//! personal), nothing described is missing from the schema, and
//! `docs/privacy.md` is the register rendered from it.

#![allow(clippy::expect_used, reason = "a test fails loudly at the first surprise")]

use dentex_db::testing::TestDatabase;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use std::collections::{BTreeMap, BTreeSet};

/// The schema as migrated: table → columns.
async fn schema() -> BTreeMap<String, BTreeSet<String>> {
    let (db, conn) = TestDatabase::migrated().await.expect("migrated database");
    let sql = if db.is_postgres() {
        "SELECT table_name AS t, column_name AS c FROM information_schema.columns \
         WHERE table_schema = current_schema()"
    } else {
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
    };
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("columns");
    assert!(
        backend == DatabaseBackend::Postgres || backend == DatabaseBackend::Sqlite,
        "{backend:?}"
    );
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        let t: String = r.try_get("", "t").expect("table");
        let c: String = r.try_get("", "c").expect("column");
        if t != "seaql_migrations" {
            out.entry(t).or_default().insert(c);
        }
    }
    out
}

#[tokio::test]
async fn every_column_of_the_schema_is_described_once_by_its_owner() {
    let schema = schema().await;
    assert!(schema.len() > 30, "the schema was read: {schema:?}");
    let mut problems = Vec::new();
    for (table, columns) in &schema {
        let Some(described) = dentex_privacy::inventory::columns_of(table) else {
            problems.push(format!("table `{table}` is in no crate's privacy inventory"));
            continue;
        };
        let mut seen = BTreeSet::new();
        for c in &described {
            if !seen.insert(*c) {
                problems.push(format!("`{table}.{c}` is described twice"));
            }
            if !columns.contains(*c) {
                problems.push(format!("`{table}.{c}` is described but not in the schema"));
            }
        }
        for c in columns {
            if !seen.contains(c.as_str()) {
                problems.push(format!(
                    "`{table}.{c}` is not described: say in its crate's privacy module whether it holds personal data"
                ));
            }
        }
    }
    for t in dentex_privacy::inventory::tables() {
        if !schema.contains_key(t.table) {
            problems.push(format!("`{}` is described but no migration makes it", t.table));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_table_is_described_by_the_crate_that_owns_it() {
    let mut names = BTreeSet::new();
    for t in dentex_privacy::inventory::tables() {
        assert!(names.insert(t.table), "`{}` is described twice", t.table);
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/architecture.md"))
        .expect("docs/architecture.md");
    for t in dentex_privacy::inventory::tables() {
        let row = format!("| `{}` |", t.table);
        let line = doc
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("`{}` has no row in the ownership table", t.table));
        assert!(
            line.contains(&format!("`{}`", t.owner)),
            "`{}` is described by {} but owned otherwise: {line}",
            t.table,
            t.owner
        );
    }
}

#[test]
fn the_register_in_docs_is_the_inventory() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/privacy.md");
    let want = dentex_privacy::register::markdown();
    if std::env::var_os("DENTEX_BLESS").is_some() {
        std::fs::write(path, &want).expect("write docs/privacy.md");
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/privacy.md differs from the inventory: run DENTEX_BLESS=1 cargo test -p dentex-tests --test privacy"
    );
    // Health data and what is kept by law are named with their place.
    let health = want
        .lines()
        .find(|l| l.starts_with("| case/health |"))
        .expect("a health row");
    assert!(health.contains("`cases.patient_ref`"), "{health}");
    assert!(want.contains("keep: legal obligation: receipts"));
}

#[tokio::test]
async fn the_register_is_served_to_signed_in_users() {
    let app = dentex_tests::TestApp::new().await;
    let r = app.get("/api/v1/privacy/register").await;
    assert_eq!(r.status(), 401);
    let clinic = app.register("owner@clinic.test", "clinic").await;
    let r = app.get_authed("/api/v1/privacy/register", &clinic.token).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    let cases = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == "cases")
        .expect("cases");
    assert_eq!(cases["owner"], "dentex-cases");
    assert!(
        cases["personal"]
            .as_array()
            .expect("personal")
            .iter()
            .any(|c| c["column"] == "patient_ref" && c["category"] == "case/health"),
        "{cases}"
    );
    assert!(!v["purposes"].as_array().expect("purposes").is_empty());
    assert!(!v["stores"].as_array().expect("stores").is_empty());
}
