//! The job run after a scan is uploaded: read it back from the object store,
//! analyse it, draw a 512 px thumbnail, store both. A binary STL is spooled to
//! a temporary file and read from it in blocks (`analyze_binary_stl_at`, the
//! preview from `stl_triangles_at`); other formats are read into memory.
//! The file's `analysis_status` goes `pending → done`, or `failed` with the
//! reader's error when the bytes are not a valid mesh (the file is kept).

use dentex_db::entities::case_file;
use dentex_domain::AnalysisStatus;
use dentex_jobs::JobFailure;
use dentex_storage::ObjectStore;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const THUMBNAIL_PX: u32 = 512;

#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub file_id: Uuid,
}

enum Outcome {
    Done { report: String, thumbnail: Vec<u8> },
    Failed(String),
}

fn finish(report: dentex_mesh::Report, thumbnail: Result<Vec<u8>, String>) -> Outcome {
    match (serde_json::to_string(&report), thumbnail) {
        (Ok(report), Ok(thumbnail)) => Outcome::Done { report, thumbnail },
        (Err(e), _) => Outcome::Failed(e.to_string()),
        (_, Err(e)) => Outcome::Failed(format!("no preview: {e}")),
    }
}

/// The object copied to an unnamed temporary file (gone when closed, and
/// when the process dies), streamed: one piece of it in memory at a time.
async fn spool(store: &ObjectStore, key: &str) -> Result<std::fs::File, String> {
    use tokio::io::AsyncWriteExt;
    let tmp = tempfile::tempfile().map_err(|e| format!("a temporary file for the scan: {e}"))?;
    let mut out = tokio::fs::File::from_std(tmp.try_clone().map_err(|e| e.to_string())?);
    let mut body = store.get_stream(key).await.map_err(|e| e.to_string())?;
    while let Some(chunk) = body.next().await {
        out.write_all(&chunk.map_err(|e| e.to_string())?)
            .await
            .map_err(|e| format!("writing the temporary file: {e}"))?;
    }
    out.flush().await.map_err(|e| e.to_string())?;
    Ok(tmp)
}

