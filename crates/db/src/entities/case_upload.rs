use sea_orm::entity::prelude::*;

/// A presigned multipart upload in flight (see the migration that creates
/// `case_uploads`). Its `id` becomes the file's id.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub org_id: Uuid,
    pub object_key: String,
    pub store_upload_id: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub part_size: i64,
    /// The client's name for the file: metadata only (see `Debug`).
    pub original_name: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub completing_at: Option<DateTimeUtc>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseUpload")
            .field("id", &self.id)
            .field("case_id", &self.case_id)
            .field("size_bytes", &self.size_bytes)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
