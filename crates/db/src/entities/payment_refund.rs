use sea_orm::entity::prelude::*;

/// One refund operation of support's (or the platform's, on cancellation):
/// a refund, and after release a transfer reversal with it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub status: String,
    pub amount_minor: i64,
    pub reversal_minor: i64,
    pub fee_returned_minor: i64,
    pub currency: String,
    pub reason: String,
    pub requested_by: Option<Uuid>,
    pub refund_id: Option<String>,
    pub reversal_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
