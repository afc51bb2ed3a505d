use sea_orm::entity::prelude::*;

/// The receipt of a paid order: numbered without gaps per year, parties by
/// name and country, no patient data.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub year: i32,
    pub number: i32,
    pub issued_at: DateTimeUtc,
    pub amount_minor: i64,
    pub fee_minor: i64,
    pub currency: String,
    pub clinic_org_id: Uuid,
    pub clinic_name: String,
    pub clinic_country: String,
    pub lab_org_id: Uuid,
    pub lab_name: String,
    pub lab_country: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
