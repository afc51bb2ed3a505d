use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    ClinicOrgId,
    Region,
    /// draft | submitted | canceled (awarded comes with quotes)
    Status,
    /// Personal data: never logged, never in a mail or a URL.
    PatientRef,
    /// The typed prescription as JSON (`dentex_domain::rx::Rx`).
    Rx,
    DueDate,
    ConsentBy,
    ConsentAt,
    ConsentVersion,
    /// Open to every verified lab offering the services, in the region.
    OpenToAll,
    CancelReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    SubmittedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum CaseLabs {
    Table,
    CaseId,
    LabOrgId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CaseFiles {
    Table,
    Id,
    CaseId,
    OrgId,
    /// scan | photo | document
    Kind,
    ContentType,
    /// Mesh format, for scans.
    Format,
    SizeBytes,
    Sha256,
    ObjectKey,
    /// The client's file name: metadata only, never part of a key or a URL.
    OriginalName,
    /// pending | done | failed (scans); not_applicable otherwise.
    AnalysisStatus,
    AnalysisError,
    Analysis,
    ThumbnailKey,
    CreatedBy,
    CreatedAt,
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
                    .table(Cases::Table)
                    .col(pk_uuid(Cases::Id))
                    .col(uuid(Cases::ClinicOrgId))
                    .col(string(Cases::Region))
                    .col(string(Cases::Status))
                    .col(string(Cases::PatientRef))
                    .col(text(Cases::Rx))
                    .col(date_null(Cases::DueDate))
                    .col(uuid_null(Cases::ConsentBy))
                    .col(timestamp_with_time_zone_null(Cases::ConsentAt))
                    .col(string_null(Cases::ConsentVersion))
                    .col(boolean(Cases::OpenToAll).default(false))
                    .col(text_null(Cases::CancelReason))
                    .col(uuid(Cases::CreatedBy))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Cases::SubmittedAt))
                    .col(timestamp_with_time_zone_null(Cases::CancelledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cases_clinic")
                            .from(Cases::Table, Cases::ClinicOrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Listing: by organisation and status, newest first, keyset on id.
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_clinic_status_id")
                    .table(Cases::Table)
                    .col(Cases::ClinicOrgId)
                    .col(Cases::Status)
                    .col(Cases::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_open_status_id")
                    .table(Cases::Table)
                    .col(Cases::OpenToAll)
                    .col(Cases::Status)
                    .col(Cases::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseLabs::Table)
                    .col(uuid(CaseLabs::CaseId))
                    .col(uuid(CaseLabs::LabOrgId))
                    .col(timestamp_with_time_zone(CaseLabs::CreatedAt))
                    .primary_key(Index::create().col(CaseLabs::CaseId).col(CaseLabs::LabOrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_labs_case")
                            .from(CaseLabs::Table, CaseLabs::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_labs_lab")
                            .from(CaseLabs::Table, CaseLabs::LabOrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_labs_lab")
                    .table(CaseLabs::Table)
                    .col(CaseLabs::LabOrgId)
                    .col(CaseLabs::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseFiles::Table)
                    .col(pk_uuid(CaseFiles::Id))
                    .col(uuid(CaseFiles::CaseId))
                    .col(uuid(CaseFiles::OrgId))
                    .col(string(CaseFiles::Kind))
                    .col(string(CaseFiles::ContentType))
                    .col(string_null(CaseFiles::Format))
                    .col(big_integer(CaseFiles::SizeBytes))
                    .col(string(CaseFiles::Sha256))
                    .col(string(CaseFiles::ObjectKey))
                    .col(string_null(CaseFiles::OriginalName))
                    .col(string(CaseFiles::AnalysisStatus))
                    .col(text_null(CaseFiles::AnalysisError))
                    .col(text_null(CaseFiles::Analysis))
                    .col(string_null(CaseFiles::ThumbnailKey))
                    .col(uuid(CaseFiles::CreatedBy))
                    .col(timestamp_with_time_zone(CaseFiles::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_files_case")
                            .from(CaseFiles::Table, CaseFiles::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_files_case")
                    .table(CaseFiles::Table)
                    .col(CaseFiles::CaseId)
                    .col(CaseFiles::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_files_org")
                    .table(CaseFiles::Table)
                    .col(CaseFiles::OrgId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseFiles::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CaseLabs::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Cases::Table).to_owned()).await
    }
}
