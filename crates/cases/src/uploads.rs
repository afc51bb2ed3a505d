//! Large files straight to the object store: presigned multipart uploads
//! (`/api/v1/cases/{case}/uploads…`).
//!
//! The clinic declares the size and SHA-256; Dentex starts a multipart upload
//! under a key made from ids, records it (its declared size holds room in the
//! organisation's quota) and hands out one presigned URL per part. The client
//! PUTs the parts to the store directly, then calls `complete`: Dentex checks
//! that every part arrived with the expected size, joins them, reads the object
//! back to check size and checksum and to decide the type from the bytes, and
//! only then writes the file row, all under the draft's lock. Anything that
//! does not match is removed; nothing half-made is left. Photos are refused
//! here: their metadata must go before they are stored, so they stream
//! through `POST …/files`. Uploads never completed are aborted by
//! [`crate::sweep::abandoned_uploads`].

use crate::files::{self, Kind};
use crate::http::{
    CasesState, FileView, clean_file_name, event, file_view, load_case, lock_draft, missing_in_case, record,
    remove_object, require_clinic, require_draft, too_large, unsupported, usage_locked,
};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use dentex_accounts::Principal;
use dentex_audit::Outcome;
use dentex_db::entities::{case, case_file, case_upload};
use dentex_db::now;
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_storage::{StorageError, StoredPart};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// S3 allows at most this many parts in one upload.
const MAX_PARTS: u64 = 10_000;
/// A `complete` that has not finished after this long is taken to have died.
pub const CLAIM_TIMEOUT: chrono::Duration = chrono::Duration::minutes(15);

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_upload)
        .service(get_upload)
        .service(complete_upload)
        .service(abort_upload);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// The file's exact size in bytes.
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of the whole file; checked at `complete`.
    pub sha256: String,
    /// Your name for the file (metadata only; shown to your clinic).
    pub file_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PartUrl {
    /// 1-based part number.
    pub number: i32,
    /// Bytes this part must hold: `part_size` for every part but the last.
    pub size_bytes: u64,
    /// PUT the part's bytes here (no other headers needed).
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct UploadView {
    /// The upload's id, which is also the id of the file it becomes.
    pub id: Uuid,
    pub case_id: Uuid,
    pub size_bytes: u64,
    pub sha256: String,
    pub part_size: u64,
    /// Part numbers the store already holds (for resuming).
    pub parts_received: Vec<i32>,
    pub parts: Vec<PartUrl>,
    /// When the part URLs stop working (ask again with GET for fresh ones).
    pub urls_expire_at: DateTime<Utc>,
    /// When an unfinished upload is abandoned and removed.
    pub expires_at: DateTime<Utc>,
}

fn part_size_for(size: u64, configured: u64) -> u64 {
    configured.max(5 * 1024 * 1024).max(size.div_ceil(MAX_PARTS))
}

fn expected_parts(u: &case_upload::Model) -> Vec<(i32, u64)> {
    let size = u64::try_from(u.size_bytes).unwrap_or(0);
    let part = u64::try_from(u.part_size).unwrap_or(1).max(1);
    let n = size.div_ceil(part).max(1);
    (1..=n)
        .map(|i| {
            let len = if i == n { size - part * (n - 1) } else { part };
            (i32::try_from(i).unwrap_or(i32::MAX), len)
        })
        .collect()
}

async fn upload_view(state: &CasesState, u: &case_upload::Model, received: Vec<i32>) -> Result<UploadView, ApiError> {
    // Never past the upload's own expiry.
    let left = (u.expires_at - Utc::now()).to_std().unwrap_or_default();
    let ttl = state
        .limits
        .upload_url_ttl
        .min(left)
        .max(std::time::Duration::from_secs(1));
    let mut parts = Vec::new();
    for (number, size_bytes) in expected_parts(u) {
        if received.contains(&number) {
            continue;
        }
        let url = state
            .store
            .presign_upload_part(&u.object_key, &u.store_upload_id, number, size_bytes, ttl)
            .await?;
        parts.push(PartUrl {
            number,
            size_bytes,
            url,
        });
    }
    Ok(UploadView {
        id: u.id,
        case_id: u.case_id,
        size_bytes: u64::try_from(u.size_bytes).unwrap_or(0),
        sha256: u.sha256.clone(),
        part_size: u64::try_from(u.part_size).unwrap_or(0),
        parts_received: received,
        parts,
        urls_expire_at: Utc::now() + chrono::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(3600)),
        expires_at: u.expires_at,
    })
}

