//! The job that removes events older than `events.keep_secs`: a client
//! whose cursor is older gets one `reset` event and reloads.

use sea_orm::{DatabaseConnection, DbErr};
use std::time::Duration;

/// Purges what is older than `keep`; answers the number of streams touched.
pub async fn run(db: &DatabaseConnection, keep: Duration) -> Result<u64, DbErr> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(7));
    let gone = crate::store::purgeable(db, dentex_db::now() - keep).await?;
    // One short transaction per stream: a writer waits on one stream's row
    // at most, never on the whole purge (and never in a circle).
    for (org, through) in &gone {
        let txn = dentex_db::begin_write(db).await?;
        crate::store::purge_org(&txn, *org, *through).await?;
        txn.commit().await?;
    }
    tracing::info!(streams = gone.len(), "old events purged");
    Ok(gone.len() as u64)
}
