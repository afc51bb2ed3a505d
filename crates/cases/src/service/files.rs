//! A case's files: uploads streamed into the object store (typed from their
//! bytes, photos without their metadata, the size limit and quota held
//! while streaming), reads, downloads and deletion.

use super::Allowed;
use super::{audit_change, audit_read, lock_draft, missing_in_case, record, remove_object};
use crate::content::{self, Kind, Sniffed};
use crate::policy::{CaseAction, Viewer};
use crate::state::CasesState;
use crate::store;
use bytes::{Bytes, BytesMut};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_db::entities::{case, case_file};
use dentex_db::now;
use dentex_domain::{AnalysisStatus, CaseStatus, OrgId};
use dentex_http::ApiError;
use dentex_http::paging::Page;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_storage::{ByteStream, PutOutcome, StorageError};
use futures_util::{Stream, StreamExt};
use sea_orm::{DatabaseTransaction, Set};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use uuid::Uuid;

const FILE_NAME_MAX: usize = 255;

pub(crate) fn too_large(limit: u64, quota: bool) -> ApiError {
    if quota {
        ApiError::new(
            &crate::codes::QUOTA_EXCEEDED,
            "This upload would take your organisation over its storage quota.",
        )
    } else {
        ApiError::new(
            &dentex_http::codes::PAYLOAD_TOO_LARGE,
            format!("A file may be at most {limit} bytes."),
        )
    }
}

/// A scan whose first bytes show no triangles, or a header its analysis
/// could not start from, is refused (422) before a row is written.
pub(crate) fn scan_preflight(
    sniffed: &Sniffed,
    head: &[u8],
    size: u64,
    limits: &dentex_mesh::Limits,
) -> Result<(), ApiError> {
    let Some(format) = sniffed.format else {
        return Ok(());
    };
    match dentex_mesh::preflight(head, size, format, limits) {
        Ok(()) => Ok(()),
        Err(dentex_mesh::MeshError::NoTriangles) => Err(mesh_empty()),
        Err(e) => {
            // The reader's message may quote the file: a short piece of it at most.
            let mut msg = e.to_string();
            if msg.len() > 160 {
                let cut = (0..=160).rev().find(|&i| msg.is_char_boundary(i)).unwrap_or(0);
                msg.truncate(cut);
                msg.push('…');
            }
            Err(ApiError::new(
                &crate::codes::MESH_UNREADABLE,
                format!("The scan cannot be read: {msg}."),
            ))
        }
    }
}

pub(crate) fn mesh_empty() -> ApiError {
    ApiError::new(
        &crate::codes::MESH_EMPTY,
        "The scan has no triangles; export it again from the scanner software.",
    )
}

pub(crate) fn unsupported() -> ApiError {
    ApiError::new(
        &dentex_http::codes::UNSUPPORTED_MEDIA_TYPE,
        "Upload scans as STL, PLY or OBJ, photos as JPEG or PNG, documents as PDF.",
    )
}

fn interrupted() -> ApiError {
    ApiError::new(
        &dentex_http::codes::UNREADABLE_BODY,
        "The upload was interrupted; nothing was kept.",
    )
}

/// Control characters removed, length bounded, blank means none. The name
/// is metadata: it never reaches a key, a URL or a log.
pub fn clean_file_name(s: &str) -> Option<String> {
    let clean: String = s.chars().filter(|c| !c.is_control()).take(FILE_NAME_MAX).collect();
    let clean = clean.trim().to_owned();
    (!clean.is_empty()).then_some(clean)
}

/// The object key of a case's file or upload: ids only.
pub(crate) fn object_key(c: &case::Model, id: Uuid) -> String {
    format!("{}/{}/{}/{}", c.region, c.clinic_org_id, c.id, id)
}

/// The row of a new file of `c` (its analysis pending for a scan).
pub(crate) fn file_row(
    actor: &Actor,
    c: &case::Model,
    id: Uuid,
    sniffed: &Sniffed,
    stored: (&PutOutcome, &str),
    name: Option<String>,
) -> case_file::ActiveModel {
    let (stored, key) = stored;
    let status = if sniffed.kind == Kind::Scan {
        AnalysisStatus::Pending
    } else {
        AnalysisStatus::NotApplicable
    };
    case_file::ActiveModel {
        id: Set(id),
        case_id: Set(c.id),
        org_id: Set(c.clinic_org_id),
        kind: Set(sniffed.kind.as_str().into()),
        content_type: Set(sniffed.content_type.into()),
        format: Set(sniffed.format.map(|f| content::format_name(f).to_owned())),
        size_bytes: Set(i64::try_from(stored.size).unwrap_or(i64::MAX)),
        sha256: Set(stored.sha256.clone()),
        object_key: Set(key.to_owned()),
        original_name: Set(name),
        analysis_status: Set(status.as_str().into()),
        analysis_error: Set(None),
        analysis: Set(None),
        thumbnail_key: Set(None),
        lab_org_id: Set(None),
        created_by: Set(actor.user_id.0),
        created_at: Set(now()),
    }
}

