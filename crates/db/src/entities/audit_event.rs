use sea_orm::entity::prelude::*;

/// One append-only, hash-chained audit row (see `dentex-audit`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The chain this row belongs to: the organisation id, or `platform`.
    pub chain: String,
    pub seq: i64,
    pub org_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_kind: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub reason: Option<String>,
    pub occurred_at: DateTimeUtc,
    pub prev_hash: String,
    pub hash: String,
    /// The organisation the actor acted for (a lab on a clinic's case).
    pub acting_org_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
