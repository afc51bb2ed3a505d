//! Payments through Stripe Connect (`dentex-payments`): the labs' payout
//! accounts, one payment per order with the money it holds, the ledger of
//! every movement, the Stripe events applied (each once), the receipts (numbered without gaps per year).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A lab's Connect account, as Stripe last reported it.
#[derive(DeriveIden)]
enum PayoutAccounts {
    Table,
    OrgId,
    StripeAccountId,
    ChargesEnabled,
    PayoutsEnabled,
    DetailsSubmitted,
    /// JSON array of what Stripe still needs (`requirements.currently_due`).
    CurrentlyDue,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

/// One per order: its payment status and what is held.
#[derive(DeriveIden)]
enum Payments {
    Table,
    OrderId,
    ClinicOrgId,
    LabOrgId,
    /// `stripe` or `manual`.
    Mode,
    /// `unpaid`, `processing`, `paid`, `failed`, `refunded`, `partially_refunded`, `disputed`.
    Status,
    AmountMinor,
    Currency,
    FeeMinor,
    /// The attempt of the PaymentIntent (a failed payment is tried again with a new one).
    Attempt,
    IntentId,
    /// The `Idempotency-Key` of the request that made the current intent.
    IntentKey,
    ChargeId,
    PayerUserId,
    RefundedMinor,
    TransferId,
    TransferredMinor,
    ReversedMinor,
    ReleasedAt,
    DisputeId,
    DisputeStatus,
    EvidenceDueBy,
    HoldAlertedAt,
    PaidAt,
    CreatedAt,
    UpdatedAt,
}

/// Every movement of an order's money; the held amount is their sum.
#[derive(DeriveIden)]
enum PaymentLedger {
    Table,
    Id,
    OrderId,
    /// `charge`, `fee`, `refund`, `transfer`, `reversal`, `dispute`, `dispute_reinstated`.
    Kind,
    /// Signed: what the movement adds to (or takes from) what is held.
    AmountMinor,
    Currency,
    StripeId,
    CreatedAt,
}

/// Stripe's events, each applied once.
#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    Id,
    Kind,
    ObjectId,
    AccountId,
    /// Stripe's `created` (seconds): where reconciliation resumes.
    StripeCreated,
    ReceivedAt,
    AppliedAt,
}

/// The receipt of a paid order (kept 10 years; no patient data).
#[derive(DeriveIden)]
enum Receipts {
    Table,
    Id,
    OrderId,
    Year,
    Number,
    IssuedAt,
    AmountMinor,
    FeeMinor,
    Currency,
    ClinicOrgId,
    ClinicName,
    ClinicCountry,
    LabOrgId,
    LabName,
    LabCountry,
}

