use sea_orm::entity::prelude::*;

/// A lab's quote on a case, with its current terms (`version`); every
/// version is kept in `quote_versions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quotes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub lab_org_id: Uuid,
    pub clinic_org_id: Uuid,
    /// `active`, `withdrawn`, `accepted` or `declined`.
    pub status: String,
    pub version: i32,
    pub amount_minor: i64,
    pub currency: String,
    pub turnaround_days: i32,
    pub valid_until: Date,
    pub notes: Option<String>,
    pub line_items: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
