//! `quotes` and `quote_versions`.

use super::{Quote, QuoteVersion};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_db::entities::{quote, quote_version};
use dentex_db::now;
use dentex_domain::QuoteStatus;
use dentex_domain::market::Money;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

/// A quote's terms, checked: what a new quote or a revision stores.
pub struct Terms {
    pub money: Money,
    pub turnaround_days: i32,
    pub valid_until: NaiveDate,
    pub notes: Option<String>,
    /// The line items as JSON.
    pub line_items: Option<String>,
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Quote>, DbErr> {
    quote::Entity::find_by_id(id).one(db).await
}

/// The lab's active quote on the case, if any.
pub async fn active_of_lab<C: ConnectionTrait>(db: &C, case: Uuid, lab: Uuid) -> Result<Option<Quote>, DbErr> {
    quote::Entity::find()
        .filter(quote::Column::CaseId.eq(case))
        .filter(quote::Column::LabOrgId.eq(lab))
        .filter(quote::Column::Status.eq(QuoteStatus::Active.as_str()))
        .one(db)
        .await
}

/// A new active quote at version 1, with its first version row.
pub async fn insert<C: ConnectionTrait>(
    txn: &C,
    case: &super::Case,
    lab: Uuid,
    terms: Terms,
    by: Uuid,
) -> Result<Quote, DbErr> {
    let t = now();
    let q = quote::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case.id),
        lab_org_id: Set(lab),
        clinic_org_id: Set(case.clinic_org_id),
        status: Set(QuoteStatus::Active.as_str().into()),
        version: Set(1),
        amount_minor: Set(terms.money.amount_minor),
        currency: Set(terms.money.currency),
        turnaround_days: Set(terms.turnaround_days),
        valid_until: Set(terms.valid_until),
        notes: Set(terms.notes),
        line_items: Set(terms.line_items),
        created_by: Set(by),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(txn)
    .await?;
    insert_version(txn, &q).await?;
    Ok(q)
}

/// Keeps the quote's current terms as a version row.
pub async fn insert_version<C: ConnectionTrait>(txn: &C, q: &Quote) -> Result<(), DbErr> {
    quote_version::ActiveModel {
        quote_id: Set(q.id),
        version: Set(q.version),
        amount_minor: Set(q.amount_minor),
        currency: Set(q.currency.clone()),
        turnaround_days: Set(q.turnaround_days),
        valid_until: Set(q.valid_until),
        notes: Set(q.notes.clone()),
        line_items: Set(q.line_items.clone()),
        created_by: Set(q.created_by),
        created_at: Set(q.updated_at),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The next version of an active quote; `false` when it is no longer active.
pub async fn revise<C: ConnectionTrait>(txn: &C, id: Uuid, terms: Terms, by: Uuid) -> Result<bool, DbErr> {
    let r = quote::Entity::update_many()
        .col_expr(quote::Column::Version, Expr::col(quote::Column::Version).add(1))
        .col_expr(quote::Column::AmountMinor, Expr::value(terms.money.amount_minor))
        .col_expr(quote::Column::Currency, Expr::value(terms.money.currency))
        .col_expr(quote::Column::TurnaroundDays, Expr::value(terms.turnaround_days))
        .col_expr(quote::Column::ValidUntil, Expr::value(terms.valid_until))
        .col_expr(quote::Column::Notes, Expr::value(terms.notes))
        .col_expr(quote::Column::LineItems, Expr::value(terms.line_items))
        .col_expr(quote::Column::CreatedBy, Expr::value(by))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.eq(QuoteStatus::Active.as_str()))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// An active quote withdrawn; `false` when it was no longer active.
pub async fn withdraw<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<bool, DbErr> {
    let r = quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Withdrawn.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.eq(QuoteStatus::Active.as_str()))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// The quote accepted if it is active, at `version` and valid on `day`.
pub async fn accept<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    version: i32,
    day: NaiveDate,
    t: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Accepted.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(t))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.eq(QuoteStatus::Active.as_str()))
        .filter(quote::Column::Version.eq(version))
        .filter(quote::Column::ValidUntil.gte(day))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Declines the case's other active quotes; returns those it declined.
pub async fn decline_others<C: ConnectionTrait>(
    txn: &C,
    case: Uuid,
    accepted: Uuid,
    t: DateTime<Utc>,
) -> Result<Vec<Quote>, DbErr> {
    quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Declined.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(t))
        .filter(quote::Column::CaseId.eq(case))
        .filter(quote::Column::Id.ne(accepted))
        .filter(quote::Column::Status.eq(QuoteStatus::Active.as_str()))
        .exec_with_returning(txn)
        .await
}

/// Declines every active quote of the case; returns those it declined.
pub async fn decline_all_active<C: ConnectionTrait>(txn: &C, case: Uuid) -> Result<Vec<Quote>, DbErr> {
    quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Declined.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::CaseId.eq(case))
        .filter(quote::Column::Status.eq(QuoteStatus::Active.as_str()))
        .exec_with_returning(txn)
        .await
}

/// The accepted quote of a cancelled order ends with it (`canceled`).
pub async fn cancel_accepted<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<(), DbErr> {
    quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Canceled.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.eq(QuoteStatus::Accepted.as_str()))
        .exec(txn)
        .await?;
    Ok(())
}

/// The case's declined quotes still valid on `day` stand again; returns them.
pub async fn revive_declined<C: ConnectionTrait>(txn: &C, case: Uuid, day: NaiveDate) -> Result<Vec<Quote>, DbErr> {
    quote::Entity::update_many()
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Active.as_str()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::CaseId.eq(case))
        .filter(quote::Column::Status.eq(QuoteStatus::Declined.as_str()))
        .filter(quote::Column::ValidUntil.gte(day))
        .exec_with_returning(txn)
        .await
}

/// A page of the quotes on a case (of `labs` only, when given), in id
/// order, after `after`.
pub async fn of_case<C: ConnectionTrait>(
    db: &C,
    case: Uuid,
    labs: Option<Vec<Uuid>>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Quote>, DbErr> {
    let mut q = quote::Entity::find().filter(quote::Column::CaseId.eq(case));
    if let Some(labs) = labs {
        q = q.filter(quote::Column::LabOrgId.is_in(labs));
    }
    if let Some(a) = after {
        q = q.filter(quote::Column::Id.gt(a));
    }
    q.order_by_asc(quote::Column::Id).limit(limit).all(db).await
}

/// The versions of several quotes, oldest first, in one query.
pub async fn versions_of<C: ConnectionTrait>(
    db: &C,
    quotes: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Vec<QuoteVersion>>, DbErr> {
    let mut versions: HashMap<Uuid, Vec<QuoteVersion>> = HashMap::new();
    for v in quote_version::Entity::find()
        .filter(quote_version::Column::QuoteId.is_in(quotes))
        .order_by_asc(quote_version::Column::Version)
        .all(db)
        .await?
    {
        versions.entry(v.quote_id).or_default().push(v);
    }
    Ok(versions)
}

/// The turnarounds of a lab's quotes (any outcome but withdrawn) made since `since`.
pub async fn turnarounds<C: ConnectionTrait>(db: &C, lab: Uuid, since: DateTime<Utc>) -> Result<Vec<i32>, DbErr> {
    quote::Entity::find()
        .select_only()
        .column(quote::Column::TurnaroundDays)
        .filter(quote::Column::LabOrgId.eq(lab))
        .filter(quote::Column::Status.ne(QuoteStatus::Withdrawn.as_str()))
        .filter(quote::Column::CreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await
}
