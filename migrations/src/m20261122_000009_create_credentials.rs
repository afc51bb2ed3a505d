use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Credentials {
    Table,
    Id,
    OrgId,
    Kind,
    Number,
    IssuingAuthority,
    Country,
    State,
    ExpiresOn,
    Status,
    DecisionReason,
    DecidedBy,
    DecidedAt,
    DocumentKey,
    DocumentSha256,
    DocumentSize,
    DocumentContentType,
    SubmittedBy,
    ExpiryNoticeSentAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Credentials::Table)
                    .col(pk_uuid(Credentials::Id))
                    .col(uuid(Credentials::OrgId))
                    .col(string(Credentials::Kind))
                    .col(string(Credentials::Number))
                    .col(string(Credentials::IssuingAuthority))
                    .col(string(Credentials::Country))
                    .col(string_null(Credentials::State))
                    .col(date(Credentials::ExpiresOn))
                    // pending | approved | rejected | expired
                    .col(string(Credentials::Status))
                    .col(string_null(Credentials::DecisionReason))
                    .col(uuid_null(Credentials::DecidedBy))
                    .col(timestamp_with_time_zone_null(Credentials::DecidedAt))
                    .col(string_null(Credentials::DocumentKey))
                    .col(string_null(Credentials::DocumentSha256))
                    .col(big_integer_null(Credentials::DocumentSize))
                    .col(string_null(Credentials::DocumentContentType))
                    .col(uuid(Credentials::SubmittedBy))
                    .col(timestamp_with_time_zone_null(Credentials::ExpiryNoticeSentAt))
                    .col(timestamp_with_time_zone(Credentials::CreatedAt))
                    .col(timestamp_with_time_zone(Credentials::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credentials_org")
                            .from(Credentials::Table, Credentials::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credentials_status_created")
                    .table(Credentials::Table)
                    .col(Credentials::Status)
                    .col(Credentials::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credentials_org")
                    .table(Credentials::Table)
                    .col(Credentials::OrgId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Credentials::Table).to_owned())
            .await
    }
}
