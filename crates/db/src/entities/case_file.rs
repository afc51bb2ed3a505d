use sea_orm::entity::prelude::*;

/// A scan, photo or document of a case. The object lives at `object_key`,
/// made from ids only.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub org_id: Uuid,
    /// `scan`, `photo` or `document`.
    pub kind: String,
    pub content_type: String,
    pub format: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    pub object_key: String,
    /// The client's name for the file: metadata only (see `Debug`).
    pub original_name: Option<String>,
    /// `pending`, `done`, `failed` for scans; `not_applicable` otherwise.
    pub analysis_status: String,
    pub analysis_error: Option<String>,
    /// The mesh report as JSON.
    pub analysis: Option<String>,
    pub thumbnail_key: Option<String>,
    /// The lab that uploaded it into its thread (visible to the clinic and
    /// that lab only); `None` for the clinic's files.
    pub lab_org_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseFile")
            .field("id", &self.id)
            .field("case_id", &self.case_id)
            .field("kind", &self.kind)
            .field("analysis_status", &self.analysis_status)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
