//! Restriction of processing (GDPR Art. 18, issue #17): a case whose
//! patient asked for it keeps its data but cannot be submitted, quoted,
//! downloaded or messaged on until support lifts it. The case names the
//! request that restricted it; the request when it was lifted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    RestrictedAt,
    RestrictedBy,
}

#[derive(DeriveIden)]
enum PrivacyRequests {
    Table,
    LiftedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [
            ColumnDef::new(Cases::RestrictedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Cases::RestrictedBy).uuid().null().to_owned(),
        ] {
            let mut col = col;
            manager
                .alter_table(Table::alter().table(Cases::Table).add_column(&mut col).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(PrivacyRequests::Table)
                    .add_column(timestamp_with_time_zone_null(PrivacyRequests::LiftedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PrivacyRequests::Table)
                    .drop_column(PrivacyRequests::LiftedAt)
                    .to_owned(),
            )
            .await?;
        for col in [Cases::RestrictedBy, Cases::RestrictedAt] {
            manager
                .alter_table(Table::alter().table(Cases::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
