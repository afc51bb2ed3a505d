use sea_orm::entity::prelude::*;

/// A case: a clinic's prescription and files, sent to labs.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub clinic_org_id: Uuid,
    pub region: String,
    /// `draft`, `submitted`, `awarded` or `canceled`.
    pub status: String,
    /// Personal data (see `Debug`): never logged, mailed or put in a URL.
    pub patient_ref: String,
    /// `dentex_domain::rx::Rx` as JSON.
    pub rx: String,
    pub due_date: Option<Date>,
    pub consent_by: Option<Uuid>,
    pub consent_at: Option<DateTimeUtc>,
    pub consent_version: Option<String>,
    pub open_to_all: bool,
    pub cancel_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub submitted_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    /// The lab whose quote was accepted.
    pub awarded_lab_org_id: Option<Uuid>,
    /// Processing restricted (GDPR Art. 18) since, by the privacy request
    /// `restricted_by`: no submission, quote, download or message.
    pub restricted_at: Option<DateTimeUtc>,
    pub restricted_by: Option<Uuid>,
}

/// Ids and status only: the patient reference, the Rx and the reason for
/// cancelling never reach a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("clinic_org_id", &self.clinic_org_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
