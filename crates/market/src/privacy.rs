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
        personal: &[
            field("notes", Category::Health, Erasure::Clear),
            field("line_items", Category::Health, Erasure::Redact),
        ],
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
        personal: &[
            field("notes", Category::Health, Erasure::Clear),
            field("line_items", Category::Health, Erasure::Redact),
        ],
        other: &[
            "quote_id",
            "version",
            "amount_minor",
            "currency",
            "turnaround_days",
            "valid_until",
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
    let items = strip_item_notes(txn, case_ids).await?;
    let mut about = Condition::any();
    for id in case_ids {
        about = about.add(dentex_db::contains_text(
            idempotency_key::Column::ResponseBody,
            &id.to_string(),
        ));
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
        Erased::new("quotes.line_items", "cleared", items),
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
        about = about.add(dentex_db::contains_text(idempotency_key::Column::ResponseBody, email));
    }
    Ok(idempotency_key::Entity::delete_many()
        .filter(about)
        .exec(txn)
        .await?
        .rows_affected)
}

/// Empties the `notes` of every line item of the cases' quotes and their
/// versions (amounts and descriptions of the work stay); answers how many
/// rows changed.
async fn strip_item_notes<C: sea_orm::ConnectionTrait>(
    txn: &C,
    case_ids: &[uuid::Uuid],
) -> Result<u64, sea_orm::DbErr> {
    use dentex_db::entities::{quote, quote_version};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    fn stripped(raw: &str) -> Option<String> {
        let mut v: serde_json::Value = serde_json::from_str(raw).ok()?;
        let mut changed = false;
        for item in v.as_array_mut()? {
            if let Some(o) = item.as_object_mut()
                && o.get("notes").is_some_and(|n| !n.is_null())
            {
                o.insert("notes".into(), serde_json::Value::Null);
                changed = true;
            }
        }
        changed.then(|| v.to_string())
    }
    let quotes = quote::Entity::find()
        .filter(quote::Column::CaseId.is_in(case_ids.to_vec()))
        .all(txn)
        .await?;
    let mut n = 0;
    for q in &quotes {
        if let Some(new) = q.line_items.as_deref().and_then(stripped) {
            quote::Entity::update_many()
                .col_expr(quote::Column::LineItems, Expr::value(new))
                .filter(quote::Column::Id.eq(q.id))
                .exec(txn)
                .await?;
            n += 1;
        }
    }
    let versions = quote_version::Entity::find()
        .filter(quote_version::Column::QuoteId.is_in(quotes.iter().map(|q| q.id)))
        .all(txn)
        .await?;
    for v in versions {
        if let Some(new) = v.line_items.as_deref().and_then(stripped) {
            quote_version::Entity::update_many()
                .col_expr(quote_version::Column::LineItems, Expr::value(new))
                .filter(quote_version::Column::QuoteId.eq(v.quote_id))
                .filter(quote_version::Column::Version.eq(v.version))
                .exec(txn)
                .await?;
            n += 1;
        }
    }
    Ok(n)
}

/// The labs that quoted on each of the cases, and the cases' orders.
pub async fn case_parties<C: sea_orm::ConnectionTrait>(
    db: &C,
    case_ids: &[uuid::Uuid],
) -> Result<(Vec<(uuid::Uuid, uuid::Uuid)>, Vec<uuid::Uuid>), sea_orm::DbErr> {
    use dentex_db::entities::{order, quote};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let quoted = quote::Entity::find()
        .filter(quote::Column::CaseId.is_in(case_ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|q| (q.case_id, q.lab_org_id))
        .collect();
    let orders = order::Entity::find()
        .filter(order::Column::CaseId.is_in(case_ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    Ok((quoted, orders))
}
