use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailVerifiedAt,
    PasswordChangedAt,
    MfaSecret,
    MfaPendingSecret,
    MfaEnabledAt,
}

/// One `ALTER` per statement: SQLite accepts no more.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            timestamp_with_time_zone_null(Users::EmailVerifiedAt),
            timestamp_with_time_zone_null(Users::PasswordChangedAt),
            string_null(Users::MfaSecret),
            string_null(Users::MfaPendingSecret),
            timestamp_with_time_zone_null(Users::MfaEnabledAt),
        ] {
            let mut col = col;
            manager
                .alter_table(Table::alter().table(Users::Table).add_column(&mut col).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Users::MfaEnabledAt,
            Users::MfaPendingSecret,
            Users::MfaSecret,
            Users::PasswordChangedAt,
            Users::EmailVerifiedAt,
        ] {
            manager
                .alter_table(Table::alter().table(Users::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
