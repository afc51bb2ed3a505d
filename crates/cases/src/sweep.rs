//! Keeping rows and objects in step (SECURITY.md item 14).
//!
//! - [`abandoned_uploads`] aborts presigned uploads that outlived their
//!   expiry or whose case is no longer a draft, freeing their quota.
//! - [`orphans`] compares the bucket with every row that names an object
//!   (case files, their previews, credential documents, uploads in flight) both
//!   ways: objects no row names, and rows whose object is gone. It only reports
//!   unless asked to remove; young objects and rows (within `grace`) are left
//!   alone, as an upload may be between its object and its row.

use crate::store::claim_upload as claim;
use chrono::{DateTime, Utc};
use dentex_db::entities::{case, case_file, case_upload, credential};
use dentex_storage::{ObjectStore, StorageError};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::HashSet;
use uuid::Uuid;

/// The job that aborts abandoned presigned uploads (hourly).
pub const UPLOADS_JOB: &str = "cases.sweep_uploads";
/// The job that compares the bucket with the rows (daily).
pub const ORPHANS_JOB: &str = "storage.sweep_orphans";

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("object store: {0}")]
    Store(#[from] StorageError),
}

/// Aborts every presigned upload that expired or whose case left the draft
/// state; returns how many.
pub async fn abandoned_uploads(
    db: &DatabaseConnection,
    store: &ObjectStore,
    now: DateTime<Utc>,
) -> Result<usize, SweepError> {
    let not_drafts = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::Status.ne(dentex_domain::CaseStatus::Draft.as_str()));
    let stale = case_upload::Entity::find()
        .filter(
            Condition::any()
                .add(case_upload::Column::ExpiresAt.lt(now))
                .add(case_upload::Column::CaseId.in_subquery(sea_orm::QueryTrait::into_query(not_drafts))),
        )
        .limit(1000)
        .all(db)
        .await?;
    let mut aborted = 0;
    for u in stale {
        // A `complete` at work on it wins; a dead one's claim times out.
        if !claim(db, u.id).await? {
            continue;
        }
        store.abort_multipart(&u.object_key, &u.store_upload_id).await?;
        store.delete(&u.object_key).await?;
        case_upload::Entity::delete_by_id(u.id).exec(db).await?;
        aborted += 1;
    }
    if aborted > 0 {
        tracing::info!(uploads = aborted, "abandoned uploads aborted");
    }
    Ok(aborted)
}

/// A row whose object is missing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MissingObject {
    /// `case_file`, `case_file_thumbnail` or `credential_document`.
    pub what: &'static str,
    pub id: Uuid,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct OrphanReport {
    pub objects_listed: usize,
    /// Objects no row names (keys are made of ids only).
    pub objects_without_row: Vec<String>,
    pub rows_without_object: Vec<MissingObject>,
    /// Multipart uploads the store holds open that no row knows, older than
    /// a day; `None` when the store cannot list them.
    pub open_uploads_without_row: Option<Vec<String>>,
    /// Whether what was found was also removed.
    pub removed: bool,
}

impl OrphanReport {
    pub fn is_clean(&self) -> bool {
        self.objects_without_row.is_empty()
            && self.rows_without_object.is_empty()
            && self.open_uploads_without_row.as_ref().is_none_or(Vec::is_empty)
    }
}

