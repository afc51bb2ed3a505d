//! `receipts` and `receipt_counters`: one receipt per paid order, numbered
//! without gaps per year (the year's counter row is moved under its lock in
//! the transaction that issues the receipt).

use dentex_db::entities::receipt::{self, ActiveModel, Column, Entity, Model};
use dentex_db::entities::receipt_counter;
use dentex_db::now;
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

pub async fn of_order<C: ConnectionTrait>(db: &C, order: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::OrderId.eq(order)).one(db).await
}

/// What a receipt says, besides its number.
pub struct NewReceipt {
    pub order_id: Uuid,
    pub amount_minor: i64,
    pub fee_minor: i64,
    pub currency: String,
    pub clinic: (Uuid, String, String),
    pub lab: (Uuid, String, String),
}

/// Issues the order's receipt (once: a second call answers the first).
pub async fn issue<C: ConnectionTrait>(db: &C, n: NewReceipt) -> Result<Model, DbErr> {
    if let Some(r) = of_order(db, n.order_id).await? {
        return Ok(r);
    }
    let t = now();
    let year = chrono::Datelike::year(&t);
    receipt_counter::Entity::insert(receipt_counter::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict(
        OnConflict::column(receipt_counter::Column::Year)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    // The increment takes the year's row until commit: numbers in commit order, no gaps.
    receipt_counter::Entity::update_many()
        .col_expr(
            receipt_counter::Column::Last,
            sea_orm::sea_query::Expr::col(receipt_counter::Column::Last).add(1),
        )
        .filter(receipt_counter::Column::Year.eq(year))
        .exec(db)
        .await?;
    let number = receipt_counter::Entity::find_by_id(year)
        .one(db)
        .await?
        .map_or(1, |c| c.last);
    let am = ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(n.order_id),
        year: Set(year),
        number: Set(number),
        issued_at: Set(t),
        amount_minor: Set(n.amount_minor),
        fee_minor: Set(n.fee_minor),
        currency: Set(n.currency),
        clinic_org_id: Set(n.clinic.0),
        clinic_name: Set(n.clinic.1),
        clinic_country: Set(n.clinic.2),
        lab_org_id: Set(n.lab.0),
        lab_name: Set(n.lab.1),
        lab_country: Set(n.lab.2),
    };
    receipt::Entity::insert(am).exec_with_returning(db).await
}
