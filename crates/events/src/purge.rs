//! The job that removes events older than `events.keep_secs`: a client
//! whose cursor is older gets one `reset` event and reloads.

use sea_orm::{DatabaseConnection, DbErr};
use std::time::Duration;

/// Purges what is older than `keep`; answers the number of streams touched.
pub async fn run(db: &DatabaseConnection, keep: Duration) -> Result<u64, DbErr> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(7));
    let txn = dentex_db::begin_write(db).await?;
    let n = crate::store::purge(&txn, dentex_db::now() - keep).await?;
    txn.commit().await?;
    tracing::info!(streams = n, "old events purged");
    Ok(n)
}
