use sea_orm::entity::prelude::*;

/// One event of an organisation's stream (the outbox): ids, states and
/// counts only, written in its cause's transaction.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub position: i64,
    /// For this person only, when set.
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub case_id: Option<Uuid>,
    pub payload: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
