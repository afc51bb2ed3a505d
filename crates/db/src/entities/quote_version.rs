use sea_orm::entity::prelude::*;

/// One version of a quote's terms, as the lab sent it.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quote_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub quote_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub amount_minor: i64,
    pub currency: String,
    pub turnaround_days: i32,
    pub valid_until: Date,
    pub notes: Option<String>,
    pub line_items: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

/// Ids and states only: notes, reasons and free text (which a clinic may
/// fill with patient details) never reach a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteVersion")
            .field("quote_id", &self.quote_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
