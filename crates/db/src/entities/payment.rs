use sea_orm::entity::prelude::*;

/// The payment of one order: its status and what the platform holds.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    pub clinic_org_id: Uuid,
    pub lab_org_id: Uuid,
    /// `stripe` or `manual`.
    pub mode: String,
    /// `dentex_payments::PaymentStatus` as text.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub fee_minor: i64,
    pub attempt: i32,
    pub intent_id: Option<String>,
    pub intent_key: Option<String>,
    pub charge_id: Option<String>,
    pub payer_user_id: Option<Uuid>,
    pub refunded_minor: i64,
    pub transfer_id: Option<String>,
    pub transferred_minor: i64,
    pub reversed_minor: i64,
    pub released_at: Option<DateTimeUtc>,
    pub dispute_id: Option<String>,
    pub dispute_status: Option<String>,
    pub evidence_due_by: Option<DateTimeUtc>,
    pub hold_alerted_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
