use sea_orm::entity::prelude::*;

/// A data-subject request (issue #17), owned by `dentex-privacy`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "privacy_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub subject_user_id: Option<Uuid>,
    pub clinic_org_id: Option<Uuid>,
    pub patient_ref: Option<String>,
    pub status: String,
    pub channel: String,
    pub identity_check: Option<String>,
    pub details: Option<String>,
    pub filed_by: Uuid,
    pub verified_by: Option<Uuid>,
    pub received_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub extended_at: Option<DateTimeUtc>,
    pub extension_reason: Option<String>,
    pub reject_reason: Option<String>,
    pub hold_reason: Option<String>,
    pub flagged_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub report: Option<String>,
    pub updated_at: DateTimeUtc,
    /// A restriction lifted by support.
    pub lifted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