/// Runs the analysis of one file. Infrastructure errors fail the job (it is
/// retried); a file that is not a mesh is an outcome, not an error.
pub async fn run(
    db: &DatabaseConnection,
    store: &ObjectStore,
    limits: dentex_mesh::Limits,
    payload: serde_json::Value,
) -> Result<(), JobFailure> {
    let p: Payload = serde_json::from_value(payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
    let Some(f) = crate::store::file(db, p.file_id).await.map_err(|e| fail(&e))? else {
        return Ok(()); // deleted meanwhile
    };
    if AnalysisStatus::parse(&f.analysis_status) != Some(AnalysisStatus::Pending) {
        return Ok(());
    }
    let outcome = if f.format.as_deref() == Some(crate::content::format_name(dentex_mesh::Format::StlBinary)) {
        analyse_binary_stl(store, &f, limits).await?
    } else {
        analyse_whole(store, &f, limits).await?
    };
    save(db, store, &f, outcome).await
}

fn fail(e: &dyn std::fmt::Display) -> JobFailure {
    JobFailure(e.to_string())
}

/// A binary STL (the scanners' usual export) is spooled to a file and
/// analysed and drawn from it a block at a time: the job holds the
/// analysis's working set, never the file.
async fn analyse_binary_stl(
    store: &ObjectStore,
    f: &case_file::Model,
    limits: dentex_mesh::Limits,
) -> Result<Outcome, JobFailure> {
    let spool = spool(store, &f.object_key).await.map_err(|e| fail(&e))?;
    tokio::task::spawn_blocking(move || {
        let file = &spool;
        let report = match dentex_mesh::analyze_binary_stl_at(file, &limits) {
            Ok(r) if r.triangles == 0 => {
                return Ok(Outcome::Failed(dentex_mesh::MeshError::NoTriangles.to_string()));
            }
            Ok(r) => r,
            // The disk, not the scan: the job is tried again.
            Err(e @ dentex_mesh::MeshError::Read { .. }) => return Err(JobFailure(e.to_string())),
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        let mut drawn = 0u64;
        let thumbnail = dentex_mesh::thumbnail::png_triangles(
            report.bbox_min,
            report.bbox_max,
            THUMBNAIL_PX,
            dentex_mesh::stl_triangles_at(file).inspect(|_| drawn += 1),
        );
        if drawn != report.triangles {
            return Err(JobFailure("reading the scan for its preview stopped early".into()));
        }
        Ok(finish(report, thumbnail.map_err(|e| e.to_string())))
    })
    .await
    .map_err(|e| fail(&e))?
}

/// Other formats are read whole, then analysed and drawn.
async fn analyse_whole(
    store: &ObjectStore,
    f: &case_file::Model,
    limits: dentex_mesh::Limits,
) -> Result<Outcome, JobFailure> {
    let mut body = store.get_stream(&f.object_key).await.map_err(|e| fail(&e))?;
    let mut data = Vec::with_capacity(usize::try_from(f.size_bytes).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        data.extend_from_slice(&chunk.map_err(|e| fail(&e))?);
    }
    tokio::task::spawn_blocking(move || match dentex_mesh::read(&data, &limits) {
        Ok((_, mesh)) => {
            let report = dentex_mesh::analyze(&mesh);
            if report.triangles == 0 {
                return Outcome::Failed(dentex_mesh::MeshError::NoTriangles.to_string());
            }
            let thumbnail = dentex_mesh::thumbnail::png(&mesh, THUMBNAIL_PX).map_err(|e| e.to_string());
            finish(report, thumbnail)
        }
        Err(e) => Outcome::Failed(e.to_string()),
    })
    .await
    .map_err(|e| fail(&e))
}

/// Stores the outcome on the file (only if its analysis is still pending),
/// and the preview beside its object.
async fn save(
    db: &DatabaseConnection,
    store: &ObjectStore,
    f: &case_file::Model,
    outcome: Outcome,
) -> Result<(), JobFailure> {
    match outcome {
        Outcome::Done { report, thumbnail } => {
            let key = format!("{}.thumbnail.png", f.object_key);
            let body =
                futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(thumbnail)) });
            store
                .put_stream(&key, "image/png", Box::pin(body), 64 << 20)
                .await
                .map_err(|e| fail(&e))?;
            let (id, k) = (f.id, key.clone());
            let saved = analysed(db, f, move |txn| {
                Box::pin(async move { crate::store::analysis_done(txn, id, report, &k).await })
            })
            .await
            .map_err(|e| fail(&e))?;
            if !saved {
                // The file went meanwhile: so does its preview.
                let _ = store.delete(&key).await;
            }
            tracing::info!(file = %f.id, "scan analysed");
        }
        Outcome::Failed(reason) => {
            let id = f.id;
            analysed(db, f, move |txn| {
                Box::pin(async move { crate::store::analysis_failed(txn, id, reason).await.map(|()| true) })
            })
            .await
            .map_err(|e| fail(&e))?;
            tracing::info!(file = %f.id, "scan is not a readable mesh");
        }
    }
    Ok(())
}

/// Writes the analysis outcome with its `file.analyzed` event (for the
/// clinic and the labs that may see the file), in one transaction; `false` when the file went or was analysed meanwhile.
async fn analysed<F>(db: &DatabaseConnection, f: &case_file::Model, write: F) -> Result<bool, sea_orm::DbErr>
where
    F: for<'t> FnOnce(
        &'t sea_orm::DatabaseTransaction,
    ) -> futures_util::future::BoxFuture<'t, Result<bool, sea_orm::DbErr>>,
{
    let txn = dentex_db::begin_write(db).await?;
    let saved = write(&txn).await?;
    if saved && let Some(c) = crate::store::find_case(&txn, f.case_id).await? {
        // A lab's design file: the clinic and that lab. The clinic's file:
        // the clinic and the labs that see the case (named, or awarded).
        let labs = match f.lab_org_id {
            Some(lab) => vec![lab],
            None => {
                let mut labs = crate::store::named_labs(&txn, c.id).await?;
                labs.extend(c.awarded_lab_org_id);
                labs.sort();
                labs.dedup();
                labs
            }
        };
        let mut to = vec![dentex_events::Recipient::org(c.clinic_org_id)];
        to.extend(labs.into_iter().map(dentex_events::Recipient::org));
        let status = crate::store::file(&txn, f.id)
            .await?
            .map(|m| m.analysis_status)
            .unwrap_or_default();
        let mut out = dentex_events::Outbox::new();
        out.push(
            to,
            "file.analyzed",
            Some(c.id),
            &serde_json::json!({"case_id": c.id, "file_id": f.id, "analysis_status": status}),
        );
        out.write_in(&txn).await?;
    }
    txn.commit().await?;
    dentex_events::committed();
    Ok(saved)
}
