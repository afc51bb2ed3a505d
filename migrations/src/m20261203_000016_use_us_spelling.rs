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

async fn rename(manager: &SchemaManager<'_>, forward: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (table, column, old, new) in RENAMES {
        let (from, to) = if forward { (old, new) } else { (new, old) };
        db.execute_unprepared(&format!(
            "UPDATE {table} SET {column} = '{to}' WHERE {column} = '{from}'"
        ))
        .await?;
    }
    for (old, new) in UNITS {
        let (from, to) = if forward { (old, new) } else { (new, old) };
        db.execute_unprepared(&format!(
            "UPDATE case_files SET analysis = REPLACE(analysis, '\"{from}\"', '\"{to}\"') WHERE analysis IS NOT NULL"
        ))
        .await?;
    }
    Ok(())
}

/// The unit words inside a stored mesh report (JSON text).
const UNITS: [(&str, &str); 3] = [
    ("millimetres", "millimeters"),
    ("metres", "meters"),
    ("micrometres", "micrometers"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, false).await
    }
}
