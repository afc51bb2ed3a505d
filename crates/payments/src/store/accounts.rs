//! `payout_accounts`: a lab's Connect account as Stripe last reported it.

use crate::stripe::Account;
use dentex_db::entities::payout_account::{self, ActiveModel, Column, Entity, Model};
use dentex_db::now;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::HashSet;
use uuid::Uuid;

pub async fn find<C: ConnectionTrait>(db: &C, org: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(org).one(db).await
}

/// Records the organisation's account (the first writer wins; the account
/// was made once at Stripe, under the organisation's idempotency key).
pub async fn insert<C: ConnectionTrait>(db: &C, org: Uuid, a: &Account) -> Result<(), DbErr> {
    let t = now();
    let am = ActiveModel {
        org_id: Set(org),
        stripe_account_id: Set(a.id.clone()),
        charges_enabled: Set(a.charges_enabled),
        payouts_enabled: Set(a.payouts_enabled),
        details_submitted: Set(a.details_submitted),
        currently_due: Set(serde_json::to_string(&a.currently_due).unwrap_or_else(|_| "[]".into())),
        disabled_reason: Set(a.disabled_reason.clone()),
        created_at: Set(t),
        updated_at: Set(t),
    };
    Entity::insert(am)
        .on_conflict(OnConflict::column(Column::OrgId).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Stripe's current state of an account; `false` when it is not one of ours.
pub async fn update<C: ConnectionTrait>(db: &C, a: &Account) -> Result<bool, DbErr> {
    let r = Entity::update_many()
        .col_expr(Column::ChargesEnabled, a.charges_enabled.into())
        .col_expr(Column::PayoutsEnabled, a.payouts_enabled.into())
        .col_expr(Column::DetailsSubmitted, a.details_submitted.into())
        .col_expr(
            Column::CurrentlyDue,
            serde_json::to_string(&a.currently_due)
                .unwrap_or_else(|_| "[]".into())
                .into(),
        )
        .col_expr(Column::DisabledReason, a.disabled_reason.clone().into())
        .col_expr(Column::UpdatedAt, now().into())
        .filter(Column::StripeAccountId.eq(a.id.as_str()))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// Of `labs`, those with payouts enabled.
pub async fn payable<C: ConnectionTrait>(db: &C, labs: Vec<Uuid>) -> Result<HashSet<Uuid>, DbErr> {
    if labs.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(Entity::find()
        .filter(Column::OrgId.is_in(labs))
        .filter(Column::PayoutsEnabled.eq(true))
        .filter(Column::ChargesEnabled.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|m: payout_account::Model| m.org_id)
        .collect())
}
