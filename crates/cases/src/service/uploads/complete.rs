//! `complete`: the parts checked and joined, the object read back and
//! checked against what was declared, then made a file of the case.

use super::*;

/// Refuses a joined upload at `complete`: its object and row go.
async fn refuse<T>(state: &CasesState, u: &case_upload::Model, e: ApiError) -> Result<T, ApiError> {
    discard(state, u, true).await;
    Err(e)
}

/// Every part, with the size it must have; what is missing or wrong.
fn check_parts(u: &case_upload::Model, stored: &[StoredPart]) -> Result<Vec<StoredPart>, Vec<FieldError>> {
    let mut problems = Vec::new();
    let mut parts = Vec::new();
    let expected = expected_parts(u);
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
    if problems.is_empty() { Ok(parts) } else { Err(problems) }
}

/// Joins the parts once every one is in; the client may re-send a part and
/// call again, so a refusal here keeps the upload.
async fn join_parts(state: &CasesState, u: &case_upload::Model) -> Result<(), ApiError> {
    let stored = state.store.list_parts(&u.object_key, &u.store_upload_id).await?;
    let parts = check_parts(u, &stored).map_err(|problems| {
        ApiError::new(
            &crate::codes::UPLOAD_INCOMPLETE,
            "Some parts are missing or have the wrong size; see errors. Send them and complete again.",
        )
        .with_errors(problems)
    })?;
    state
        .store
        .complete_multipart(&u.object_key, &u.store_upload_id, &parts)
        .await?;
    Ok(())
}

/// Why a joined object is not taken: refused (the upload and its object
/// go), or not decided (the upload stays as it was).
enum Refused {
    Discard(ApiError),
    Keep(ApiError),
}

/// Reads the joined object back: its size and checksum must be the ones
/// declared (a mismatch is audited), and its bytes decide its type.
async fn check_object(
    state: &CasesState,
    actor: &Actor,
    c: &case::Model,
    u: &case_upload::Model,
) -> Result<(Digest256, Sniffed), Refused> {
    let mut faces = dentex_mesh::ObjFaceScan::default();
    let digest = state
        .store
        .digest_with(&u.object_key, content::SNIFF_BYTES, |piece| faces.feed(piece))
        .await
        .map_err(|e| Refused::Discard(e.into()))?;
    let declared = u64::try_from(u.size_bytes).unwrap_or(0);
    if digest.size != declared || digest.sha256 != u.sha256 {
        let mut ev = upload_event(actor, c, u.id, "case_upload.complete", Outcome::Denied);
        ev.reason = Some("checksum mismatch".into());
        // Not recorded: the upload stays as it is, for a retry.
        record(state, ev).await.map_err(Refused::Keep)?;
        return Err(Refused::Discard(
            ApiError::new(
                &crate::codes::CHECKSUM_MISMATCH,
                "The bytes received do not match the declared size and SHA-256; nothing was kept. Start a new upload.",
            )
            .with_errors(vec![FieldError::new(
                "sha256",
                "mismatch",
                "The stored bytes have another SHA-256 or size.",
            )]),
        ));
    }
    let sniffed = match content::sniff(&digest.head, digest.size <= content::SNIFF_BYTES as u64) {
        Some(s) if s.kind == Kind::Photo => {
            return Err(Refused::Discard(ApiError::new(
                &crate::codes::PHOTO_NEEDS_DIRECT_UPLOAD,
                "Photos go through POST /api/v1/cases/{case}/files, which removes their metadata before storing.",
            )));
        }
        Some(s) => s,
        None => return Err(Refused::Discard(unsupported())),
    };
    if sniffed.format == Some(dentex_mesh::Format::StlBinary) && !content::binary_stl_size_ok(&digest.head, digest.size)
    {
        return Err(Refused::Discard(unsupported()));
    }
    scan_preflight(&sniffed, &digest.head, digest.size, &state.limits.mesh).map_err(Refused::Discard)?;
    if sniffed.format == Some(dentex_mesh::Format::Obj) && !faces.found() {
        return Err(Refused::Discard(mesh_empty()));
    }
    Ok((digest, sniffed))
}

/// Finishes an upload once every part is in: the parts are joined, the
/// object is read back and must match the declared size and SHA-256, and
/// its type is decided from its bytes. Then it is a file of the case like
/// any other (scans are analysed).
pub async fn complete(
    state: &CasesState,
    actor: &Actor,
    allowed: &Allowed,
    u: case_upload::Model,
) -> Result<case_file::Model, ApiError> {
    let (c, v) = allowed.take(actor, CaseAction::CompleteUpload)?;
    crate::service::of_case(u.case_id, c)?;
    require_unexpired(&u)?;
    if !store::claim_upload(&state.db, u.id).await? {
        return Err(ApiError::new(
            &crate::codes::UPLOAD_IN_PROGRESS,
            "Another call is completing this upload.",
        ));
    }
    if let Err(e) = join_parts(state, &u).await {
        release(state, u.id).await;
        return Err(e);
    }
    // From here the upload is consumed: on any refusal the object goes too.
    let (digest, sniffed) = match check_object(state, actor, c, &u).await {
        Ok(checked) => checked,
        Err(Refused::Discard(e)) => return refuse(state, &u, e).await,
        Err(Refused::Keep(e)) => return Err(e),
    };
    let stored = PutOutcome {
        size: u64::try_from(u.size_bytes).unwrap_or(0),
        sha256: digest.sha256.clone(),
        multipart: true,
    };
    let row = file_row(
        actor,
        c,
        u.id,
        &sniffed,
        (&stored, &u.object_key),
        u.original_name.clone(),
    );
    match save_completed(state, actor, c, v, &u, row).await {
        Ok(f) => {
            if f.kind == Kind::Scan.as_str() {
                state.queue.wake();
            }
            Ok(f)
        }
        Err(e) => refuse(state, &u, e).await,
    }
}

/// The reservation becomes the file, in one transaction; the quota is
/// checked again in case it was lowered meanwhile.
async fn save_completed(
    state: &CasesState,
    actor: &Actor,
    c: &case::Model,
    v: Viewer,
    u: &case_upload::Model,
    row: case_file::ActiveModel,
) -> Result<case_file::Model, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    // The draft's lock first, then the upload's row (as every path takes them).
    lock_draft(&txn, c.id).await?;
    if !store::delete_upload(&txn, u.id).await? {
        return Err(ApiError::new(
            &crate::codes::UPLOAD_GONE,
            "The upload was abandoned meanwhile.",
        ));
    }
    let declared = u64::try_from(u.size_bytes).unwrap_or(0);
    // The file is not kept without its row, nor is the upload: say so.
    let f = save_file(&txn, actor, c, v, row, state.limits.org_quota_bytes, declared)
        .await
        .map_err(|e| {
            if e.code == dentex_http::codes::AUDIT_UNAVAILABLE.code {
                ApiError::new(
                    &dentex_http::codes::AUDIT_UNAVAILABLE,
                    "The audit trail could not record this file, so it was not kept; start a new upload.",
                )
                .with_errors(e.errors)
            } else {
                e
            }
        })?;
    txn.commit().await?;
    Ok(f)
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
