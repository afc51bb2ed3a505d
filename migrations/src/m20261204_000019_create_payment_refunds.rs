//! Support's refunds (`dentex-payments`): one row per operation, which is a
//! refund alone before the money is released and a transfer reversal plus
//! the refund after; what each part moves is fixed when it is asked for, so
//! a retry sends Stripe the same calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentRefunds {
    Table,
    Id,
    OrderId,
    /// `pending`, `succeeded`, `failed`.
    Status,
    /// What the clinic gets back.
    AmountMinor,
    /// What is taken back from the lab's transfer (0 before release).
    ReversalMinor,
    /// What of the platform's fee is given back (0 before release).
    FeeReturnedMinor,
    Currency,
    /// Support's reason (audited too); the order's cancellation for a
    /// refund the platform makes itself.
    Reason,
    /// The support agent; none when the platform refunds on its own.
    RequestedBy,
    RefundId,
    ReversalId,
    /// Stripe's error code of the last try, if any (no card data).
    LastError,
    CreatedAt,
    CompletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentRefunds::Table)
                    .col(pk_uuid(PaymentRefunds::Id))
                    .col(uuid(PaymentRefunds::OrderId))
                    .col(string(PaymentRefunds::Status))
                    .col(big_integer(PaymentRefunds::AmountMinor))
                    .col(big_integer(PaymentRefunds::ReversalMinor))
                    .col(big_integer(PaymentRefunds::FeeReturnedMinor))
                    .col(string(PaymentRefunds::Currency))
                    .col(text(PaymentRefunds::Reason))
                    .col(uuid_null(PaymentRefunds::RequestedBy))
                    .col(string_null(PaymentRefunds::RefundId))
                    .col(string_null(PaymentRefunds::ReversalId))
                    .col(string_null(PaymentRefunds::LastError))
                    .col(timestamp_with_time_zone(PaymentRefunds::CreatedAt))
                    .col(timestamp_with_time_zone_null(PaymentRefunds::CompletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payment_refunds_order")
                    .table(PaymentRefunds::Table)
                    .col(PaymentRefunds::OrderId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentRefunds::Table).to_owned())
            .await
    }
}
