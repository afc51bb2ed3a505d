//! What `dentex-payments` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "payout_accounts",
        owner: "dentex-payments",
        find: "an organisation: `org_id` (a sole trader's Connect account is a person's)",
        retention: "organisation life",
        personal: &[field(
            "stripe_account_id",
            Category::Payment,
            Erasure::Keep(
                "legal obligation: a payment's record at Stripe is kept 10 years with its receipt (GDPR Art. 17(3)(b))",
            ),
        )],
        other: &[
            "org_id",
            "charges_enabled",
            "payouts_enabled",
            "details_submitted",
            "currently_due",
            "disabled_reason",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "payments",
        owner: "dentex-payments",
        find: "an organisation: `clinic_org_id`, `lab_org_id`; a person: `payer_user_id`",
        retention: "10 years (with the receipt)",
        personal: &[
            field(
                "intent_id",
                Category::Payment,
                Erasure::Keep(
                    "legal obligation: a payment's record at Stripe is kept 10 years with its receipt (GDPR Art. 17(3)(b))",
                ),
            ),
            field(
                "charge_id",
                Category::Payment,
                Erasure::Keep(
                    "legal obligation: a payment's record at Stripe is kept 10 years with its receipt (GDPR Art. 17(3)(b))",
                ),
            ),
        ],
        other: &[
            "order_id",
            "clinic_org_id",
            "lab_org_id",
            "mode",
            "status",
            "amount_minor",
            "currency",
            "fee_minor",
            "attempt",
            "intent_key",
            "payer_user_id",
            "refunded_minor",
            "transfer_id",
            "transferred_minor",
            "reversed_minor",
            "released_at",
            "dispute_id",
            "dispute_status",
            "evidence_due_by",
            "hold_alerted_at",
            "paid_at",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "payment_ledger",
        owner: "dentex-payments",
        find: "an organisation: through `order_id`",
        retention: "10 years",
        personal: &[],
        other: &[
            "id",
            "order_id",
            "kind",
            "amount_minor",
            "currency",
            "stripe_id",
            "created_at",
        ],
    },
    Table {
        table: "payment_refunds",
        owner: "dentex-payments",
        find: "an organisation: through `order_id`; a person: `requested_by`",
        retention: "10 years",
        personal: &[
            field("reason", Category::Payment, Erasure::Clear),
            field("last_error", Category::Log, Erasure::Clear),
        ],
        other: &[
            "id",
            "order_id",
            "status",
            "amount_minor",
            "reversal_minor",
            "fee_returned_minor",
            "currency",
            "requested_by",
            "refund_id",
            "reversal_id",
            "created_at",
            "completed_at",
        ],
    },
    Table {
        table: "stripe_events",
        owner: "dentex-payments",
        find: "an organisation: `account_id` (a lab's Connect account)",
        retention: "30 days",
        personal: &[field("account_id", Category::Payment, Erasure::Clear)],
        other: &["id", "kind", "object_id", "stripe_created", "received_at", "applied_at"],
    },
    Table {
        table: "receipts",
        owner: "dentex-payments",
        find: "an organisation: `clinic_org_id`, `lab_org_id` (a sole trader's name names a person)",
        retention: "10 years",
        personal: &[
            field(
                "clinic_name",
                Category::Payment,
                Erasure::Keep(
                    "legal obligation: receipts are kept 10 years (GDPR Art. 17(3)(b), tax and commercial law)",
                ),
            ),
            field(
                "lab_name",
                Category::Payment,
                Erasure::Keep(
                    "legal obligation: receipts are kept 10 years (GDPR Art. 17(3)(b), tax and commercial law)",
                ),
            ),
        ],
        other: &[
            "id",
            "order_id",
            "year",
            "number",
            "issued_at",
            "amount_minor",
            "fee_minor",
            "currency",
            "clinic_org_id",
            "clinic_country",
            "lab_org_id",
            "lab_country",
        ],
    },
    Table {
        table: "receipt_counters",
        owner: "dentex-payments",
        find: "no one",
        retention: "10 years",
        personal: &[],
        other: &["year", "last"],
    },
];

/// Empties support's free-text reasons on the orders' refunds (a reason may
/// describe the patient); amounts and dates stay.
pub async fn clear_refund_reasons<C: sea_orm::ConnectionTrait>(
    txn: &C,
    order_ids: &[uuid::Uuid],
) -> Result<u64, sea_orm::DbErr> {
    use dentex_db::entities::payment_refund;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(payment_refund::Entity::update_many()
        .col_expr(payment_refund::Column::Reason, Expr::value(""))
        .filter(payment_refund::Column::OrderId.is_in(order_ids.to_vec()))
        .filter(payment_refund::Column::Reason.ne(""))
        .exec(txn)
        .await?
        .rows_affected)
}
