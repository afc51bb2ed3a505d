use sea_orm::entity::prelude::*;

/// An order: made by accepting a quote, or a remake of another order.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    /// The case id on the order an award made (unique), `None` on remakes.
    pub award_case_id: Option<Uuid>,
    pub quote_id: Uuid,
    pub quote_version: i32,
    pub clinic_org_id: Uuid,
    pub lab_org_id: Uuid,
    /// `dentex_domain::market::OrderStatus` as text.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub turnaround_days: i32,
    pub due_date: Date,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
    /// `clinic`, `lab` or `support`.
    pub cancelled_by: Option<String>,
    pub remake_of: Option<Uuid>,
    pub remake_reason: Option<String>,
    pub remake_notes: Option<String>,
    pub cost_bearer: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Ids and states only: notes, reasons and free text (which a clinic may
/// fill with patient details) never reach a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Order")
            .field("id", &self.id)
            .field("case_id", &self.case_id)
            .field("status", &self.status)
            .field("remake_of", &self.remake_of)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
