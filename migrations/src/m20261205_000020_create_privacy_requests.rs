//! Data-subject requests (`dentex-privacy`, issue #17): one row per request,
//! from its receipt to its report. The due date is fixed at receipt (one
//! month, GDPR Art. 12(3)) and moves once, by at most two months.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PrivacyRequests {
    Table,
    Id,
    /// `access`, `portability`, `rectification`, `restriction`, `erasure`.
    Kind,
    /// `person` (an account holder about themself) or `patient` (through
    /// the clinic that is the controller).
    Subject,
    SubjectUserId,
    ClinicOrgId,
    /// The clinic's reference of the patient; pseudonymised once erased.
    PatientRef,
    /// `received`, `verified`, `held`, `running`, `done`, `rejected`.
    Status,
    /// `api`, `email`, `letter`, `phone`.
    Channel,
    /// How support checked who asked (support-filed requests).
    IdentityCheck,
    /// What to correct (rectification); emptied when the request ends.
    Details,
    FiledBy,
    VerifiedBy,
    ReceivedAt,
    DueAt,
    ExtendedAt,
    ExtensionReason,
    RejectReason,
    /// Why an erasure waits (an open order, the last owner).
    HoldReason,
    FlaggedAt,
    CompletedAt,
    /// The report (JSON), once done.
    Report,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PrivacyRequests::Table)
                    .col(pk_uuid(PrivacyRequests::Id))
                    .col(string(PrivacyRequests::Kind))
                    .col(string(PrivacyRequests::Subject))
                    .col(uuid_null(PrivacyRequests::SubjectUserId))
                    .col(uuid_null(PrivacyRequests::ClinicOrgId))
                    .col(string_null(PrivacyRequests::PatientRef))
                    .col(string(PrivacyRequests::Status))
                    .col(string(PrivacyRequests::Channel))
                    .col(text_null(PrivacyRequests::IdentityCheck))
                    .col(text_null(PrivacyRequests::Details))
                    .col(uuid(PrivacyRequests::FiledBy))
                    .col(uuid_null(PrivacyRequests::VerifiedBy))
                    .col(timestamp_with_time_zone(PrivacyRequests::ReceivedAt))
                    .col(timestamp_with_time_zone(PrivacyRequests::DueAt))
                    .col(timestamp_with_time_zone_null(PrivacyRequests::ExtendedAt))
                    .col(text_null(PrivacyRequests::ExtensionReason))
                    .col(text_null(PrivacyRequests::RejectReason))
                    .col(text_null(PrivacyRequests::HoldReason))
                    .col(timestamp_with_time_zone_null(PrivacyRequests::FlaggedAt))
                    .col(timestamp_with_time_zone_null(PrivacyRequests::CompletedAt))
                    .col(text_null(PrivacyRequests::Report))
                    .col(timestamp_with_time_zone(PrivacyRequests::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_privacy_requests_queue")
                    .table(PrivacyRequests::Table)
                    .col(PrivacyRequests::Status)
                    .col(PrivacyRequests::DueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PrivacyRequests::Table).to_owned())
            .await
    }
}
