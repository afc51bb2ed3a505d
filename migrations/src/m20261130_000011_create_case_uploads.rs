use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A presigned multipart upload in flight: the object store's upload id, the
/// size and SHA-256 the client declared (checked at `complete`), and when it
/// is abandoned. The declared size counts against the organisation's quota
/// while the row exists.
#[derive(DeriveIden)]
enum CaseUploads {
    Table,
    /// Also the id of the file it becomes.
    Id,
    CaseId,
    OrgId,
    ObjectKey,
    /// The object store's multipart upload id.
    StoreUploadId,
    SizeBytes,
    Sha256,
    PartSize,
    /// The client's file name: metadata only.
    OriginalName,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    /// Set while a `complete` call works on it, so two cannot both finish it.
    CompletingAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseUploads::Table)
                    .col(pk_uuid(CaseUploads::Id))
                    .col(uuid(CaseUploads::CaseId))
                    .col(uuid(CaseUploads::OrgId))
                    .col(string(CaseUploads::ObjectKey))
                    .col(string(CaseUploads::StoreUploadId))
                    .col(big_integer(CaseUploads::SizeBytes))
                    .col(string(CaseUploads::Sha256))
                    .col(big_integer(CaseUploads::PartSize))
                    .col(string_null(CaseUploads::OriginalName))
                    .col(uuid(CaseUploads::CreatedBy))
                    .col(timestamp_with_time_zone(CaseUploads::CreatedAt))
                    .col(timestamp_with_time_zone(CaseUploads::ExpiresAt))
                    .col(timestamp_with_time_zone_null(CaseUploads::CompletingAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_uploads_case")
                            .from(CaseUploads::Table, CaseUploads::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_uploads_org")
                    .table(CaseUploads::Table)
                    .col(CaseUploads::OrgId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_uploads_expires")
                    .table(CaseUploads::Table)
                    .col(CaseUploads::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseUploads::Table).to_owned())
            .await
    }
}
