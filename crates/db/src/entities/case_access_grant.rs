use sea_orm::entity::prelude::*;

/// A support agent's break-glass read access to one case until
/// `expires_at` (owned by `dentex-cases`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_access_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub clinic_org_id: Uuid,
    pub staff_user_id: Uuid,
    pub reason: String,
    pub granted_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
