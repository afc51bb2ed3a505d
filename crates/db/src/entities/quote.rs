use sea_orm::entity::prelude::*;

/// A lab's quote on a case, with its current terms (`version`); every
/// version is kept in `quote_versions`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
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

/// Ids and states only: notes, reasons and free text (which a clinic may
/// fill with patient details) never reach a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quote")
            .field("id", &self.id)
            .field("case_id", &self.case_id)
            .field("lab_org_id", &self.lab_org_id)
            .field("status", &self.status)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
