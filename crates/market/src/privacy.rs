//! What `dentex-market` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "quotes",
        owner: "dentex-market",
        find: "a patient: through `case_id`",
        retention: "with the case",
        personal: &[field("notes", Category::Health, Erasure::Clear)],
        other: &[
            "id",
            "case_id",
            "lab_org_id",
            "clinic_org_id",
            "status",
            "version",
            "amount_minor",
            "currency",
            "turnaround_days",
            "valid_until",
            "line_items",
            "created_by",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "quote_versions",
        owner: "dentex-market",
        find: "a patient: through the quote's case",
        retention: "with the case",
        personal: &[field("notes", Category::Health, Erasure::Clear)],
        other: &[
            "quote_id",
            "version",
            "amount_minor",
            "currency",
            "turnaround_days",
            "valid_until",
            "line_items",
            "created_by",
            "created_at",
        ],
    },
    Table {
        table: "orders",
        owner: "dentex-market",
        find: "a patient: through `case_id`",
        retention: "with the case (10 years for a paid order's amounts, on its receipt)",
        personal: &[
            field("cancel_reason", Category::Health, Erasure::Clear),
            field("remake_notes", Category::Health, Erasure::Clear),
            field("carrier", Category::Log, Erasure::Clear),
            field("tracking_number", Category::Log, Erasure::Clear),
        ],
        other: &[
            "id",
            "case_id",
            "award_case_id",
            "quote_id",
            "quote_version",
            "clinic_org_id",
            "lab_org_id",
            "status",
            "amount_minor",
            "currency",
            "turnaround_days",
            "due_date",
            "cancelled_by",
            "remake_of",
            "remake_reason",
            "cost_bearer",
            "created_by",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "order_transitions",
        owner: "dentex-market",
        find: "a patient: through the order's case",
        retention: "with the case",
        personal: &[field("note", Category::Health, Erasure::Clear)],
        other: &[
            "id",
            "order_id",
            "from_status",
            "to_status",
            "actor_user_id",
            "actor_side",
            "at",
        ],
    },
    Table {
        table: "idempotency_keys",
        owner: "dentex-market",
        find: "a person: `user_id` (a stored answer can carry a patient reference)",
        retention: "24 hours",
        personal: &[field("response_body", Category::Health, Erasure::Delete)],
        other: &["user_id", "key", "scope", "request_hash", "status_code", "created_at"],
    },
];

/// The cases' orders that are still under way (not completed or cancelled):
/// an erasure of their patient waits for them.
pub async fn open_orders<C: sea_orm::ConnectionTrait>(
    db: &C,
    case_ids: &[uuid::Uuid],
) -> Result<Vec<(uuid::Uuid, String)>, sea_orm::DbErr> {
    use dentex_db::entities::order;
    use dentex_domain::market::OrderStatus;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let over = [OrderStatus::Completed.as_str(), OrderStatus::Canceled.as_str()];
    Ok(order::Entity::find()
        .filter(order::Column::CaseId.is_in(case_ids.to_vec()))
        .filter(order::Column::Status.is_not_in(over))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.status))
        .collect())
}

/// Empties the free text the market holds about the cases (quotes' and
/// their versions' notes, orders' reasons, remake notes and tracking,
/// transitions' notes) and forgets stored answers about them; amounts,
/// statuses and dates stay (receipts point at them).
pub async fn clear_cases<C: sea_orm::ConnectionTrait>(
    txn: &C,
    case_ids: &[uuid::Uuid],
) -> Result<Vec<dentex_domain::privacy::Erased>, sea_orm::DbErr> {
    use dentex_db::entities::{idempotency_key, order, order_transition, quote, quote_version};
    use dentex_domain::privacy::Erased;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
    let none = || Expr::value(Option::<String>::None);
    let ids = case_ids.to_vec();
    let quote_ids = || {
        quote::Entity::find()
            .select_only()
            .column(quote::Column::Id)
            .filter(quote::Column::CaseId.is_in(ids.clone()))
            .into_query()
    };
    let order_ids = || {
        order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .filter(order::Column::CaseId.is_in(ids.clone()))
            .into_query()
    };
    let quotes = quote::Entity::update_many()
        .col_expr(quote::Column::Notes, none())
        .filter(quote::Column::CaseId.is_in(ids.clone()))
        .filter(quote::Column::Notes.is_not_null())
        .exec(txn)
        .await?
        .rows_affected;
    let versions = quote_version::Entity::update_many()
        .col_expr(quote_version::Column::Notes, none())
        .filter(quote_version::Column::QuoteId.in_subquery(quote_ids()))
        .filter(quote_version::Column::Notes.is_not_null())
        .exec(txn)
        .await?
        .rows_affected;
    let orders = order::Entity::update_many()
        .col_expr(order::Column::CancelReason, none())
        .col_expr(order::Column::RemakeNotes, none())
        .col_expr(order::Column::Carrier, none())
        .col_expr(order::Column::TrackingNumber, none())
        .filter(order::Column::CaseId.is_in(ids.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    let transitions = order_transition::Entity::update_many()
        .col_expr(order_transition::Column::Note, none())
        .filter(order_transition::Column::OrderId.in_subquery(order_ids()))
        .filter(order_transition::Column::Note.is_not_null())
        .exec(txn)
        .await?
        .rows_affected;
    let mut about = Condition::any();
    for id in case_ids {
        about = about.add(idempotency_key::Column::ResponseBody.contains(id.to_string()));
    }
    let answers = if case_ids.is_empty() {
        0
    } else {
        idempotency_key::Entity::delete_many()
            .filter(about)
            .exec(txn)
            .await?
            .rows_affected
    };
    Ok(vec![
        Erased::new("quotes", "cleared", quotes),
        Erased::new("quote_versions", "cleared", versions),
        Erased::new("orders", "cleared", orders),
        Erased::new("order_transitions", "cleared", transitions),
        Erased::new("idempotency_keys", "removed", answers),
    ])
}

/// Forgets the stored answers of `user`'s requests, and any answer that
/// names `email` (an invitation's answer to whoever invited them).
pub async fn forget_person<C: sea_orm::ConnectionTrait>(
    txn: &C,
    user: uuid::Uuid,
    email: &str,
) -> Result<u64, sea_orm::DbErr> {
    use dentex_db::entities::idempotency_key;
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
    let mut about = Condition::any().add(idempotency_key::Column::UserId.eq(user));
    if !email.trim().is_empty() {
        about = about.add(idempotency_key::Column::ResponseBody.contains(email));
    }
    Ok(idempotency_key::Entity::delete_many()
        .filter(about)
        .exec(txn)
        .await?
        .rows_affected)
}
