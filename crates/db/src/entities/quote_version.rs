use sea_orm::entity::prelude::*;

/// One version of a quote's terms, as the lab sent it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quote_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub quote_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub amount_minor: i64,
    pub currency: String,
    pub turnaround_days: i32,
    pub valid_until: Date,
    pub notes: Option<String>,
    pub line_items: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
