use sea_orm::entity::prelude::*;

/// A professional credential an organisation submitted for verification.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub number: String,
    pub issuing_authority: String,
    pub country: String,
    pub state: Option<String>,
    pub expires_on: Date,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    pub decision_reason: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// Object key of the scanned document (built from ids only).
    pub document_key: Option<String>,
    pub document_sha256: Option<String>,
    pub document_size: Option<i64>,
    pub document_content_type: Option<String>,
    pub submitted_by: Uuid,
    pub expiry_notice_sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