/// Compares the bucket with the rows. With `remove`: objects without a row
/// are deleted, case-file rows without an object are deleted, a missing
/// preview is forgotten (the file shows none) and open uploads nobody knows
/// are aborted. A credential whose document is missing is only reported:
/// support must ask the organisation for it again.
pub async fn orphans(
    db: &DatabaseConnection,
    store: &ObjectStore,
    remove: bool,
    grace: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<OrphanReport, SweepError> {
    let cutoff = now - grace;
    // The listing first, then the rows: a row written after the listing
    // names an object the listing may lack, so young rows are skipped; an
    // object listed before its row was written is young and skipped too.
    let listed = store.list_all().await?;
    let present: HashSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    let mut report = OrphanReport {
        objects_listed: listed.len(),
        removed: remove,
        ..OrphanReport::default()
    };

    let files = case_file::Entity::find().all(db).await?;
    let credentials = credential::Entity::find()
        .filter(credential::Column::DocumentKey.is_not_null())
        .all(db)
        .await?;
    let uploads = case_upload::Entity::find().all(db).await?;
    let mut known: HashSet<&str> = HashSet::new();
    for f in &files {
        known.insert(&f.object_key);
        if let Some(t) = &f.thumbnail_key {
            known.insert(t);
        }
    }
    for c in &credentials {
        if let Some(k) = &c.document_key {
            known.insert(k);
        }
    }
    for u in &uploads {
        known.insert(&u.object_key);
    }

    for o in &listed {
        let young = o.last_modified.is_none_or(|t| t > cutoff);
        if !known.contains(o.key.as_str()) && !young {
            report.objects_without_row.push(o.key.clone());
        }
    }
    report.rows_without_object = rows_without_object(&files, &credentials, &present, cutoff);
    let upload_ids: HashSet<&str> = uploads.iter().map(|u| u.store_upload_id.as_str()).collect();
    report.open_uploads_without_row = store.list_open_uploads().await?.map(|open| {
        open.into_iter()
            .filter(|u| !upload_ids.contains(u.upload_id.as_str()))
            .filter(|u| u.initiated.is_some_and(|t| t < now - chrono::Duration::days(1)))
            .map(|u| format!("{} {}", u.key, u.upload_id))
            .collect()
    });

    // A preview drawn (or a document replaced) after the listing is missing
    // from it: ask the store again before calling anything lost.
    let mut confirmed = Vec::with_capacity(report.rows_without_object.len());
    for m in std::mem::take(&mut report.rows_without_object) {
        if store.head(&m.key).await?.is_none() {
            confirmed.push(m);
        }
    }
    report.rows_without_object = confirmed;
    if remove {
        remove_found(db, store, &report).await?;
    }
    tracing::info!(
        objects = report.objects_listed,
        objects_without_row = report.objects_without_row.len(),
        rows_without_object = report.rows_without_object.len(),
        removed = remove,
        "orphan sweep finished"
    );
    Ok(report)
}

/// The rows older than the cutoff whose object the listing lacks.
fn rows_without_object(
    files: &[case_file::Model],
    credentials: &[credential::Model],
    present: &HashSet<&str>,
    cutoff: DateTime<Utc>,
) -> Vec<MissingObject> {
    let mut missing = Vec::new();
    for f in files.iter().filter(|f| f.created_at < cutoff) {
        if !present.contains(f.object_key.as_str()) {
            missing.push(MissingObject {
                what: "case_file",
                id: f.id,
                key: f.object_key.clone(),
            });
        } else if let Some(t) = &f.thumbnail_key
            && !present.contains(t.as_str())
        {
            missing.push(MissingObject {
                what: "case_file_thumbnail",
                id: f.id,
                key: t.clone(),
            });
        }
    }
    for c in credentials.iter().filter(|c| c.updated_at < cutoff) {
        if let Some(k) = &c.document_key
            && !present.contains(k.as_str())
        {
            missing.push(MissingObject {
                what: "credential_document",
                id: c.id,
                key: k.clone(),
            });
        }
    }
    missing
}

/// Removes what the report found: objects without a row, case-file rows
/// without an object (and their previews), missing previews from their
/// rows, open uploads nobody knows.
async fn remove_found(db: &DatabaseConnection, store: &ObjectStore, report: &OrphanReport) -> Result<(), SweepError> {
    for key in &report.objects_without_row {
        store.delete(key).await?;
    }
    for m in &report.rows_without_object {
        match m.what {
            "case_file" => {
                // Its preview has nothing left to preview.
                if let Some(t) = case_file::Entity::find_by_id(m.id)
                    .one(db)
                    .await?
                    .and_then(|f| f.thumbnail_key)
                {
                    store.delete(&t).await?;
                }
                case_file::Entity::delete_by_id(m.id).exec(db).await?;
            }
            "case_file_thumbnail" => {
                case_file::Entity::update_many()
                    .col_expr(case_file::Column::ThumbnailKey, Expr::value(Option::<String>::None))
                    .filter(case_file::Column::Id.eq(m.id))
                    .exec(db)
                    .await?;
            }
            _ => {}
        }
    }
    for entry in report.open_uploads_without_row.iter().flatten() {
        if let Some((key, id)) = entry.rsplit_once(' ') {
            store.abort_multipart(key, id).await?;
        }
    }
    Ok(())
}
