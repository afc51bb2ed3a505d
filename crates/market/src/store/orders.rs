//! `orders` and `order_transitions`.

use super::{Order, Transition};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_db::entities::{order, order_transition};
use dentex_db::now;
use dentex_domain::market::OrderStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

/// A new order in production: an award (`award_case_id` set; unique, so a
/// second award fails) or a remake (`remake_of` set).
pub struct NewOrder {
    pub case_id: Uuid,
    pub award_case_id: Option<Uuid>,
    pub quote_id: Uuid,
    pub quote_version: i32,
    pub clinic_org_id: Uuid,
    pub lab_org_id: Uuid,
    pub status: OrderStatus,
    pub amount_minor: i64,
    pub currency: String,
    pub turnaround_days: i32,
    pub due_date: NaiveDate,
    pub remake_of: Option<Uuid>,
    pub remake_reason: Option<String>,
    pub remake_notes: Option<String>,
    pub cost_bearer: Option<String>,
    pub created_by: Uuid,
    pub at: DateTime<Utc>,
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Order>, DbErr> {
    order::Entity::find_by_id(id).one(db).await
}

pub async fn insert<C: ConnectionTrait>(txn: &C, n: NewOrder) -> Result<Order, DbErr> {
    order::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(n.case_id),
        award_case_id: Set(n.award_case_id),
        quote_id: Set(n.quote_id),
        quote_version: Set(n.quote_version),
        clinic_org_id: Set(n.clinic_org_id),
        lab_org_id: Set(n.lab_org_id),
        status: Set(n.status.as_str().into()),
        amount_minor: Set(n.amount_minor),
        currency: Set(n.currency),
        turnaround_days: Set(n.turnaround_days),
        due_date: Set(n.due_date),
        carrier: Set(None),
        tracking_number: Set(None),
        cancel_reason: Set(None),
        cancelled_by: Set(None),
        remake_of: Set(n.remake_of),
        remake_reason: Set(n.remake_reason),
        remake_notes: Set(n.remake_notes),
        cost_bearer: Set(n.cost_bearer),
        created_by: Set(n.created_by),
        created_at: Set(n.at),
        updated_at: Set(n.at),
    }
    .insert(txn)
    .await
}

/// Records one move of an order (inside the caller's transaction).
pub async fn insert_transition<C: ConnectionTrait>(
    txn: &C,
    order_id: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    by: Uuid,
    side: &str,
    note: Option<String>,
) -> Result<(), DbErr> {
    order_transition::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order_id),
        from_status: Set(from.map(|f| f.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        actor_user_id: Set(by),
        actor_side: Set(side.to_owned()),
        note: Set(note),
        at: Set(now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// What a move writes besides the status.
pub enum MoveDetails {
    None,
    Shipped {
        carrier: Option<String>,
        tracking: Option<String>,
    },
    Canceled {
        reason: Option<String>,
        by: &'static str,
    },
}

/// Moves the order from `from` to `to` (a move made meanwhile wins:
/// `false`).
pub async fn move_status<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    details: MoveDetails,
) -> Result<bool, DbErr> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now()));
    match details {
        MoveDetails::None => {}
        MoveDetails::Shipped { carrier, tracking } => {
            update = update
                .col_expr(order::Column::Carrier, Expr::value(carrier))
                .col_expr(order::Column::TrackingNumber, Expr::value(tracking));
        }
        MoveDetails::Canceled { reason, by } => {
            update = update
                .col_expr(order::Column::CancelReason, Expr::value(reason))
                .col_expr(order::Column::CancelledBy, Expr::value(by));
        }
    }
    let r = update
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.eq(from.as_str()))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// The order no longer holds its case's award (it was cancelled).
pub async fn clear_award<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::AwardCaseId, Expr::value(Option::<Uuid>::None))
        .filter(order::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Takes the order's row for this transaction while it is in `status`;
/// `false` when it moved.
pub async fn lock_in<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    status: OrderStatus,
    t: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = order::Entity::update_many()
        .col_expr(order::Column::UpdatedAt, Expr::value(t))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.eq(status.as_str()))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// A page of the orders `orgs` are a side of, newest first, after `cursor`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    orgs: Vec<Uuid>,
    status: Option<OrderStatus>,
    cursor: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Order>, DbErr> {
    let mut query = order::Entity::find().filter(
        Condition::any()
            .add(order::Column::ClinicOrgId.is_in(orgs.clone()))
            .add(order::Column::LabOrgId.is_in(orgs)),
    );
    if let Some(s) = status {
        query = query.filter(order::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = cursor {
        query = query.filter(order::Column::Id.lt(c));
    }
    query.order_by_desc(order::Column::Id).limit(limit).all(db).await
}

/// The remakes opened from an order, in id order.
pub async fn remakes_of<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Vec<Uuid>, DbErr> {
    order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::RemakeOf.eq(id))
        .order_by_asc(order::Column::Id)
        .into_tuple::<Uuid>()
        .all(db)
        .await
}

/// [`remakes_of`] for several orders, in one query.
pub async fn remakes_of_many<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    let found: Vec<(Uuid, Option<Uuid>)> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .column(order::Column::RemakeOf)
        .filter(order::Column::RemakeOf.is_in(ids))
        .order_by_asc(order::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut remakes: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, of) in found {
        if let Some(of) = of {
            remakes.entry(of).or_default().push(id);
        }
    }
    Ok(remakes)
}

/// Every move of an order, oldest first.
pub async fn transitions_of<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Vec<Transition>, DbErr> {
    order_transition::Entity::find()
        .filter(order_transition::Column::OrderId.eq(id))
        .order_by_asc(order_transition::Column::Id)
        .all(db)
        .await
}
