use sea_orm::entity::prelude::*;

/// One move of an order: who, when, from, to.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_user_id: Uuid,
    /// `clinic`, `lab` or `support`.
    pub actor_side: String,
    pub note: Option<String>,
    pub at: DateTimeUtc,
}

/// Ids and states only: notes, reasons and free text (which a clinic may
/// fill with patient details) never reach a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderTransition")
            .field("id", &self.id)
            .field("order_id", &self.order_id)
            .field("from_status", &self.from_status)
            .field("to_status", &self.to_status)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
