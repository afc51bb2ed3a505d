//! Break-glass (issue #17, SECURITY.md item 4): a support agent's time-boxed
//! read access to one case, with the stated reason. Owned by
//! `dentex-cases`, whose policy decides every read of a case.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseAccessGrants {
    Table,
    Id,
    CaseId,
    ClinicOrgId,
    StaffUserId,
    Reason,
    GrantedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseAccessGrants::Table)
                    .col(pk_uuid(CaseAccessGrants::Id))
                    .col(uuid(CaseAccessGrants::CaseId))
                    .col(uuid(CaseAccessGrants::ClinicOrgId))
                    .col(uuid(CaseAccessGrants::StaffUserId))
                    .col(text(CaseAccessGrants::Reason))
                    .col(timestamp_with_time_zone(CaseAccessGrants::GrantedAt))
                    .col(timestamp_with_time_zone(CaseAccessGrants::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_access_grants_case_staff")
                    .table(CaseAccessGrants::Table)
                    .col(CaseAccessGrants::CaseId)
                    .col(CaseAccessGrants::StaffUserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseAccessGrants::Table).to_owned())
            .await
    }
}