/// Writes a new file's row in `txn`, which holds the draft's lock, with the quota
/// checked again under the organisation's lock (uploads that streamed side
/// by side are settled one at a time here), its analysis queued for a scan,
/// and its audit row.
pub(crate) async fn save_file(
    txn: &DatabaseTransaction,
    actor: &Actor,
    c: &case::Model,
    v: Viewer,
    row: case_file::ActiveModel,
    quota: u64,
    adds: u64,
) -> Result<case_file::Model, ApiError> {
    let owner = match &row.org_id {
        sea_orm::ActiveValue::Set(o) | sea_orm::ActiveValue::Unchanged(o) => *o,
        sea_orm::ActiveValue::NotSet => c.clinic_org_id,
    };
    let used = store::usage_locked(txn, owner).await?;
    if used.saturating_add(adds) > quota {
        return Err(too_large(quota, true));
    }
    let f = store::insert_file(txn, row).await?;
    if f.kind == Kind::Scan.as_str() {
        Queue::enqueue_with(
            txn,
            crate::ANALYZE_JOB,
            &crate::analysis::Payload { file_id: f.id },
            EnqueueOptions::default(),
        )
        .await
        .map_err(ApiError::internal)?;
    }
    audit_change(txn, actor, c, v, "case_file.upload", Some(f.id)).await?;
    Ok(f)
}

/// How much an upload may hold: the size limit, or the room left in the
/// organisation's quota (`quota_bound` says which).
struct Room {
    max: u64,
    quota_bound: bool,
}

async fn room(state: &CasesState, owner: Uuid) -> Result<Room, ApiError> {
    let limits = state.limits;
    let used = store::org_usage(&state.db, owner).await?;
    let room = limits.org_quota_bytes.saturating_sub(used);
    Ok(Room {
        max: limits.upload_max_bytes.min(room),
        quota_bound: room < limits.upload_max_bytes,
    })
}

/// Reads enough of the start to know what it is; `true` when the body ended.
async fn read_head<S, E>(body: &mut S, room: &Room) -> Result<(BytesMut, bool), ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut head = BytesMut::new();
    while head.len() < content::SNIFF_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(interrupted()),
            None => return Ok((head, true)),
        }
        if head.len() as u64 > room.max {
            return Err(too_large(room.max, room.quota_bound));
        }
    }
    Ok((head, false))
}

/// A file upload as it arrives: its declared length, the client's name for
/// it, and the body.
pub struct Incoming<S> {
    pub declared_len: Option<u64>,
    pub name: Option<String>,
    pub body: S,
}

/// Uploads a file of a draft by streaming its body into the object store.
/// The type comes from the bytes; the size limit and the organisation's
/// quota hold while streaming (413 at once, nothing kept); photos lose
/// their metadata first.
pub async fn upload<S, E>(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    incoming: Incoming<S>,
) -> Result<case_file::Model, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let design = allowed.action == CaseAction::UploadDesign;
    let (c, v) = allowed.take(
        actor,
        if design {
            CaseAction::UploadDesign
        } else {
            CaseAction::UploadFile
        },
    )?;
    // A lab's design file is the lab's: its quota, visible to the clinic
    // and that lab only.
    let lab = design.then(|| v.org());
    let owner = lab.unwrap_or(c.clinic_org_id);
    let Incoming {
        declared_len,
        name,
        mut body,
    } = incoming;
    let room = room(state, owner).await?;
    if declared_len.is_some_and(|n| n > room.max) {
        return Err(too_large(room.max, room.quota_bound));
    }
    let (head, ended) = read_head(&mut body, &room).await?;
    if head.is_empty() {
        return Err(ApiError::new(
            &dentex_http::codes::EMPTY_BODY,
            "The body is empty: send the file's bytes.",
        ));
    }
    let Some(sniffed) = content::sniff(&head, ended) else {
        let mut ev = actor.event("case_file.upload", "case", Outcome::Denied);
        ev.org_id = Some(OrgId(c.clinic_org_id));
        ev.resource_id = Some(c.id.to_string());
        ev.reason = Some("unsupported type".into());
        record(state, ev).await?;
        return Err(unsupported());
    };
    // A scan whose first bytes show it has no triangles goes no further.
    let known = if ended { head.len() as u64 } else { u64::MAX };
    scan_preflight(&sniffed, &head, known, &state.limits.mesh)?;
    let file_id = Uuid::now_v7();
    let key = object_key(c, file_id);
    let head = head.freeze();
    let stored = store_body(state, &key, &sniffed, head.clone(), body, &room).await?;
    let mut row = file_row(actor, c, file_id, &sniffed, (&stored, &key), name);
    row.org_id = Set(owner);
    row.lab_org_id = Set(lab);
    let saved: Result<case_file::Model, ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        if design {
            // Still open to the lab: a case cancelled meanwhile is gone for it.
            if !store::lock_case_in(&txn, c.id, &[CaseStatus::Submitted, CaseStatus::Awarded]).await?
                || !crate::service::cases::still_with_lab(&txn, c.id, owner).await?
            {
                return Err(ApiError::not_found());
            }
        } else {
            lock_draft(&txn, c.id).await?;
        }
        let f = save_file(&txn, actor, c, v, row, state.limits.org_quota_bytes, stored.size).await?;
        txn.commit().await?;
        Ok(f)
    }
    .await;
    match saved {
        Ok(f) => {
            if f.kind == Kind::Scan.as_str() {
                state.queue.wake();
            }
            Ok(f)
        }
        Err(e) => {
            remove_object(state, &key).await;
            Err(e)
        }
    }
}

