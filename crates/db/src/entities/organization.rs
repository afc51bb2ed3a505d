use sea_orm::entity::prelude::*;

/// A clinic, dental lab or manufacturing lab: the tenant every query runs inside.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub region: String,
    pub accepts_new_work: bool,
    /// JSON array of service codes (labs).
    #[sea_orm(column_type = "Text")]
    pub services: String,
    /// JSON array of ISO country codes served (labs).
    #[sea_orm(column_type = "Text")]
    pub service_countries: String,
    pub suspended_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
