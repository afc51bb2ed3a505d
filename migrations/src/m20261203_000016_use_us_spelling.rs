use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Identifiers in US English (issue #14): the stored states `cancelled` become
/// `canceled` and the credential kind `dental_licence` becomes
/// `dental_license`, and a scan's unit guess says `millimeters`, `meters`,
/// `micrometers`: the words the API now answers. Audit rows keep what they
/// recorded (their hashes cover it).
const RENAMES: [(&str, &str, &str, &str); 6] = [
    ("cases", "status", "cancelled", "canceled"),
    ("quotes", "status", "cancelled", "canceled"),
    ("orders", "status", "cancelled", "canceled"),
    ("order_transitions", "from_status", "cancelled", "canceled"),
    ("order_transitions", "to_status", "cancelled", "canceled"),
    ("credentials", "kind", "dental_licence", "dental_license"),
];

/// Quoted words inside stored JSON text: a mesh report's unit guess, and an
/// acceptance's stored answer (replayed for a retried `Idempotency-Key`).
const IN_JSON: [(&str, &str, &str, &str); 6] = [
    ("case_files", "analysis", "\"millimetres\"", "\"millimeters\""),
    ("case_files", "analysis", "\"metres\"", "\"meters\""),
    ("case_files", "analysis", "\"micrometres\"", "\"micrometers\""),
    (
        "idempotency_keys",
        "response_body",
        "\"cancelled_by\"",
        "\"canceled_by\"",
    ),
    (
        "idempotency_keys",
        "response_body",
        "\"cancelled_at\"",
        "\"canceled_at\"",
    ),
    ("idempotency_keys", "response_body", "\"cancelled\"", "\"canceled\""),
];

async fn rename(manager: &SchemaManager<'_>, forward: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (table, column, old, new) in RENAMES {
        let (from, to) = if forward { (old, new) } else { (new, old) };
        db.execute_unprepared(&format!(
            "UPDATE {table} SET {column} = '{to}' WHERE {column} = '{from}'"
        ))
        .await?;
    }
    for (table, column, old, new) in IN_JSON {
        let (from, to) = if forward { (old, new) } else { (new, old) };
        db.execute_unprepared(&format!(
            "UPDATE {table} SET {column} = REPLACE({column}, '{from}', '{to}') WHERE {column} IS NOT NULL"
        ))
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, false).await
    }
}