/// Streams the body (after its `head`) into the store under `key`, and
/// checks what only the whole can show: a binary STL's size against its
/// triangle count, an OBJ's faces (looked for as it streams). A refused
/// object is removed.
async fn store_body<S, E>(
    state: &CasesState,
    key: &str,
    sniffed: &Sniffed,
    head: Bytes,
    body: S,
    room: &Room,
) -> Result<PutOutcome, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let faces = Rc::new(Cell::new(dentex_mesh::ObjFaceScan::default()));
    let stored = if sniffed.kind == Kind::Photo {
        store_photo(state, key, sniffed, &head, body, room).await?
    } else {
        let seen = faces.clone();
        let first = head.clone();
        let stream = futures_util::stream::once(async move { Ok::<Bytes, E>(first) })
            .chain(body)
            .inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    let mut scan = seen.get();
                    scan.feed(bytes);
                    seen.set(scan);
                }
            });
        state
            .store
            .put_stream(key, sniffed.content_type, Box::pin(stream), room.max)
            .await
    };
    let stored = stored.map_err(|e| match e {
        StorageError::TooLarge { limit } => too_large(limit, room.quota_bound),
        StorageError::Source(_) => interrupted(),
        other => ApiError::from(other),
    })?;
    if sniffed.format == Some(dentex_mesh::Format::StlBinary) && !content::binary_stl_size_ok(&head, stored.size) {
        remove_object(state, key).await;
        return Err(unsupported());
    }
    if sniffed.format == Some(dentex_mesh::Format::Obj) && !faces.get().found() {
        remove_object(state, key).await;
        return Err(mesh_empty());
    }
    Ok(stored)
}

/// A photo is held whole (photos are small) so that its metadata goes
/// before it is stored.
async fn store_photo<S, E>(
    state: &CasesState,
    key: &str,
    sniffed: &Sniffed,
    head: &[u8],
    mut body: S,
    room: &Room,
) -> Result<Result<PutOutcome, StorageError>, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let cap = room.max.min(state.limits.photo_max_bytes);
    let over = || too_large(cap, room.quota_bound && cap == room.max);
    let mut all = BytesMut::from(head);
    if all.len() as u64 > cap {
        return Err(over());
    }
    while let Some(chunk) = body.next().await {
        all.extend_from_slice(&chunk.map_err(|_| interrupted())?);
        if all.len() as u64 > cap {
            return Err(over());
        }
    }
    let clean = match sniffed.content_type {
        "image/png" => content::strip_png(&all),
        _ => content::strip_jpeg(&all),
    }
    .map_err(|e| ApiError::new(&crate::codes::UNREADABLE_IMAGE, e.0))?;
    let one = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(clean)) });
    Ok(state
        .store
        .put_stream(key, sniffed.content_type, Box::pin(one), cap)
        .await)
}

/// A file of a case the actor sees; a file of another case, or none, is
/// 404 and audited in the clinic's chain.
pub async fn file_of(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    raw: &str,
) -> Result<case_file::Model, ApiError> {
    let c = allowed.case();
    let id = Uuid::parse_str(raw).ok();
    let found = match id {
        Some(id) => store::file_in_case(&state.db, c.id, id).await?,
        None => None,
    };
    // A lab's design file is the clinic's and that lab's only.
    match found {
        Some(f) if crate::policy::sees_file(allowed.viewer(), &f) => Ok(f),
        _ => Err(missing_in_case(state, actor, c, "case_file", id).await),
    }
}

