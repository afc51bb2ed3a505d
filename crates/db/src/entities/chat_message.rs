use sea_orm::entity::prelude::*;

/// A message of a thread, at its sequence number.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub thread_id: Uuid,
    pub seq: i64,
    pub sender_user_id: Option<Uuid>,
    pub sender_org_id: Option<Uuid>,
    /// `text` or `system`.
    pub kind: String,
    /// What was written: never in a log (see `Debug`); NULL once deleted.
    pub body: Option<String>,
    pub system_code: Option<String>,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatMessage")
            .field("id", &self.id)
            .field("thread_id", &self.thread_id)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
