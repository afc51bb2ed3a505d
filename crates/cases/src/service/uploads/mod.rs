//! Large files straight to the object store: presigned multipart uploads.
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

mod complete;
pub use complete::complete;

use super::Allowed;
use super::files::{
    clean_file_name, file_row, mesh_empty, object_key, save_file, scan_preflight, too_large, unsupported,
};
use super::{lock_draft, missing_in_case, record, remove_object};
use crate::content::{self, Kind, Sniffed};
use crate::policy::{CaseAction, Viewer};
use crate::state::CasesState;
use crate::store;
use chrono::{DateTime, Utc};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_db::entities::{case, case_file, case_upload};
use dentex_db::now;
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use dentex_storage::{Digest256, PutOutcome, StorageError, StoredPart};
use sea_orm::Set;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// S3 allows at most this many parts in one upload.
const MAX_PARTS: u64 = 10_000;

#[derive(Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// The file's exact size in bytes.
    #[validate(range(min = 1, code = "empty", message = "A file has at least one byte."))]
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of the whole file; checked at `complete`.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: String,
    /// Your name for the file (metadata only; shown to your clinic).
    pub file_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PartUrl {
    /// 1-based part number.
    pub number: i32,
    /// Bytes this part must hold: `part_size_bytes` for every part but the last.
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
    /// Bytes in every part but the last.
    pub part_size_bytes: u64,
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
        part_size_bytes: u64::try_from(u.part_size).unwrap_or(0),
        parts_received: received,
        parts,
        urls_expire_at: Utc::now() + chrono::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(3600)),
        expires_at: u.expires_at,
    })
}

/// The case and one of its uploads, for `action`. An upload the case does
/// not have is 404 whatever its state (409 `case_not_draft` only for its own).
pub async fn case_and_upload(
    state: &CasesState,
    actor: &Actor,
    raw_case: &str,
    raw_upload: &str,
    action: crate::policy::CaseAction,
) -> Result<(Allowed, case_upload::Model), ApiError> {
    let allowed = super::case_for_child(state, actor, raw_case, raw_upload, super::Child::Upload, action).await?;
    let u = upload_of(state, actor, &allowed, raw_upload).await?;
    Ok((allowed, u))
}

/// An upload of this case, or 404 (audited in the clinic's chain).
pub async fn upload_of(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    raw: &str,
) -> Result<case_upload::Model, ApiError> {
    let c = allowed.case();
    let id = Uuid::parse_str(raw).ok();
    let found = match id {
        Some(id) => store::upload_in_case(&state.db, c.id, id).await?,
        None => None,
    };
    match found {
        Some(u) => Ok(u),
        None => Err(missing_in_case(state, actor, c, "case_upload", id).await),
    }
}

async fn release(state: &CasesState, id: Uuid) {
    if let Err(e) = store::release_upload(&state.db, id).await {
        tracing::warn!(error = %e, upload.id = %id, "releasing an upload claim failed; it expires by itself");
    }
}

/// Ends an upload for good: the store's upload (none is left once `joined`:
/// the store made its parts the object), any object it made, its row.
async fn discard(state: &CasesState, u: &case_upload::Model, joined: bool) {
    if joined {
        remove_object(state, &u.object_key).await;
    } else {
        discard_in_store(state, u).await;
    }
    if let Err(e) = store::delete_upload(&state.db, u.id).await {
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

fn parse_input(input: UploadInput, max: u64) -> Result<(u64, String, Option<String>), ApiError> {
    // The declared rules (size_bytes), then the checksum's form.
    let mut errors = dentex_accounts::validate::field_errors(&input);
    // A size no file can have is a wrong value (422), not a file too large.
    let impossible = FieldError::new("size_bytes", "out_of_range", "Too large a number for a size in bytes.");
    errors.extend(i64::try_from(input.size_bytes).err().map(|_| impossible));
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

fn upload_event(actor: &Actor, c: &case::Model, u: Uuid, action: &str, outcome: Outcome) -> dentex_audit::AuditEvent {
    let mut ev = actor.event(action, "case_upload", outcome);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(format!("{}/{}", c.id, u));
    ev
}

/// Starts a presigned multipart upload for a large file of a draft.
pub async fn start(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    input: UploadInput,
) -> Result<UploadView, ApiError> {
    let (c, _) = allowed.take(actor, CaseAction::StartUpload)?;
    let limits = state.limits;
    let (size, sha256, name) = parse_input(input, limits.upload_max_bytes)?;
    let id = Uuid::now_v7();
    let key = object_key(c, id);
    let store_upload_id = state.store.create_multipart(&key, "application/octet-stream").await?;
    let t = now();
    let expiry = chrono::Duration::seconds(i64::try_from(limits.upload_expiry.as_secs()).unwrap_or(86_400));
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
        created_by: Set(actor.user_id.0),
        created_at: Set(t),
        expires_at: Set(t + expiry),
        completing_at: Set(None),
    };
    let saved: Result<case_upload::Model, ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        lock_draft(&txn, c.id).await?;
        // The room is reserved under the organisation's row lock.
        let used = store::usage_locked(&txn, c.clinic_org_id).await?;
        if used.saturating_add(size) > limits.org_quota_bytes {
            return Err(too_large(limits.org_quota_bytes, true));
        }
        let u = store::insert_upload(&txn, row).await?;
        dentex_accounts::audit_in(
            &txn,
            upload_event(actor, c, u.id, "case_upload.start", Outcome::Success),
        )
        .await?;
        txn.commit().await?;
        Ok(u)
    }
    .await;
    match saved {
        Ok(u) => upload_view(state, &u, Vec::new()).await,
        Err(e) => {
            if state.store.abort_multipart(&key, &store_upload_id).await.is_err() {
                tracing::warn!(upload.id = %id, "aborting an unrecorded upload failed");
            }
            Err(e)
        }
    }
}

/// An upload in flight: which parts arrived, and fresh URLs for the rest.
pub async fn progress(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    u: &case_upload::Model,
) -> Result<UploadView, ApiError> {
    let (c, _) = allowed.take(actor, CaseAction::ReadUpload)?;
    super::of_case(u.case_id, c)?;
    require_unexpired(u)?;
    let received = match state.store.list_parts(&u.object_key, &u.store_upload_id).await {
        Ok(parts) => parts.into_iter().map(|p| p.number).collect(),
        Err(StorageError::NotFound) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    upload_view(state, u, received).await
}

/// Abandons an upload: the parts sent so far are removed and its room in
/// the quota is freed.
pub async fn abort(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    u: case_upload::Model,
) -> Result<(), ApiError> {
    let (c, _) = allowed.take(actor, CaseAction::AbortUpload)?;
    super::of_case(u.case_id, c)?;
    if !store::claim_upload(&state.db, u.id).await? {
        return Err(ApiError::new(
            &crate::codes::UPLOAD_IN_PROGRESS,
            "The upload is being completed right now.",
        ));
    }
    discard_in_store(state, &u).await;
    let txn = dentex_db::begin_write(&state.db).await?;
    store::delete_upload(&txn, u.id).await?;
    dentex_accounts::audit_in(
        &txn,
        upload_event(actor, c, u.id, "case_upload.abort", Outcome::Success),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