/// The files of `case` among `ids` that a thread with `lab` may carry (the
/// clinic's, and that lab's own), for chat attachments; others are left out.
pub async fn thread_files<C: sea_orm::ConnectionTrait>(
    db: &C,
    case: Uuid,
    lab: Uuid,
    ids: Vec<Uuid>,
) -> Result<Vec<case_file::Model>, ApiError> {
    let rows = store::files_among(db, case, ids).await?;
    Ok(rows
        .into_iter()
        .filter(|f| crate::policy::sees_file(Viewer::Lab { org: lab }, f))
        .collect())
}

/// A page of the files of a case, oldest first, audited as listed.
pub async fn list(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    page: Page<Uuid>,
) -> Result<(Vec<case_file::Model>, Option<String>), ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::ListFiles)?;
    let lab = match v {
        Viewer::Lab { org } => Some(org),
        Viewer::Clinic { .. } | Viewer::Support { .. } => None,
    };
    let rows = store::files_of(&state.db, c.id, lab, page.after, page.limit + 1).await?;
    audit_read(state, actor, c, v, "case_file.list", None).await?;
    Ok(dentex_http::paging::split(rows, page.limit, |f| f.id))
}

/// One file, audited as read.
pub async fn read(state: &CasesState, actor: &Actor, allowed: &Allowed, f: &case_file::Model) -> Result<(), ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::ReadFile)?;
    super::of_case(f.case_id, c)?;
    audit_read(state, actor, c, v, "case_file.read", Some(f.id)).await
}

/// Removes a file from a draft, and its object. The row first (a row must
/// never point at a missing object), while the case is still a draft,
/// re-read so that a preview drawn meanwhile goes too.
pub async fn delete(state: &CasesState, actor: &Actor, allowed: &Allowed, f: case_file::Model) -> Result<(), ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::DeleteFile)?;
    super::of_case(f.case_id, c)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_draft(&txn, c.id).await?;
    let f = store::file(&txn, f.id).await?.ok_or_else(ApiError::not_found)?;
    store::delete_file(&txn, f.id).await?;
    audit_change(&txn, actor, c, v, "case_file.delete", Some(f.id)).await?;
    txn.commit().await?;
    remove_object(state, &f.object_key).await;
    if let Some(t) = &f.thumbnail_key {
        remove_object(state, t).await;
    }
    Ok(())
}

/// How an object is handed out.
pub enum Download {
    /// A URL valid for 5 minutes.
    Redirect(String),
    /// The bytes, through the gateway (configuration).
    Stream {
        body: ByteStream,
        content_type: String,
        name: String,
    },
}

async fn hand_out(state: &CasesState, key: &str, content_type: &str, name: String) -> Result<Download, ApiError> {
    if state.limits.stream_downloads {
        return Ok(Download::Stream {
            body: state.store.get_stream(key).await?,
            content_type: content_type.to_owned(),
            name,
        });
    }
    let url = state
        .store
        .presign_get_as(key, Duration::from_secs(300), Some((&name, content_type)))
        .await?;
    Ok(Download::Redirect(url))
}

/// The file's bytes; each issuance is audited.
pub async fn content(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    f: &case_file::Model,
) -> Result<Download, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::DownloadFile)?;
    super::of_case(f.case_id, c)?;
    audit_read(state, actor, c, v, "case_file.download", Some(f.id)).await?;
    let ext = match f.kind.as_str() {
        "photo" if f.content_type == "image/png" => "png",
        "photo" => "jpg",
        "document" => "pdf",
        _ => match f.format.as_deref() {
            Some(s) if s.starts_with("ply") => "ply",
            Some("obj") => "obj",
            _ => "stl",
        },
    };
    hand_out(state, &f.object_key, &f.content_type, format!("{}.{ext}", f.id)).await
}

/// The scan's preview, once the analysis has drawn it.
pub async fn thumbnail(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    f: &case_file::Model,
) -> Result<Download, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::Thumbnail)?;
    super::of_case(f.case_id, c)?;
    let Some(key) = f.thumbnail_key.clone() else {
        return Err(ApiError::new(
            &crate::codes::THUMBNAIL_UNAVAILABLE,
            format!("No preview: the analysis is {}.", f.analysis_status),
        ));
    };
    audit_read(state, actor, c, v, "case_file.thumbnail", Some(f.id)).await?;
    hand_out(state, &key, "image/png", format!("{}.png", f.id)).await
}
