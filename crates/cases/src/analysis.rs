//! The job run after a scan is uploaded: read it back from the object store,
//! analyse it (`dentex_mesh::inspect`), draw a 512 px thumbnail, store both.
//! The file's `analysis_status` goes `pending → done`, or `failed` with the
//! reader's error when the bytes are not a valid mesh (the file is kept).

use dentex_db::entities::case_file;
use dentex_jobs::JobFailure;
use dentex_storage::ObjectStore;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
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

/// Runs the analysis of one file. Infrastructure errors fail the job (it is
/// retried); a file that is not a mesh is an outcome, not an error.
pub async fn run(
    db: &DatabaseConnection,
    store: &ObjectStore,
    limits: dentex_mesh::Limits,
    payload: serde_json::Value,
) -> Result<(), JobFailure> {
    let p: Payload = serde_json::from_value(payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
    let fail = |e: &dyn std::fmt::Display| JobFailure(e.to_string());
    let Some(f) = case_file::Entity::find_by_id(p.file_id)
        .one(db)
        .await
        .map_err(|e| fail(&e))?
    else {
        return Ok(()); // deleted meanwhile
    };
    if f.analysis_status != "pending" {
        return Ok(());
    }
    let mut body = store.get_stream(&f.object_key).await.map_err(|e| fail(&e))?;
    let mut data = Vec::with_capacity(usize::try_from(f.size_bytes).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        data.extend_from_slice(&chunk.map_err(|e| fail(&e))?);
    }
    let outcome = tokio::task::spawn_blocking(move || {
        // A binary STL is analysed from its bytes first (less memory than
        // with the mesh held too), then read once for the preview; other
        // formats are read once for both.
        let (report, mesh) = if dentex_mesh::detect(&data) == Some(dentex_mesh::Format::StlBinary) {
            let report = dentex_mesh::analyze_binary_stl(&data, &limits);
            (report, dentex_mesh::read(&data, &limits).map(|(_, m)| m))
        } else {
            match dentex_mesh::read(&data, &limits) {
                Ok((_, mesh)) => (Ok(dentex_mesh::analyze(&mesh)), Ok(mesh)),
                Err(e) => (Err(e.clone()), Err(e)),
            }
        };
        let report = match report {
            Ok(r) if r.triangles == 0 => return Outcome::Failed(dentex_mesh::MeshError::NoTriangles.to_string()),
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let thumbnail = mesh
            .map_err(|e| e.to_string())
            .and_then(|mesh| dentex_mesh::thumbnail::png(&mesh, THUMBNAIL_PX).map_err(|e| e.to_string()));
        match (serde_json::to_string(&report), thumbnail) {
            (Ok(report), Ok(thumbnail)) => Outcome::Done { report, thumbnail },
            (Err(e), _) => Outcome::Failed(e.to_string()),
            (_, Err(e)) => Outcome::Failed(format!("no preview: {e}")),
        }
    })
    .await
    .map_err(|e| fail(&e))?;
    let update = case_file::Entity::update_many()
        .filter(case_file::Column::Id.eq(f.id))
        .filter(case_file::Column::AnalysisStatus.eq("pending"));
    match outcome {
        Outcome::Done { report, thumbnail } => {
            let key = format!("{}.thumbnail.png", f.object_key);
            let body =
                futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(thumbnail)) });
            store
                .put_stream(&key, "image/png", Box::pin(body), 64 << 20)
                .await
                .map_err(|e| fail(&e))?;
            let r = update
                .col_expr(case_file::Column::AnalysisStatus, Expr::value("done"))
                .col_expr(case_file::Column::Analysis, Expr::value(report))
                .col_expr(case_file::Column::ThumbnailKey, Expr::value(key.clone()))
                .exec(db)
                .await
                .map_err(|e| fail(&e))?;
            if r.rows_affected == 0 {
                // The file went meanwhile: so does its preview.
                let _ = store.delete(&key).await;
            }
            tracing::info!(file = %f.id, "scan analysed");
        }
        Outcome::Failed(reason) => {
            update
                .col_expr(case_file::Column::AnalysisStatus, Expr::value("failed"))
                .col_expr(case_file::Column::AnalysisError, Expr::value(reason))
                .exec(db)
                .await
                .map_err(|e| fail(&e))?;
            tracing::info!(file = %f.id, "scan is not a readable mesh");
        }
    }
    Ok(())
}
