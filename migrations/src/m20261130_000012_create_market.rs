use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    /// The lab whose quote was accepted (status `awarded`).
    AwardedLabOrgId,
}

/// A lab's quote on a case; its current terms are on the row, every
/// version (the first included) in `quote_versions`.
#[derive(DeriveIden)]
enum Quotes {
    Table,
    Id,
    CaseId,
    LabOrgId,
    ClinicOrgId,
    /// active | withdrawn | accepted | declined
    Status,
    Version,
    AmountMinor,
    Currency,
    TurnaroundDays,
    ValidUntil,
    Notes,
    /// JSON: `[{item, amount_minor, notes}]` per Rx item.
    LineItems,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QuoteVersions {
    Table,
    QuoteId,
    Version,
    AmountMinor,
    Currency,
    TurnaroundDays,
    ValidUntil,
    Notes,
    LineItems,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    CaseId,
    /// The case id for the order an award made, NULL for remakes: unique,
    /// so a case is awarded once whatever races.
    AwardCaseId,
    QuoteId,
    QuoteVersion,
    ClinicOrgId,
    LabOrgId,
    Status,
    AmountMinor,
    Currency,
    TurnaroundDays,
    DueDate,
    Carrier,
    TrackingNumber,
    CancelReason,
    CancelledBy,
    RemakeOf,
    RemakeReason,
    RemakeNotes,
    CostBearer,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderTransitions {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    ActorUserId,
    /// clinic | lab | support
    ActorSide,
    Note,
    At,
}

/// Responses kept for `Idempotency-Key` retries, per user and key.
#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    /// What the key was used for (`POST /api/v1/quotes/{id}/accept`).
    Scope,
    /// SHA-256 of the request it was first used with.
    RequestHash,
    /// NULL while the first request is still at work.
    StatusCode,
    ResponseBody,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(uuid_null(Cases::AwardedLabOrgId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Quotes::Table)
                    .col(pk_uuid(Quotes::Id))
                    .col(uuid(Quotes::CaseId))
                    .col(uuid(Quotes::LabOrgId))
                    .col(uuid(Quotes::ClinicOrgId))
                    .col(string(Quotes::Status))
                    .col(integer(Quotes::Version))
                    .col(big_integer(Quotes::AmountMinor))
                    .col(string(Quotes::Currency))
                    .col(integer(Quotes::TurnaroundDays))
                    .col(date(Quotes::ValidUntil))
                    .col(text_null(Quotes::Notes))
                    .col(text_null(Quotes::LineItems))
                    .col(uuid(Quotes::CreatedBy))
                    .col(timestamp_with_time_zone(Quotes::CreatedAt))
                    .col(timestamp_with_time_zone(Quotes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quotes_case")
                            .from(Quotes::Table, Quotes::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_quotes_case_lab")
                    .table(Quotes::Table)
                    .col(Quotes::CaseId)
                    .col(Quotes::LabOrgId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QuoteVersions::Table)
                    .col(uuid(QuoteVersions::QuoteId))
                    .col(integer(QuoteVersions::Version))
                    .col(big_integer(QuoteVersions::AmountMinor))
                    .col(string(QuoteVersions::Currency))
                    .col(integer(QuoteVersions::TurnaroundDays))
                    .col(date(QuoteVersions::ValidUntil))
                    .col(text_null(QuoteVersions::Notes))
                    .col(text_null(QuoteVersions::LineItems))
                    .col(uuid(QuoteVersions::CreatedBy))
                    .col(timestamp_with_time_zone(QuoteVersions::CreatedAt))
                    .primary_key(Index::create().col(QuoteVersions::QuoteId).col(QuoteVersions::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quote_versions_quote")
                            .from(QuoteVersions::Table, QuoteVersions::QuoteId)
                            .to(Quotes::Table, Quotes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(pk_uuid(Orders::Id))
                    .col(uuid(Orders::CaseId))
                    .col(uuid_null(Orders::AwardCaseId).unique_key())
                    .col(uuid(Orders::QuoteId))
                    .col(integer(Orders::QuoteVersion))
                    .col(uuid(Orders::ClinicOrgId))
                    .col(uuid(Orders::LabOrgId))
                    .col(string(Orders::Status))
                    .col(big_integer(Orders::AmountMinor))
                    .col(string(Orders::Currency))
                    .col(integer(Orders::TurnaroundDays))
                    .col(date(Orders::DueDate))
                    .col(string_null(Orders::Carrier))
                    .col(string_null(Orders::TrackingNumber))
                    .col(text_null(Orders::CancelReason))
                    .col(string_null(Orders::CancelledBy))
                    .col(uuid_null(Orders::RemakeOf))
                    .col(string_null(Orders::RemakeReason))
                    .col(text_null(Orders::RemakeNotes))
                    .col(string_null(Orders::CostBearer))
                    .col(uuid(Orders::CreatedBy))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_case")
                            .from(Orders::Table, Orders::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_orders_clinic_status_id", Orders::ClinicOrgId),
            ("idx_orders_lab_status_id", Orders::LabOrgId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Orders::Table)
                        .col(col)
                        .col(Orders::Status)
                        .col(Orders::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(OrderTransitions::Table)
                    .col(pk_uuid(OrderTransitions::Id))
                    .col(uuid(OrderTransitions::OrderId))
                    .col(string_null(OrderTransitions::FromStatus))
                    .col(string(OrderTransitions::ToStatus))
                    .col(uuid(OrderTransitions::ActorUserId))
                    .col(string(OrderTransitions::ActorSide))
                    .col(text_null(OrderTransitions::Note))
                    .col(timestamp_with_time_zone(OrderTransitions::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_transitions_order")
                            .from(OrderTransitions::Table, OrderTransitions::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_order_transitions_order")
                    .table(OrderTransitions::Table)
                    .col(OrderTransitions::OrderId)
                    .col(OrderTransitions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::UserId))
                    .col(string(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::Scope))
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(integer_null(IdempotencyKeys::StatusCode))
                    .col(text_null(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(Index::create().col(IdempotencyKeys::UserId).col(IdempotencyKeys::Key))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            IdempotencyKeys::Table.into_iden(),
            OrderTransitions::Table.into_iden(),
            Orders::Table.into_iden(),
            QuoteVersions::Table.into_iden(),
            Quotes::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::AwardedLabOrgId)
                    .to_owned(),
            )
            .await
    }
}