/// An upload of this case, or 404 (audited in the clinic's chain).
async fn load_upload(
    state: &CasesState,
    req: &HttpRequest,
    p: &Principal,
    c: &case::Model,
    raw: &str,
) -> Result<case_upload::Model, ApiError> {
    let id = Uuid::parse_str(raw).ok();
    let found = match id {
        Some(id) => {
            case_upload::Entity::find_by_id(id)
                .filter(case_upload::Column::CaseId.eq(c.id))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    match found {
        Some(u) => Ok(u),
        None => Err(missing_in_case(state, req, p, c, "case_upload", id).await),
    }
}

/// Takes the upload for one `complete` (or the sweep) at a time; a claim
/// older than [`CLAIM_TIMEOUT`] is taken to have died.
pub(crate) async fn claim<C: sea_orm::ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, sea_orm::DbErr> {
    let t = now();
    let r = case_upload::Entity::update_many()
        .col_expr(case_upload::Column::CompletingAt, Expr::value(t))
        .filter(case_upload::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(case_upload::Column::CompletingAt.is_null())
                .add(case_upload::Column::CompletingAt.lt(t - CLAIM_TIMEOUT)),
        )
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

async fn release(state: &CasesState, id: Uuid) {
    if let Err(e) = case_upload::Entity::update_many()
        .col_expr(
            case_upload::Column::CompletingAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(case_upload::Column::Id.eq(id))
        .exec(&state.db)
        .await
    {
        tracing::warn!(error = %e, upload.id = %id, "releasing an upload claim failed; it expires by itself");
    }
}

/// Ends an upload for good: the store's upload, any object it made, its row.
async fn discard(state: &CasesState, u: &case_upload::Model) {
    discard_in_store(state, u).await;
    if let Err(e) = case_upload::Entity::delete_by_id(u.id).exec(&state.db).await {
        tracing::warn!(error = %e, upload.id = %u.id, "removing an upload row failed; the sweep will");
    }
}

/// The store's side of [`discard`]: the multipart upload and any object.
async fn discard_in_store(state: &CasesState, u: &case_upload::Model) {
    if let Err(e) = state.store.abort_multipart(&u.object_key, &u.store_upload_id).await {
        tracing::warn!(error = %e, upload.id = %u.id, "aborting an upload failed; the sweep will");
    }
    remove_object(state, &u.object_key).await;
}

/// An upload past its expiry takes no more parts and cannot complete; the
/// sweep removes it.
fn require_unexpired(u: &case_upload::Model) -> Result<(), ApiError> {
    if u.expires_at < Utc::now() {
        Err(ApiError::new(
            &crate::codes::UPLOAD_EXPIRED,
            "This upload expired unfinished and is being removed; start a new one.",
        ))
    } else {
        Ok(())
    }
}

async fn refuse(state: &CasesState, u: &case_upload::Model, e: ApiError) -> Result<HttpResponse, ApiError> {
    discard(state, u).await;
    Err(e)
}

fn parse_input(input: UploadInput, max: u64) -> Result<(u64, String, Option<String>), ApiError> {
    let mut errors = Vec::new();
    if input.size_bytes == 0 {
        errors.push(FieldError::new("size_bytes", "empty", "A file has at least one byte."));
    }
    let sha = input.sha256.trim().to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        errors.push(FieldError::new(
            "sha256",
            "invalid",
            "Give the file's SHA-256 as 64 hexadecimal digits.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if input.size_bytes > max {
        return Err(too_large(max, false).with_errors(vec![FieldError::new(
            "size_bytes",
            "too_large",
            format!("A file may be at most {max} bytes."),
        )]));
    }
    Ok((
        input.size_bytes,
        sha,
        input.file_name.as_deref().and_then(clean_file_name),
    ))
}

/// Starts a presigned multipart upload for a large file: declare its size
/// and SHA-256, PUT each part to its URL, then call `complete`.
#[utoipa::path(post, path = "/api/v1/cases/{case}/uploads", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = UploadInput,
    responses((status = 201, body = UploadView), (status = 409, body = dentex_http::Problem),
        (status = 413, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/uploads")]
pub async fn create_upload(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<String>,
    input: dentex_http::Json<UploadInput>,
) -> Result<HttpResponse, ApiError> {
    let (c, v) = load_case(&state, &req, &p, &path, "start upload").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let limits = state.limits;
    let (size, sha256, name) = parse_input(input.into_inner(), limits.upload_max_bytes)?;
    let id = Uuid::now_v7();
    let key = format!("{}/{}/{}/{}", c.region, c.clinic_org_id, c.id, id);
    let store_upload_id = state.store.create_multipart(&key, "application/octet-stream").await?;
    let t = now();
    let row = case_upload::ActiveModel {
        id: Set(id),
        case_id: Set(c.id),
        org_id: Set(c.clinic_org_id),
        object_key: Set(key.clone()),
        store_upload_id: Set(store_upload_id.clone()),
        size_bytes: Set(i64::try_from(size).unwrap_or(i64::MAX)),
        sha256: Set(sha256),
        part_size: Set(i64::try_from(part_size_for(size, limits.part_size)).unwrap_or(i64::MAX)),
        original_name: Set(name),
        created_by: Set(p.user_id.0),
        created_at: Set(t),
        expires_at: Set(t + chrono::Duration::seconds(i64::try_from(limits.upload_expiry.as_secs()).unwrap_or(86_400))),
        completing_at: Set(None),
    };
    let saved: Result<case_upload::Model, ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        lock_draft(&txn, c.id).await?;
        // The room is reserved under the organisation's row lock.
        let used = usage_locked(&txn, c.clinic_org_id).await?;
        if used.saturating_add(size) > limits.org_quota_bytes {
            return Err(too_large(limits.org_quota_bytes, true));
        }
        let u = row.insert(&txn).await?;
        let mut ev = event(&req, &p, "case_upload.start", "case_upload", Outcome::Success);
        ev.org_id = Some(OrgId(c.clinic_org_id));
        ev.resource_id = Some(format!("{}/{}", c.id, u.id));
        dentex_accounts::http::record_in(&txn, ev).await?;
        txn.commit().await?;
        Ok(u)
    }
    .await;
    let u = match saved {
        Ok(u) => u,
        Err(e) => {
            if state.store.abort_multipart(&key, &store_upload_id).await.is_err() {
                tracing::warn!(upload.id = %id, "aborting an unrecorded upload failed");
            }
            return Err(e);
        }
    };
    Ok(HttpResponse::Created().json(upload_view(&state, &u, Vec::new()).await?))
}

/// An upload in flight: which parts arrived, and fresh URLs for the rest.
#[utoipa::path(get, path = "/api/v1/cases/{case}/uploads/{upload}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 200, body = UploadView), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/uploads/{upload}")]
pub async fn get_upload(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_upload) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "read upload").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let u = load_upload(&state, &req, &p, &c, &raw_upload).await?;
    require_unexpired(&u)?;
    let received = match state.store.list_parts(&u.object_key, &u.store_upload_id).await {
        Ok(parts) => parts.into_iter().map(|p| p.number).collect(),
        Err(StorageError::NotFound) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().json(upload_view(&state, &u, received).await?))
}

/// Abandons an upload: the parts sent so far are removed and its room in
/// the quota is freed.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/uploads/{upload}", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 204), (status = 404, body = dentex_http::Problem), (status = 409, body = dentex_http::Problem)))]
#[delete("/api/v1/cases/{case}/uploads/{upload}")]
pub async fn abort_upload(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_upload) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "abort upload").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    let u = load_upload(&state, &req, &p, &c, &raw_upload).await?;
    if !claim(&state.db, u.id).await? {
        return Err(ApiError::new(
            &crate::codes::UPLOAD_IN_PROGRESS,
            "The upload is being completed right now.",
        ));
    }
    discard_in_store(&state, &u).await;
    let mut ev = event(&req, &p, "case_upload.abort", "case_upload", Outcome::Success);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(format!("{}/{}", c.id, u.id));
    let txn = dentex_db::begin_write(&state.db).await?;
    case_upload::Entity::delete_by_id(u.id).exec(&txn).await?;
    dentex_accounts::http::record_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Finishes an upload once every part is in: the parts are joined, the
/// object is read back and must match the declared size and SHA-256, and its
/// type is decided from its bytes. Then it is a file of the case like any
/// other (scans are analysed).
#[utoipa::path(post, path = "/api/v1/cases/{case}/uploads/{upload}/complete", tag = "cases", security(("bearer" = [])),
    params(("case" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 201, body = FileView), (status = 404, body = dentex_http::Problem),
        (status = 409, body = dentex_http::Problem), (status = 413, body = dentex_http::Problem),
        (status = 415, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/uploads/{upload}/complete")]
pub async fn complete_upload(
    req: HttpRequest,
    p: Principal,
    state: web::Data<CasesState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_case, raw_upload) = path.into_inner();
    let (c, v) = load_case(&state, &req, &p, &raw_case, "complete upload").await?;
    require_clinic(&state, &req, &p, &c, v).await?;
    require_draft(&c)?;
    let u = load_upload(&state, &req, &p, &c, &raw_upload).await?;
    require_unexpired(&u)?;
    if !claim(&state.db, u.id).await? {
        return Err(ApiError::new(
            &crate::codes::UPLOAD_IN_PROGRESS,
            "Another call is completing this upload.",
        ));
    }
    // Every part, with the size it must have; the client may re-send a part
    // and call again.
    let stored = match state.store.list_parts(&u.object_key, &u.store_upload_id).await {
        Ok(parts) => parts,
        Err(e) => {
            release(&state, u.id).await;
            return Err(e.into());
        }
    };
    let mut problems = Vec::new();
    let mut parts: Vec<StoredPart> = Vec::new();
    let expected = expected_parts(&u);
    for (number, size) in &expected {
        match stored.iter().find(|p| p.number == *number) {
            None => problems.push(FieldError::new(
                format!("parts[{}]", number - 1),
                "missing",
                format!("Part {number} has not arrived."),
            )),
            Some(p) if p.size != *size => problems.push(FieldError::new(
                format!("parts[{}]", number - 1),
                "wrong_size",
                format!(
                    "Part {number} holds {} bytes; it must hold {size}. Send it again.",
                    p.size
                ),
            )),
            Some(p) => parts.push(p.clone()),
        }
    }
    for p in stored
        .iter()
        .filter(|p| p.number < 1 || p.number as usize > expected.len())
    {
        problems.push(FieldError::new(
            "parts",
            "unexpected_part",
            format!("Part {} is beyond the declared size.", p.number),
        ));
    }
    if !problems.is_empty() {
        release(&state, u.id).await;
        return Err(ApiError::new(
            &crate::codes::UPLOAD_INCOMPLETE,
            "Some parts are missing or have the wrong size; see errors. Send them and complete again.",
        )
        .with_errors(problems));
    }
    if let Err(e) = state
        .store
        .complete_multipart(&u.object_key, &u.store_upload_id, &parts)
        .await
    {
        release(&state, u.id).await;
        return Err(e.into());
    }
    // From here the upload is consumed: on any refusal the object goes too.
    let mut faces = dentex_mesh::ObjFaceScan::default();
    let digest = match state
        .store
        .digest_with(&u.object_key, files::SNIFF_BYTES, |piece| faces.feed(piece))
        .await
    {
        Ok(d) => d,
        Err(e) => return refuse(&state, &u, e.into()).await,
    };
    let declared = u64::try_from(u.size_bytes).unwrap_or(0);
    if digest.size != declared || digest.sha256 != u.sha256 {
        let mut ev = event(&req, &p, "case_upload.complete", "case_upload", Outcome::Denied);
        ev.org_id = Some(OrgId(c.clinic_org_id));
        ev.resource_id = Some(format!("{}/{}", c.id, u.id));
        ev.reason = Some("checksum mismatch".into());
        record(&state, ev).await?;
        return refuse(
            &state,
            &u,
            ApiError::new(
                &crate::codes::CHECKSUM_MISMATCH,
                "The bytes received do not match the declared size and SHA-256; nothing was kept. Start a new upload.",
            )
            .with_errors(vec![FieldError::new(
                "sha256",
                "mismatch",
                "The stored bytes have another SHA-256 or size.",
            )]),
        )
        .await;
    }
    let sniffed =
        match files::sniff(&digest.head, digest.size <= files::SNIFF_BYTES as u64) {
            Some(s) if s.kind == Kind::Photo => {
                return refuse(&state, &u, ApiError::new(&crate::codes::PHOTO_NEEDS_DIRECT_UPLOAD,
                "Photos go through POST /api/v1/cases/{case}/files, which removes their metadata before storing.",
            ))
            .await;
            }
            Some(s) => s,
            None => return refuse(&state, &u, unsupported()).await,
        };
    if sniffed.format == Some(dentex_mesh::Format::StlBinary) && !files::binary_stl_size_ok(&digest.head, digest.size) {
        return refuse(&state, &u, unsupported()).await;
    }
    if let Err(e) = crate::http::scan_preflight(&sniffed, &digest.head, digest.size, &state.limits.mesh) {
        return refuse(&state, &u, e).await;
    }
    if sniffed.format == Some(dentex_mesh::Format::Obj) && !faces.found() {
        return refuse(&state, &u, crate::http::mesh_empty()).await;
    }
    let is_scan = sniffed.kind == Kind::Scan;
    let row = case_file::ActiveModel {
        id: Set(u.id),
        case_id: Set(c.id),
        org_id: Set(c.clinic_org_id),
        kind: Set(sniffed.kind.as_str().into()),
        content_type: Set(sniffed.content_type.into()),
        format: Set(sniffed.format.map(|f| files::format_name(f).to_owned())),
        size_bytes: Set(u.size_bytes),
        sha256: Set(digest.sha256.clone()),
        object_key: Set(u.object_key.clone()),
        original_name: Set(u.original_name.clone()),
        analysis_status: Set(if is_scan {
            dentex_domain::AnalysisStatus::Pending
        } else {
            dentex_domain::AnalysisStatus::NotApplicable
        }
        .as_str()
        .into()),
        analysis_error: Set(None),
        analysis: Set(None),
        thumbnail_key: Set(None),
        created_by: Set(p.user_id.0),
        created_at: Set(now()),
    };
    let quota = state.limits.org_quota_bytes;
    let saved: Result<case_file::Model, ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        lock_draft(&txn, c.id).await?;
        // The reservation becomes the file; the quota is checked again in
        // case it was lowered meanwhile.
        let gone = case_upload::Entity::delete_by_id(u.id).exec(&txn).await?;
        if gone.rows_affected != 1 {
            return Err(ApiError::new(
                &crate::codes::UPLOAD_GONE,
                "The upload was abandoned meanwhile.",
            ));
        }
        let used = usage_locked(&txn, c.clinic_org_id).await?;
        if used.saturating_add(declared) > quota {
            return Err(too_large(quota, true));
        }
        let f = row.insert(&txn).await?;
        if is_scan {
            Queue::enqueue_with(
                &txn,
                crate::ANALYZE_JOB,
                &crate::analysis::Payload { file_id: f.id },
                EnqueueOptions::default(),
            )
            .await
            .map_err(ApiError::internal)?;
        }
        // The file is not kept without its row, nor is the upload: say so.
        crate::http::audit_case_in(&txn, &req, &p, &c, v, "case_file.upload", Some(f.id))
            .await
            .map_err(|e| {
                ApiError::new(
                    &dentex_http::codes::AUDIT_UNAVAILABLE,
                    "The audit trail could not record this file, so it was not kept; start a new upload.",
                )
                .with_errors(e.errors)
            })?;
        txn.commit().await?;
        Ok(f)
    }
    .await;
    let f = match saved {
        Ok(f) => f,
        Err(e) => return refuse(&state, &u, e).await,
    };
    if is_scan {
        state.queue.wake();
    }
    Ok(HttpResponse::Created().json(file_view(f, v, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(size: i64, part: i64) -> case_upload::Model {
        case_upload::Model {
            id: Uuid::nil(),
            case_id: Uuid::nil(),
            org_id: Uuid::nil(),
            object_key: String::new(),
            store_upload_id: String::new(),
            size_bytes: size,
            sha256: String::new(),
            part_size: part,
            original_name: None,
            created_by: Uuid::nil(),
            created_at: Utc::now(),
            expires_at: Utc::now(),
            completing_at: None,
        }
    }

    #[test]
    fn parts_cover_the_declared_size_exactly() {
        assert_eq!(expected_parts(&upload(10, 4)), vec![(1, 4), (2, 4), (3, 2)]);
        assert_eq!(expected_parts(&upload(8, 4)), vec![(1, 4), (2, 4)]);
        assert_eq!(expected_parts(&upload(3, 4)), vec![(1, 3)]);
    }

    #[test]
    fn part_size_keeps_within_ten_thousand_parts() {
        let mib = 1024 * 1024;
        assert_eq!(part_size_for(200 * mib, 8 * mib), 8 * mib);
        assert_eq!(part_size_for(100_000 * mib, 8 * mib), 10 * mib);
        assert_eq!(part_size_for(1, 0), 5 * mib);
    }
}