/// The last receipt number of a year, moved under the row's lock.
#[derive(DeriveIden)]
enum ReceiptCounters {
    Table,
    Year,
    Last,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PayoutAccounts::Table)
                    .col(pk_uuid(PayoutAccounts::OrgId))
                    .col(string(PayoutAccounts::StripeAccountId).unique_key())
                    .col(boolean(PayoutAccounts::ChargesEnabled))
                    .col(boolean(PayoutAccounts::PayoutsEnabled))
                    .col(boolean(PayoutAccounts::DetailsSubmitted))
                    .col(text(PayoutAccounts::CurrentlyDue))
                    .col(string_null(PayoutAccounts::DisabledReason))
                    .col(timestamp_with_time_zone(PayoutAccounts::CreatedAt))
                    .col(timestamp_with_time_zone(PayoutAccounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        payments_up(manager).await?;
        ledger_up(manager).await?;
        receipts_up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ReceiptCounters::Table.into_iden(),
            Receipts::Table.into_iden(),
            StripeEvents::Table.into_iden(),
            PaymentLedger::Table.into_iden(),
            Payments::Table.into_iden(),
            PayoutAccounts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

async fn payments_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Payments::Table)
                .col(pk_uuid(Payments::OrderId))
                .col(uuid(Payments::ClinicOrgId))
                .col(uuid(Payments::LabOrgId))
                .col(string(Payments::Mode))
                .col(string(Payments::Status))
                .col(big_integer(Payments::AmountMinor))
                .col(string(Payments::Currency))
                .col(big_integer(Payments::FeeMinor))
                .col(integer(Payments::Attempt))
                .col(string_null(Payments::IntentId).unique_key())
                .col(string_null(Payments::IntentKey))
                .col(string_null(Payments::ChargeId))
                .col(uuid_null(Payments::PayerUserId))
                .col(big_integer(Payments::RefundedMinor))
                .col(string_null(Payments::TransferId))
                .col(big_integer(Payments::TransferredMinor))
                .col(big_integer(Payments::ReversedMinor))
                .col(timestamp_with_time_zone_null(Payments::ReleasedAt))
                .col(string_null(Payments::DisputeId))
                .col(string_null(Payments::DisputeStatus))
                .col(timestamp_with_time_zone_null(Payments::EvidenceDueBy))
                .col(timestamp_with_time_zone_null(Payments::HoldAlertedAt))
                .col(timestamp_with_time_zone_null(Payments::PaidAt))
                .col(timestamp_with_time_zone(Payments::CreatedAt))
                .col(timestamp_with_time_zone(Payments::UpdatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_payments_status")
                .table(Payments::Table)
                .col(Payments::Status)
                .to_owned(),
        )
        .await
}

async fn ledger_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(PaymentLedger::Table)
                .col(pk_uuid(PaymentLedger::Id))
                .col(uuid(PaymentLedger::OrderId))
                .col(string(PaymentLedger::Kind))
                .col(big_integer(PaymentLedger::AmountMinor))
                .col(string(PaymentLedger::Currency))
                .col(string_null(PaymentLedger::StripeId))
                .col(timestamp_with_time_zone(PaymentLedger::CreatedAt))
                .to_owned(),
        )
        .await?;
    for (name, cols, unique) in [
        ("idx_payment_ledger_order", vec![PaymentLedger::OrderId], false),
        // A movement of Stripe's is recorded once.
        (
            "idx_payment_ledger_kind_stripe",
            vec![PaymentLedger::Kind, PaymentLedger::StripeId],
            true,
        ),
    ] {
        let mut i = Index::create();
        i.name(name).table(PaymentLedger::Table);
        for c in cols {
            i.col(c);
        }
        if unique {
            i.unique();
        }
        manager.create_index(i.to_owned()).await?;
    }
    manager
        .create_table(
            Table::create()
                .table(StripeEvents::Table)
                .col(string(StripeEvents::Id).primary_key())
                .col(string(StripeEvents::Kind))
                .col(string(StripeEvents::ObjectId))
                .col(string_null(StripeEvents::AccountId))
                .col(big_integer(StripeEvents::StripeCreated))
                .col(timestamp_with_time_zone(StripeEvents::ReceivedAt))
                .col(timestamp_with_time_zone_null(StripeEvents::AppliedAt))
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn receipts_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Receipts::Table)
                .col(pk_uuid(Receipts::Id))
                .col(uuid(Receipts::OrderId).unique_key())
                .col(integer(Receipts::Year))
                .col(integer(Receipts::Number))
                .col(timestamp_with_time_zone(Receipts::IssuedAt))
                .col(big_integer(Receipts::AmountMinor))
                .col(big_integer(Receipts::FeeMinor))
                .col(string(Receipts::Currency))
                .col(uuid(Receipts::ClinicOrgId))
                .col(string(Receipts::ClinicName))
                .col(string(Receipts::ClinicCountry))
                .col(uuid(Receipts::LabOrgId))
                .col(string(Receipts::LabName))
                .col(string(Receipts::LabCountry))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_receipts_year_number")
                .table(Receipts::Table)
                .col(Receipts::Year)
                .col(Receipts::Number)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ReceiptCounters::Table)
                .col(integer(ReceiptCounters::Year).primary_key())
                .col(integer(ReceiptCounters::Last))
                .to_owned(),
        )
        .await
}
